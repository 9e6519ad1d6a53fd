"""course_lib.attention: the step-by-step version equals torch's fused implementations."""

import functools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from bad_input_support import Bad, assert_refused, table

from course_lib import attention as A
from course_lib import sizes
from course_lib.lessons import lesson04


def _qkv(shape_q, shape_k, d_v, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(*shape_q, generator=g, dtype=torch.float64)
    k = torch.randn(*shape_k, generator=g, dtype=torch.float64)
    v = torch.randn(*shape_k[:-1], d_v, generator=g, dtype=torch.float64)
    return q, k, v


SHAPES = [
    ((5, 4), (5, 4), 4),  # one sequence
    ((2, 7, 3), (2, 7, 3), 5),  # batch, odd head size, d_v != d_k
    ((2, 3, 6, 8), (2, 3, 6, 8), 8),  # batch and heads
    ((1, 1, 1), (1, 1, 1), 1),  # a single token
]


@pytest.mark.parametrize(("shape_q", "shape_k", "d_v"), SHAPES)
@pytest.mark.parametrize("causal", [True, False])
def test_attend_matches_scaled_dot_product_attention(shape_q, shape_k, d_v, causal):
    q, k, v = _qkv(shape_q, shape_k, d_v)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    torch.testing.assert_close(A.attend(q, k, v, causal=causal), expected)
    # the same numbers from NumPy arrays, returned as NumPy
    got_np = A.attend(q.numpy(), k.numpy(), v.numpy(), causal=causal)
    assert isinstance(got_np, np.ndarray)
    np.testing.assert_allclose(got_np, expected.numpy(), rtol=1e-10, atol=1e-12)


def test_cross_shapes_without_mask_match_sdpa():
    q, k, v = _qkv((2, 3, 4), (2, 9, 4), 6)
    expected = F.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(A.attend(q, k, v, causal=False), expected)


def test_unscaled_equals_sdpa_with_scale_one():
    q, k, v = _qkv((4, 6), (4, 6), 3)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=1.0)
    torch.testing.assert_close(A.attend(q, k, v, scale=False), expected)


def test_steps_hand_computed():
    q = np.array([[1.0, 0.0], [0.0, 2.0]])
    k = np.array([[2.0, 0.0], [0.0, 1.0]])
    v = np.array([[10.0], [20.0]])
    out, s = A.attend(q, k, v, causal=True, return_steps=True)
    np.testing.assert_allclose(s.scores, [[2.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(s.scaled, np.array([[2.0, 0.0], [0.0, 2.0]]) / math.sqrt(2))
    assert s.masked[0, 1] == -np.inf and np.isfinite(s.masked[1]).all()
    np.testing.assert_allclose(s.pattern[0], [1.0, 0.0])  # the first token only sees itself
    w = 1 / (1 + math.exp(2 / math.sqrt(2)))  # softmax([0, sqrt 2])[0]
    np.testing.assert_allclose(s.pattern[1], [w, 1 - w])
    np.testing.assert_allclose(out[:, 0], [10.0, 10 * w + 20 * (1 - w)])
    np.testing.assert_allclose(s.pattern.sum(axis=-1), 1.0)
    assert s.shapes() == {
        "q": (2, 2),
        "k": (2, 2),
        "v": (2, 1),
        "scores": (2, 2),
        "scaled": (2, 2),
        "masked": (2, 2),
        "pattern": (2, 2),
        "output": (2, 1),
    }


def test_causal_mask():
    assert A.causal_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert A.causal_mask(2, 3, like=torch.zeros(1)).dtype == torch.bool


def test_single_head_matches_projections_then_sdpa():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 5, 6, generator=g, dtype=torch.float64)
    w_q, w_k, w_v = (torch.randn(3, 6, generator=g, dtype=torch.float64) for _ in range(3))
    b_q, b_k, b_v = (torch.randn(3, generator=g, dtype=torch.float64) for _ in range(3))
    out, steps = A.single_head_attention(x, w_q, w_k, w_v, b_q=b_q, b_k=b_k, b_v=b_v, return_steps=True)
    expected = F.scaled_dot_product_attention(x @ w_q.T + b_q, x @ w_k.T + b_k, x @ w_v.T + b_v, is_causal=True)
    torch.testing.assert_close(out, expected)
    assert steps.x is x and steps.context is x


def test_cross_attention_uses_the_other_sequence_and_no_mask():
    rng = np.random.default_rng(0)
    x, ctx = rng.normal(size=(3, 4)), rng.normal(size=(7, 5))  # different lengths and widths
    w_q, w_k, w_v = rng.normal(size=(2, 4)), rng.normal(size=(2, 5)), rng.normal(size=(6, 5))
    out, steps = A.cross_attention(x, ctx, w_q, w_k, w_v, return_steps=True)
    assert out.shape == (3, 6) and steps.pattern.shape == (3, 7)
    assert (steps.pattern > 0).all()  # nothing masked
    expected = F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (x @ w_q.T, ctx @ w_k.T, ctx @ w_v.T)))
    np.testing.assert_allclose(out, expected.numpy())


