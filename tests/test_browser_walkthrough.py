"""The walkthrough of one forward pass (course_lib.lessons.walkthrough) in a real JupyterLab and Chromium.

Lesson 00's walkthrough of the course model on its saved prompt is stepped through a whole token with
the keyboard (Enter on "Forward ▶"), and at every step the page must show what the model computed: the
detail's tensor figures carry their shape, their source (a key of the model's capture) and the values
of their last position, and these must equal a capture made in the kernel by running the model once
more on its own; the probabilities and the chosen token must be the softmax and argmax of its logits,
and the drawing of the model must paint the current part orange and the parts before it shaded. Then the
other controls: Back, the Step slider's arrow, Home and End keys, Play, and "Append and repeat", whose
next token is walked through whole and checked the same way.

A second notebook, written for the test, runs the walkthrough on the toy sorter trained in seconds
(course_lib.toy_sort) and on a small random model standing for a learner's own: both are stepped
through and checked in the same way. Screenshots of the three walkthroughs go to tests/artifacts/
(walkthrough-course-model.png, walkthrough-toy-sorter.png, walkthrough-learners-model.png).

Each step's time, from the key press to the page's final state, is printed with the load average, never
asserted (benchmarks/widget_latency.py measures the Step slider with the other lessons' controls).
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import time
from pathlib import Path

import nbformat
import pytest

from tests.browser.controls import CELLS, cell_of, move_slider, press_button
from tests.browser.scripts import kernel_code
from tests.browser.session import jupyterlab_session
from tests.browser.timing import timed_change
from tests.browser.views import walkthrough_state

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LESSON = "00_start_here.ipynb"
MODELS = "walkthrough_models.ipynb"  # written by the fixture: the toy sorter and a learner's stand-in

# The fills lessons/walkthrough.py paints: the current step, the steps before it, the steps after it.
CURRENT, DONE, TODO = "rgb(252, 227, 176)", "rgb(220, 233, 245)", "rgb(255, 255, 255)"

MODELS_CELLS = [
    """import torch

from course_lib import seed_everything
from course_lib.checkpoints import load_course_model
from course_lib.lessons.walkthrough import walkthrough_widget
from course_lib.model import GPT, GPTConfig
from course_lib.toy_sort import SortTask, sort_accuracy, train_sorter

torch.set_num_threads(1)""",
    """task = SortTask()
sorter = train_sorter(task)  # 200 steps, a few seconds
print("held-out accuracy:", sort_accuracy(sorter.model, task, sorter.held_out))
toy_model, toy_tokenizer, toy_prompt = sorter.model, task.tokenizer, task.prompt("cabbca")
walkthrough_widget(toy_model, toy_tokenizer, toy_prompt)""",
    """_, course_tokenizer = load_course_model()
seed_everything(8)
config = GPTConfig(vocab_size=course_tokenizer.vocab_size, block_size=32, n_layer=2, n_head=2, n_embd=32)
yours = GPT(config).eval()  # untrained: what a learner's model from lesson 08 looks like before training
walkthrough_widget(yours, course_tokenizer, "To be, or not")""",
]


@pytest.fixture(scope="module")
def lab_session(chromium, tmp_path_factory):
    """JupyterLab + Chromium with lesson 00 and the models notebook."""
    models = tmp_path_factory.mktemp("walkthrough") / MODELS
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in MODELS_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, models)
    with jupyterlab_session([NOTEBOOKS / LESSON, models], chromium=chromium) as lab:
        yield lab


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _computed(lab, page, model: str, tokenizer: str, text: str, extra_ids=()) -> dict:
    """The model's own capture in the kernel, for ``text`` (and ``extra_ids`` after it)."""
    call = f"print(_course_walkthrough_capture({model}, {tokenizer}, {text!r}, {list(extra_ids)!r}))\n"
    out = lab.kernel_execute(
        page, kernel_code("walkthrough_capture") + "\n" + call + "del _course_walkthrough_capture\n", timeout=120
    )
    return json.loads(out.strip().splitlines()[-1])


def _same(shown: list, computed: list) -> bool:
    return len(shown) == len(computed) and all(
        (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, abs_tol=1.5e-4))
        for a, b in zip(shown, computed, strict=True)
    )


