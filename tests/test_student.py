"""Student versions: solutions become stubs the checkers recognise, and no solution text leaks."""

from pathlib import Path

import nbformat
import pytest

from course_lib.checks import Case, check_function, check_value
from course_lib.student import (
    SolutionMarkerError,
    hidden_lines,
    make_student_versions,
    strip_solutions,
    stubbed_names,
    student_notebook,
)

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


def test_stubbed_names_says_what_each_stub_leaves_for_the_learner():
    assert stubbed_names(FUNCTION_CELL) == {"one_hot": "function"}
    assert stubbed_names(TOP_LEVEL_CELL) == {"n_chars": "value", "first": "value", "last": "value"}
    nested = "def outer():\n    def inner(x):\n        ### BEGIN SOLUTION\n        return x\n"
    nested += "        ### END SOLUTION\n    return inner"
    assert stubbed_names(nested) == {"inner": "function"}
    assert stubbed_names("x = 1") == {}


def test_a_solution_indented_outside_any_function_is_reported():
    # Its stub would be a top-level `raise NotImplementedError()`, which stops "Run all".
    loop = "for i in range(3):\n    ### BEGIN SOLUTION\n    print(i)\n    ### END SOLUTION"
    with pytest.raises(SolutionMarkerError, match="not inside a function"):
        stubbed_names(loop)


def test_hidden_lines_are_the_solution_lines_only():
    assert hidden_lines(FUNCTION_CELL) == ["eye = np.eye(vocab_size)", "return eye[ids]"]
    assert hidden_lines(TOP_LEVEL_CELL) == ["n_chars = len(text)", "first, last = text[0], text[-1]"]


def _strings(node) -> list[str]:
    """Every string anywhere in a notebook: sources, outputs, metadata (widget state included)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in [key, *_strings(value)]]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def _leaks(solution: nbformat.NotebookNode, student: nbformat.NotebookNode) -> list[str]:
    # Lines of 12 characters or fewer (`return x`) may occur outside solutions too.
    hidden = [line for c in solution.cells if c.cell_type == "code" for line in hidden_lines(c.source)]
    text = "\n".join(_strings(student))
    return [line for line in hidden if len(line) > 12 and line in text]


def test_student_version_drops_outputs_and_widget_state_that_show_the_solution():
    cell = nbformat.v4.new_code_cell(
        FUNCTION_CELL, execution_count=3, metadata={"execution": {"a": "b"}, "tags": ["t"]}
    )
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="eye = np.eye(vocab_size)\n")]
    solution = nbformat.v4.new_notebook(cells=[cell])
    solution.metadata["widgets"] = {"state": {"value": "return eye[ids]"}}
    assert len(_leaks(solution, solution)) == 2  # the check sees outputs and widget state, not only sources
    student = student_notebook(solution)
    assert _leaks(solution, student) == []
    assert student.cells[0].outputs == [] and student.cells[0].execution_count is None
    assert student.cells[0].metadata == {"tags": ["t"]} and "widgets" not in student.metadata
    assert solution.cells[0].outputs and "widgets" in solution.metadata  # the solution notebook is left alone


def test_real_lessons_have_exercises_and_their_student_versions_leak_no_solution(tmp_path):
    written = make_student_versions(NOTEBOOKS, tmp_path)
    assert written, "no lessons found"
    for path in written:
        solution = nbformat.read(NOTEBOOKS / path.name, as_version=4)
        student = nbformat.read(path, as_version=4)
        solution_code = [c.source for c in solution.cells if c.cell_type == "code"]
        assert len([s for s in solution_code if "### BEGIN SOLUTION" in s]) >= 3, f"{path.name}: fewer than 3 exercises"
        leaked = _leaks(solution, student)
        assert leaked == [], f"{path.name}: solution lines leak into the student version: {leaked[:3]}"
        code = [c for c in student.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None and "execution" not in c.metadata for c in code)
        assert "widgets" not in student.metadata
        assert "YOUR CODE HERE" in "\n".join(c.source for c in code)


def test_every_lesson_is_saved_executed_so_nbval_compares_real_outputs():
    # nbval only compares cells that have saved outputs: a lesson saved unexecuted would pass vacuously.
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code" and c.source.strip()]
        executed = [c for c in code if c.get("execution_count")]
        assert len(executed) == len(code), f"{path.name}: {len(code) - len(executed)} code cells were saved unexecuted"
        errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == [], f"{path.name} was saved with an error output"