@pytest.mark.parametrize(
    ("d_model", "n_heads", "batch", "t"), [(8, 2, 3, 5), (12, 4, 1, 7), (10, 5, 2, 1), (6, 1, 2, 4)]
)
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_multi_head_matches_torch_multiheadattention(d_model, n_heads, batch, t, causal, bias):
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(d_model, n_heads, bias=bias, batch_first=True).double().eval()
    if bias:  # torch initialises the biases to zero; make them matter
        with torch.no_grad():
            mha.in_proj_bias.normal_()
            mha.out_proj.bias.normal_()
    x = torch.randn(batch, t, d_model, dtype=torch.float64)
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1) if causal else None
    expected, expected_pattern = mha(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)
    weights = A.weights_from_torch(mha)
    assert ("b_q" in weights) == bias
    got, steps = A.multi_head_attention(x, n_heads=n_heads, causal=causal, return_steps=True, **weights)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(steps.pattern, expected_pattern)
    dh = d_model // n_heads
    assert steps.shapes()["q"] == (batch, n_heads, t, dh) and steps.shapes()["concat"] == (batch, t, d_model)
    # and the same in NumPy
    got_np = A.multi_head_attention(
        x.numpy(), n_heads=n_heads, causal=causal, **{n: w.numpy() for n, w in weights.items()}
    )
    np.testing.assert_allclose(got_np, expected.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_multi_head_is_a_sum_of_single_heads():
    rng = np.random.default_rng(3)
    d, h, t = 6, 3, 4
    x = rng.normal(size=(t, d))
    w_q, w_k, w_v, w_o = (rng.normal(size=(d, d)) for _ in range(4))
    total = np.zeros((t, d))
    dh = d // h
    for i in range(h):
        rows = slice(i * dh, (i + 1) * dh)
        head = A.single_head_attention(x, w_q[rows], w_k[rows], w_v[rows])
        total += head @ w_o[:, rows].T
    np.testing.assert_allclose(A.multi_head_attention(x, w_q, w_k, w_v, w_o, h), total)


def test_split_and_merge_heads_round_trip():
    x = torch.arange(2 * 3 * 6.0).reshape(2, 3, 6)
    s = A.split_heads(x, 3)
    assert s.shape == (2, 3, 3, 2)
    assert s[0, 1, 0].tolist() == [2.0, 3.0]  # head 1 gets columns 2..3
    torch.testing.assert_close(A.merge_heads(s), x)
    np.testing.assert_array_equal(A.merge_heads(A.split_heads(x.numpy(), 2)), x.numpy())


def test_best_low_rank_is_exact_at_full_rank_and_approximates_below():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(6, 6))
    up, down = A.best_low_rank(w, 6)
    np.testing.assert_allclose(up @ down, w, atol=1e-10)
    rank1 = np.outer([1.0, 2.0, 3.0], [1.0, 0.0, -1.0])
    up, down = A.best_low_rank(rank1, 1)
    np.testing.assert_allclose(up @ down, rank1, atol=1e-12)
    errors = [np.linalg.norm(w - np.matmul(*A.best_low_rank(w, r))) for r in range(1, 7)]
    assert all(a >= b for a, b in zip(errors, errors[1:], strict=False))


def test_toy_embeddings_features_and_positions():
    x = A.toy_embeddings(["the", "black", "cat"])
    assert x.shape == (3, len(A.TOY_FEATURES) + 2)
    names = dict(zip(A.TOY_FEATURES, x[1], strict=False))
    assert names["describer"] == 1 and names["dark"] == 1 and names["noun"] == 0
    np.testing.assert_allclose(x[:, -2:] @ x[2, -2:], np.cos(0.5 * np.array([2, 1, 0])))  # closeness
    assert not x[0, : len(A.TOY_FEATURES)].any()  # "the" has no features
    with pytest.raises(TypeError, match="list of strings"):
        A.toy_embeddings("the cat")


def test_toy_head_nouns_find_their_describers():
    for words, describer, feature in (
        ("a small orange fruit".split(), 2, "orange"),
        ("the vampire bat".split(), 1, "animal"),
        ("the baseball bat".split(), 1, "sport"),
    ):
        x = A.toy_embeddings(words)
        out, steps = A.single_head_attention(x, **A.toy_head(), return_steps=True)
        assert steps.pattern[-1].argmax() == describer
        assert (x + out)[-1, A.TOY_FEATURES.index(feature)] > 0.5  # the noun now carries the property
    words = "the dog chased the black cat through the garden".split()
    _, steps = A.single_head_attention(
        A.toy_embeddings(words), **A.toy_head("describer"), causal=False, return_steps=True
    )
    assert steps.pattern[4].argmax() == 5  # unmasked, 'black' looks ahead to 'cat'
    with pytest.raises(ValueError, match="asker must be"):
        A.toy_head("verb")


