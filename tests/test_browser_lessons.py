"""Every lesson, end to end in a real browser: open it in JupyterLab, run all cells, use its widgets.

For each lesson of notebooks/ (one test each, named by the lesson), in one JupyterLab + Chromium
session: open the notebook, Run All Cells, then do each move of tests/browser/lessons.py with the
keyboard (a slider's arrow key, a dropdown's next option, a check box's Space, a text box's new text,
the Train button's Enter) and check that the output next to the control changed the way it should:

- the strings the move expects (the new temperature, the new word's neighbours, the new prompt) are
  shown now and were not before;
- a figure the move should redraw is a different picture (an image's bytes, an SVG figure's digest);
- the whole output (every figure, and every text, SVG labels included) is what a new copy of the widget,
  built in the kernel and set to the same values, shows: the page displays the right figure.

Each lesson's page and kernel are closed after its test (lesson 09's kernel holds about 1.1 GB).
Timings (run-all, and each control change to its updated output) are printed, never asserted:
benchmarks/widget_latency.py measures them. Screenshots go to tests/artifacts/. Needs Debian's
Chromium; without it the tests skip, unless COURSE_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.browser.controls import cell_of, find_control
from tests.browser.lessons import LESSONS, Lesson, perform, unexpected
from tests.browser.session import jupyterlab_session
from tests.browser.views import shown_view

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module")
def lab_session(chromium):
    """One JupyterLab + Chromium for every lesson (each test opens its own notebook in it)."""
    start = time.monotonic()
    notebooks = [NOTEBOOKS / lesson.notebook for lesson in LESSONS if (NOTEBOOKS / lesson.notebook).exists()]
    with jupyterlab_session(notebooks, chromium=chromium) as lab:
        print(f"\n[browser] JupyterLab and Chromium started in {time.monotonic() - start:.1f} s")
        yield lab


def _differences(shown: dict, fresh: dict) -> str:
    """Where the page's widget output differs from the fresh copy's, in words."""
    lines = []
    if shown["images"] != fresh["images"]:
        lines.append(f"figures (hashes) in the page {shown['images']}, in the fresh copy {fresh['images']}")
    for i, (a, b) in enumerate(zip(shown["texts"], fresh["texts"], strict=False)):
        if a != b:
            lines.append(f"text {i} in the page:\n  {a[:600]!r}\nin the fresh copy:\n  {b[:600]!r}")
    if len(shown["texts"]) != len(fresh["texts"]):
        lines.append(f"{len(shown['texts'])} texts in the page, {len(fresh['texts'])} in the fresh copy")
    return "\n".join(lines)


def _cell_index(cell) -> int:
    return cell.evaluate("(el) => Array.from(document.querySelectorAll('.jp-CodeCell')).indexOf(el)")


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.id for lesson in LESSONS])
def test_lesson_widgets_update_their_output(lab, lesson: Lesson):
    if not (NOTEBOOKS / lesson.notebook).exists():
        pytest.skip(f"notebooks/{lesson.notebook} is not written yet")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    start = time.monotonic()
    page = lab.open(lesson.notebook)
    opened = time.monotonic() - start
    ran = lab.run_all(page, timeout=lesson.run_all_timeout)
    print(f"\n[browser] {lesson.id}: opened in {opened:.1f} s, ran all cells in {ran:.1f} s (load average {load})")

    # Which cell each move's control is in: the first move on a cell first checks the widget's initial
    # output, the last one takes the screenshot.
    cells = [_cell_index(cell_of(find_control(page, m.kind, m.label, near=m.near))) for m in lesson.moves]
    for number, move in enumerate(lesson.moves):
        cell = page.locator(".jp-CodeCell").nth(cells[number])
        before = shown_view(cell)
        if move.fresh and cells[number] not in cells[:number]:
            fresh = lab.fresh_view(page, cell)
            assert before == fresh, (
                f"{lesson.id}, before any move: the {move.name} widget does not show what a fresh copy of it "
                f"shows:\n{_differences(before, fresh)}"
            )

        outcome = perform(page, move)

        print(f"[browser] {lesson.id} {move.name} -> {outcome.value!r}: output updated in {outcome.change.ms:.0f} ms")
        for problem in outcome.accessibility:
            print(f"[a11y] {lesson.id} {move.name} {problem}")
        problems = unexpected(outcome)
        assert not problems, f"{lesson.id}, after the {move.name} move:\n  " + "\n  ".join(problems)
        after = shown_view(cell)
        if move.redraws:
            assert after["images"], f"{lesson.id}: the {move.name} widget shows no figure"
            assert after["images"] != before["images"], f"{lesson.id}: the {move.name} move did not redraw the figure"
        if move.fresh:
            fresh = lab.fresh_view(page, cell)
            assert after == fresh, (
                f"{lesson.id}, after the {move.name} move to {outcome.value!r}, the page does not show what a "
                f"fresh copy of the widget shows for the same values {outcome.values}:\n{_differences(after, fresh)}"
            )
        if cells[number] not in cells[number + 1 :]:
            name = re.sub(r"[^A-Za-z0-9_-]+", "_", f"{lesson.id}-{move.label}").strip("_")
            print(f"[browser] screenshot: {lab.screenshot(page, name, target=cell)}")
