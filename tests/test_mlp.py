"""course_lib.mlp: the block's pieces, parameter counts, and the neuron-finding tools."""

import functools
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from bad_input_support import Bad, assert_refused, table

from course_lib import mlp as M


def test_linear_is_rows_asking_questions_plus_bias():
    w = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, -1.0, 2.0]])
    b = np.array([0.5, 0.0, -1.0])
    x = np.array([2.0, 3.0, 4.0])
    # row 0 asks "how much of feature 0?", row 1 "what is the sum?", row 2 "2*f2 - f1?"
    np.testing.assert_allclose(M.linear(x, w, b), [2.5, 9.0, 4.0])
    np.testing.assert_allclose(M.linear(x, w), [w[i] @ x for i in range(3)])
    lin = torch.nn.Linear(3, 3).double()
    xt = torch.randn(4, 3, dtype=torch.float64)
    torch.testing.assert_close(M.linear(xt, lin.weight, lin.bias), lin(xt))


def test_relu_hand_computed():
    np.testing.assert_array_equal(M.relu(np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 3.0])
    assert M.relu(torch.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch(approximate):
    x = np.linspace(-5, 5, 41)
    expected = F.gelu(torch.from_numpy(x), approximate=approximate).numpy()
    np.testing.assert_allclose(M.gelu(x, approximate), expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(M.gelu(torch.from_numpy(x), approximate), torch.from_numpy(expected))


def test_gelu_hand_computed():
    assert M.gelu(np.array(0.0)) == 0.0
    assert math.isclose(float(M.gelu(np.array(1.0))), 0.5 * (1 + math.erf(1 / math.sqrt(2))))
    assert float(M.gelu(np.array(-1.0))) < 0  # slightly negative below zero, unlike ReLU
    assert abs(float(M.gelu(np.array(1.0))) - float(M.gelu(np.array(1.0), "tanh"))) < 1e-3


def test_mlp_block_matches_a_torch_mlp_and_adds_to_the_residual():
    torch.manual_seed(0)
    up, down = torch.nn.Linear(4, 16).double(), torch.nn.Linear(16, 4).double()
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    out, steps = M.mlp_block(x, up.weight, up.bias, down.weight, down.bias, activation="gelu_tanh", return_steps=True)
    torch.testing.assert_close(out, down(F.gelu(up(x), approximate="tanh")))
    torch.testing.assert_close(steps.residual, x + out)
    assert steps.shapes() == {
        "x": (2, 3, 4),
        "hidden": (2, 3, 16),
        "neurons": (2, 3, 16),
        "out": (2, 3, 4),
        "residual": (2, 3, 4),
    }


def test_mlp_block_hand_computed_with_relu():
    x = np.array([1.0, -1.0])
    w_up = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # neurons: x0, x1, x0 + x1
    b_up = np.array([0.0, 0.0, 0.5])
    w_down = np.array([[1.0, 1.0, 1.0], [0.0, 2.0, -1.0]])
    out, s = M.mlp_block(x, w_up, b_up, w_down, None, activation="relu", return_steps=True)
    np.testing.assert_allclose(s.hidden, [1.0, -1.0, 0.5])
    np.testing.assert_allclose(s.neurons, [1.0, 0.0, 0.5])  # neuron 1 does not fire
    np.testing.assert_allclose(out, [1.5, -0.5])
    np.testing.assert_allclose(s.residual, [2.5, -1.5])


def test_position_by_position_equals_batched():
    rng = np.random.default_rng(0)
    w_up, b_up, w_down, b_down = (
        rng.normal(size=(8, 2)),
        rng.normal(size=8),
        rng.normal(size=(2, 8)),
        rng.normal(size=2),
    )
    x = rng.normal(size=(5, 2))
    looped, batched, diff = M.position_by_position(x, lambda v: M.mlp_block(v, w_up, b_up, w_down, b_down))
    assert looped.shape == batched.shape == (5, 2) and diff < 1e-12
    xt = torch.from_numpy(x)
    _, _, diff_t = M.position_by_position(xt, lambda v: v.cumsum(0))  # not per-position: mixes positions
    assert diff_t > 0.1


def test_parameter_counts_agree_with_the_model():
    from course_lib.model import GPT2_SMALL, GPT3_175B, GPTConfig, count_parameters

    assert M.mlp_parameter_count(768) == 8 * 768**2 + 5 * 768
    assert M.mlp_parameter_count(2, bias=False, mlp_ratio=1) == 8
    for cfg in (GPT2_SMALL, GPT3_175B, GPTConfig()):
        counts = count_parameters(cfg)
        block = M.block_parameter_counts(cfg.n_embd)
        assert counts["mlp"] == cfg.n_layer * block["mlp"]
        assert counts["attention"] == cfg.n_layer * block["attention"]
        assert counts["layer_norm"] == cfg.n_layer * block["layer_norm"] + 2 * cfg.n_embd
    assert count_parameters(GPT2_SMALL)["total"] == 124_439_808
    share = M.mlp_share(GPT3_175B)
    assert round(share["mlp_share_of_blocks"], 3) == 0.667 and 0.66 < share["mlp_share_of_total"] < 0.67
    assert M.block_parameter_counts(8, bias=False) == {"attention": 256, "mlp": 512, "layer_norm": 16, "total": 784}


def test_char_features():
    f = M.char_features("Ab\nc e.\nHI.\n")
    assert f["capital letter"].tolist() == [c.isupper() for c in "Ab\nc e.\nHI.\n"]
    assert np.flatnonzero(f["after newline"]).tolist() == [3, 8]
    assert np.flatnonzero(f["vowel"]).tolist() == [0, 5, 9]  # A, e, I
    assert np.flatnonzero(f["after space"]).tolist() == [5]
    assert np.flatnonzero(f["punctuation"]).tolist() == [6, 10]
    assert np.flatnonzero(f["upper-case line"]).tolist() == [8, 9, 10, 11]
    assert np.flatnonzero(f["inside a word"]).tolist() == [1, 9]


def test_auc_hand_computed():
    assert M.auc([3.0, 2.0, 1.0, 0.0], [1, 1, 0, 0]) == 1.0
    assert M.auc([0.0, 1.0, 2.0, 3.0], [1, 1, 0, 0]) == 0.0
    assert M.auc([1.0, 1.0, 1.0, 1.0], [1, 0, 1, 0]) == 0.5  # ties count half
    # positives {3, 1}, negatives {2, 0}: pairs won 3>2, 3>0, 1>0, lost 1<2 -> 3/4
    assert M.auc(np.array([3.0, 2.0, 1.0, 0.0]), np.array([True, False, True, False])) == 0.75
    assert M.auc(torch.tensor([2.0, 1.0, 1.0]), torch.tensor([True, True, False])) == 0.75


def test_neuron_scores_and_finding_a_planted_neuron():
    text = "The cat.\nA dog sat.\nBy the sea\nOn the hill.\nIt ran.\n" * 3
    rng = np.random.default_rng(0)
    acts = rng.normal(size=(len(text), 6)) * 0.1
    after_nl = M.char_features(text, ["after newline"])["after newline"]
    acts[after_nl, 4] += 2.0  # neuron 4 fires at the first character of a line
    caps = M.char_features(text, ["capital letter"])["capital letter"]
    acts[caps, 1] += 1.0  # neuron 1 fires on capitals (which includes most line starts)
    s = M.neuron_scores(acts, after_nl)
    assert s["auc"][4] == 1.0 and round(float(s["difference"][4]), 1) == 2.0
    found = M.find_feature_neurons(acts, text, ["after newline", "capital letter", "vowel"])
    by_feature = {f.feature: f for f in found}
    assert by_feature["after newline"].neuron == 4 and by_feature["capital letter"].neuron == 1
    assert by_feature["capital letter"].auc == 1.0 and by_feature["vowel"].auc < 0.9
    assert found[0].auc >= found[-1].auc
    assert "neuron    4 ~ 'after newline': AUC 1.000" in str(by_feature["after newline"])
    top3 = M.find_feature_neurons(torch.from_numpy(acts), text, ["after newline"], top_k=3)
    assert [f.neuron for f in top3][0] == 4 and len(top3) == 3


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (
            lambda: M.linear(np.ones(3), np.ones((2, 4))),
            ValueError,
            "w has shape (2, 4) but the input vectors have 3 features",
        ),
        (
            lambda: M.linear(np.ones(3), np.ones((2, 3)), np.ones(3)),
            ValueError,
            "b must have shape (2,), one entry per row of its weight",
        ),
        (lambda: M.linear(np.ones(3), torch.ones(2, 3)), TypeError, "mix of NumPy"),
        (lambda: M.linear("x", np.ones((2, 3))), TypeError, "NumPy array or a torch tensor"),
        (lambda: M.gelu(np.ones(2), "fast"), ValueError, "approximate must be 'none' or 'tanh'"),
        (
            lambda: M.mlp_block(np.ones(2), np.ones((8, 2)), None, np.ones((8, 2)), None),
            ValueError,
            "w_down must have shape (n_embd, n_hidden) = (2, 8)",
        ),
        (
            lambda: M.mlp_block(np.ones(2), np.ones((8, 2)), None, np.ones((2, 8)), None, activation="tanh"),
            ValueError,
            "activation must be one of",
        ),
        (lambda: M.mlp_parameter_count(0), ValueError, "n_embd must be a positive int"),
        (lambda: M.char_features("abc", ["vowels"]), ValueError, "unknown feature(s) ['vowels']"),
        (lambda: M.auc([1.0, 2.0], [1, 1]), ValueError, "both positive and negative"),
        (lambda: M.neuron_scores(np.ones((4, 2)), np.ones(3, bool)), ValueError, "one entry per position (4)"),
        (
            lambda: M.find_feature_neurons(np.ones((4, 2)), "abc"),
            ValueError,
            "one character per row of activations (4)",
        ),
    ],
)
def test_clear_errors(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


# --------------------------------------------------------------------------- trained-model tools, figures, widgets


def test_record_neurons_reads_long_texts_in_windows(tiny_model):
    model, tokenizer = tiny_model
    text = "abc def.\nABC ghij klm nop qrs tuv"  # 33 characters: three windows of up to 16
    acts = M.record_neurons(model, tokenizer, text, 1)
    assert acts.shape == (33, 32)
    capture = {}
    with torch.no_grad():
        model(torch.tensor([tokenizer.encode(text[16:32])]), capture=capture)
    np.testing.assert_allclose(acts[16:32], capture["blocks.1.mlp.post"][0].numpy())
    pre = M.record_neurons(model, tokenizer, text[:5], 0, after_gelu=False)
    np.testing.assert_allclose(
        M.gelu(pre, "tanh"), M.record_neurons(model, tokenizer, text[:5], 0), rtol=1e-5, atol=1e-6
    )
    every = M.record_neurons(model, tokenizer, text, None)
    assert every.shape == (2, 33, 32)
    np.testing.assert_allclose(every[1], acts, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="layer must be an int in 0..1"):
        M.record_neurons(model, tokenizer, text, 2)


def test_neuron_figures():
    text = "Ab\ncd\nEf"
    acts = np.arange(len(text) * 3, dtype=float).reshape(len(text), 3)
    fig = M.neuron_figure(acts, text, 2, feature="after newline")
    ax = fig.axes[0]
    assert ax.get_title().startswith("Neuron 2 along the text (AUC for 'after newline': ")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "b", "↵", "c", "d", "↵", "E", "f"]
    assert ax.get_legend().get_texts()[0].get_text() == "after newline"
    with pytest.raises(ValueError, match="one activation per character"):
        M.neuron_figure(np.ones(3), text, 0)
    view = M.neuron_view(acts, text, 2, feature="after newline")
    assert view.count("<svg") == 1 and ax.get_title() in view.replace("&#x27;", "'")
    assert "neuron 2 (from 2 to 23)" in view and "2 positions shaded: after newline" in view
    with pytest.raises(ValueError, match="one activation per character"):
        M.neuron_view(np.ones(3), text, 0)