def test_model_attention_equals_the_models_own_patterns(tiny_model):
    model, tokenizer = tiny_model
    text = "abc def.\nABC ghij klm"  # 21 characters: longer than the context of 16
    tokens, patterns = A.model_attention(model, tokenizer, text)
    assert tokens == list(text[-16:]) and patterns.shape == (2, 2, 16, 16)
    capture = {}
    model(torch.tensor([tokenizer.encode(text[-16:])]), capture=capture)
    torch.testing.assert_close(patterns[1], capture["blocks.1.attn.pattern"][0])
    _, unmasked = A.model_attention(model, tokenizer, text, causal=False, scale=False)
    assert (unmasked[:, :, 0, 1:] > 0).all()  # without the mask, the first character sees the future
    torch.testing.assert_close(patterns.sum(-1), torch.ones(2, 2, 16))
    with pytest.raises(ValueError, match="non-empty string"):
        A.model_attention(model, tokenizer, "")


def test_head_scores_hand_built():
    t = 4
    previous = np.zeros((t, t))
    previous[0, 0] = 1
    previous[np.arange(1, t), np.arange(t - 1)] = 1
    first = np.zeros((t, t))
    first[:, 0] = 1
    s = A.head_scores(np.stack([np.stack([previous, first, np.eye(t)])]))
    assert s["previous"].tolist() == [[1.0, 1 / 3, 0.0]]
    assert s["first"].tolist() == [[1 / 3, 1.0, 0.0]]  # the previous-token head's query 1 looks at token 0
    assert s["self"].tolist() == [[0.25, 0.25, 1.0]]
    np.testing.assert_allclose(s["distance"], [[0.75, 1.5, 0.0]])
    with pytest.raises(ValueError, match="n_layer, n_head, T, T"):
        A.head_scores(np.ones((2, 3, 3)))


NAN, INF = float("nan"), float("inf")


X, W = np.ones((3, 4)), np.ones((2, 4))


def _with_nan(shape, where):
    a = np.ones(shape)
    a[where] = NAN
    return a


@functools.cache
def _tiny_model():
    from course_lib.model import GPT, GPTConfig
    from course_lib.tokenizers import CharTokenizer

    torch.manual_seed(0)
    tokenizer = CharTokenizer.from_text("abcdef ")
    return GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=8, n_layer=2, n_head=2, n_embd=8)), tokenizer


