"""nbgrader grades the lessons: generate with its default settings, submit, autograde, feedback with the hints.

The real flow a teacher runs, in a temporary course directory, on the lessons as committed (they carry
nbgrader's cell metadata: course_lib.teaching.grading). Every lesson that carries it is released as
one assignment, ``all``; lessons 05 (six functions) and 03 (four functions) are the assignment
``lessons`` that a learner submits and nbgrader grades. The learner's submission has lesson 05's
sampling step wrong (``u <= total`` at a boundary) and its ``probability_ratio`` unanswered, everything
else right.
(A wrong ``softmax`` would cost two points: lesson 05's second exercise calls the learner's softmax.)
"""

from __future__ import annotations

import csv
import html
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_lib.checks import lesson05

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
BIN = Path(sys.executable).parent
LESSONS = ["03_dot_products", "05_softmax_temperature"]
GRADED = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
WRONG_SAMPLE_INDEX = """def sample_index(probs, u):
    total = 0.0
    for index, p in enumerate(probs):
        total += p
        if u <= total:  # the boundary belongs to the next index: u < total
            return index
    return len(probs) - 1"""

pytestmark = pytest.mark.slow


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run nbgrader as a teacher would, from the course directory, with the venv's bin on PATH.

    ``nbgrader db`` runs ``alembic`` by name, so it fails unless the venv's bin is on PATH.
    """
    if shutil.which("nbgrader", path=str(BIN)) is None:
        pytest.fail(f"nbgrader is not installed in {BIN}: `pip install -r requirements.txt`", pytrace=False)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    run = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True, text=True)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run


def solution_cells(nb) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """A course directory after generate_assignment, one submission, autograde and generate_feedback."""
    course = tmp_path_factory.mktemp("course")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'llm-course'\n"
        "c.Execute.timeout = 600  # a lesson's slowest cell; nbgrader's default is 30 s\n"
    )
    source = course / "source" / "lessons"
    source.mkdir(parents=True)
    for name in LESSONS:
        shutil.copy(NOTEBOOKS / f"{name}.ipynb", source)  # as committed: no conversion
    (course / "source" / "all").mkdir()
    for path in GRADED:
        shutil.copy(path, course / "source" / "all")
    nbgrader(course, "db", "student", "add", "learner")
    nbgrader(course, "generate_assignment", "lessons")  # nbgrader's default settings
    nbgrader(course, "generate_assignment", "all")

    submitted = course / "submitted" / "learner" / "lessons"
    submitted.mkdir(parents=True)
    for name in LESSONS:
        release = nbformat.read(course / "release" / "lessons" / f"{name}.ipynb", as_version=4)
        answers = solution_cells(nbformat.read(source / f"{name}.ipynb", as_version=4))
        for grade_id, cell in solution_cells(release).items():
            if name.startswith("05") and grade_id == "probability_ratio":
                continue  # unanswered: nbgrader's stub stays
            wrong = name.startswith("05") and grade_id == "sample_index"
            cell.source = WRONG_SAMPLE_INDEX if wrong else answers[grade_id].source
        nbformat.write(release, submitted / f"{name}.ipynb")
    (submitted / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC\n")
    nbgrader(course, "autograde", "lessons")
    nbgrader(course, "generate_feedback", "lessons")
    nbgrader(course, "export")
    return course


def test_every_lesson_as_committed_is_released_with_its_stubs(graded):
    for path in GRADED:
        release = nbformat.read(graded / "release" / "all" / path.name, as_version=4)
        stubs = solution_cells(release).values()
        assert all("BEGIN SOLUTION" not in c.source for c in release.cells), path.name
        assert any("raise NotImplementedError()" in c.source or "YOUR ANSWER HERE" in c.source for c in stubs)


def test_the_release_has_nbgraders_stubs_and_the_locked_test_cells(graded):
    release = nbformat.read(graded / "release" / "lessons" / "05_softmax_temperature.ipynb", as_version=4)
    stubs = solution_cells(release)
    assert set(stubs) == {
        "softmax",
        "softmax_with_temperature",
        "probability_ratio",
        "sample_index",
        "top_k_filter",
        "top_p_filter",
    }
    assert all("raise NotImplementedError()" in c.source and "BEGIN SOLUTION" not in c.source for c in stubs.values())
    assert stubs["probability_ratio"].source.startswith("def probability_ratio(gap, temperature):")
    tests = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(tests) == 6 and all(
        c.metadata["nbgrader"]["locked"] and c.metadata["nbgrader"]["points"] == 1 for c in tests
    )


def test_autograde_scores_one_point_per_passed_checker(graded):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded / 'gradebook.db'}") as gradebook:
        lesson05 = gradebook.find_submission_notebook("05_softmax_temperature", "lessons", "learner")
        lesson03 = gradebook.find_submission_notebook("03_dot_products", "lessons", "learner")
        scores05 = {grade.name: grade.score for grade in lesson05.grades}
        assert (lesson05.score, lesson05.max_score) == (4.0, 6.0)
        assert (lesson03.score, lesson03.max_score) == (4.0, 4.0)
        assert scores05 == {
            "softmax-test": 1.0,
            "softmax_with_temperature-test": 1.0,
            "probability_ratio-test": 0.0,  # unanswered
            "sample_index-test": 0.0,  # wrong
            "top_k_filter-test": 1.0,
            "top_p_filter-test": 1.0,
        }
        submission = gradebook.find_submission("lessons", "learner")
        assert (submission.score, submission.max_score) == (8.0, 10.0)
    exported = list(csv.DictReader((graded / "grades.csv").open()))
    scores = {row["assignment"]: (row["student_id"], float(row["score"]), float(row["max_score"])) for row in exported}
    assert scores["lessons"] == ("learner", 8.0, 10.0)
    assert scores["all"][:2] == ("learner", 0.0)  # released, never submitted


def test_the_feedback_shows_the_checkers_hint(graded):
    namespace: dict = {"np": np}
    exec(WRONG_SAMPLE_INDEX, namespace)
    hint = lesson05.sample_index(namespace["sample_index"]).message  # what the course's checker says to it
    assert "use u < total, not u <= total" in hint
    feedback = (graded / "feedback" / "learner" / "lessons" / "05_softmax_temperature.html").read_text()
    assert html.escape(hint, quote=False) in feedback or html.escape(hint) in feedback
    assert "AssertionError" in feedback
    # The unanswered exercise: nbgrader's stub raises inside the function, and its checker says so.
    assert "probability_ratio: not solved yet" in feedback
