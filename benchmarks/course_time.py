"""How long the whole course takes to run: every lesson top to bottom in a fresh kernel, one after another.

    .venv/bin/python benchmarks/course_time.py                  # every lesson, as this CPU computes
    .venv/bin/python benchmarks/course_time.py --cpu avx2       # as an AVX2-only CPU would (no AVX-512 kernels)
    .venv/bin/python benchmarks/course_time.py --lessons 05 08 --slowest 5

This is what a learner who opens each lesson and chooses Run All waits for. Each lesson gets a fresh
kernel, as it does in JupyterLab; "start" is the kernel's start-up until it answers, "cells" the time from
the first cell to the last, and the slowest cells of each lesson are listed so the time can be traced to
what the lesson does. "kernel CPU" is the CPU time the kernel itself spent (little changed by other
programs on the machine) and "peak memory" its largest resident size. Nothing is saved: the lessons are
left as they are. The learner's kept work is switched off (``COURSE_WORK_DIR=off``) so that every run
times the course's own pieces.

``--cpu avx2`` sets ``ATEN_CPU_CAPABILITY=avx2``: PyTorch then uses the kernels it would pick on a CPU
without AVX-512, which is the course's slowest common case (numpy still uses what it finds). The goal
(issue 17) is the sum under 180 s on a two-core machine. The times depend on what else the machine is
doing, so the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
CPU_SETTINGS = {
    "native": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "default": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"},
}


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def run_lesson(path: Path, timeout: int) -> dict:
    """Run one lesson in a fresh kernel; each code cell is timed from its request to its last output."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    cell_seconds = []
    start = time.perf_counter()
    with client.setup_kernel(stderr=subprocess.DEVNULL):  # the kernel's warning about plain TCP is noise here
        started = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            before = time.perf_counter()
            client.execute_cell(cell, index)
            if cell.cell_type == "code":
                first_line = next((line for line in cell.source.splitlines() if line.strip()), "")
                cell_seconds.append((index, time.perf_counter() - before, first_line[:60]))
        finished = time.perf_counter()
        # The kernel's own account: CPU seconds (hardly changed by other programs) and its peak resident size.
        probe = nbformat.v4.new_code_cell(
            "import json, resource\n"
            "_usage = resource.getrusage(resource.RUSAGE_SELF)\n"
            "print(json.dumps([_usage.ru_utime + _usage.ru_stime, _usage.ru_maxrss / 1024]))"
        )
        nb.cells.append(probe)  # the client writes each cell back into the notebook (which is not saved)
        client.execute_cell(probe, len(nb.cells) - 1)
        cpu_seconds, peak_mb = json.loads(probe.outputs[0]["text"])
    return {
        "lesson": path.stem,
        "start": started - start,
        "cells": finished - started,
        "total": finished - start,
        "cpu": cpu_seconds,
        "peak_mb": peak_mb,
        "slowest": sorted(cell_seconds, key=lambda row: -row[1]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lessons", nargs="*", default=[], help="lesson numbers (default: every lesson)")
    parser.add_argument("--cpu", choices=sorted(CPU_SETTINGS), default="native", help="which kernels PyTorch uses")
    parser.add_argument("--slowest", type=int, default=3, help="how many of each lesson's slowest cells to list")
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args(argv)

    os.environ.update(CPU_SETTINGS[args.cpu])
    os.environ["COURSE_WORK_DIR"] = "off"
    paths = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.lessons:
        paths = [path for path in paths if path.name[:2] in {number.zfill(2) for number in args.lessons}]
        if not paths:
            print(f"error: no lesson numbered {' '.join(args.lessons)}", file=sys.stderr)
            return 1
    print(f"cpu: {args.cpu} {CPU_SETTINGS[args.cpu] or ''}  cores: {os.cpu_count()}  load before: {load_average()}")
    rows = []
    for path in paths:
        row = run_lesson(path, args.timeout)
        rows.append(row)
        print(
            f"  {row['lesson']:<26} start {row['start']:5.1f} s  cells {row['cells']:6.1f} s"
            f"  kernel CPU {row['cpu']:5.1f} s  peak {row['peak_mb']:5.0f} MB",
            flush=True,
        )
        for index, seconds, first_line in row["slowest"][: args.slowest]:
            print(f"      cell {index:>3} {seconds:6.2f} s  {first_line}")
    starts = sum(row["start"] for row in rows)
    cells = sum(row["cells"] for row in rows)
    print()
    cpu = sum(row["cpu"] for row in rows)
    print("| lesson | kernel start (s) | cells (s) | total (s) | kernel CPU (s) | peak memory (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['lesson']} | {row['start']:.1f} | {row['cells']:.1f} | {row['total']:.1f} | {row['cpu']:.1f} "
            f"| {row['peak_mb']:.0f} |"
        )
    print(f"| **all {len(rows)}** | {starts:.1f} | {cells:.1f} | **{starts + cells:.1f}** | {cpu:.1f} | |")
    print(f"load after: {load_average()}")
    print(f"whole course: {starts + cells:.1f} s ({args.cpu} kernels; goal 180 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