def test_neuron_responses_view_before_and_after_the_nonlinearity():
    view = M.neuron_responses_view(np.array([1.0, -1.0]), np.eye(2), np.zeros(2), ["first", "second"])
    before, after = re.findall(r'aria-label="([^"]*)"', view)
    assert "2 bars: first 1.00, second -1.00" in before
    assert "After relu" in after and "2 bars: first 1.00, second 0.00" in after  # ReLU silenced the second
    gelu = M.neuron_responses_view(np.array([1.0, -1.0]), np.eye(2), np.zeros(2), ["a", "b"], activation="gelu")
    assert "b -0.16" in gelu  # GELU lets a little of a negative answer through
    with pytest.raises(ValueError, match="activation must be one of"):
        M.neuron_responses_view(np.ones(2), np.eye(2), np.zeros(2), ["a", "b"], activation="tanh")
    with pytest.raises(ValueError, match="must name each of the 2 outputs"):
        M.neuron_responses_view(np.ones(2), np.eye(2), np.zeros(2), ["a"])


def test_values_along_text_checks_lengths():
    from course_lib import plots

    with pytest.raises(ValueError, match="one entry per character of text"):
        plots.values_along_text([1.0, 2.0], "abc", "t", "y")


def test_mlp_widgets_render_first_and_follow_changes(tiny_model):
    from course_lib import widgets

    box = widgets.neuron_playground(np.eye(2), np.array([0.0, -0.5]), ["animal", "dark"], ["n0", "n1"], [1.0, 0.0])
    sliders = box.children[0].children
    assert [s.description for s in sliders] == ["animal", "dark"]
    first = box.children[1].value
    sliders[1].value = 1.5
    assert box.children[1].value != first
    model, tokenizer = tiny_model
    box = widgets.neuron_explorer(model, tokenizer, "abc\ndef", {"L1 n3 (after newline)": (1, 3, "after newline")})
    choice, text_box = box.children[0].children
    assert (choice.description, text_box.description) == ("Neuron", "Your text")
    first = box.children[1].value
    text_box.value = "ABC\nab c"
    assert box.children[1].value != first
    with pytest.raises(ValueError, match="at least one"):
        widgets.neuron_explorer(model, tokenizer, "abc", {})


