"""Lesson 04's views (course_lib.lessons.lesson04): what its widgets and figures show."""

import re

import numpy as np
import pytest
import torch
from widget_support import shown

from course_lib import attention as A
from course_lib.lessons import lesson04, lesson06

# What a learner may type into any lesson's text box. The course model reads 84 characters and 128 at a time.
UNKNOWN = "café ☃"  # é and ☃ are not among the Shakespeare model's characters


TOO_LONG = "ROMEO. But soft, what light through yonder window breaks?\n" * 40  # 2,320 characters


def test_lesson_04_toy_head_says_the_sentence_is_empty():
    box = lesson04.toy_attention_explorer("the dog chased the black cat", query=3)
    sentence = box.children[0].children[0]
    good = shown(box)[0]
    sentence.value = "   "
    assert "the sentence is empty: type a few words, e.g. &#x27;the small dog chased the cat&#x27;" in shown(box)[1]
    sentence.value = "zebra " * 60  # words the toy head has no features for, many of them: still a picture
    assert shown(box)[1] == "" and shown(box)[0][0].count("<svg") == 2
    sentence.value = "the dog chased the black cat"
    box.children[0].children[1].value = 3  # the empty box moved the query slider to 0
    assert shown(box) == (good, "")


@pytest.mark.parametrize("explorer", ["attention", "neuron"])
def test_lesson_04_and_06_model_boxes_show_the_reason_and_recover(course_model, explorer):
    model, tokenizer = course_model
    text = "ROMEO.\nBut soft, what light"
    if explorer == "attention":
        box = lesson04.model_attention_explorer(model, tokenizer, text, layer=1, head=2, query=5)
        text_box = box.children[0].children[0]
    else:
        box = lesson06.neuron_explorer(model, tokenizer, text, {"L0 n5": (0, 5, "after newline")})
        text_box = box.children[0].children[1]
    good = shown(box)[0]
    text_box.value = UNKNOWN  # the course model's tokenizer refuses é: that message, not the old picture
    views, error = shown(box)
    assert "character &#x27;é&#x27; (U+00E9) at position 3 is not in this tokenizer&#x27;s vocabulary" in error
    text_box.value = ""
    assert "the text box is empty: type some text for the model to read" in shown(box)[1]
    text_box.value = TOO_LONG
    views, error = shown(box)
    assert error == "" and "<svg" in views[0] and "nan" not in views[0].lower()
    assert "this text is 2,320 tokens, longer than the model&#x27;s context" in views[0]
    text_box.value = text
    if explorer == "attention":
        box.children[0].children[3].value = 5  # the empty box moved the query slider to 0
    assert shown(box) == (good, "")


def _svg_titles(view: str) -> list[str]:
    """The description (``<title>``) of each SVG figure in a widget's HTML."""
    return re.findall(r"<title>(.*?)</title>", view)


def test_toy_attention_view_pattern_and_row():
    words = "the black cat".split()
    view = lesson04.toy_attention_view(words, 2, causal=False, scale=False)
    pattern, bars = _svg_titles(view)
    assert "Heatmap &#x27;Pattern (mask off, scaling off)&#x27;: 3 x 3 cells" in pattern
    assert "Bar chart &#x27;Where &#x27;cat&#x27; (position 2) looks&#x27;" in bars
    _, steps = A.single_head_attention(
        A.toy_embeddings(words), **A.toy_head(), causal=False, scale=False, return_steps=True
    )
    # the bars are the query's row of the pattern, to 2 decimals
    assert all(f"{w} {p:.2f}" in bars for w, p in zip(words, steps.pattern[2], strict=True))
    assert "outlined row cat" in pattern
    with pytest.raises(ValueError, match=r"query must be an int in 0\.\.2, got 3"):
        lesson04.toy_attention_view(words, 3)


def test_model_head_view_matches_the_figure(tiny_model):
    model, tokenizer = tiny_model
    text = "abc def"
    fig = lesson04.model_head_figure(model, tokenizer, text, 1, 0, 3, causal=True)
    pattern, bars = _svg_titles(lesson04.model_head_view(model, tokenizer, text, 1, 0, 3))
    assert fig.axes[0].get_title() == "Layer 1, head 0 (mask on, scaling on)"
    assert "Layer 1, head 0 (mask on, scaling on)" in pattern and "7 x 7 cells" in pattern
    _, patterns = A.model_attention(model, tokenizer, text)
    row = patterns[1, 0, 3].numpy()
    assert row[4:].sum() == 0  # the mask hides the future: those bars are 0
    assert "Where character 3 (&#x27;·&#x27;) looks" in bars and f"d {row[4]:.3g}" in bars
    with pytest.raises(ValueError, match=r"layer must be an int in 0\.\.1, got 2"):
        lesson04.model_head_view(model, tokenizer, text, 2, 0, 3)


