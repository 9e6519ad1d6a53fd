"""The walkthrough drawn (course_lib.lessons.walkthrough): the machine, each step, the widget."""

from __future__ import annotations

import base64
import html as html_module
import io
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from course_lib.lessons import walkthrough as view
from course_lib.model import GPT
from course_lib.toy_sort import SortTask
from course_lib.walkthrough import walk

pytestmark = pytest.mark.usefixtures("one_torch_thread")


TASK = SortTask()


@pytest.fixture
def toy_walk():
    """The toy sorter's shape (3 layers, 3 heads, width 48), untrained: the drawing does not care."""
    torch.manual_seed(0)
    return walk(GPT(TASK.model_config()).eval(), TASK.tokenizer, TASK.prompt("cabbca"))


def _parts(svg: str) -> list[tuple[int, str, str]]:
    """(step, key, state) of every part of the drawing of the model, in document order."""
    found = re.findall(r'<g class="course-walk-part course-walk-(\w+)" data-step="(\d+)" data-key="([^"]+)"', svg)
    return [(int(step), key, state) for state, step, key in found]


def _tensors(html: str) -> list[dict]:
    """Name, shape, source and last position's values of every tensor figure, read from its attributes."""
    found = re.findall(
        r'<div class="course-walk-tensor" data-name="([^"]*)" data-shape="([^"]*)" '
        r'data-source="([^"]*)" data-last="([^"]*)"',
        html,
    )
    return [
        {
            "name": html_module.unescape(name),
            "shape": tuple(int(v) for v in shape.split(",")),
            "source": html_module.unescape(source),
            "last": json.loads(html_module.unescape(last)),
        }
        for name, shape, source, last in found
    ]


def test_the_drawing_has_every_step_in_order_and_highlights_the_current_one(toy_walk):
    current = 17
    parts = _parts(view.machine_svg(toy_walk, current))
    assert [step for step, _, _ in parts] == list(range(len(toy_walk.steps)))
    assert [key for _, key, _ in parts] == [s.key for s in toy_walk.steps]
    assert [state for _, _, state in parts] == ["done"] * current + ["current"] + ["todo"] * (len(parts) - current - 1)
    svg = view.machine_svg(toy_walk, current)
    assert svg.count('aria-current="step"') == 1
    assert toy_walk.steps[current].title in svg  # in the figure's description, for a screen reader


def test_each_part_shows_the_real_shape_of_its_output(toy_walk):
    svg = view.machine_svg(toy_walk, 0)
    groups = re.findall(r'<g class="course-walk-part[^>]*data-key="([^"]+)"[^>]*>(.*?)</g>', svg)
    shown = dict(groups)
    assert ">7×48<" in shown["embedding"] and ">3×7×16<" in shown["blocks.0.qkv"]
    assert ">3×7×7<" in shown["blocks.2.pattern"] and ">7×192<" in shown["blocks.1.mlp_up"]
    assert ">7×4<" in shown["unembed"] and ">4<" in shown["probs"]
    assert f"→ {toy_walk.labels_of([toy_walk.chosen_id])[0]}" in shown["choice"]
    # the rows: embedding, each block, output
    for label in ("embedding", "block 0", "block 1", "block 2", "output"):
        assert f">{label}</text>" in svg


def test_the_widgets_highlight_colours_the_plain_drawing_as_the_full_drawing_does(toy_walk):
    drawing = view.MachineDrawing(toy_walk)
    other = view.MachineDrawing(toy_walk)
    assert drawing.name != other.name  # two walkthroughs on one page do not colour each other
    # Nor do two kernels' (JupyterLab shows every open notebook in one page): the name says what is drawn.
    torch.manual_seed(1)
    another_model = view.MachineDrawing(walk(GPT(TASK.model_config()).eval(), TASK.tokenizer, TASK.prompt("cabbca")))
    another_text = view.MachineDrawing(walk(toy_walk.model, TASK.tokenizer, TASK.prompt("abcabc")))
    digest = drawing.name.rsplit("-", 1)[0]
    assert other.name.rsplit("-", 1)[0] == digest
    assert another_model.name.rsplit("-", 1)[0] != digest and another_text.name.rsplit("-", 1)[0] != digest
    css = drawing.highlight_css(5)
    scope = f'.course-walk-machine[data-walk="{drawing.name}"] g.course-walk-part'
    current = re.findall(r'\[data-step="(\d+)"\] > rect.course-walk-box \{fill:' + view.CURRENT_FILL, css)
    assert current == ["5"] and f"stroke:{view.HIGHLIGHT}" in css
    done_rule = re.search(r"([^}]*)\{fill:" + view.DONE_FILL + r"\}", css.split("}", 1)[1]).group(1)
    assert re.findall(r'data-step="(\d+)"', done_rule) == [str(i) for i in range(5)] and scope in done_rule
    assert "course-walk-done" not in drawing.html() and "aria-current" not in drawing.html()
    assert view.DONE_FILL not in drawing.highlight_css(0)


