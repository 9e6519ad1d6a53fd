"""Student versions of the lessons run top to bottom and report every exercise as not solved yet.

Each lesson's student version (written by ``course_lib.teaching.student``, as ``make student`` does) is
executed cell by cell in a fresh ``python3`` kernel of this environment, from ``notebooks/`` so
relative paths behave as in the lesson, with errors allowed so that every cell runs and the
review can list every problem at once. Then:

* No cell raises. A learner's *Run All* stops at the first exception, so a stub that reaches the
  top level of a cell (a stubbed function called outside its checker, a name left as ``...``
  used in arithmetic, a name a failing cell never defined) would leave the rest of the lesson
  unrun. Every error is reported with its cell and line.
* Every checker call prints "[NOT YET] exercise: not solved yet: ..." once, with the hint for its
  kind of stub (replace ``raise NotImplementedError()``, or replace the ``...``), in the cell where
  the solution notebook prints "[PASSED]" for the same exercise; no checker ever claims success.
  The solution notebook's calls, its "[PASSED]" lines and the student's "not solved yet" lines
  must all agree in number, so a checker that passes a stub, or prints nothing, is caught.
* Every stubbed name is checked by some checker call, and no solution line, from a code, markdown
  or raw cell, shows anywhere in the executed student version: sources, outputs, attachments,
  cell and notebook metadata (``course_lib.teaching.student.solution_leaks``).

One test per lesson (``-rP`` prints each lesson's time and counts). Under ``--dist loadfile`` the
whole file runs on one worker while the other takes the rest of the suite, nbval included. The
kernel gets ``OMP_NUM_THREADS=1``: two kernels with several threads each would fight over two cores.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import ipykernel.kernelspec
import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from traitlets import default

from course_lib.checks import CheckResult
from course_lib.teaching.student import (
    TEXT_CELLS,
    make_student_versions,
    solution_leaks,
    solution_regions,
    stubbed_names,
    student_notebook,
)

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
LESSONS = sorted(path.name for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = 900  # seconds, as `make execute`: lesson 08 trains a model in one cell
KERNEL_ENV = {"OMP_NUM_THREADS": "1"}

ANSI = re.compile(r"\x1b\[[0-9;]*m")
VERDICT = re.compile(r"^\[(PASSED|NOT YET)\] ([^:\n]+): (.*)$", re.MULTILINE)
CELL_FRAME = re.compile(r"^Cell In\[(\d+)\], line (\d+)")
HINT = {"function": "replace `raise NotImplementedError()`", "value": "replace the `...`"}


class _ThisEnvironment(KernelSpecManager):
    """``python3`` is always this environment's Python (not a kernel Jupyter finds elsewhere)."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name != "python3":
            return super().get_kernel_spec(kernel_name)
        spec = ipykernel.kernelspec.get_kernel_dict()
        return KernelSpec(resource_dir=ipykernel.kernelspec.RESOURCES, env=KERNEL_ENV, **spec)


class _KernelManager(KernelManager):
    @default("kernel_spec_manager")
    def _this_environment(self) -> KernelSpecManager:
        return _ThisEnvironment()


def _execute(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        kernel_manager_class=_KernelManager,
        allow_errors=True,
        timeout=CELL_TIMEOUT,
        startup_timeout=120,  # the machine may be busy with the other test worker
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return nb


def _tree(source: str) -> ast.Module:
    return ast.parse(TransformerManager().transform_cell(source))


def _checker_module(solution: nbformat.NotebookNode) -> tuple[str, set[str]]:
    """The name a lesson imports its own checkers as (``check``) and the checkers' names.

    Another lesson's checkers may be imported too (lesson 08 checks the gpt_forward it takes from 07 with
    ``lesson07 as lesson07_check``): the lesson's own are the ones imported as ``check``.
    """
    for cell in solution.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(_tree(cell.source)):
            if isinstance(node, ast.ImportFrom) and node.module == "course_lib.checks":
                alias = node.names[0]
                if (alias.asname or alias.name) != "check":
                    continue
                module = importlib.import_module(f"course_lib.checks.{alias.name}")
                checkers = {
                    name
                    for name, value in vars(module).items()
                    if inspect.isfunction(value)
                    and value.__module__ == module.__name__
                    and inspect.signature(value).return_annotation in (CheckResult, "CheckResult")
                }
                return alias.asname or alias.name, checkers
    raise AssertionError("the lesson never imports its checkers (`from course_lib.checks import lessonNN as check`)")


def _checker_calls(tree: ast.AST, alias: str, checkers: set[str]) -> list[ast.Call]:
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == alias
        and node.func.attr in checkers
    ]
    return sorted(calls, key=lambda call: (call.lineno, call.col_offset))


