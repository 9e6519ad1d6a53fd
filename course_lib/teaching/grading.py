"""nbgrader for the lessons: the cell metadata its default ``generate_assignment`` needs, and the graded check.

nbgrader grades a notebook by cells. A *solution* cell holds what the learner writes (nbgrader
replaces what lies between the markers by its stub); an *autograded test* cell is locked and earns
its points when it runs without an error; other cells can be made read-only. The lessons already
follow conventions that say which is which, and :func:`nbgrader_notebook` turns them into that
metadata:

- a code cell with a solution (``### BEGIN SOLUTION`` ... ``### END SOLUTION``, read by
  :mod:`course_lib.teaching.student`) is split in two, after the statement that holds the solution: the part
  up to it becomes the solution cell, and the checker call after it (``result = check.softmax(softmax)``)
  becomes a locked test cell worth one point (one test cell per checker call);
- the test cell ends with :func:`assert_passed`, which fails only while nbgrader grades or validates
  (nbgrader sets ``NBGRADER_EXECUTION`` in the kernel). Elsewhere it does nothing: in the lesson, and in
  the student version a learner runs, the checker's printed verdict is all, and *Run All* goes on;
- a Markdown written answer becomes a manually graded answer (one point); every other Markdown cell
  is read-only.

nbgrader takes any line containing ``BEGIN SOLUTION`` or ``END SOLUTION`` as a marker, even a
sentence quoting it, so such a line outside a real solution is an error here, naming cell and line.

The lessons carry this metadata as committed (so nbgrader's default ``generate_assignment`` works on
them as they are); :func:`nbgrader_notebook` leaves a cell that already has it alone, so running it
again changes nothing::

    python -m course_lib.teaching.grading --in-place notebooks/0[0-8]_*.ipynb   # give lessons their metadata
    python -m course_lib.teaching.grading notebooks/ COURSE/source/lessons/   # nbgrader-ready copies of the lessons

(Re-run a lesson given its metadata for the first time, with scripts/execute_notebooks.py: a split
cell's printed verdict moves to its test cell.)
"""

from __future__ import annotations

import ast
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from course_lib.teaching import student

if TYPE_CHECKING:
    import nbformat

SCHEMA_VERSION = 3
CHECKER = "check"  # the lessons import their checkers as `from course_lib.checks import lessonNN as check`
RESULT = "result"
NBGRADER_MARKERS = ("BEGIN SOLUTION", "END SOLUTION")  # nbgrader's ClearSolutions delimiters, found anywhere in a line
GRADED_LINES = (
    "",
    "# Graded by nbgrader (1 point): fails only while nbgrader grades or validates, not when you run it.",
    "from course_lib.teaching.grading import assert_passed",
    "",
    f"assert_passed({RESULT})",
)


class GradingError(ValueError):
    """A lesson cannot be given nbgrader metadata without nbgrader misreading it; the message says where."""


def assert_passed(*results) -> None:
    """Under nbgrader's autograder or its Validate button, fail unless every checker result passed.

    The AssertionError carries each checker's verdict (with its hint), which nbgrader shows in the
    feedback. Outside nbgrader it does nothing and prints nothing: the checker has said it all.
    """
    if not os.environ.get("NBGRADER_EXECUTION"):
        return
    missing = [r for r in results if not hasattr(r, "passed")]
    if missing or not results:
        raise AssertionError("the checker's result is missing: run the checker cell as it was given")
    failed = [str(r) for r in results if not r.passed]
    if failed:
        raise AssertionError("\n".join(failed))


# --------------------------------------------------------------------------- reading a lesson's cells


def stray_markers(nb) -> list[str]:
    """Lines nbgrader would take as solution markers that are not real ones: ``cell N (id ...), line L: ...``."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type not in ("code", *student.TEXT_CELLS):
            continue
        regions = student.solution_regions(cell.source, cell.cell_type)
        markers = {line for region in regions for line in (region.begin, region.end)}
        for number, line in enumerate(cell.source.split("\n")):
            if number not in markers and any(marker in line for marker in NBGRADER_MARKERS):
                found.append(f"cell {index} (id {cell.get('id', 'none')}), line {number + 1}: {line.strip()!r}")
    return found


def _python(lines: list[str]) -> str:
    return "\n".join(line.removesuffix("\r") for line in lines)


def _is_checker_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == CHECKER
    )


def _checker_statement(node: ast.stmt) -> bool:
    """``check.x(...)`` on its own, or assigned to one name: a statement a test cell can start with."""
    if isinstance(node, ast.Expr):
        return _is_checker_call(node.value)
    return (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and _is_checker_call(node.value)
    )


@dataclass(frozen=True)
class Exercise:
    """One solution cell split: the learner's part, and one test cell source per checker call after it."""

    name: str  # the first name the solution defines or assigns (grade ids are made from it)
    answer: str
    tests: tuple[str, ...]


