"""Lesson 06's views (course_lib.lessons.lesson06): what its widgets and figures show."""

import re

import numpy as np
import pytest
import torch

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


def test_every_view_works_on_a_model_of_another_shape(course_model):
    """choose_model("yours") may open a model of another shape: 3 layers of 96 neurons, 20 characters of context."""
    from course_lib.model import GPT, GPTConfig
    from course_lib.neurons import record_neurons

    _, tokenizer = course_model
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=20, n_layer=3, n_head=3, n_embd=24)
    model = GPT(config).eval()
    text = "ROMEO.\nBut soft, what light"  # longer than the context
    acts = record_neurons(model, tokenizer, text, 2)
    assert acts.shape == (len(text), 4 * config.n_embd)
    fig = lesson06.neuron_figure(acts, text, 95, feature="after newline")
    assert fig.axes[0].get_title().startswith("Neuron 95 along the text")
    assert "neuron 95" in lesson06.neuron_view(acts, text, 95, feature="space")
    box = lesson06.neuron_explorer(model, tokenizer, text, {"L2 n95": (2, 95, "space"), "L0 n3": (0, 3, None)})
    assert (
        "Layer 2, neuron 95" in box.children[1].value
        and "longer than the model&#x27;s context" in box.children[1].value
    )
    choice, text_box = box.children[0].children
    choice.value = "L0 n3"
    assert "Layer 0, neuron 3" in box.children[1].value