def _text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@dataclass
class Run:
    """What one student lesson did: its problems, and a summary for people reading the log."""

    lesson: str
    seconds: float = 0.0
    slowest: str = ""
    solutions: int = 0
    exercises: int = 0
    not_solved: int = 0
    errors: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.lesson}: {self.seconds:.0f} s (slowest: {self.slowest}); {self.solutions} solutions, "
            f"{self.exercises} checker calls, {self.not_solved} 'not solved yet', {self.errors} errors"
        )


@dataclass
class _Lesson:
    """What the review knows about a lesson: how it calls its checkers, and what its stubs leave."""

    alias: str  # the name the lesson imports its checkers as
    checkers: set[str]
    kinds: dict[str, str]  # every stubbed name -> "function" or "value", see stubbed_names

    def checker_calls(self, tree: ast.AST) -> list[ast.Call]:
        return _checker_calls(tree, self.alias, self.checkers)


def _verdict_problems(
    lesson: _Lesson, solution: nbformat.NotebookNode, student: nbformat.NotebookNode, run: Run
) -> tuple[list[str], set[str]]:
    """Each checker call of a cell says "not solved yet" with the hint for its kind of stub.

    Returns the problems and the names the calls check; counts the calls and verdicts in ``run``.
    """
    calls = lesson.checker_calls(_tree(solution.source))
    run.exercises += len(calls)
    passed = [name for mark, name, _ in VERDICT.findall(_text(solution)) if mark == "PASSED"]
    verdicts = VERDICT.findall(_text(student))
    problems = []
    if len(passed) != len(calls):
        problems.append(f"{len(calls)} checker calls but the solution prints {len(passed)} [PASSED]")
    if "[PASSED]" in _text(student):
        problems.append(f"a checker passes the student's stub: {verdicts}")
    if [name for _, name, _ in verdicts] != passed:
        problems.append(f"the student version reports {verdicts}, expected 'not solved yet' for {passed}")
    for call, (_, name, message) in zip(calls, verdicts, strict=False):
        argument = call.args[0].id if call.args and isinstance(call.args[0], ast.Name) else None
        if argument not in lesson.kinds:
            problems.append(f"{ast.unparse(call)} does not check a name the student must provide")
        elif message.startswith("not solved yet") and HINT[lesson.kinds[argument]] in message:
            run.not_solved += 1
        else:
            problems.append(f"{name} should say 'not solved yet: {HINT[lesson.kinds[argument]]}', said {message!r}")
    return problems, {call.args[0].id for call in calls if call.args and isinstance(call.args[0], ast.Name)}


def _line(error: nbformat.NotebookNode) -> str:
    """Where in its cell an error was raised, from the first frame of the traceback that is in a cell."""
    for entry in error.traceback:
        frame = CELL_FRAME.match(ANSI.sub("", entry))
        if frame:
            return f" (line {frame[2]})"
    return ""


def _review(lesson_name: str, solution: nbformat.NotebookNode, student: nbformat.NotebookNode) -> Run:
    """Compare the executed student version with its solution notebook, cell by cell."""
    run = Run(lesson_name)
    pairs = zip(solution.cells, student.cells, strict=True)
    cells = [(i, a, b) for i, (a, b) in enumerate(pairs) if a.cell_type == "code"]
    kinds = {name: kind for _, a, _ in cells for name, kind in stubbed_names(a.source).items()}
    lesson = _Lesson(*_checker_module(solution), kinds=kinds)
    run.solutions = sum(
        len(solution_regions(c.source, c.cell_type)) for c in solution.cells if c.cell_type in ("code", *TEXT_CELLS)
    )
    checked: set[str] = set()

    for i, sol, stu in cells:
        first_line = stu.source.strip().split("\n")[0]
        where = f"cell {i} ({first_line!r})"
        problems, names = _verdict_problems(lesson, sol, stu, run)
        checked |= names
        run.problems += [f"{where}: {problem}" for problem in problems]
        for error in (o for o in stu.get("outputs", []) if o.output_type == "error"):
            run.errors += 1
            run.problems.append(f"{where}: {error.ename}: {error.evalue}{_line(error)} would stop Run All")

    run.problems += [f"a solution still shows in {leak}" for leak in solution_leaks(solution, student)]
    unchecked = sorted(set(kinds) - checked)
    if unchecked:
        run.problems.append(f"no checker call checks {unchecked}")
    if run.exercises == 0:
        run.problems.append("no checker calls found")
    return run


