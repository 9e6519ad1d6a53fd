"""End to end, as a learner: open a lesson in JupyterLab in a real Chromium, run it, use its widgets.

Needs Debian's Chromium (`apt-get install chromium`); without it these tests skip, unless
COURSE_REQUIRE_BROWSER=1 (CI), where they fail. Screenshots go to tests/artifacts/.

The first test drives a small notebook written here, so the harness itself is tested even while a
lesson is being rewritten; the second drives lesson 01's token explorer.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

from tests.browser.controls import cell_of, find_cell, find_slider, find_text_box, move_slider
from tests.browser.session import jupyterlab_session
from tests.browser.timing import type_and_wait_for_tokens
from tests.browser.views import output_snapshot, read_tokens, strip_whitespace, wait_for_change

pytestmark = pytest.mark.browser

LESSON01 = Path(__file__).resolve().parents[1] / "notebooks" / "01_tokens.ipynb"
# The contract with lesson 01: its token explorer is an ipywidgets Textarea with description "Text"
# (a trailing colon is fine), displayed in the same cell output as the HTML of `.course-token` spans.
TEXT_BOX_LABEL = "Text"
TOKEN_SPAN = ".course-token"

DEMO = "browser_harness_demo.ipynb"
DEMO_CELLS = [
    (
        "code",
        # A decoy with the same label but no token view: the lookup must pick the box next to the tokens.
        'import ipywidgets as widgets\n\nwidgets.Textarea(value="not this one", description="Text")',
    ),
    (
        "code",
        # A static token view without a text box: the lookup must pass over it too.
        'from IPython.display import HTML\n\nHTML(\'<span class="course-token" title="id 0">static</span>\')',
    ),
    (
        "code",
        """import html
import re


DOT = "\\u00b7"  # how the view draws a space


def show_tokens(text):
    pieces = re.findall(r" ?[A-Za-z]+| ?[0-9]+| ?[^\\sA-Za-z0-9]+|\\s+", text)
    return "".join(
        f'<span class="course-token" title="id {i}">{html.escape(p.replace(" ", DOT))}</span>'
        for i, p in enumerate(pieces)
    )


box = widgets.Textarea(value="Hello world", description="Text:", placeholder="Type anything")
view = widgets.HTML(show_tokens(box.value))
box.observe(lambda change: setattr(view, "value", show_tokens(change["new"])), names="value")
widgets.VBox([box, view])""",
    ),
    ("markdown", "A slider whose output changes only when it is released (`continuous_update=False`)."),
    (
        "code",
        """steps = widgets.IntSlider(value=3, min=0, max=10, description="Steps", continuous_update=False)
shown = widgets.HTML()


def draw(change=None):
    shown.value = f"<b class='demo-steps'>{steps.value} steps</b>"


steps.observe(draw, names="value")
draw()
widgets.VBox([steps, shown])""",
    ),
    ("code", ""),  # an empty cell never gets an execution count: run_all must not wait for it
]


def write_demo_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell}
    nb.cells = [make[kind](source) for kind, source in DEMO_CELLS]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def lab_session(chromium, tmp_path_factory):
    """One JupyterLab + Chromium for this file, with the demo and (if written yet) lesson 01."""
    notebooks = [write_demo_notebook(tmp_path_factory.mktemp("browser") / DEMO)]
    if LESSON01.exists():
        notebooks.append(LESSON01)
    start = time.monotonic()
    with jupyterlab_session(notebooks, chromium=chromium) as lab:
        print(f"\n[browser] JupyterLab and Chromium started in {time.monotonic() - start:.1f} s")
        yield lab


def check_token_box(lab, page, typed: str, screenshot: str) -> None:
    """Find the token text box, type ``typed``, and check the token view spells it."""
    box = find_text_box(page, TEXT_BOX_LABEL, near=TOKEN_SPAN)
    cell = cell_of(box)
    cell.locator(TOKEN_SPAN).first.wait_for()
    before = read_tokens(cell)
    assert before, "the token view shows no tokens before typing"

    update = type_and_wait_for_tokens(box, cell, typed)

    assert update.tokens != before, f"the tokens did not change: still {before}"
    assert strip_whitespace("".join(update.tokens)) == strip_whitespace(typed)
    assert box.input_value() == typed
    print(f"\n[browser] tokens before: {before}")
    print(f"[browser] tokens after typing {typed!r}: {update.tokens}")
    print(f"[browser] key press -> updated tokens: {update.seconds * 1000:.0f} ms")
    print(f"[browser] screenshot: {lab.screenshot(page, screenshot, target=cell)}")


def open_and_run(lab, name: str):
    start = time.monotonic()
    page = lab.open(name)
    opened = time.monotonic() - start
    ran = lab.run_all(page)
    print(f"\n[browser] {name}: opened with an idle kernel in {opened:.1f} s, ran all cells in {ran:.1f} s")
    return page


def test_harness_on_demo_notebook(lab):
    page = open_and_run(lab, DEMO)

    check_token_box(lab, page, "Tokens, 42 of them!", "browser_harness_demo")

    handle = find_slider(page, "Steps")
    cell = find_cell(page, ".demo-steps")
    before = output_snapshot(cell)
    assert "3 steps" in before, f"the slider's output before moving it: {before!r}"
    moved = move_slider(handle, "ArrowRight")
    assert moved == "4", f"ArrowRight moved the slider from 3 to {moved!r}"
    after = wait_for_change(cell, before)
    assert "4 steps" in after, f"the slider's output after moving it to 4: {after!r}"
    moved = move_slider(handle, "End")
    assert moved == "10", f"End moved the slider to {moved!r}"
    assert "10 steps" in wait_for_change(cell, after)


@pytest.mark.skipif(not LESSON01.exists(), reason="notebooks/01_tokens.ipynb is not written yet")
def test_lesson01_token_box_follows_typing(lab):
    page = open_and_run(lab, LESSON01.name)
    check_token_box(lab, page, "Tokenizers split text into pieces, 123 at a time!", "lesson01_tokens")