def split_exercise(source: str) -> Exercise:
    """Split a code cell with a solution into its answer and its test cells (see the module's docstring)."""
    regions = student.solution_regions(source, "code")
    if not regions:
        raise GradingError("the cell has no solution")
    names = list(student.stubbed_names(source))
    lines = source.split("\n")
    tree = ast.parse(_python(lines))
    last_marker = regions[-1].end + 1  # 1-based line of the last END marker
    before = [node for node in tree.body if node.lineno <= last_marker]
    answer_end = max([last_marker, *(node.end_lineno for node in before[-1:])])
    rest = lines[answer_end:]
    rest_tree = ast.parse(_python(rest))
    starts = [node for node in rest_tree.body if _checker_statement(node)]
    if not starts:
        raise GradingError(
            f"line {answer_end + 1}: no checker call (`{CHECKER}.name(...)`) follows the solution, so nbgrader "
            "would have nothing to grade it by"
        )
    bounds = [1, *(node.lineno for node in starts[1:]), len(rest) + 1]  # each test cell: one checker call onwards
    tests = []
    for start, node, stop in zip(bounds, starts, bounds[1:], strict=False):
        chunk = rest[start - 1 : stop - 1]
        chunk = _assign_result(chunk, node, start)
        while chunk and not chunk[-1].strip():
            chunk.pop()
        while chunk and not chunk[0].strip():
            chunk.pop(0)
        tests.append("\n".join([*chunk, *GRADED_LINES]))
    answer = "\n".join(lines[:answer_end]).rstrip("\n")
    return Exercise(names[0], answer, tuple(tests))


def _assign_result(chunk: list[str], node: ast.stmt, offset: int) -> list[str]:
    """The chunk with its checker call's result in ``result`` (``check.x(f);`` becomes ``result = check.x(f)``)."""
    chunk = list(chunk)
    first, last = node.lineno - offset, node.end_lineno - offset
    if isinstance(node, ast.Assign):
        if node.targets[0].id == RESULT:
            return chunk
        # `ok = check.x(f)`: keep the learner's name and grade it too.
        chunk.insert(last + 1, f"{RESULT} = {node.targets[0].id}")
        return chunk
    line = chunk[first]
    chunk[first] = line[: node.col_offset] + f"{RESULT} = " + line[node.col_offset :]
    end = chunk[last]
    code, hash_, comment = end.partition("  #")
    if code.rstrip().endswith(";"):
        chunk[last] = code.rstrip()[:-1] + (hash_ + comment if hash_ else "")
    return chunk


# --------------------------------------------------------------------------- writing the metadata


