"""Student versions of the lessons run top to bottom and report every exercise as not solved yet.

Each lesson's student version (written by ``course_lib.student``, as ``make student`` does) is
executed cell by cell in a fresh ``python3`` kernel of this environment, from ``notebooks/`` so
relative paths behave as in the lesson, with errors allowed so that every cell runs. Then:

* Every error must follow from an unsolved exercise. Either it is a stub's own
  ``NotImplementedError`` (a stubbed function called outside its checker: the innermost frame is
  that stub), or the failing statement reads, outside a checker call, a name the learner was meant
  to provide (left as ``...``), a name computed from one, or a name that an earlier failing
  statement would have bound (a ``NameError`` must be about such a name). Anything else fails the
  test, and so does any error before the first exercise: a cell that breaks for another reason
  means the lesson only works once its solutions are filled in. The errors that are allowed are
  still reported as warnings, since a learner sees a traceback there.
* Every checker call prints "[NOT YET] exercise: not solved yet: ..." once, with the hint for its
  kind of stub (replace ``raise NotImplementedError()``, or replace the ``...``), in the cell where
  the solution notebook prints "[PASSED]" for the same exercise; no checker ever claims success.
  The solution notebook's calls, its "[PASSED]" lines and the student's "not solved yet" lines
  must all agree in number, so a checker that passes a stub, or prints nothing, is caught.
* Every stubbed name is checked by some checker call, and no solution line shows in the outputs.

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
import warnings
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
from course_lib.student import BEGIN, hidden_lines, make_student_versions, stubbed_names, student_notebook

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = sorted(path.name for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = 900  # seconds, as `make execute`: lesson 08 trains a model in one cell
KERNEL_ENV = {"OMP_NUM_THREADS": "1"}

ANSI = re.compile(r"\x1b\[[0-9;]*m")
VERDICT = re.compile(r"^\[(PASSED|NOT YET)\] ([^:\n]+): (.*)$", re.MULTILINE)
CELL_FRAME = re.compile(r"^Cell In\[(\d+)\], line (\d+)(?:, in (\w+)\()?")
UNDEFINED = re.compile(r"^name '(\w+)' is not defined$")
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


def _stored(statements: list[ast.stmt]) -> set[str]:
    """Every name the statements bind: assignments, loop targets, definitions, imports."""
    names = set()
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[0])
    return names


def _loaded(node: ast.AST, skip: set[ast.AST] = frozenset()) -> set[str]:
    """Names ``node`` reads, leaving out the subtrees in ``skip``."""
    if node in skip:
        return set()
    names = {node.id} if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) else set()
    for child in ast.iter_child_nodes(node):
        names |= _loaded(child, skip)
    return names


def _checker_module(solution: nbformat.NotebookNode) -> tuple[str, set[str]]:
    """The name a lesson imports its checkers as (``check``) and the checkers' names."""
    for cell in solution.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(_tree(cell.source)):
            if isinstance(node, ast.ImportFrom) and node.module == "course_lib.checks":
                alias = node.names[0]
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


def _frames(error: nbformat.NotebookNode) -> list[str]:
    return [ANSI.sub("", entry) for entry in error.traceback if CELL_FRAME.match(ANSI.sub("", entry))]


@dataclass
class Run:
    """What one student lesson did: its problems, and a summary for people reading the log."""

    lesson: str
    seconds: float = 0.0
    slowest: str = ""
    solutions: int = 0
    exercises: int = 0
    not_solved: int = 0
    allowed_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"{self.lesson}: {self.seconds:.0f} s (slowest: {self.slowest}); {self.solutions} solutions, "
            f"{self.exercises} checker calls, {self.not_solved} 'not solved yet', "
            f"{len(self.allowed_errors)} errors explained by unsolved exercises"
        ]
        return "\n  ".join(lines + self.allowed_errors)


