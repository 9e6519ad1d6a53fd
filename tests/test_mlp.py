"""course_lib.mlp: the block's pieces, parameter counts, and the neuron-finding tools."""

import functools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from bad_input_support import Bad, assert_refused, table

from course_lib import mlp as M
from course_lib import neurons, sizes
from course_lib.lessons import lesson06
from course_lib.show import figures


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


def test_values_along_text_checks_lengths():
    with pytest.raises(ValueError, match="one entry per character of text"):
        figures.values_along_text([1.0, 2.0], "abc", "t", "y")


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
    Bad("count-float", lambda: sizes.mlp_parameter_count(2.0), TypeError, "n_embd", "must be an int, got float"),
    Bad("count-zero-ratio", lambda: sizes.mlp_parameter_count(8, mlp_ratio=0), ValueError, "mlp_ratio", "positive int"),
    Bad("block-count-bool", lambda: sizes.block_parameter_counts(True), TypeError, "n_embd", "got bool"),
    Bad("auc-nan", lambda: neurons.auc([NAN, 1.0], [True, False]), ValueError, "scores", "NaN at index 0"),
    Bad(
        "scores-nan",
        lambda: neurons.neuron_scores(_with_nan((4, 2), (3, 1)), np.array([1, 0, 1, 0], bool)),
        ValueError,
        "activations",
        "NaN at index (3, 1)",
    ),
    Bad(
        "find-zero-top-k",
        lambda: neurons.find_feature_neurons(np.ones((8, 2)), TEXT, top_k=0),
        ValueError,
        "top_k",
        "int",
    ),
    Bad(
        "find-float-top-k",
        lambda: neurons.find_feature_neurons(np.ones((8, 2)), TEXT, top_k=1.5),
        TypeError,
        "top_k",
        "int",
    ),
    Bad(
        "find-zero-min-positions",
        lambda: neurons.find_feature_neurons(np.ones((8, 2)), TEXT, min_positions=0),
        ValueError,
        "min_positions",
        "must be a positive int",
    ),
    Bad(
        "find-nan",
        lambda: neurons.find_feature_neurons(_with_nan((8, 2), (0, 0)), TEXT),
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
        lambda: neurons.record_neurons(*_tiny_model(), "abc", 1.0),
        TypeError,
        "layer",
        "must be an int, got float",
    ),
    Bad(
        "view-neuron-out-of-range", lambda: lesson06.neuron_view(np.ones((8, 2)), TEXT, 5), ValueError, "neuron", "0..1"
    ),
    Bad(
        "responses-nan-x",
        lambda: lesson06.neuron_responses_view(np.array([NAN, 1.0]), np.eye(2), np.zeros(2), ["a", "b"]),
        ValueError,
        "x",
        "NaN at index 0",
    ),
)


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_inputs_are_refused(case):
    assert_refused(case)
