"""Re-run lessons in place and save them so that a second run changes only what really changed.

``jupyter nbconvert --execute`` stamps every cell with the time it ran and gives every widget a
random id, so re-running an unchanged lesson rewrote every cell of the file. Here the timings
are not recorded and the widget ids are renumbered in the order they appear, so two runs of the
same lesson save the same file and a change to one cell shows as a change to that cell.

    python scripts/execute_notebooks.py                      # every lesson
    python scripts/execute_notebooks.py notebooks/08_*.ipynb # some of them
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course_lib.saved_outputs import make_repeatable

ROOT = Path(__file__).resolve().parents[1]
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
MODEL_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")  # also inside "IPY_MODEL_<id>"


def stable_widget_ids(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Replace each widget's random id by one derived from the lesson's name and the id's rank."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not state:
        return nb
    # Walk from the widgets the cells display, in cell order, through the widgets each one refers
    # to (its children, layout, style), so the numbering follows the structure, not the random ids.
    order: dict[str, str] = {}

    def visit(model_id: str) -> None:
        if model_id in order or model_id not in state:
            return
        order[model_id] = hashlib.md5(f"{name}:{len(order)}".encode()).hexdigest()
        for found in MODEL_ID.findall(json.dumps(state[model_id], sort_keys=True)):
            visit(found)

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view:
                visit(view["model_id"])
    for model_id in sorted(state, key=lambda i: json.dumps(state[i], sort_keys=True)):
        visit(model_id)  # widgets no cell displays, in the order of their contents
    text = json.dumps(nb)
    return nbformat.from_dict(json.loads(MODEL_ID.sub(lambda m: order.get(m.group(0), m.group(0)), text)))


def coalesced_streams(outputs: list) -> list:
    """Join neighbouring prints to the same stream: how the kernel happened to chunk them is noise."""
    joined: list = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if output.output_type == "stream" and previous is not None and previous.output_type == "stream":
            if previous.name == output.name:
                previous.text += output.text
                continue
        joined.append(output)
    return joined


def execute(path: Path, timeout: int = 900) -> float:
    """Run one lesson top to bottom in a fresh kernel, from its own folder, and save it in place."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = coalesced_streams(cell.outputs)
    nb = stable_widget_ids(nb, path.name)
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="lessons to run (default: every lesson)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds one cell may take (lesson 08 trains)")
    args = parser.parse_args(argv)
    make_repeatable()  # the kernels inherit it: outputs are saved as nbval re-checks them
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        if not path.is_file():
            print(f"error: no notebook at {path}", file=sys.stderr)
            return 1
        print(f"  ran {path.name} in {execute(path, args.timeout):.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
