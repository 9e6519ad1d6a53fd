"""course_lib.teaching.grading: nbgrader metadata from the lessons, and a check that fails only in nbgrader."""

from pathlib import Path

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator

from course_lib.checks import CheckResult
from course_lib.teaching import grading, student

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PASSED, NOT_YET = CheckResult("softmax", True, "correct"), CheckResult("softmax", False, "did you forget to normalise?")


def lesson(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(c[1:]) if c.startswith("#") and c[1] == " " else c for c in cells]
    nb.cells = [nbformat.v4.new_code_cell(c) if isinstance(c, str) else c for c in nb.cells]
    return nb


FUNCTION = """def softmax(x):
    ### BEGIN SOLUTION
    return np.exp(x) / np.exp(x).sum()
    ### END SOLUTION


result = check.softmax(softmax)  # prints the verdict
softmax_fn = softmax if result else check.reference("softmax")"""

VALUES = """### BEGIN SOLUTION
heads = 96 * 96
weights = 4 * 12288**2
### END SOLUTION
check.heads(heads);
ok = check.weights(weights)"""


# --------------------------------------------------------------------------- the graded check


def test_outside_nbgrader_assert_passed_does_nothing(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert grading.assert_passed(NOT_YET) is None
    assert grading.assert_passed() is None


@pytest.mark.parametrize("execution", ["autograde", "validate"])
def test_under_nbgrader_a_wrong_answer_fails_with_the_checkers_hint(monkeypatch, execution):
    monkeypatch.setenv("NBGRADER_EXECUTION", execution)
    grading.assert_passed(PASSED)
    with pytest.raises(AssertionError, match=r"^\[NOT YET\] softmax: did you forget to normalise\?$"):
        grading.assert_passed(PASSED, NOT_YET)
    with pytest.raises(AssertionError, match="the checker's result is missing"):
        grading.assert_passed(None)
    with pytest.raises(AssertionError, match="the checker's result is missing"):
        grading.assert_passed()


# --------------------------------------------------------------------------- splitting an exercise


def test_a_function_exercise_splits_after_the_function_and_grades_its_checker():
    exercise = grading.split_exercise(FUNCTION)
    assert exercise.name == "softmax"
    assert exercise.answer == FUNCTION.split("\n\n\nresult")[0]
    (test,) = exercise.tests
    assert test.startswith("result = check.softmax(softmax)  # prints the verdict\nsoftmax_fn = softmax if result")
    assert test.endswith("from course_lib.teaching.grading import assert_passed\n\nassert_passed(result)")


def test_each_checker_call_is_its_own_test_cell_and_its_result_is_graded():
    exercise = grading.split_exercise(VALUES)
    assert exercise.name == "heads"
    assert exercise.answer == "### BEGIN SOLUTION\nheads = 96 * 96\nweights = 4 * 12288**2\n### END SOLUTION"
    first, second = exercise.tests
    assert first.splitlines()[0] == "result = check.heads(heads)"  # a `;` only hid the display
    assert second.splitlines()[:2] == ["ok = check.weights(weights)", "result = ok"]
    assert all(t.endswith("assert_passed(result)") for t in exercise.tests)


def test_an_exercise_without_a_checker_after_it_is_refused():
    with pytest.raises(grading.GradingError, match=r"line 5: no checker call \(`check.name\(...\)`\) follows"):
        grading.split_exercise('def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\nprint("done")')


# --------------------------------------------------------------------------- the metadata


def test_the_metadata_is_what_nbgrader_validates_and_grades():
    nb = grading.nbgrader_notebook(lesson("# 01 · A lesson\n\nProse.", "import numpy as np", FUNCTION, VALUES))
    MetadataValidator().validate_nb(nb)  # nbgrader's own check of the cell metadata
    kinds = [(c.cell_type, c.metadata.get("nbgrader", {})) for c in nb.cells]
    assert [k[0] for k in kinds] == ["markdown", "code", "code", "code", "code", "code", "code"]
    prose, imports, answer, test, values, test1, test2 = (k[1] for k in kinds)
    assert prose["locked"] and not prose["solution"] and not prose["grade"]
    assert imports == {}  # ordinary code cells stay the learner's to change
    assert answer["solution"] and not answer["locked"] and answer["grade_id"] == "softmax"
    for meta, grade_id in [(test, "softmax-test"), (test1, "heads-test"), (test2, "heads-test-2")]:
        assert meta["grade"] and meta["locked"] and meta["points"] == 1 and meta["grade_id"] == grade_id
    assert values["grade_id"] == "heads" and nb.cells[6].id.endswith("-test2")


def test_a_written_answer_becomes_a_manually_graded_answer():
    nb = grading.nbgrader_notebook(
        lesson("# 01 · A lesson", "# Why?\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION")
    )
    meta = nb.cells[1].metadata["nbgrader"]
    assert meta["solution"] and meta["grade"] and meta["points"] == 1 and not meta["locked"]
    MetadataValidator().validate_nb(nb)


def test_a_quoted_marker_is_an_error_since_nbgrader_would_take_it_as_one():
    quoted = lesson("# 00 · Start\n\nWhere a cell says `### BEGIN SOLUTION`, try it yourself first.", FUNCTION)
    with pytest.raises(grading.GradingError, match=r"cell 0 \(id .+\), line 3: 'Where a cell says `### BEGIN"):
        grading.nbgrader_notebook(quoted)
    in_a_string = lesson("# 01 · A lesson", 'print("the END SOLUTION marker")')
    with pytest.raises(grading.GradingError, match=r"cell 1 .*line 1"):
        grading.nbgrader_notebook(in_a_string)


def test_no_lesson_quotes_a_marker_nbgrader_would_misread():
    for path in LESSONS:
        assert grading.stray_markers(nbformat.read(path, as_version=4)) == [], path.name


def test_giving_a_lesson_its_metadata_twice_changes_nothing():
    once = grading.nbgrader_notebook(lesson("# 01 · A lesson\n\nProse.", "import numpy as np", FUNCTION, VALUES))
    assert grading.nbgrader_notebook(once) == once
    # A cell added later (a new exercise) gets its metadata next to the kept ones, with a grade id of its own.
    once.cells.append(nbformat.v4.new_code_cell(FUNCTION))
    again = grading.nbgrader_notebook(once)
    assert again.cells[: len(once.cells) - 1] == once.cells[:-1]
    assert [c.metadata["nbgrader"]["grade_id"] for c in again.cells[-2:]] == ["softmax-2", "softmax-2-test"]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_gets_valid_metadata_and_one_test_cell_per_checker(path):
    nb = nbformat.read(path, as_version=4)
    graded = grading.nbgrader_notebook(nb)
    MetadataValidator().validate_nb(graded)
    solutions = [c for c in nb.cells if c.cell_type == "code" and student.has_solution(c.source)]
    answers = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("solution")]
    tests = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(answers) == len(solutions) and len(tests) >= len(solutions)
    assert all("check." in c.source and c.source.endswith("assert_passed(result)") for c in tests)
    # The student version of the graded lesson is still one `make student` can write: no stub stops Run All.
    student.student_notebook(graded)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_the_lessons_carry_their_nbgrader_metadata_as_committed(path):
    nb = nbformat.read(path, as_version=4)
    assert grading.nbgrader_notebook(nb) == nb, "run `python -m course_lib.teaching.grading --in-place` on it"
    MetadataValidator().validate_nb(nb)
    assert any(c.metadata.get("nbgrader", {}).get("grade") for c in nb.cells), "a lesson without a graded cell"


