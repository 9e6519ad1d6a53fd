"""course_lib.arrays: the shared input checks, their one exception policy and their messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from bad_input_support import Bad, assert_refused, table

from course_lib import arrays as A

NAN, INF = float("nan"), float("inf")


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3), np.int32(3)])
def test_ints_of_any_integer_type_are_accepted_as_python_ints(value):
    checked = A.require_int("n", value)
    assert checked == 3 and type(checked) is int


def test_real_numbers_come_back_as_floats():
    for value in (2, 2.5, np.float32(0.5), np.int64(4)):
        checked = A.require_real("x", value)
        assert checked == float(value) and type(checked) is float


NUMBER_CASES = table(
    Bad("bool-as-int", lambda: A.require_int("n_layer", True), TypeError, "n_layer", "must be an int, got bool"),
    Bad("numpy-bool-as-int", lambda: A.require_int("n", np.bool_(True)), TypeError, "n", "must be an int, got bool"),
    Bad("float-as-int", lambda: A.require_int("k", 2.0), TypeError, "k", "must be an int, got float 2.0"),
    Bad("str-as-int", lambda: A.require_int("k", "3"), TypeError, "k", "must be an int, got str '3'"),
    Bad("none-as-int", lambda: A.require_int("k", None), TypeError, "k", "got NoneType"),
    Bad("int-below-minimum", lambda: A.require_int("m", -1, minimum=0), ValueError, "m", "must be an int >= 0, got -1"),
    Bad("int-above-maximum", lambda: A.require_int("q", 5, minimum=0, maximum=4), ValueError, "q", "an int in 0..4"),
    Bad("int-hint", lambda: A.require_int("k", 0, minimum=1, hint="Try 1"), ValueError, "k", "got 0. Try 1"),
    Bad("zero-count", lambda: A.require_positive_int("n_head", 0), ValueError, "n_head", "must be a positive int"),
    Bad("negative-count", lambda: A.require_positive_int("dim", -3), ValueError, "dim", "positive int, got -3"),
    Bad("fractional-count", lambda: A.require_positive_int("batch_size", 2.5), TypeError, "batch_size", "an int"),
    Bad("str-as-real", lambda: A.require_real("lr", "1e-3"), TypeError, "lr", "must be a number, got str '1e-3'"),
    Bad("bool-as-real", lambda: A.require_real("p", True), TypeError, "p", "must be a number, got bool"),
    Bad("complex-as-real", lambda: A.require_real("t", 1j), TypeError, "t", "must be a number, got complex"),
    Bad("none-as-real", lambda: A.require_real("t", None), TypeError, "t", "must be a number, got NoneType"),
    Bad("nan-real", lambda: A.require_real("lr", NAN), ValueError, "lr", "must be a finite number, got nan"),
    Bad("inf-real", lambda: A.require_real("lr", INF), ValueError, "lr", "must be a finite number, got inf"),
    Bad("open-low", lambda: A.require_real("t", 0, low=0, low_open=True), ValueError, "t", "must be > 0, got 0"),
    Bad("closed-low", lambda: A.require_real("wd", -0.1, low=0), ValueError, "wd", "must be >= 0, got -0.1"),
    Bad(
        "half-open-interval",
        lambda: A.require_real("beta1", 1.0, low=0, high=1, high_open=True),
        ValueError,
        "beta1",
        "must be a number in [0, 1), got 1.0",
    ),
    Bad(
        "open-closed-interval",
        lambda: A.require_real("p", 0.0, low=0, high=1, low_open=True),
        ValueError,
        "p",
        "must be a number in (0, 1], got 0.0",
    ),
)


@pytest.mark.parametrize("case", NUMBER_CASES)
def test_bad_numbers(case):
    assert_refused(case)


# --------------------------------------------------------------------------- arrays


def test_arrays_and_tensors_come_back_unchanged():
    x, t = np.ones((2, 3), dtype=np.float32), torch.ones(2, 3, dtype=torch.float16)
    assert A.require_array("x", x, 2, finite=True) is x  # no copy, no change of dtype
    assert A.require_array("t", t, 2, finite=True) is t
    ints = np.arange(4)
    assert A.require_array("ids", ints, finite=True) is ints  # integers are always finite


def test_lists_and_numbers_become_float64_arrays():
    assert A.require_array("x", [1, 2]).dtype == np.float64
    assert A.require_array("x", [[1.5], [2]]).shape == (2, 1)
    assert A.require_array("x", 3).shape == ()
    assert A.require_array("x", np.float32(3)).dtype == np.float64


def test_minus_infinity_is_allowed_only_when_asked():
    scores = np.array([1.0, -np.inf])
    assert A.require_array("scores", scores, allow_neg_inf=True) is scores
    with pytest.raises(ValueError, match="scores contains -inf at index 1"):
        A.require_array("scores", scores, finite=True)


ARRAY_CASES = table(
    Bad("str", lambda: A.require_array("x", "abc"), TypeError, "x", "must be a NumPy array or a torch tensor, got str"),
    Bad("none", lambda: A.require_array("x", None), TypeError, "x", "got NoneType"),
    Bad("bool-scalar", lambda: A.require_array("x", True), TypeError, "x", "got bool"),
    Bad("list-of-str", lambda: A.require_array("x", ["a", "b"]), TypeError, "x", "must hold real numbers, got str 'a'"),
    Bad("list-of-bools", lambda: A.require_array("mask", [True, False]), TypeError, "mask", "got bools"),
    Bad("list-with-none", lambda: A.require_array("x", [1.0, None]), TypeError, "x", "got NoneType None"),
    Bad("ragged-list", lambda: A.require_array("x", [[1, 2], [3]]), ValueError, "x", "is ragged"),
    Bad("complex-list", lambda: A.require_array("x", [1j]), TypeError, "x", "must hold real numbers, got complex 1j"),
    Bad("bool-array", lambda: A.require_array("x", np.array([True])), TypeError, "x", "got dtype bool"),
    Bad("str-array", lambda: A.require_array("x", np.array(["a"])), TypeError, "x", "got dtype <U1"),
    Bad("complex-array", lambda: A.require_array("x", np.ones(2, complex)), TypeError, "x", "got dtype complex128"),
    Bad("bool-tensor", lambda: A.require_array("x", torch.ones(2, dtype=torch.bool)), TypeError, "x", "torch.bool"),
    Bad("complex-tensor", lambda: A.require_array("x", torch.ones(2, dtype=torch.cfloat)), TypeError, "x", "complex"),
    Bad("too-few-dims", lambda: A.require_array("q", np.ones(3), 2), ValueError, "q", "at least 2 dimension(s)"),
    Bad("wrong-dims", lambda: A.require_array("m", np.ones(3), ndim=2), ValueError, "m", "must be a 2-D array"),
    Bad(
        "wrong-shape",
        lambda: A.require_array("w", np.ones((2, 3)), shape=(None, 4)),
        ValueError,
        "w",
        "must have shape (any, 4), got (2, 3)",
    ),
    Bad("empty", lambda: A.require_array("logits", [], nonempty=True), ValueError, "logits", "is empty (shape (0,))"),
    Bad(
        "empty-rows",
        lambda: A.require_array("x", np.ones((2, 0)), nonempty=True),
        ValueError,
        "x",
        "is empty (shape (2, 0))",
    ),
    Bad("nan-vector", lambda: A.require_finite("logits", np.array([NAN, 1.0])), ValueError, "logits", "NaN at index 0"),
    Bad(
        "nan-matrix",
        lambda: A.require_finite("logits", np.array([[0, 0, 0, 0], [0, 0, 0, NAN]])),
        ValueError,
        "logits",
        "contains NaN at index (1, 3)",
    ),
    Bad(
        "many-nans",
        lambda: A.require_finite("x", np.full(3, NAN)),
        ValueError,
        "x",
        "NaN at index 0 (3 NaN values in all)",
    ),
    Bad(
        "nan-before-inf",
        lambda: A.require_finite("x", np.array([INF, NAN])),
        ValueError,
        "x",
        "contains NaN at index 1",
    ),
    Bad("plus-inf", lambda: A.require_finite("x", np.array([1.0, INF])), ValueError, "x", "contains +inf at index 1"),
    Bad(
        "plus-inf-when-minus-allowed",
        lambda: A.require_finite("s", np.array([INF]), allow_neg_inf=True),
        ValueError,
        "s",
        "+inf at index 0 (-inf is allowed: it masks a score)",
    ),
    Bad(
        "nan-tensor", lambda: A.require_finite("q", torch.tensor([[1.0, NAN]])), ValueError, "q", "NaN at index (0, 1)"
    ),
    Bad("nan-float16", lambda: A.require_finite("x", np.array([NAN], np.float16)), ValueError, "x", "NaN at index 0"),
    Bad("nan-scalar", lambda: A.require_finite("x", np.float64(NAN)), ValueError, "x", "is NaN"),
    Bad(
        "fully-masked-vector",
        lambda: A.require_not_fully_masked("logits", np.full(3, -np.inf)),
        ValueError,
        "logits",
        "every score is -inf in logits: the row is fully masked",
    ),
    Bad(
        "fully-masked-row",
        lambda: A.require_not_fully_masked("scores", torch.tensor([[0.0, 1.0], [-INF, -INF]])),
        ValueError,
        "scores row 1",
        "every score is -inf",
    ),
    Bad(
        "mix-of-kinds",
        lambda: A.same_kind(x=np.ones(2), w=torch.ones(2)),
        TypeError,
        "x=ndarray, w=tensor",
        "mix of NumPy arrays and torch tensors",
    ),
)


@pytest.mark.parametrize("case", ARRAY_CASES)
def test_bad_arrays(case):
    assert_refused(case)


def test_a_row_with_one_score_left_is_not_fully_masked():
    scores = np.array([[-np.inf, 0.0], [3.0, -np.inf]])
    assert A.require_not_fully_masked("scores", scores) is scores


def test_to_numpy_detaches_tensors():
    t = torch.ones(2, requires_grad=True)
    assert isinstance(A.to_numpy(t), np.ndarray) and A.to_numpy([1, 2]).tolist() == [1, 2]


# --------------------------------------------------------------------------- probabilities


def test_probabilities_pass_with_the_rounding_of_their_dtype():
    p = torch.softmax(torch.randn(3, 49152, generator=torch.Generator().manual_seed(0)), dim=-1)
    assert A.require_probabilities("probs", p) is p  # float32 sums are off by more than 1e-6
    assert A.require_probabilities("probs", [1, 0, 0]).tolist() == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="sums to 1.00001"):
        A.require_probabilities("probs", np.array([0.5, 0.50001]))  # float64: 1e-5 off is not rounding


PROBABILITY_CASES = table(
    Bad("logits", lambda: A.require_probabilities("probs", [2.0, 1.0]), ValueError, "probs", "it sums to 3"),
    Bad("sums-above-one", lambda: A.require_probabilities("p", [0.5, 0.6]), ValueError, "p", "summing to 1"),
    Bad("negative", lambda: A.require_probabilities("p", [-0.1, 1.1]), ValueError, "p[0] = -0.1", "each >= 0"),
    Bad(
        "one-bad-row",
        lambda: A.require_probabilities("p", torch.tensor([[0.5, 0.5], [0.2, 0.2]])),
        ValueError,
        "row 1",
        "sums to 0.4",
    ),
    Bad("nan", lambda: A.require_probabilities("p", [NAN, 1.0]), ValueError, "p", "contains NaN at index 0"),
    Bad("empty", lambda: A.require_probabilities("p", []), ValueError, "p", "is empty"),
    Bad("scalar", lambda: A.require_probabilities("p", 1.0), ValueError, "p", "at least 1 dimension"),
)


@pytest.mark.parametrize("case", PROBABILITY_CASES)
def test_bad_probabilities(case):
    assert_refused(case)


# --------------------------------------------------------------------------- token ids


@pytest.mark.parametrize(
    "ids",
    [
        [1, 2],
        (1, 2),
        range(1, 3),
        [np.int64(1), np.uint8(2)],
        np.array([1, 2], dtype=np.uint8),
        np.array([1, 2], dtype=np.int32),
        torch.tensor([1, 2]),
        torch.tensor([1, 2], dtype=torch.int16),
    ],
    ids=["list", "tuple", "range", "numpy-scalars", "uint8-array", "int32-array", "long-tensor", "int16-tensor"],
)
def test_every_kind_of_integer_id_is_accepted(ids):
    checked = A.require_ids("ids", ids, vocab_size=3)
    assert checked.tolist() == [1, 2]
    if isinstance(ids, np.ndarray | torch.Tensor):
        assert checked is ids  # arrays and tensors are not copied


def test_a_single_id_and_an_empty_list():
    assert A.require_ids("ids", np.int64(2), 3).tolist() == 2
    assert A.require_ids("ids", 0, 3).shape == ()
    assert A.require_ids("ids", [], 3).shape == (0,)
    assert A.require_ids("positions", [10**6], None).tolist() == [10**6]  # no upper bound


ID_CASES = table(
    Bad("text", lambda: A.require_ids("prompt", "hi", 5), TypeError, "prompt", "not str 'hi': encode text first"),
    Bad("bool", lambda: A.require_ids("ids", True, 5), TypeError, "ids", "is the bool True"),
    Bad("bool-in-list", lambda: A.require_ids("ids", [1, True], 5), TypeError, "ids[1]", "is the bool True"),
    Bad("whole-float", lambda: A.require_ids("ids", [1, 3.0], 5), TypeError, "ids[1] is the float 3.0", "int()"),
    Bad("fraction", lambda: A.require_ids("ids", [[0, 1.5]], 5), TypeError, "ids[0, 1]", "is the float 1.5"),
    Bad("none-in-list", lambda: A.require_ids("ids", [None], 5), TypeError, "ids[0]", "is NoneType None"),
    Bad("float-array", lambda: A.require_ids("ids", np.array([1.0]), 5), TypeError, "ids", "got dtype float64"),
    Bad("bool-array", lambda: A.require_ids("ids", np.array([True]), 5), TypeError, "ids", "got dtype bool"),
    Bad("float-tensor", lambda: A.require_ids("idx", torch.tensor([1.0]), 5), TypeError, "idx", ".long()"),
    Bad("bool-tensor", lambda: A.require_ids("idx", torch.tensor([True]), 5), TypeError, "idx", "torch.bool"),
    Bad("dict", lambda: A.require_ids("ids", {1: 2}, 5), TypeError, "ids", "got dict"),
    Bad("ragged", lambda: A.require_ids("ids", [[1, 2], [3]], 5), ValueError, "ids", "is ragged"),
    Bad("huge", lambda: A.require_ids("ids", [2**70], 5), ValueError, "ids", "too large"),
    Bad(
        "too-large",
        lambda: A.require_ids("ids", [0, 1, 9], 5),
        ValueError,
        "ids[2]",
        "token id 9 is out of range at ids[2]: valid values go from 0 to 4",
    ),
    Bad("negative", lambda: A.require_ids("ids", np.array([[0, -1]]), 5), ValueError, "ids[0, 1]", "token id -1"),
    Bad("negative-tensor", lambda: A.require_ids("idx", torch.tensor([[3, -2]]), 5), ValueError, "idx[0, 1]", "-2"),
    Bad("too-large-tensor", lambda: A.require_ids("idx", torch.tensor([7]), 5), ValueError, "idx[0]", "0 to 4"),
    Bad("scalar-out", lambda: A.require_ids("ids", 5, 5), ValueError, "ids", "token id 5 is out of range"),
    Bad(
        "negative-position",
        lambda: A.require_ids("positions", [-1], None, kind="position"),
        ValueError,
        "positions[0]",
        "position -1 is out of range at positions[0]: valid values go from 0 up",
    ),
    Bad("wrong-ndim", lambda: A.require_ids("prompt", [[1]], 5, ndim=1), ValueError, "prompt", "must be 1-D"),
    Bad("ndim-choice", lambda: A.require_ids("ids", [[1]], 5, ndim=(0, 1)), ValueError, "ids", "0-D or 1-D"),
)


@pytest.mark.parametrize("case", ID_CASES)
def test_bad_ids(case):
    assert_refused(case)


# --------------------------------------------------------------------------- weights and biases


def test_weights_and_biases_that_fit_are_returned():
    w, b = np.ones((2, 3)), torch.zeros(2)
    assert A.require_weight("w", w, 3, 2) is w and A.require_bias("b", b, 2) is b
    assert A.require_bias("b", None, 2) is None


WEIGHT_CASES = table(
    Bad("vector", lambda: A.require_weight("w_q", np.ones(3), 3), ValueError, "w_q", "must be a 2-D matrix"),
    Bad("columns", lambda: A.require_weight("w_q", np.ones((2, 5)), 4), ValueError, "w_q", "needs 4 columns"),
    Bad("rows", lambda: A.require_weight("w_k", np.ones((3, 4)), 4, 2), ValueError, "w_k", "must have 2 rows"),
    Bad("nan", lambda: A.require_weight("w", np.array([[NAN]]), 1), ValueError, "w", "NaN at index (0, 0)"),
    Bad("text", lambda: A.require_weight("w", "w", 1), TypeError, "w", "NumPy array or a torch tensor"),
    Bad("bias-shape", lambda: A.require_bias("b_q", np.ones(3), 2), ValueError, "b_q", "must have shape (2,)"),
    Bad("bias-inf", lambda: A.require_bias("b", torch.tensor([INF]), 1), ValueError, "b", "+inf at index 0"),
)


@pytest.mark.parametrize("case", WEIGHT_CASES)
def test_bad_weights(case):
    assert_refused(case)


@pytest.mark.parametrize(
    "values",
    [
        np.full(4, 3e38, np.float32),  # finite, but their sum overflows float32
        np.full(3, 60000, np.float16),
        torch.full((4,), 3e38),
        torch.full((3,), 60000.0, dtype=torch.float16),
    ],
    ids=["numpy-float32", "numpy-float16", "torch-float32", "torch-float16"],
)
def test_finite_values_whose_sum_overflows_are_accepted(values, recwarn):
    """require_finite first sums (fast); an overflowing sum of finite values must not be mistaken for inf."""
    assert A.require_finite("x", values) is values
    assert not [w for w in recwarn if "overflow" in str(w.message)], "the overflowing sum must not warn"


@pytest.mark.parametrize("make", [np.array, torch.tensor], ids=["numpy", "torch"])
def test_inf_and_minus_inf_together_are_reported(make):
    """Their sum is NaN: the full check still names the +inf (and accepts the -inf when told to)."""
    with pytest.raises(ValueError, match=r"x contains \+inf at index 0"):
        A.require_finite("x", make([INF, -INF, 1.0]))
    with pytest.raises(ValueError, match=r"\+inf"):
        A.require_finite("x", make([INF, -INF]), allow_neg_inf=True)
    masked = make([-INF, -INF, 0.5])
    assert A.require_finite("scores", masked, allow_neg_inf=True) is masked
