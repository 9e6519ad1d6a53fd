"""The browser harness (tests/browser/) without a browser: where it is loaded, and that its scripts parse.

A run of unit tests must not load the harness or Playwright: ``tests/conftest.py`` imports the harness
only inside the browser fixtures. Each check runs pytest in a new process and lists the modules it
loaded; the browser tests' own collection is the counter-check that the listing sees the harness.

The JavaScript the harness evaluates in the page (``tests/browser/js/``) is checked with Node's
parser (``node --check``) when Node is installed, as files and as the self-contained functions
:func:`~tests.browser.scripts.page_script` puts together; the kernel code (``tests/browser/kernel/``)
must define nothing in the notebook but the function it is sent for.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.scripts import JS_DIR, kernel_code, page_script, page_script_names, uses

REPO = Path(__file__).resolve().parents[1]
NODE = shutil.which("node")
NO_NODE = "Node.js is not installed: the page scripts are parsed only by Chromium, when a browser test runs"

# Run pytest in this process's place and report, as JSON on the last line, the harness modules it loaded.
LOADED_BY_PYTEST = """
import json, sys
import pytest
code = pytest.main(sys.argv[1:])
harness = ("tests.browser", "playwright")
loaded = sorted(m for m in sys.modules if m in harness or m.startswith(tuple(h + "." for h in harness)))
print(json.dumps({"exit": int(code), "loaded": loaded}))
"""


def modules_loaded_by_pytest(*args: str) -> list[str]:
    """The harness and Playwright modules a ``pytest *args`` run, from the repository root, has imported."""
    result = subprocess.run(
        [sys.executable, "-c", LOADED_BY_PYTEST, "-q", "-p", "no:randomly", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = result.stdout.strip().splitlines()
    report = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {"exit": None}
    assert report["exit"] == 0, f"pytest {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return report["loaded"]


@pytest.mark.slow
def test_unit_tests_do_not_load_the_browser_harness():
    # Every unit test module collected (so conftest.py and all their imports loaded), and a few quick ones run.
    quick = "test_sampling and softmax"
    loaded = modules_loaded_by_pytest("tests", "--ignore-glob=tests/test_browser*.py", "-k", quick)
    assert loaded == [], f"a unit test run imported the browser harness: {loaded}"


@pytest.mark.slow
def test_collecting_the_browser_tests_loads_the_harness_but_not_playwright():
    loaded = modules_loaded_by_pytest("--collect-only", "tests/test_browser.py", "tests/test_browser_lessons.py")
    assert {"tests.browser.session", "tests.browser.lessons"} <= set(loaded), loaded
    # Playwright is imported when a session starts, so skipping the browser tests costs nothing more.
    assert not [m for m in loaded if m.split(".")[0] == "playwright"], loaded


@pytest.fixture(scope="module")
def node() -> str:
    if NODE is None:
        pytest.skip(NO_NODE)
    return NODE


def node_check(node: str, path: Path) -> str:
    """Node's syntax error for the JavaScript file ``path`` ('' when it parses)."""
    result = subprocess.run([node, "--check", str(path)], capture_output=True, text=True, timeout=60)
    return "" if result.returncode == 0 else (result.stderr or result.stdout).strip()


def test_node_check_rejects_broken_javascript(node, tmp_path):
    broken = tmp_path / "broken.js"
    broken.write_text("(el) => {\n  return el.value;\n", encoding="utf-8")  # the closing brace is missing
    assert "SyntaxError" in node_check(node, broken)


@pytest.mark.parametrize("name", page_script_names())
def test_page_script_parses(node, name, tmp_path):
    assert not node_check(node, JS_DIR / f"{name}.js"), node_check(node, JS_DIR / f"{name}.js")
    # What the page receives: the script with the scripts it uses defined inside it.
    whole = tmp_path / f"{name}.js"
    whole.write_text(page_script(name), encoding="utf-8")
    error = node_check(node, whole)
    assert not error, f"js/{name}.js put together with {uses(name)} does not parse:\n{error}\n{page_script(name)}"


def test_page_scripts_declare_exactly_the_scripts_they_call():
    names = page_script_names()
    assert {"notebookPanel", "outputSnapshot", "tokenTexts"} <= set(names), names
    for name in names:
        source = (JS_DIR / f"{name}.js").read_text(encoding="utf-8")
        called = {other for other in names if other != name and re.search(rf"\b{other}\(", source)}
        assert set(uses(name)) == called, f"js/{name}.js calls {sorted(called)} but declares {uses(name)}"


def test_kernel_code_defines_only_its_function():
    namespace: dict = {}
    exec(compile(kernel_code("fresh_view"), "fresh_view.py", "exec"), namespace)
    assert sorted(set(namespace) - {"__builtins__"}) == ["_course_fresh_view"]