def test_the_drawing_refuses_a_step_that_does_not_exist(toy_walk):
    with pytest.raises(ValueError, match="current must be a step between 0 and 45, got 46"):
        view.machine_svg(toy_walk, 46)
    with pytest.raises(TypeError, match="current must be a step number"):
        view.step_detail_html(toy_walk, "3")
    with pytest.raises(TypeError, match="walk must be a course_lib.walkthrough.Walkthrough"):
        view.machine_svg("walk", 0)


def test_shape_text_and_glyphs_grow_with_the_shape():
    assert view.shape_text((4, 12, 32)) == "4×12×32" and view.shape_text((84,)) == "84"

    def size(shape):
        rect = re.search(r'width="([\d.]+)" height="([\d.]+)"', "".join(view._glyph(shape, 0, 0, largest=512)))
        return float(rect.group(1)), float(rect.group(2))

    assert size((12, 512))[0] > size((12, 128))[0] > size((12, 4))[0]
    assert size((128, 12))[1] > size((7, 12))[1]
    assert len(view._glyph((4, 12, 12), 0, 0, largest=512)) == 4  # one rectangle per head


def test_the_detail_shows_each_tensors_shape_and_last_values(toy_walk):
    for step in toy_walk.steps:
        html = view.step_detail_html(toy_walk, step.index)
        assert f"Step {step.index + 1} of {len(toy_walk.steps)}" in html and step.lesson_title in html
        assert html_module.escape(step.equation) in html
        shown = _tensors(html)
        expected = [t for t in step.tensors()] if step.inputs else list(step.outputs)
        assert [t["name"] for t in shown] == [t.name for t in expected]
        for figure, tensor in zip(shown, expected, strict=True):
            assert figure["shape"] == tensor.shape and figure["source"] == tensor.source
            values = tensor.values.double()
            last = values.reshape(-1) if values.dim() == 1 else values[..., -1, :].reshape(-1)
            wanted = [None if not np.isfinite(v) else round(float(v), 4) for v in last[:64].tolist()]
            assert figure["last"] == wanted, f"{step.key}: {tensor.name}"


def test_the_detail_writes_out_the_last_positions_numbers(toy_walk):
    html = view.step_detail_html(toy_walk, toy_walk.step("blocks.0.pattern").index)
    pattern = toy_walk.step("blocks.0.pattern").outputs[0].values
    row = " ".join(f"{v:+.2f}" for v in pattern[0, -1].tolist())
    assert f"pattern at the last position (&#x27;|&#x27;): head 0: {row}" in html
    mask = view.step_detail_html(toy_walk, toy_walk.step("blocks.0.mask").index)
    assert "-∞ (masked)" in mask  # the masked scores' legend names the grey cells
    # Wide tensors are cut at 32 numbers, saying how many are left out.
    mlp = view.step_detail_html(toy_walk, toy_walk.step("blocks.0.mlp_up").index)
    up = toy_walk.step("blocks.0.mlp_up").outputs[0].values[-1]
    assert " ".join(f"{v:+.2f}" for v in up[:32].tolist()) + " ... (160 more)" in mlp


def test_masked_scores_are_drawn_grey_and_the_rest_in_the_colour_map():
    matrix = np.array([[0.5, -np.inf], [-1.0, 1.0]])
    url = view._cells_png(matrix, "RdBu_r", -1.0, 1.0)
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))
    assert pixels.shape == (2, 2, 4)  # one pixel per cell: the page stretches it
    assert tuple(pixels[0, 1]) == view.MASKED
    assert tuple(pixels[1, 0]) == tuple(view._lut("RdBu_r")[0]) and tuple(pixels[1, 1]) == tuple(
        view._lut("RdBu_r")[255]
    )


def test_probabilities_are_bars_of_the_likeliest_tokens(toy_walk):
    html = view.step_detail_html(toy_walk, toy_walk.step("probs").index)
    probs = toy_walk.probs
    assert "p (V) = 4: top 4" in html
    for p in probs.tolist():
        assert f"{p:.3f}" in html
    choice = view.step_detail_html(toy_walk, toy_walk.step("choice").index)
    assert f"(id {toy_walk.chosen_id}), p = {float(probs[toy_walk.chosen_id]):.3f}, the most likely token" in choice