def test_in_place_the_command_line_gives_metadata_once(tmp_path, capsys):
    path = tmp_path / "01_fine.ipynb"
    nbformat.write(lesson("# 01 · Fine", "import numpy as np", FUNCTION), path)
    assert grading.main(["--in-place", str(path)]) == 0
    assert "gave" in capsys.readouterr().out
    written = path.read_bytes()
    assert "nbgrader" in nbformat.read(path, as_version=4).cells[2].metadata
    assert grading.main(["--in-place", str(path)]) == 0
    assert capsys.readouterr().out == "" and path.read_bytes() == written
    quotes = tmp_path / "00_quotes.ipynb"
    nbformat.write(lesson("# 00 · Quotes `### BEGIN SOLUTION`", FUNCTION), quotes)
    before = quotes.read_bytes()
    assert grading.main(["--in-place", str(quotes)]) == 1
    assert "error: 00_quotes.ipynb: nbgrader would take" in capsys.readouterr().err and quotes.read_bytes() == before
    assert grading.main(["--in-place"]) == 2


def test_the_command_line_writes_every_lesson_it_can_and_names_the_others(tmp_path, capsys):
    source = tmp_path / "notebooks"
    source.mkdir()
    nbformat.write(lesson("# 01 · Fine", "import numpy as np", FUNCTION), source / "01_fine.ipynb")
    nbformat.write(lesson("# 00 · Quotes `### BEGIN SOLUTION`", FUNCTION), source / "00_quotes.ipynb")
    assert grading.main([str(source), str(tmp_path / "out")]) == 1
    out, err = capsys.readouterr()
    assert "01_fine.ipynb" in out and (tmp_path / "out" / "01_fine.ipynb").exists()
    assert "error: 00_quotes.ipynb: nbgrader would take these lines as solution markers" in err
    assert not (tmp_path / "out" / "00_quotes.ipynb").exists()
    assert grading.main([str(source / "01_fine.ipynb"), str(tmp_path / "one")]) == 0
    assert grading.main([str(tmp_path / "empty"), str(tmp_path / "x")]) == 1
    assert grading.main([]) == 2