def _slowest_cells(nb: nbformat.NotebookNode, n: int = 3) -> str:
    """The ``n`` slowest cells and their seconds, from the timings nbclient records."""
    seconds = {}
    for i, cell in enumerate(nb.cells):
        timing = cell.metadata.get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = (
                datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                for key in ("iopub.execute_input", "shell.execute_reply")
            )
            seconds[i] = (end - start).total_seconds()
    return ", ".join(f"cell {i} {seconds[i]:.0f} s" for i in sorted(seconds, key=seconds.get, reverse=True)[:n])


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("student")
    make_student_versions(NOTEBOOKS, target)
    return target


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_student_version_runs_and_reports_each_exercise_unsolved(lesson, student_dir):
    start = time.perf_counter()
    executed = _execute(student_dir / lesson)
    seconds = time.perf_counter() - start
    run = _review(lesson, nbformat.read(NOTEBOOKS / lesson, as_version=4), executed)
    run.seconds, run.slowest = seconds, _slowest_cells(executed)
    print(run.summary())  # shown with `pytest -rP`
    assert run.problems == [], f"{lesson}:\n" + "\n".join(run.problems)
    assert run.not_solved == run.exercises > 0


def test_the_review_catches_each_kind_of_problem(tmp_path):
    # A made-up lesson, executed for real, with one of each problem the review must report.
    passed = "[PASSED] dot: correct on all 4 test cases.\n"
    cells = [
        ("from course_lib.checks import lesson03 as check\nprint(not_defined_anywhere)", ""),
        (
            "def dot(a, b):\n    ### BEGIN SOLUTION\n    return float(sum(x * y for x, y in zip(a, b)))\n"
            "    ### END SOLUTION\n\n\nresult = check.dot(dot)",
            passed,
        ),
        ("fn = dot\nfn([1.0], [2.0])", ""),  # the stub's NotImplementedError, through a name the generator cannot see
        ("### BEGIN SOLUTION\nanswer = 3.0\n### END SOLUTION\nhalf = answer / 2", ""),  # `...` / 2
        ("print(half)", ""),  # half was never defined because the cell above failed
        ("if len(dot.__name__) > 9:\n    check.dot(dot)", passed),  # the student's checker call prints nothing
        ("check.dot(lambda a, b: float(sum(x * y for x, y in zip(a, b))))", passed),  # passes, checks no stub
        ("print('return ' + 'float(sum(x * y for x, y in zip(a, b)))')", ""),  # prints the solution's line
        ("print(answer)", ""),  # runs: printing `...` raises nothing
    ]
    solution = nbformat.v4.new_notebook()
    solution.cells = [
        nbformat.v4.new_code_cell(source, outputs=[nbformat.v4.new_output("stream", name="stdout", text=text)])
        for source, text in cells
    ]
    why = "Why?\n### BEGIN SOLUTION\nBecause the dot product adds up the products.\n### END SOLUTION"
    solution.cells.insert(1, nbformat.v4.new_markdown_cell(why))  # removed: no problem
    nbformat.write(student_notebook(solution), tmp_path / "99_made_up.ipynb")

    run = _review("99_made_up.ipynb", solution, _execute(tmp_path / "99_made_up.ipynb"))

    stub_passed = "cell 7 ('check.dot(lambda a, b: float(sum(x * y for x, y in zip(a, b))))'): "
    expected = [
        "cell 0 ('from course_lib.checks import lesson03 as check'): NameError: name 'not_defined_anywhere' is not "
        "defined (line 2) would stop Run All",
        "cell 3 ('fn = dot'): NotImplementedError:  (line 2) would stop Run All",
        "cell 4 ('answer = ...  # YOUR CODE HERE'): TypeError: unsupported operand type(s) for /: 'ellipsis' and "
        "'int' (line 2) would stop Run All",
        "cell 5 ('print(half)'): NameError: name 'half' is not defined (line 1) would stop Run All",
        "cell 6 ('if len(dot.__name__) > 9:'): the student version reports [], expected 'not solved yet' for ['dot']",
        stub_passed + "a checker passes the student's stub: ",
        stub_passed + "check.dot(lambda a, b: ",
        "a solution still shows in cell 8 outputs: 'return float(sum(x * y for x, y in zip(a, b)))'",
        "no checker call checks ['answer']",
    ]
    assert len(run.problems) == len(expected), run.problems
    for problem, start in zip(run.problems, expected, strict=True):
        assert problem.startswith(start), problem
    assert run.problems[6].endswith("does not check a name the student must provide")
    assert (run.exercises, run.not_solved, run.errors, run.solutions) == (3, 1, 4, 3)
