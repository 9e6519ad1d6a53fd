"""Student versions: solutions become stubs the checkers recognise, and no solution text leaks."""

from pathlib import Path

import nbformat
import pytest

from course_lib.checks import Case, check_function, check_value
from course_lib.student import SolutionMarkerError, make_student_versions, strip_solutions

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

FUNCTION_CELL = """import numpy as np

def one_hot(ids, vocab_size):
    \"\"\"One row per id.\"\"\"
    ### BEGIN SOLUTION
    eye = np.eye(vocab_size)
    return eye[ids]
    ### END SOLUTION

print("defined")"""

TOP_LEVEL_CELL = """text = "Hi world"
### BEGIN SOLUTION
n_chars = len(text)
first, last = text[0], text[-1]
### END SOLUTION
check(n_chars)"""


def test_solution_inside_a_function_becomes_nbgraders_stub():
    stripped = strip_solutions(FUNCTION_CELL)
    assert "np.eye" not in stripped and "BEGIN SOLUTION" not in stripped
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in stripped
    assert stripped.endswith('print("defined")')
    namespace: dict = {}
    exec(stripped, namespace)  # the stub still defines the function
    result = check_function("one_hot", namespace["one_hot"], lambda ids, n: ids, [Case(([0], 2))], quiet=True)
    assert not result.passed and "not solved yet" in result.message


def test_top_level_solution_leaves_each_assigned_name_for_the_learner():
    stripped = strip_solutions(TOP_LEVEL_CELL)
    assert "len(text)" not in stripped
    assert "n_chars = ...  # YOUR CODE HERE" in stripped
    assert "first = ...  # YOUR CODE HERE" in stripped and "last = ...  # YOUR CODE HERE" in stripped
    namespace: dict = {"check": lambda value: check_value("n_chars", value, 8, quiet=True)}
    exec(stripped.replace("check(n_chars)", "result = check(n_chars)"), namespace)
    assert "not solved yet" in namespace["result"].message


def test_cell_without_markers_is_unchanged():
    assert strip_solutions("x = 1\nprint(x)") == "x = 1\nprint(x)"


@pytest.mark.parametrize(
    "source, message",
    [
        ("### BEGIN SOLUTION\nx = 1", "has no"),
        ("x = 1\n### END SOLUTION", "without a"),
        ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION", "nested"),
        ("### BEGIN SOLUTION\nprint(1)\n### END SOLUTION", "must assign at least one name"),
    ],
)
def test_broken_markers_are_reported(source, message):
    with pytest.raises(SolutionMarkerError, match=message):
        strip_solutions(source)


def _solution_lines(source: str) -> list[str]:
    lines, inside = [], False
    for line in source.split("\n"):
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside and len(line.strip()) > 12:  # short lines like `return x` may occur elsewhere
            lines.append(line.strip())
    return lines


def test_real_lessons_have_exercises_and_their_student_versions_leak_no_solution(tmp_path):
    written = make_student_versions(NOTEBOOKS, tmp_path)
    assert written, "no lessons found"
    for path in written:
        solution = nbformat.read(NOTEBOOKS / path.name, as_version=4)
        student = nbformat.read(path, as_version=4)
        solution_code = [c.source for c in solution.cells if c.cell_type == "code"]
        hidden = [line for source in solution_code for line in _solution_lines(source)]
        assert len([s for s in solution_code if "### BEGIN SOLUTION" in s]) >= 3, f"{path.name}: fewer than 3 exercises"
        student_code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
        leaked = [line for line in hidden if line in student_code]
        assert leaked == [], f"{path.name}: solution lines leak into the student version: {leaked[:3]}"
        assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
        assert "YOUR CODE HERE" in student_code


def test_every_lesson_is_saved_executed_so_nbval_compares_real_outputs():
    # nbval only compares cells that have saved outputs: a lesson saved unexecuted would pass vacuously.
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code" and c.source.strip()]
        executed = [c for c in code if c.get("execution_count")]
        assert len(executed) == len(code), f"{path.name}: {len(code) - len(executed)} code cells were saved unexecuted"
        errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == [], f"{path.name} was saved with an error output"
