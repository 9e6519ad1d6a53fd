"""scripts/lesson07_walkthrough_cells.py: it appends lesson 07's walkthrough cells at the end, replaces its own
cells (found by their tag) when run again and changes nothing else, and the cells run and print what they
claim (the toy sorter's checked properties true)."""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import lesson07_walkthrough_cells as script  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LESSON_07 = ROOT / "notebooks" / "07_forward_pass.ipynb"


@pytest.fixture
def copy_of_07(tmp_path) -> Path:
    return Path(shutil.copy(LESSON_07, tmp_path / LESSON_07.name))


def _run(*args) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = script.main([str(a) for a in args])
    return code, out.getvalue()


def test_the_cells_are_appended_at_the_end_and_nothing_else_changes(copy_of_07):
    before = nbformat.read(copy_of_07, as_version=4)
    assert _run(copy_of_07, "--check")[0] == 1
    code, said = _run(copy_of_07)
    assert code == 0 and "appended" in said
    after = nbformat.read(copy_of_07, as_version=4)
    n = len(script.CELLS)
    assert after.cells[:-n] == before.cells and len(after.cells) == len(before.cells) + n
    assert [c.id for c in after.cells[-n:]] == [cell_id for cell_id, *_ in script.CELLS]
    assert all(script.TAG in c.metadata["tags"] for c in after.cells[-n:])
    assert all(c.outputs == [] for c in after.cells[-n:] if c.cell_type == "code")
    widgets = [c for c in after.cells[-n:] if "walkthrough_widget(" in c.source]
    assert len(widgets) == 3 and all("nbval-ignore-output" in c.metadata["tags"] for c in widgets)
    assert _run(copy_of_07, "--check")[0] == 0


def test_running_it_again_replaces_its_own_cells(copy_of_07):
    _run(copy_of_07)
    once = copy_of_07.read_text(encoding="utf-8")
    # A cell of ours edited, one moved up in the lesson, a new cell of the lesson after ours.
    nb = nbformat.read(copy_of_07, as_version=4)
    ours = [c for c in nb.cells if script.is_ours(c)]
    ours[0].source = "an old version"
    nb.cells.remove(ours[1])
    nb.cells.insert(2, ours[1])
    nbformat.write(nb, copy_of_07)
    assert _run(copy_of_07, "--check")[0] == 1
    code, said = _run(copy_of_07)
    assert code == 0 and "replaced" in said
    assert copy_of_07.read_text(encoding="utf-8") == once
    extra = nbformat.v4.new_markdown_cell("## Summary (written after ours)")
    nb = nbformat.read(copy_of_07, as_version=4)
    nb.cells.append(extra)
    nbformat.write(nb, copy_of_07)
    _run(copy_of_07)
    nb = nbformat.read(copy_of_07, as_version=4)
    assert nb.cells[-len(script.CELLS) - 1].source == extra.source  # kept, before our cells again
    assert sum(script.is_ours(c) for c in nb.cells) == len(script.CELLS)


def test_an_untagged_cell_with_one_of_its_ids_is_refused(copy_of_07):
    nb = nbformat.read(copy_of_07, as_version=4)
    clash = nbformat.v4.new_markdown_cell("mine")
    clash.id = "walk07-intro"
    nb.cells.append(clash)
    with pytest.raises(ValueError, match=r"untagged cells with this script's ids \['walk07-intro'\]"):
        script.with_walkthrough_cells(nb)


def test_the_cells_run_and_their_checked_lines_are_true(monkeypatch):
    monkeypatch.setenv("COURSE_WORK_DIR", "off")
    namespace: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for cell in script.walkthrough_cells():
            if cell.cell_type == "code":
                exec(compile(cell.source, cell.id, "exec"), namespace)
    out = printed.getvalue()
    assert f"{3 + 13 * 4 + 4} steps for 4 blocks" in out
    assert "ln1, qkv, scores, mask, pattern, weighted, proj, resid_mid, ln2, mlp_up, gelu, mlp_down, resid_post" in out
    assert "read from the capture: capture: blocks.0.attn.scores" in out
    assert "the chosen token is the most likely one: True" in out
    assert "sorts at least 95% of the held-out inputs: True" in out and "cabbca -> aabbcc" in out
    for line in out.splitlines():
        if line.startswith(("the best head", "but with", "some heads", "any one head")):
            assert line.endswith(": True"), line
    assert "You have not trained a model in lesson 08 yet: using the course's model." in out
