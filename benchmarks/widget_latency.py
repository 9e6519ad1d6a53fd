"""How fast each lesson's widgets answer: from moving a control to the updated output, in a real browser.

    .venv/bin/python benchmarks/widget_latency.py                       # every lesson, 5 moves per control
    .venv/bin/python benchmarks/widget_latency.py --moves 9 --lessons 04 05
    .venv/bin/python -m benchmarks.widget_latency --lessons 01              # the same, as a module

It drives the lessons exactly as tests/test_browser_lessons.py does: the same harness
(the package tests/browser/: JupyterLab on 127.0.0.1, Debian's Chromium through Playwright) and the same
moves (tests/browser/lessons.py). Each lesson is opened and run, then each of its controls is moved
``--moves`` times, back and forth (a slider one step right then left, a check box on then off, a text
box to the new text then back), and each move is timed in the page: from the key press (or the choice,
or leaving the text box) to the moment the output next to the control shows its final state. A
training run (lesson 08's Train button) is timed once. Lesson 00's walkthrough is timed by its step
control: the Step slider's arrow key, one step forward then back, each step's drawing highlight and
detail sent by the kernel (a step not seen before is drawn then; tests/test_browser_walkthrough.py
times every step of two whole tokens).

The aim is 150 ms, about when a change stops feeling immediate. "median ms" is the time to the final
output; "first ms" the time to its first change: for lesson 08's Train button, the "training..." note
that appears at once, while the run itself takes about a second. The times depend on what else the
machine is doing, so the load average is printed with them. A move whose output was not what the
test expects is flagged (the test, not this script, is the check).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a file: see the repository root, as `python -m benchmarks.widget_latency` does
    sys.path.insert(0, str(REPO))

from tests.browser.chromium import NOT_INSTALLED, chromium_executable
from tests.browser.controls import find_control
from tests.browser.lessons import LESSONS, perform, unexpected
from tests.browser.session import jupyterlab_session


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(lab, lesson, moves: int) -> tuple[float, list[dict]]:
    """Open and run ``lesson``, then time each of its moves; returns (run-all seconds, one row per control)."""
    page = lab.open(lesson.notebook)
    ran = lab.run_all(page, timeout=lesson.run_all_timeout)
    rows = []
    for move in lesson.moves:
        original = None
        if move.kind == "text":
            original = find_control(page, move.kind, move.label, near=move.near).input_value()
        times, firsts, waits, flagged = [], [], [], []
        for i in range(moves if move.repeat else 1):
            undo = i % 2 == 1
            outcome = perform(page, move, undo=undo, text=original if undo else None)
            times.append(outcome.change.ms)
            firsts.append(outcome.change.first_ms)
            waits.append(outcome.change.longest_wait_ms)
            flagged += unexpected(outcome)
        if move.repeat and moves % 2 == 0:  # end on the move itself, where the test leaves the widget
            perform(page, move)
        rows.append(
            {
                "lesson": lesson.id,
                "control": move.name,
                "n": len(times),
                "median": statistics.median(times),
                "first": statistics.median(firsts),
                "wait": statistics.median(waits),
                "max": max(times),
                "load": load_average(),
                "flagged": flagged,
            }
        )
        print(f"  {move.name}: {', '.join(f'{t:.0f}' for t in times)} ms", flush=True)
    return ran, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=5, help="moves per control (default 5)")
    parser.add_argument("--lessons", nargs="*", default=[], help="lesson numbers or names to run (default all)")
    parser.add_argument("--aim-ms", type=float, default=150.0, help="the latency aim in ms (default 150)")
    args = parser.parse_args(argv)
    if args.moves < 1:
        parser.error(f"--moves must be at least 1, got {args.moves}")
    chromium = chromium_executable()
    if chromium is None:
        print(NOT_INSTALLED, file=sys.stderr)
        return 1
    lessons = [lesson for lesson in LESSONS if not args.lessons or any(lesson.id.startswith(p) for p in args.lessons)]
    if not lessons:
        parser.error(f"no lesson matches {args.lessons}; lessons are {[lesson.id for lesson in LESSONS]}")

    print(f"load average (1, 5, 15 min) at the start: {load_average()} on {os.cpu_count()} cores")
    rows, run_all = [], {}
    with jupyterlab_session([REPO / "notebooks" / lesson.notebook for lesson in lessons], chromium=chromium) as lab:
        for lesson in lessons:
            print(f"{lesson.id}: opening and running all cells (load average {load_average()})", flush=True)
            try:
                run_all[lesson.id], lesson_rows = measure(lab, lesson, args.moves)
                rows += lesson_rows
            finally:
                lab.close_pages()  # shut the kernel down before the next lesson (lesson 09's holds ~1.1 GB)

    print(f"\nrun all cells: {', '.join(f'{k} {v:.1f} s' for k, v in run_all.items())}")
    print(f"load average at the end: {load_average()}\n")
    header = (
        f"{'lesson':<24}{'control':<34}{'moves':>6}{'median ms':>11}{'max ms':>9}{'first ms':>10}  "
        f"{'aim':<6}load (1, 5, 15 min)"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        meets = "yes" if row["median"] <= args.aim_ms else "NO"
        print(
            f"{row['lesson']:<24}{row['control']:<34}{row['n']:>6}{row['median']:>11.0f}{row['max']:>9.0f}"
            f"{row['first']:>10.0f}  "
            f"{meets:<6}{row['load']}"
        )
    slow = [row for row in rows if row["median"] > args.aim_ms]
    print(f"\n{len(rows) - len(slow)} of {len(rows)} controls meet the {args.aim_ms:.0f} ms aim (median).")
    for row in rows:
        if row["median"] - row["first"] > args.aim_ms:  # an action that shows progress before its result
            print(
                f"{row['lesson']} {row['control']}: first feedback after {row['first']:.0f} ms, then an update "
                f"at least every {row['wait']:.0f} ms until the result at {row['median']:.0f} ms"
            )
    for row in rows:
        for problem in row["flagged"]:
            print(f"unexpected output, {row['lesson']} {row['control']}: {problem}")
    return 0


if __name__ == "__main__":
    start = time.monotonic()
    code = main()
    print(f"(took {time.monotonic() - start:.0f} s)")
    sys.exit(code)
