"""The import rule: a module imports only from its own layer or the layers below it (CONTRIBUTING.md).

Two checks. In a fresh Python, importing every module of the ideas (and the infrastructure under them)
loads neither Matplotlib nor ipywidgets nor IPython, and the SVG figures load no ``matplotlib.pyplot``:
the maths never draws. And statically (``ast``, nothing run), no module imports from a layer above its
own, every module has a layer, and the picture of the graph in CONTRIBUTING.md is the current one.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
import_graph = importlib.util.module_from_spec(_spec)
sys.modules["import_graph"] = import_graph  # dataclasses look their module up there
_spec.loader.exec_module(import_graph)

DRAWING = ("matplotlib", "ipywidgets", "IPython")


def _modules_loaded_by(modules: list[str]) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after importing ``modules``."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(json.loads(result.stdout))


def _in_layers(*layers: int) -> list[str]:
    return sorted(name for name in import_graph.modules() if import_graph.layer_of(name) in layers)


def test_the_ideas_load_nothing_that_draws():
    ideas = _in_layers(0, 1)
    assert "course_lib.attention" in ideas and "course_lib.smollm.model" in ideas and "course_lib.show.svg" not in ideas
    loaded = _modules_loaded_by(ideas)
    drawn = sorted(name for name in loaded if name.split(".")[0] in DRAWING)
    assert not drawn, f"importing the ideas loaded {drawn[:5]}: only course_lib.show and the layers above may draw"


def test_the_svg_figures_do_not_load_pyplot():
    loaded = _modules_loaded_by(["course_lib.show.svg"])
    assert "matplotlib.pyplot" not in loaded and "ipywidgets" not in loaded


def test_the_rule_test_sees_a_drawing_import():
    """The subprocess check can fail: importing a view module loads what it draws with."""
    loaded = _modules_loaded_by(["course_lib.lessons.lesson04"])
    assert {"matplotlib.pyplot", "ipywidgets"} <= loaded


# Packages a lesson's kernel would import only for tools it never uses there (about a second each lesson).
TOOLS_ONLY = ("nbformat", "jsonschema", "transformers")


def test_what_a_lesson_imports_loads_no_tools_it_does_not_use():
    """Every lesson imports assert_passed, your_work, its checkers and its views; none of them loads nbformat."""
    lesson_modules = ["course_lib.teaching.grading", "course_lib.teaching.your_work"] + [
        name for name in _in_layers(3) if name.startswith(("course_lib.lessons.", "course_lib.checks."))
    ]
    assert "course_lib.checks.lesson04" in lesson_modules and "course_lib.lessons.lesson09" in lesson_modules
    loaded = _modules_loaded_by(lesson_modules)
    tools = sorted(name for name in loaded if name.split(".")[0] in TOOLS_ONLY)
    assert not tools, f"importing what the lessons import loaded {tools[:5]}: defer that import to where it is used"


def test_no_module_imports_from_a_layer_above_its_own():
    assert import_graph.violations() == []


def test_every_module_has_a_layer():
    assert [name for name in import_graph.modules() if import_graph.layer_of(name) is None] == []


@pytest.mark.parametrize(
    "graph, problem",
    [
        ({"course_lib.attention": {"course_lib.show.figures"}}, "course_lib.attention (layer 1) imports"),
        ({"course_lib.show.svg": {"course_lib.lessons.lesson04"}}, "course_lib.show.svg (layer 2) imports"),
        ({"course_lib.arrays": {"course_lib.model"}}, "course_lib.arrays (layer 0) imports"),
        ({"course_lib.mystery": set()}, "course_lib.mystery belongs to no layer"),
    ],
)
def test_an_import_from_above_is_reported(graph, problem):
    assert any(line.startswith(problem) for line in import_graph.violations(graph))


def test_an_import_from_below_or_beside_is_allowed():
    graph = {
        "course_lib.lessons.lesson04": {"course_lib.show.svg", "course_lib.attention", "course_lib.lessons.lesson07"}
    }
    assert import_graph.violations(graph) == []


def test_the_picture_in_contributing_is_up_to_date():
    assert import_graph.main(["--check"]) == 0, "run: python scripts/import_graph.py --write"