def _check_step(state: dict, computed: dict, number: int, n_steps: int, where: str) -> set[str]:
    """Assert that the page shows step ``number`` (from 0) as the model computed it; return the capture
    keys it compared."""
    assert state["index"] == number, f"{where}: the page shows step {state['index']}, expected {number}"
    assert state["title"].startswith(f"Step {number + 1} of {n_steps}: ") and "explained in lesson" in state["title"]
    assert state["equation"], f"{where}: step {number + 1} shows no equation"
    expected_fills = [DONE] * number + [CURRENT] + [TODO] * (n_steps - number - 1)
    assert state["fills"] == expected_fills, f"{where}: the drawing does not highlight step {number + 1}"
    tensors = computed["tensors"]
    compared = set()
    for shown in state["tensors"]:
        label = f"{where}, step {number + 1} ({state['key']}), {shown['name']}"
        key = shown["source"].removeprefix("capture: ") if shown["source"].startswith("capture: ") else None
        if key is not None:
            assert key in tensors, f"{label}: the model's capture has no {key!r}"
            assert shown["shape"] == tensors[key]["shape"], f"{label}: shape {shown['shape']} != {tensors[key]}"
            assert _same(shown["last"], tensors[key]["last"]), f"{label}: values differ from capture[{key!r}]"
            compared.add(key)
        elif shown["name"] == "p":
            assert shown["shape"] == tensors["p"]["shape"] and _same(shown["last"], tensors["p"]["last"]), label
        elif shown["name"] == "token ids":
            assert shown["last"] == computed["ids"] and shown["shape"] == [len(computed["ids"])], label
        elif shown["name"] == "next token id":
            assert shown["last"] == [computed["chosen"]], label
    return compared


def _walkthrough_cells(page) -> list:
    cells = page.locator(CELLS).filter(has=page.locator(".jp-Cell-outputArea .course-walk-machine"))
    return [cell_of(cells.nth(i)) for i in range(cells.count())]


def _button(cell, caption: str):
    pattern = re.compile(rf"^\s*{re.escape(caption)}\s*$")
    return cell.locator(".jp-Cell-outputArea .widget-button").filter(has_text=pattern).first


def _step_through(lab, page, cell, computed: dict, where: str, shot: tuple[str, str] | None = None) -> list[float]:
    """Press Enter on Forward from step 1 to the last step, checking every step; returns each step's ms."""
    state = walkthrough_state(cell)
    n_steps = len(state["fills"])
    compared = _check_step(state, computed, 0, n_steps, where)
    forward, times = _button(cell, "Forward ▶"), []
    for number in range(1, n_steps):
        change = timed_change(cell, lambda: press_button(forward))
        times.append(change.ms)
        state = walkthrough_state(cell)
        compared |= _check_step(state, computed, number, n_steps, where)
        if shot and state["key"] == shot[1]:
            output = cell.locator(".jp-Cell-outputArea").first
            print(f"[browser] screenshot: {lab.screenshot(page, shot[0], target=output, whole=True)}")
    # Every tensor the model recorded was shown, and equal, at some step.
    assert compared == set(computed["tensors"]) - {"p"}, f"{where}: not shown: {set(computed['tensors']) - compared}"
    assert forward.is_disabled(), f"{where}: Forward is still enabled at the last step"
    print(
        f"[browser] {where}: {n_steps} steps checked; step time median {statistics.median(times):.0f} ms, "
        f"worst {max(times):.0f} ms (load average {_load()})"
    )
    return times


def _keyboard_step(cell, act, number: int) -> float:
    change = timed_change(cell, act)
    state = walkthrough_state(cell)
    assert state["index"] == number, f"the page shows step {state['index'] + 1}, expected {number + 1}"
    return change.ms