def test_model_figures(tiny_model):
    model, tokenizer = tiny_model
    fig = lesson04.model_head_figure(model, tokenizer, "abc def", 1, 0)
    assert fig.axes[0].get_title() == "Layer 1, head 0 (mask on, scaling on)"
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()][3] == "·"  # spaces made visible
    fig = lesson04.model_head_figure(model, tokenizer, "abc def", 0, 1, query=99, causal=False)
    assert "Where character 6 ('f') looks" in fig.axes[1].get_title()  # the query is clamped to the text
    with pytest.raises(ValueError, match=r"layer must be an int in 0\.\.1"):
        lesson04.model_head_figure(model, tokenizer, "abc", 2, 0)
    tokens, patterns = A.model_attention(model, tokenizer, "abcdefghij klmnopq")
    fig = lesson04.all_heads_figure(tokens, patterns)
    assert len([ax for ax in fig.axes if ax.get_title().startswith("layer")]) == 4
    ax = lesson04.draw_attention_pattern(torch.eye(40), list("x" * 40))
    assert len(ax.get_xticklabels()) <= 40


def test_attention_widgets_render_first_and_follow_changes(tiny_model):

    box = lesson04.toy_attention_explorer("the black cat", query=2)
    controls = box.children[0].children
    assert [c.description for c in controls] == ["Sentence", "Query position", "Causal mask", "Divide by √d_k"]
    first = box.children[1].value
    assert first.count("<svg") == 2 and "mask on, scaling on" in first
    controls[2].value = False  # mask off: a new picture
    assert box.children[1].value != first
    controls[0].value = "a small orange fruit today"
    assert controls[1].max == 4
    model, tokenizer = tiny_model
    box = lesson04.model_attention_explorer(model, tokenizer, "abc def", layer=1, head=1, query=3)
    controls = box.children[0].children
    assert [c.description for c in controls] == [
        "Your text",
        "Layer",
        "Head",
        "Query position",
        "Causal mask",
        "Divide by √d_k",
    ]
    assert controls[0].continuous_update is False and controls[3].max == 6
    first = box.children[1].value
    controls[2].value = 0
    assert box.children[1].value != first
    controls[0].value = "a" * 40  # longer than the context: the slider stops at its end
    assert controls[3].max == 15


NAN, INF = float("nan"), float("inf")


X, W = np.ones((3, 4)), np.ones((2, 4))


def test_lesson_04_views_work_on_a_model_of_another_shape(course_model):
    """Every model view of lesson 04 on a random GPT with other layers, heads, width and context (a learner's own)."""
    from course_lib.model import GPT, GPTConfig

    _, tokenizer = course_model
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=24, n_layer=2, n_head=3, n_embd=48)
    model = GPT(config).eval()
    text = "ROMEO.\nBut soft, what light through yonder window breaks?"  # longer than this model's context
    tokens, patterns = A.model_attention(model, tokenizer, text)
    assert len(tokens) == 24 and tuple(patterns.shape) == (2, 3, 24, 24)
    scores = A.head_scores(patterns)
    assert scores["previous"].shape == (2, 3)
    fig = lesson04.all_heads_figure(tokens, patterns)
    assert len(fig.axes) == 2 * 3 + 1  # the heads and the colour bar
    fig = lesson04.model_head_figure(model, tokenizer, text, 1, 2, query=40)  # a query past the context is clipped
    assert "Layer 1, head 2" in fig.axes[0].get_title()
    view = lesson04.model_head_view(model, tokenizer, text, 1, 2, 5)
    assert view.count("<svg") == 2 and "nan" not in view.lower()
    box = lesson04.model_attention_explorer(model, tokenizer, text, layer=1, head=2, query=3)
    assert [o for o in box.children[0].children[1].options] == [0, 1]
    assert [o for o in box.children[0].children[2].options] == [0, 1, 2]
    views, error = shown(box)
    assert error == "" and "longer than the model&#x27;s context: it reads the last 24" in views[0]
