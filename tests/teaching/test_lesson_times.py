"""The time a learner needs per lesson: the lessons and the teacher guide state the same numbers, the
ones scripts/lesson_times.py estimates from each lesson's content, and the guide's total is their sum."""

from __future__ import annotations

import importlib.util
import json
import sys

from course_lib.data import REPO_ROOT

spec = importlib.util.spec_from_file_location("lesson_times", REPO_ROOT / "scripts" / "lesson_times.py")
lesson_times = importlib.util.module_from_spec(spec)
sys.modules["lesson_times"] = lesson_times  # its dataclass looks its module up
spec.loader.exec_module(lesson_times)


def test_lessons_and_guide_state_the_estimated_times():
    assert lesson_times.problems() == []


def test_the_estimate_grows_with_what_a_lesson_asks(tmp_path):
    def notebook(cells):
        path = tmp_path / "00_x.ipynb"
        path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
        return lesson_times.estimate(path)

    prose = {"cell_type": "markdown", "source": ["word " * 300]}
    run = {"cell_type": "code", "source": ["print(1)"], "outputs": []}
    exercise = {
        "cell_type": "code",
        "source": [
            "def f(x):\n",
            "    ### BEGIN SOLUTION\n",
            "    y = x + 1\n",
            "    return y\n",
            "    ### END SOLUTION\n",
        ],
        "outputs": [],
    }
    base = notebook([prose, run])
    assert (base.words, base.code_cells, base.exercises) == (300, 1, 0)
    assert base.minutes == 300 / lesson_times.WORDS_PER_MINUTE + lesson_times.MINUTES_PER_CODE_CELL
    with_exercise = notebook([prose, run, exercise])
    assert (with_exercise.exercises, with_exercise.solution_lines) == (1, 2)
    assert with_exercise.minutes == base.minutes + lesson_times.MINUTES_PER_EXERCISE + 2
    assert with_exercise.rounded % 5 == 0 and with_exercise.rounded >= with_exercise.minutes