def test_lesson_00s_walkthrough_shows_what_the_model_computed_at_every_step(lab):
    page = lab.open(LESSON)
    ran = lab.run_all(page, timeout=900)
    print(f"\n[browser] {LESSON}: ran all cells in {ran:.1f} s (load average {_load()})")
    (cell,) = _walkthrough_cells(page)
    computed = _computed(lab, page, "model", "tokenizer", "What will be")
    assert len(computed["ids"]) == 12
    times = _step_through(lab, page, cell, computed, "lesson 00", ("walkthrough-course-model", "blocks.0.pattern"))
    n_steps = len(times) + 1

    # The keyboard: Back, then the Step slider's keys; each move shows the step it names, checked again.
    slider = cell.locator(".widget-slider [role=slider]").first
    times.append(_keyboard_step(cell, lambda: press_button(_button(cell, "◀ Back")), n_steps - 2))
    times.append(_keyboard_step(cell, lambda: move_slider(slider, "ArrowLeft"), n_steps - 3))
    times.append(_keyboard_step(cell, lambda: move_slider(slider, "Home"), 0))
    _check_step(walkthrough_state(cell), computed, 0, n_steps, "lesson 00 after Home")
    times.append(_keyboard_step(cell, lambda: move_slider(slider, "End"), n_steps - 1))
    _check_step(walkthrough_state(cell), computed, n_steps - 1, n_steps, "lesson 00 after End")
    move_slider(slider, "Home")
    page.wait_for_timeout(500)

    # Play moves the highlight on its own, one step at a time, until paused (ipywidgets' Play has one
    # play/pause button, then stop).
    play = cell.locator(".widget-play button").nth(0)
    press_button(play)
    page.wait_for_function(
        "(cell) => Number(cell.querySelector('.course-walk-step').dataset.step) >= 2",
        arg=cell.element_handle(),
        timeout=30_000,
    )
    press_button(play)
    page.wait_for_timeout(2500)  # a step already sent may still arrive
    held = walkthrough_state(cell)["index"]
    page.wait_for_timeout(2500)
    state = walkthrough_state(cell)
    assert state["index"] == held >= 2, "Play did not stop when paused"
    _check_step(state, computed, held, n_steps, "lesson 00 after Play")

    # Append and repeat: the chosen character is appended, and the next token's pass is walked whole.
    chosen = computed["chosen"]
    change = timed_change(cell, lambda: press_button(_button(cell, "Append and repeat")), timeout_ms=60_000)
    print(f"[browser] lesson 00 Append and repeat: {change.ms:.0f} ms")
    state = walkthrough_state(cell)
    assert state["index"] == 0 and "text so far: 'What will be '" in state["status"], state["status"]
    assert "(13 of 128 tokens)" in state["status"]
    after = _computed(lab, page, "model", "tokenizer", "What will be", [chosen])
    times += _step_through(lab, page, cell, after, "lesson 00, the next token")
    print(
        f"[browser] lesson 00 walkthrough, all {len(times)} step moves: median {statistics.median(times):.0f} ms, "
        f"worst {max(times):.0f} ms (load average {_load()})"
    )


def test_the_walkthrough_runs_on_the_toy_sorter_and_on_a_learners_model(lab):
    page = lab.open(MODELS)
    start = time.monotonic()
    lab.run_all(page, timeout=600)
    print(f"\n[browser] {MODELS}: ran all cells in {time.monotonic() - start:.1f} s (load average {_load()})")
    toy, yours = _walkthrough_cells(page)
    assert "held-out accuracy: 1.0" in toy.inner_text() or "held-out accuracy: 0.9" in toy.inner_text()
    computed = _computed(lab, page, "toy_model", "toy_tokenizer", "cabbca|")
    assert computed["ids"] == [2, 0, 1, 1, 2, 0, 3]
    _step_through(lab, page, toy, computed, "toy sorter", ("walkthrough-toy-sorter", "blocks.0.pattern"))
    computed = _computed(lab, page, "yours", "course_tokenizer", "To be, or not")
    _step_through(lab, page, yours, computed, "learner's model", ("walkthrough-learners-model", "blocks.1.pattern"))
    # The toy sorter's chosen token is the first letter of the sorted input.
    change = timed_change(toy, lambda: press_button(_button(toy, "Append and repeat")), timeout_ms=60_000)
    assert "text so far: 'cabbca|a'" in walkthrough_state(toy)["status"], change.after[:300]