BAD_INPUTS = table(
    Bad("nan-query", lambda: A.attend(_with_nan((3, 4), (0, 1)), X, X), ValueError, "q", "NaN at index (0, 1)"),
    Bad(
        "inf-key",
        lambda: A.attend(torch.ones(3, 4), torch.full((3, 4), INF), torch.ones(3, 4)),
        ValueError,
        "k",
        "+inf",
    ),
    Bad("nan-value", lambda: A.attend(X, X, _with_nan((3, 2), (2, 0))), ValueError, "v", "NaN at index (2, 0)"),
    Bad("no-keys", lambda: A.attend(X, np.ones((0, 4)), np.ones((0, 2))), ValueError, "k", "is empty"),
    Bad("no-queries", lambda: A.attend(np.ones((0, 4)), X, X), ValueError, "q", "is empty"),
    Bad("zero-width", lambda: A.attend(np.ones((3, 0)), np.ones((3, 0)), X), ValueError, "q", "is empty"),
    Bad(
        "batch-mismatch",
        lambda: A.attend(np.ones((2, 3, 4)), np.ones((3, 3, 4)), np.ones((3, 3, 2))),
        ValueError,
        "q has shape (2, 3, 4), k has shape (3, 3, 4)",
        "batch dimensions",
    ),
    Bad("bool-query", lambda: A.attend(np.ones((3, 4), bool), X, X), TypeError, "q", "dtype bool"),
    Bad(
        "overflowing-scores",
        lambda: A.attend(*[torch.full((2, 2), 1e200, dtype=torch.float64)] * 3, causal=False),
        ValueError,
        "scores",
        "contains +inf",
    ),
    Bad(
        "scores-nan-query", lambda: A.attention_scores(_with_nan((2, 4), 0), X), ValueError, "q", "NaN at index (0, 0)"
    ),
    Bad(
        "mask-nan", lambda: A.apply_causal_mask(_with_nan((2, 2), (1, 1))), ValueError, "scores", "NaN at index (1, 1)"
    ),
    Bad("mask-empty", lambda: A.apply_causal_mask(np.ones((3, 0))), ValueError, "scores", "is empty"),
    Bad("mask-plus-inf", lambda: A.apply_causal_mask(np.array([[INF]])), ValueError, "scores", "+inf"),
    Bad(
        "nan-x", lambda: A.single_head_attention(_with_nan((3, 4), 0), W, W, W), ValueError, "x", "NaN at index (0, 0)"
    ),
    Bad("nan-w-q", lambda: A.single_head_attention(X, _with_nan((2, 4), (1, 3)), W, W), ValueError, "w_q", "(1, 3)"),
    Bad(
        "inf-b-v",
        lambda: A.single_head_attention(X, W, W, W, b_v=np.array([0.0, INF])),
        ValueError,
        "b_v",
        "+inf at index 1",
    ),
    Bad(
        "nan-context",
        lambda: A.cross_attention(X, _with_nan((5, 4), (4, 0)), W, W, W),
        ValueError,
        "context",
        "NaN at index (4, 0)",
    ),
    Bad(
        "float-heads",
        lambda: A.multi_head_attention(np.ones((3, 4)), *[np.eye(4)] * 4, 2.0),
        TypeError,
        "n_heads",
        "must be an int, got float",
    ),
    Bad(
        "bool-heads",
        lambda: A.multi_head_attention(np.ones((3, 4)), *[np.eye(4)] * 4, True),
        TypeError,
        "n_heads",
        "got bool",
    ),
    Bad(
        "nan-w-o",
        lambda: A.multi_head_attention(np.ones((3, 4)), *[np.eye(4)] * 3, _with_nan((4, 4), 0), 2),
        ValueError,
        "w_o",
        "NaN at index (0, 0)",
    ),
    Bad("float-mask-size", lambda: A.causal_mask(2.5), TypeError, "n_queries", "must be an int, got float 2.5"),
    Bad("zero-keys-mask", lambda: A.causal_mask(3, 0), ValueError, "n_keys", "must be a positive int"),
    Bad("split-zero-heads", lambda: A.split_heads(np.ones((3, 4)), 0), ValueError, "n_heads", "positive int"),
    Bad("split-nan", lambda: A.split_heads(_with_nan((3, 4), 0), 2), ValueError, "x", "NaN"),
    Bad("merge-2d", lambda: A.merge_heads(np.ones((3, 4))), ValueError, "x", "at least 3 dimension"),
    Bad("low-rank-nan-x", lambda: A.low_rank_value(_with_nan((3, 4), 0), W, W.T), ValueError, "x", "NaN"),
    Bad(
        "low-rank-nan-w",
        lambda: A.low_rank_value(X, _with_nan((2, 4), (0, 2)), W.T),
        ValueError,
        "w_down",
        "NaN at index (0, 2)",
    ),
    Bad("best-low-rank-nan", lambda: A.best_low_rank(_with_nan((3, 3), 0), 1), ValueError, "w", "NaN"),
    Bad("best-low-rank-float", lambda: A.best_low_rank(np.eye(3), 1.5), TypeError, "rank", "must be an int"),
    Bad("value-map-float-rank", lambda: sizes.value_map_parameters(8, 2.0), TypeError, "rank", "must be an int"),
    Bad("bytes-float", lambda: sizes.attention_pattern_bytes(2.0), TypeError, "context_length", "must be an int"),
    Bad("bytes-bool", lambda: sizes.attention_pattern_bytes(8, n_heads=True), TypeError, "n_heads", "got bool"),
    Bad("cost-float-repeats", lambda: A.measure_attention_cost([8], repeats=1.5), TypeError, "repeats", "an int"),
    Bad("cost-float-length", lambda: A.measure_attention_cost([8.0]), TypeError, "context_lengths[0]", "an int"),
    Bad("cost-zero-head", lambda: A.measure_attention_cost([8], d_head=0), ValueError, "d_head", "positive int"),
    Bad("count-bool", lambda: sizes.attention_parameter_count(True), TypeError, "n_embd", "got bool"),
    Bad("head-scores-nan", lambda: A.head_scores(_with_nan((1, 1, 2, 2), 0)), ValueError, "patterns", "NaN"),
    Bad(
        "toy-float-query", lambda: lesson04.toy_attention_view(["a", "cat"], 0.5), TypeError, "query", "must be an int"
    ),
    Bad(
        "toy-negative-query", lambda: lesson04.toy_attention_view(["a", "cat"], -1), ValueError, "query", "int in 0..1"
    ),
    Bad(
        "float-layer",
        lambda: lesson04.model_head_view(*_tiny_model(), "abc", 0.5, 0, 1),
        TypeError,
        "layer",
        "must be an int, got float",
    ),
    Bad(
        "bad-head", lambda: lesson04.model_head_view(*_tiny_model(), "abc", 0, 2, 1), ValueError, "head", "int in 0..1"
    ),
)


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_inputs_are_refused(case):
    assert_refused(case)
