"""Lesson 06's views (course_lib.lessons.lesson06): what its widgets and figures show."""

import re

import numpy as np
import pytest

from course_lib.lessons import lesson06


def test_neuron_figures():
    text = "Ab\ncd\nEf"
    acts = np.arange(len(text) * 3, dtype=float).reshape(len(text), 3)
    fig = lesson06.neuron_figure(acts, text, 2, feature="after newline")
    ax = fig.axes[0]
    assert ax.get_title().startswith("Neuron 2 along the text (AUC for 'after newline': ")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "b", "↵", "c", "d", "↵", "E", "f"]
    assert ax.get_legend().get_texts()[0].get_text() == "after newline"
    with pytest.raises(ValueError, match="one activation per character"):
        lesson06.neuron_figure(np.ones(3), text, 0)
    view = lesson06.neuron_view(acts, text, 2, feature="after newline")
    assert view.count("<svg") == 1 and ax.get_title() in view.replace("&#x27;", "'")
    assert "neuron 2 (from 2 to 23)" in view and "2 positions shaded: after newline" in view
    with pytest.raises(ValueError, match="one activation per character"):
        lesson06.neuron_view(np.ones(3), text, 0)


def test_neuron_responses_view_before_and_after_the_nonlinearity():
    view = lesson06.neuron_responses_view(np.array([1.0, -1.0]), np.eye(2), np.zeros(2), ["first", "second"])
    before, after = re.findall(r'aria-label="([^"]*)"', view)
    assert "2 bars: first 1.00, second -1.00" in before
    assert "After relu" in after and "2 bars: first 1.00, second 0.00" in after  # ReLU silenced the second
    gelu = lesson06.neuron_responses_view(np.array([1.0, -1.0]), np.eye(2), np.zeros(2), ["a", "b"], activation="gelu")
    assert "b -0.16" in gelu  # GELU lets a little of a negative answer through
    with pytest.raises(ValueError, match="activation must be one of"):
        lesson06.neuron_responses_view(np.ones(2), np.eye(2), np.zeros(2), ["a", "b"], activation="tanh")
    with pytest.raises(ValueError, match="must name each of the 2 outputs"):
        lesson06.neuron_responses_view(np.ones(2), np.eye(2), np.zeros(2), ["a"])


def test_mlp_widgets_render_first_and_follow_changes(tiny_model):
    box = lesson06.neuron_playground(np.eye(2), np.array([0.0, -0.5]), ["animal", "dark"], ["n0", "n1"], [1.0, 0.0])
    sliders = box.children[0].children
    assert [s.description for s in sliders] == ["animal", "dark"]
    first = box.children[1].value
    sliders[1].value = 1.5
    assert box.children[1].value != first
    model, tokenizer = tiny_model
    box = lesson06.neuron_explorer(model, tokenizer, "abc\ndef", {"L1 n3 (after newline)": (1, 3, "after newline")})
    choice, text_box = box.children[0].children
    assert (choice.description, text_box.description) == ("Neuron", "Your text")
    first = box.children[1].value
    text_box.value = "ABC\nab c"
    assert box.children[1].value != first
    with pytest.raises(ValueError, match="at least one"):
        lesson06.neuron_explorer(model, tokenizer, "abc", {})


NAN, INF = float("nan"), float("inf")


X, W_UP, W_DOWN = np.ones(2), np.ones((8, 2)), np.ones((2, 8))