@dataclass
class _Lesson:
    """What the review knows about a lesson while it walks through the cells in order."""

    alias: str  # the name the lesson imports its checkers as
    checkers: set[str]
    stubs: dict[int, dict[str, str]]  # cell index -> {name: "function" or "value"}, see stubbed_names
    kinds: dict[str, str]  # every stubbed name -> its kind
    by_count: dict[int, int]  # execution count -> cell index, to read tracebacks
    unfilled: set[str]  # names left as `...`, or computed from one, or bound by a failing statement
    undefined: set[str] = field(default_factory=set)  # names a failing statement may not have defined

    def checker_calls(self, tree: ast.AST) -> list[ast.Call]:
        return _checker_calls(tree, self.alias, self.checkers)

    def uses_unsolved(self, statement: ast.stmt) -> set[str]:
        """Unsolved names ``statement`` reads, outside checker calls (a checker must cope with a stub)."""
        return _loaded(statement, set(self.checker_calls(statement))) & (self.unfilled | self.undefined)


def _verdict_problems(
    lesson: _Lesson, solution: nbformat.NotebookNode, student: nbformat.NotebookNode, run: Run
) -> tuple[list[str], set[str]]:
    """(b) Each checker call of a cell says "not solved yet" with the hint for its kind of stub.

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


def _explain(lesson: _Lesson, tree: ast.Module, error: nbformat.NotebookNode) -> tuple[str, list[ast.stmt]]:
    """(a) Why an unsolved exercise explains ``error`` ("" if none does), and the statements from the failing one on."""
    frames = _frames(error)
    first = CELL_FRAME.match(frames[0]) if frames else None
    last = CELL_FRAME.match(frames[-1]) if frames else None
    failed_line = int(first[2]) if first else 1
    failing = [s for s in tree.body if s.lineno <= failed_line <= s.end_lineno]
    later = [s for s in tree.body if s.end_lineno >= failed_line]
    stub_cell, stub = (lesson.by_count.get(int(last[1])), last[3]) if last else (None, None)
    missing = UNDEFINED.match(error.evalue)
    uses = set().union(*(lesson.uses_unsolved(s) for s in failing))
    if (
        error.ename == "NotImplementedError"
        and error.evalue == ""
        and stub_cell is not None
        and lesson.stubs[stub_cell].get(stub) == "function"
        and "raise NotImplementedError()" in frames[-1]
    ):
        return f"calls the stub {stub}()", later
    if error.ename == "NameError" and missing and missing[1] in lesson.undefined:
        return f"uses {missing[1]}, which an earlier failing cell did not define", later
    if error.ename not in ("NameError", "NotImplementedError") and uses:
        return f"uses {', '.join(sorted(uses))}, left for the learner", later
    return "", later


def _review(lesson_name: str, solution: nbformat.NotebookNode, student: nbformat.NotebookNode) -> Run:
    """Compare the executed student version with its solution notebook, cell by cell."""
    run = Run(lesson_name)
    pairs = zip(solution.cells, student.cells, strict=True)
    cells = [(i, a, b) for i, (a, b) in enumerate(pairs) if a.cell_type == "code"]
    stubs = {i: stubbed_names(a.source) for i, a, _ in cells}
    kinds = {name: kind for names in stubs.values() for name, kind in names.items()}
    lesson = _Lesson(
        *_checker_module(solution),
        stubs=stubs,
        kinds=kinds,
        by_count={b.execution_count: i for i, _, b in cells if b.execution_count is not None},
        unfilled={name for name, kind in kinds.items() if kind == "value"},
    )
    run.solutions = sum(a.source.count(BEGIN) for _, a, _ in cells)
    hidden = [line for _, a, _ in cells for line in hidden_lines(a.source) if len(line) > 12]
    checked: set[str] = set()
    seen_exercise = False

    for i, sol, stu in cells:
        first_line = stu.source.strip().split("\n")[0]
        where = f"cell {i} ({first_line!r})"
        seen_exercise = seen_exercise or bool(stubs[i])
        problems, names = _verdict_problems(lesson, sol, stu, run)
        checked |= names
        run.problems += [f"{where}: {problem}" for problem in problems]

        # no solution line shows in what the student sees
        outputs = _text(stu) + "".join(str(o.get("data", "")) for o in stu.get("outputs", []))
        run.problems += [f"{where}: solution line {line!r} shows in the output" for line in hidden if line in outputs]

        tree = _tree(stu.source)
        errors = [o for o in stu.get("outputs", []) if o.output_type == "error"]
        if not errors:  # names computed from an unsolved one are unsolved too
            for statement in tree.body:
                if lesson.uses_unsolved(statement):
                    lesson.unfilled |= _stored([statement])
            continue
        why, later = _explain(lesson, tree, errors[0])
        if seen_exercise and why:
            run.allowed_errors.append(f"{where}: {errors[0].ename} ({why})")
        else:
            before = "" if seen_exercise else " (before the first exercise)"
            run.problems.append(
                f"{where}: {errors[0].ename}: {errors[0].evalue} is not explained by an unsolved exercise{before}"
            )
        # the names bound from the failing statement on may be missing, or hold nonsense
        lesson.undefined |= _stored(later)
        lesson.unfilled |= _stored(later)

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
    for explained in run.allowed_errors:
        # Allowed, but a learner who has not solved the exercise yet sees a traceback there: say so in the log.
        warnings.warn(f"{lesson}, {explained}", UserWarning, stacklevel=1)
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
        ("dot([1.0], [2.0])", ""),  # the stub's own NotImplementedError: allowed
        ("### BEGIN SOLUTION\nanswer = 3.0\n### END SOLUTION\nhalf = answer / 2", ""),  # `...` / 2: allowed
        ("print(half)", ""),  # half was never defined because the cell above failed: allowed
        ("print(answer)\nprint(1 / 0)", ""),  # the failing line does not use the unsolved answer
        ("if len(dot.__name__) > 9:\n    check.dot(dot)", passed),  # the student's checker call prints nothing
        ("check.dot(lambda a, b: float(sum(x * y for x, y in zip(a, b))))", passed),  # passes, checks no stub
        ("pair = (answer, 1)", ""),  # runs, but pair holds the unsolved answer
        ("print(pair[0] + pair[1])", ""),  # `...` + 1: allowed
    ]
    solution = nbformat.v4.new_notebook()
    solution.cells = [
        nbformat.v4.new_code_cell(source, outputs=[nbformat.v4.new_output("stream", name="stdout", text=text)])
        for source, text in cells
    ]
    nbformat.write(student_notebook(solution), tmp_path / "99_made_up.ipynb")

    run = _review("99_made_up.ipynb", solution, _execute(tmp_path / "99_made_up.ipynb"))

    stub_passed = "cell 7 ('check.dot(lambda a, b: float(sum(x * y for x, y in zip(a, b))))'): "
    expected = [
        "cell 0 ('from course_lib.checks import lesson03 as check'): NameError: name 'not_defined_anywhere' is not "
        "defined is not explained by an unsolved exercise (before the first exercise)",
        "cell 5 ('print(answer)'): ZeroDivisionError: division by zero is not explained by an unsolved exercise",
        "cell 6 ('if len(dot.__name__) > 9:'): the student version reports [], expected 'not solved yet' for ['dot']",
        stub_passed + "a checker passes the student's stub: ",
        stub_passed + "check.dot(lambda a, b: ",
        "no checker call checks ['answer']",
    ]
    assert len(run.problems) == len(expected), run.problems
    for problem, start in zip(run.problems, expected, strict=True):
        assert problem.startswith(start)
    assert run.problems[4].endswith("does not check a name the student must provide")
    assert run.allowed_errors == [
        "cell 2 ('dot([1.0], [2.0])'): NotImplementedError (calls the stub dot())",
        "cell 3 ('answer = ...  # YOUR CODE HERE'): TypeError (uses answer, left for the learner)",
        "cell 4 ('print(half)'): NameError (uses half, which an earlier failing cell did not define)",
        "cell 9 ('print(pair[0] + pair[1])'): TypeError (uses pair, left for the learner)",
    ]
    assert (run.exercises, run.not_solved) == (3, 1)