def _metadata(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = 1
    return meta


def _grade_id(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]", "-", name) or "exercise"
    grade_id, n = base, 2
    while grade_id in taken:
        grade_id, n = f"{base}-{n}", n + 1
    taken.add(grade_id)
    return grade_id


def nbgrader_notebook(nb) -> nbformat.NotebookNode:
    """A copy of lesson ``nb`` that nbgrader's default ``generate_assignment`` accepts and can grade.

    A cell that already has nbgrader metadata is kept as it is (a lesson given its metadata stays the same),
    and new grade ids avoid the ones it holds. Raises :class:`GradingError` naming the cell and line where
    nbgrader would misread the lesson.
    """
    # Deferred: nbformat (with jsonschema) takes about a second to import, and every lesson imports this
    # module for assert_passed alone.
    import nbformat

    stray = stray_markers(nb)
    if stray:
        raise GradingError(
            "nbgrader would take these lines as solution markers (it looks for 'BEGIN SOLUTION' and 'END SOLUTION' "
            "anywhere in a line); reword them: " + "; ".join(stray)
        )
    copy = nbformat.from_dict(nb)
    cells = []
    taken = {
        cell.metadata["nbgrader"]["grade_id"] for cell in copy.cells if "grade_id" in cell.metadata.get("nbgrader", {})
    }
    for index, cell in enumerate(copy.cells):
        where = f"cell {index} (id {cell.get('id', 'none')})"
        if "nbgrader" in cell.metadata:
            cells.append(cell)
            continue
        if cell.cell_type == "code" and student.has_solution(cell.source):
            try:
                exercise = split_exercise(cell.source)
            except (GradingError, student.SolutionMarkerError, SyntaxError) as err:
                raise GradingError(f"{where}: {err}") from err
            grade_id = _grade_id(exercise.name, taken)
            cell.source = exercise.answer
            cell.outputs, cell.execution_count = [], None
            cell.metadata["nbgrader"] = _metadata(grade_id, solution=True)
            cells.append(cell)
            for k, test in enumerate(exercise.tests, start=1):
                test_cell = nbformat.v4.new_code_cell(test, id=f"{cell.get('id', index)}-test{k}"[:64])
                test_cell.metadata["nbgrader"] = _metadata(
                    _grade_id(f"{grade_id}-test", taken), grade=True, locked=True
                )
                cells.append(test_cell)
            continue
        if cell.cell_type == "markdown":
            written_answer = student.has_solution(cell.source, "markdown")
            grade_id = _grade_id(
                f"answer-{cell.get('id', index)}" if written_answer else f"cell-{cell.get('id', index)}", taken
            )
            cell.metadata["nbgrader"] = (
                _metadata(grade_id, solution=True, grade=True) if written_answer else _metadata(grade_id, locked=True)
            )
        elif cell.cell_type == "raw" and student.has_solution(cell.source, "raw"):
            raise GradingError(f"{where}: nbgrader cannot grade a written answer in a raw cell: make it Markdown")
        cells.append(cell)
    copy.cells = cells
    return copy


def write_nbgrader_versions(source: Path, target_dir: Path) -> tuple[list[Path], list[str]]:
    """Write an nbgrader-ready copy of every lesson in ``source`` (a folder, or one notebook) into ``target_dir``.

    Returns the paths written and, for each lesson that cannot be converted, why (the others are written).
    """
    import nbformat  # deferred, as in nbgrader_notebook

    source = Path(source)
    notebooks = [source] if source.is_file() else sorted(source.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no lesson notebooks (NN_name.ipynb) in {source}")
    Path(target_dir).mkdir(parents=True, exist_ok=True)
    written, refused = [], []
    for path in notebooks:
        try:
            graded = nbgrader_notebook(nbformat.read(path, as_version=4))
        except GradingError as err:
            refused.append(f"{path.name}: {err}")
            continue
        target = Path(target_dir) / path.name
        nbformat.write(graded, target)
        written.append(target)
    return written, refused


def give_metadata(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Give each lesson in ``paths`` its nbgrader metadata, in place; returns the lessons changed and the refusals."""
    import nbformat  # deferred, as in nbgrader_notebook

    changed, refused = [], []
    for path in paths:
        before = nbformat.read(path, as_version=4)
        try:
            graded = nbgrader_notebook(before)
        except GradingError as err:
            refused.append(f"{Path(path).name}: {err}")
            continue
        if graded != before:
            nbformat.write(graded, path)
            changed.append(Path(path))
    return changed, refused


USAGE = (
    "usage: python -m course_lib.teaching.grading SOURCE_DIR_OR_NOTEBOOK TARGET_DIR\n"
    "       python -m course_lib.teaching.grading --in-place LESSON.ipynb [LESSON.ipynb ...]"
)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--in-place"]:
        if len(args) < 2:
            print(USAGE, file=sys.stderr)
            return 2
        changed, refused = give_metadata([Path(a) for a in args[1:]])
        for path in changed:
            print(f"  gave {path} its nbgrader metadata: re-run it (scripts/execute_notebooks.py)")
        for reason in refused:
            print(f"error: {reason}", file=sys.stderr)
        return 1 if refused else 0
    if len(args) != 2:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        written, refused = write_nbgrader_versions(Path(args[0]), Path(args[1]))
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(f"  wrote {path}")
    for reason in refused:
        print(f"error: {reason}", file=sys.stderr)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
