"""How long a learner needs for each lesson, estimated from what the lesson asks of them.

The lessons state their time in their first cell (``**Time:** about N minutes``) and the teacher
guide repeats it (``**Time.** About N minutes for learners``) with the course's total. This script
estimates each lesson from its content, the same way for every lesson, so the numbers are
comparable and follow the lessons when they grow:

* reading: the prose at 150 words a minute (a technical text read while thinking: well below a novel's 250);
* code cells: a minute each to run and read what it prints;
* exercises: 5 minutes each plus a minute per line of the solution (writing, running the checker, fixing);
* controls: 3 minutes for each widget a learner plays with.

``python scripts/lesson_times.py`` prints the table; ``--check`` fails when a lesson's first cell or
the teacher guide states another number than the estimate (rounded up to 5 minutes), or the guide's
total is not the sum. tests/teaching/test_lesson_times.py runs the check.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
GUIDE = ROOT / "docs" / "teacher_guide.md"

WORDS_PER_MINUTE = 150
MINUTES_PER_CODE_CELL = 1
MINUTES_PER_EXERCISE = 5
MINUTES_PER_SOLUTION_LINE = 1
MINUTES_PER_CONTROL = 3
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

STATED_IN_LESSON = re.compile(r"\*\*Time:\*\* about (\d+) minutes")
STATED_IN_GUIDE = re.compile(r"## Lesson (\d\d):.*?\n\*\*Time\.\*\* About (\d+) minutes for learners", re.S)
GUIDE_TOTAL = re.compile(r"the lessons' own estimates add up to\s+(\d+) minutes")


@dataclass
class Estimate:
    lesson: str
    words: int
    code_cells: int
    exercises: int
    solution_lines: int
    controls: int

    @property
    def minutes(self) -> float:
        return (
            self.words / WORDS_PER_MINUTE
            + self.code_cells * MINUTES_PER_CODE_CELL
            + self.exercises * MINUTES_PER_EXERCISE
            + self.solution_lines * MINUTES_PER_SOLUTION_LINE
            + self.controls * MINUTES_PER_CONTROL
        )

    @property
    def rounded(self) -> int:
        return 5 * math.ceil(self.minutes / 5)


def _solution_lines(source: str) -> int:
    lines, inside = 0, False
    for line in source.splitlines():
        marker = line.strip()
        if marker == "### BEGIN SOLUTION":
            inside = True
        elif marker == "### END SOLUTION":
            inside = False
        elif inside and marker and not marker.startswith("#"):
            lines += 1
    return lines


def estimate(path: Path) -> Estimate:
    cells = json.loads(path.read_text())["cells"]
    words = code = exercises = solution = controls = 0
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            words += len(re.findall(r"[A-Za-z0-9']+", source))
        elif cell["cell_type"] == "code":
            lines = _solution_lines(source)
            if "### BEGIN SOLUTION" in source:
                exercises += 1
                solution += lines
            elif not cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                code += 1  # a checker's graded test cell belongs to its exercise, counted above
            controls += any(WIDGET_MIME in out.get("data", {}) for out in cell.get("outputs", []))
    return Estimate(path.name[:2], words, code, exercises, solution, controls)


def stated_in_lessons() -> dict[str, int]:
    stated = {}
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        first = "".join(json.loads(path.read_text())["cells"][0]["source"])
        found = STATED_IN_LESSON.search(first)
        stated[path.name[:2]] = int(found.group(1)) if found else None
    return stated


def stated_in_guide() -> tuple[dict[str, int], int | None]:
    text = GUIDE.read_text()
    total = GUIDE_TOTAL.search(text)
    return {n: int(m) for n, m in STATED_IN_GUIDE.findall(text)}, (int(total.group(1)) if total else None)


def problems() -> list[str]:
    estimates = {e.lesson: e for e in map(estimate, sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")))}
    in_lessons = stated_in_lessons()
    in_guide, total = stated_in_guide()
    found = []
    for lesson, est in estimates.items():
        if in_lessons.get(lesson) != est.rounded:
            found.append(f"lesson {lesson}'s first cell: {in_lessons.get(lesson)} minutes, estimate {est.rounded}")
        if in_guide.get(lesson) != est.rounded:
            found.append(f"teacher guide, lesson {lesson}: {in_guide.get(lesson)} minutes, estimate {est.rounded}")
    expected_total = sum(e.rounded for e in estimates.values())
    if total != expected_total:
        found.append(f"the teacher guide's total is {total} minutes; the lessons add up to {expected_total}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a stated time differs from the estimate")
    args = parser.parse_args(argv)
    if args.check:
        found = problems()
        for line in found:
            print(line)
        return 1 if found else 0
    print("lesson  words  code cells  exercises  solution lines  controls  minutes  stated")
    stated = stated_in_lessons()
    total = 0
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        e = estimate(path)
        total += e.rounded
        print(
            f"{e.lesson:>6} {e.words:>6} {e.code_cells:>11} {e.exercises:>10} {e.solution_lines:>15} "
            f"{e.controls:>9} {e.rounded:>8} {stated[e.lesson]!s:>7}"
        )
    print(f"total: {total} minutes ({total / 60:.1f} hours)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