# --------------------------------------------------------------------------- numbers in, numbers out

NAN, INF = float("nan"), float("inf")
X, W_UP, W_DOWN = np.ones(2), np.ones((8, 2)), np.ones((2, 8))
TEXT = "Ab\ncd\nEf"


def _with_nan(shape, where):
    a = np.ones(shape)
    a[where] = NAN
    return a


@functools.cache
def _tiny_model():
    from course_lib.model import GPT, GPTConfig
    from course_lib.tokenizers import CharTokenizer

    torch.manual_seed(0)
    tokenizer = CharTokenizer.from_text("abc")
    return GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=8, n_layer=2, n_head=2, n_embd=8)), tokenizer


BAD_INPUTS = table(
    Bad("nan-x", lambda: M.linear(np.array([1.0, NAN]), np.ones((2, 2))), ValueError, "x", "NaN at index 1"),
    Bad("nan-w", lambda: M.linear(X, _with_nan((3, 2), (2, 1))), ValueError, "w", "NaN at index (2, 1)"),
    Bad("inf-b", lambda: M.linear(X, np.ones((2, 2)), np.array([INF, 0.0])), ValueError, "b", "+inf at index 0"),
    Bad("vector-w", lambda: M.linear(X, np.ones(2)), ValueError, "w", "2-D"),
    Bad("3d-w", lambda: M.linear(X, np.ones((1, 2, 2))), ValueError, "w", "must be a 2-D matrix"),
    Bad("block-nan-x", lambda: M.mlp_block(_with_nan(2, 0), W_UP, None, W_DOWN, None), ValueError, "x", "NaN"),
    Bad(
        "block-w-up-width",
        lambda: M.mlp_block(X, np.ones((8, 3)), None, W_DOWN, None),
        ValueError,
        "w_up has shape (8, 3)",
        "needs 2 columns",
    ),
    Bad(
        "block-b-up-shape",
        lambda: M.mlp_block(X, W_UP, np.ones(3), W_DOWN, None),
        ValueError,
        "b_up",
        "must have shape (8,)",
    ),
    Bad(
        "block-b-down-shape",
        lambda: M.mlp_block(X, W_UP, None, W_DOWN, np.ones(8)),
        ValueError,
        "b_down",
        "must have shape (2,)",
    ),
    Bad(
        "block-nan-w-down",
        lambda: M.mlp_block(X, W_UP, None, _with_nan((2, 8), (1, 7)), None),
        ValueError,
        "w_down",
        "NaN at index (1, 7)",
    ),
    Bad(
        "block-mixed-kinds",
        lambda: M.mlp_block(X, W_UP, None, torch.ones(2, 8), None),
        TypeError,
        "w_down=tensor",
        "mix of NumPy arrays and torch tensors",
    ),
    Bad("relu-nan", lambda: M.relu(np.array([0.0, NAN])), ValueError, "x", "NaN at index 1"),
    Bad("relu-inf-tensor", lambda: M.relu(torch.tensor([INF])), ValueError, "x", "+inf"),
    Bad("gelu-nan", lambda: M.gelu([NAN]), ValueError, "x", "NaN at index 0"),
    Bad("gelu-minus-inf", lambda: M.gelu(np.array([-INF])), ValueError, "x", "-inf at index 0"),
    Bad("count-float", lambda: M.mlp_parameter_count(2.0), TypeError, "n_embd", "must be an int, got float"),
    Bad("count-zero-ratio", lambda: M.mlp_parameter_count(8, mlp_ratio=0), ValueError, "mlp_ratio", "positive int"),
    Bad("block-count-bool", lambda: M.block_parameter_counts(True), TypeError, "n_embd", "got bool"),
    Bad("auc-nan", lambda: M.auc([NAN, 1.0], [True, False]), ValueError, "scores", "NaN at index 0"),
    Bad(
        "scores-nan",
        lambda: M.neuron_scores(_with_nan((4, 2), (3, 1)), np.array([1, 0, 1, 0], bool)),
        ValueError,
        "activations",
        "NaN at index (3, 1)",
    ),
    Bad("find-zero-top-k", lambda: M.find_feature_neurons(np.ones((8, 2)), TEXT, top_k=0), ValueError, "top_k", "int"),
    Bad(
        "find-float-top-k", lambda: M.find_feature_neurons(np.ones((8, 2)), TEXT, top_k=1.5), TypeError, "top_k", "int"
    ),
    Bad(
        "find-zero-min-positions",
        lambda: M.find_feature_neurons(np.ones((8, 2)), TEXT, min_positions=0),
        ValueError,
        "min_positions",
        "must be a positive int",
    ),
    Bad(
        "find-nan",
        lambda: M.find_feature_neurons(_with_nan((8, 2), (0, 0)), TEXT),
        ValueError,
        "activations",
        "NaN at index (0, 0)",
    ),
    Bad(
        "position-by-position-nan",
        lambda: M.position_by_position(_with_nan((3, 2), (1, 1)), M.relu),
        ValueError,
        "x",
        "NaN at index (1, 1)",
    ),
    Bad(
        "record-float-layer",
        lambda: M.record_neurons(*_tiny_model(), "abc", 1.0),
        TypeError,
        "layer",
        "must be an int, got float",
    ),
    Bad("view-neuron-out-of-range", lambda: M.neuron_view(np.ones((8, 2)), TEXT, 5), ValueError, "neuron", "0..1"),
    Bad(
        "responses-nan-x",
        lambda: M.neuron_responses_view(np.array([NAN, 1.0]), np.eye(2), np.zeros(2), ["a", "b"]),
        ValueError,
        "x",
        "NaN at index 0",
    ),
)


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_inputs_are_refused(case):
    assert_refused(case)