def test_the_storyboard_has_one_panel_per_step_in_order(toy_walk):
    story = view.storyboard_html(toy_walk, columns=3)
    cards = re.findall(
        r'<div class="course-walk-card" id="walk-step-(\d+)" data-step="(\d+)" data-key="([^"]+)"', story
    )
    assert [int(step) for _, step, _ in cards] == list(range(len(toy_walk.steps)))
    assert [int(number) for number, _, _ in cards] == list(range(1, len(toy_walk.steps) + 1))
    # Each frame links to the one before and after it, so the pass can be followed without a script.
    last = len(toy_walk.steps)
    assert '<a class="course-walk-next" href="#walk-step-2">' in story
    assert f'<a class="course-walk-prev" href="#walk-step-{last - 1}">' in story
    assert story.count("course-walk-next") == story.count("course-walk-prev") == last - 1 and "<script" not in story
    assert view.storyboard_html(toy_walk, anchor="toy").count('id="toy-step-') == last
    assert "repeat(3," in story and html_module.escape(f"the model chooses {toy_walk.chosen!r}") in story
    for step in toy_walk.steps:
        assert html_module.escape(step.title) in story and html_module.escape(step.equation) in story
    with pytest.raises(ValueError, match="columns must be a positive int"):
        view.storyboard_html(toy_walk, columns=0)
    with pytest.raises(ValueError, match="anchor must be a word"):
        view.storyboard_html(toy_walk, anchor="two words")
    shown = view.Storyboard(toy_walk)
    assert shown._repr_html_() == view.storyboard_html(toy_walk) and "storyboard of" in repr(shown)


def _controls(box):
    prompt, status, row, row2, diagram, detail = box.children
    back, forward, play, slider = row.children
    jump, again = row2.children
    return locals()


def test_the_widget_renders_step_1_at_once_and_its_controls_move_the_step():
    torch.manual_seed(0)
    model = GPT(TASK.model_config()).eval()
    box = view.walkthrough_widget(model, TASK.tokenizer, TASK.prompt("cabbca"))
    c = _controls(box)
    walked = walk(model, TASK.tokenizer, TASK.prompt("cabbca"))
    # The static first render: the drawing, plain, once; the detail of step 1 with the drawing's highlight.
    assert [state for _, _, state in _parts(c["diagram"].value)] == ["todo"] * len(walked.steps)
    name = re.search(r'data-walk="(walk-[0-9a-f]{8}-\d+)"', c["diagram"].value).group(1)
    assert c["detail"].value.endswith(view.step_detail_html(walked, 0))
    assert f'[data-walk="{name}"] g.course-walk-part[data-step="0"] > rect.course-walk-box' in c["detail"].value
    assert c["back"].disabled and not c["forward"].disabled
    drawing = c["diagram"].value
    c["forward"].click()
    assert (
        c["slider"].value == 2 and c["jump"].value == 2 and c["detail"].value.endswith(view.step_detail_html(walked, 1))
    )
    assert c["diagram"].value == drawing  # not sent again
    c["jump"].value = 8
    assert c["slider"].value == 8 and 'data-key="blocks.0.pattern"' in c["detail"].value
    assert c["jump"].label == "8. block 0 · softmax pattern"
    c["back"].click()
    assert c["slider"].value == 7 and "Step 7 of 46" in c["detail"].value
    c["slider"].value = 46
    assert c["forward"].disabled and 'data-key="choice"' in c["detail"].value
    assert c["play"].max == c["slider"].max == len(walked.steps) and c["play"].min == c["slider"].min == 1


def test_append_and_repeat_walks_the_next_token_and_a_bad_prompt_is_explained():
    torch.manual_seed(0)
    model = GPT(TASK.model_config()).eval()
    box = view.walkthrough_widget(model, TASK.tokenizer, TASK.prompt("cabbca"))
    c = _controls(box)
    first = walk(model, TASK.tokenizer, TASK.prompt("cabbca"))
    c["slider"].value = 10
    assert c["again"].description == "Append and repeat"
    assert c["again"].tooltip == f"append {first.labels_of([first.chosen_id])[0]!r} to the text and walk the next token"
    c["again"].click()
    after = first.next()
    assert c["slider"].value == 1 and c["jump"].value == 1
    assert c["detail"].value.endswith(view.step_detail_html(after, 0)) and "8 tokens in" in c["diagram"].value
    assert html_module.escape(repr(after.text)) in c["status"].value and c["prompt"].value == after.text
    before = c["detail"].value
    c["prompt"].value = "cabbcd|"
    assert "cannot walk this prompt" in c["status"].value and "&#x27;d&#x27;" in c["status"].value
    assert "Still showing the last one" in c["status"].value and c["detail"].value == before
    c["prompt"].value = "abc|"
    assert c["slider"].max == len(walk(model, TASK.tokenizer, "abc|").steps) and "abc|" in c["status"].value


def test_the_widget_walks_on_one_thread_and_gives_the_thread_count_back():
    torch.manual_seed(0)
    model = GPT(TASK.model_config()).eval()
    threads = []
    hook = model.register_forward_pre_hook(lambda _module, _args: threads.append(torch.get_num_threads()))
    torch.set_num_threads(2)
    try:
        c = _controls(view.walkthrough_widget(model, TASK.tokenizer, TASK.prompt("cabbca")))
        c["prompt"].value = "abc|"  # a new prompt
        c["again"].click()  # the next token
        view.walkthrough_storyboard(model, TASK.tokenizer, "ab|")
        assert len(threads) >= 4 and set(threads) == {1} and torch.get_num_threads() == 2
    finally:
        hook.remove()
        torch.set_num_threads(1)
