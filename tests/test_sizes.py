"""Every count of course_lib.sizes: parameters by part, FLOPs, memory, for the course GPT, GPT-3 and SmolLM2."""

import numpy as np
import pytest
import torch

from course_lib import attention as A
from course_lib import mlp as M
from course_lib import neurons, sizes
from course_lib.model import GPT2_SMALL
from course_lib.smollm import SmolLMConfig


def test_low_rank_value_equals_the_full_product_and_saves_parameters():
    rng = np.random.default_rng(0)
    w_down, w_up = rng.normal(size=(2, 8)), rng.normal(size=(8, 2))
    x = rng.normal(size=(3, 8))
    values, small = A.low_rank_value(x, w_down, w_up, return_steps=True)
    np.testing.assert_allclose(values, x @ (w_up @ w_down).T)
    assert small.shape == (3, 2)
    p = sizes.value_map_parameters(8, 2)
    assert p["full"] == 64 and p["low_rank"] == 32 and p["saving"] == 0.5
    assert sizes.value_map_parameters(12288, 128) == {
        "full": 150_994_944,
        "low_rank": 3_145_728,
        "ratio": 3_145_728 / 150_994_944,
        "saving": 1 - 3_145_728 / 150_994_944,
    }


def test_pattern_memory_formula():
    assert sizes.attention_pattern_bytes(1024) == 1024 * 1024 * 4
    assert sizes.attention_pattern_bytes(2048, n_heads=96, n_layers=96, bytes_per_value=2) == 2048**2 * 96 * 96 * 2
    costs = A.measure_attention_cost([8, 16, 32], d_head=4, repeats=1)
    assert [c.context_length for c in costs] == [8, 16, 32]
    assert [c.pattern_entries for c in costs] == [64, 256, 1024]
    assert [c.pattern_bytes for c in costs] == [sizes.attention_pattern_bytes(t) for t in (8, 16, 32)]
    assert costs[0].seconds >= 0  # timing is never compared: it depends on the machine
    doubled = A.measure_attention_cost([16], d_head=4, repeats=1, dtype=torch.float64)[0]
    assert doubled.pattern_bytes == sizes.attention_pattern_bytes(16, bytes_per_value=8)


def test_gpt3_numbers_from_its_configuration():
    n = sizes.gpt3_attention_numbers()
    assert n["total_heads"] == 9216 and n["head_size"] == 128
    assert n["per_layer_weights"] == 4 * 12288**2
    assert n["attention_weights"] == 57_982_058_496  # ~58 billion
    assert n["attention_weights"] == n["total_heads"] * n["per_head_weights"]
    assert n["attention"] == 96 * (4 * 12288**2 + 4 * 12288)
    assert 174e9 < n["total"] < 176e9
    assert round(n["attention_share"], 2) == 0.33


def test_attention_count_agrees_with_the_model():
    from course_lib.model import GPT2_SMALL
    from course_lib.sizes import count_parameters

    assert GPT2_SMALL.n_layer * sizes.attention_parameter_count(768) == count_parameters(GPT2_SMALL)["attention"]


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: A.attend(np.ones((3, 4)), np.ones((3, 5)), np.ones((3, 2))), ValueError, "same size d_k"),
        (lambda: A.attend(np.ones((3, 4)), np.ones((3, 4)), np.ones((2, 2))), ValueError, "every key needs its value"),
        (lambda: A.attend(np.ones(4), np.ones((3, 4)), np.ones((3, 2))), ValueError, "at least 2 dimension"),
        (lambda: A.attend(np.ones((3, 4)), torch.ones(3, 4), np.ones((3, 2))), TypeError, "mix of NumPy"),
        (lambda: A.attend("abc", np.ones((3, 4)), np.ones((3, 2))), TypeError, "NumPy array or a torch tensor"),
        (
            lambda: A.single_head_attention(np.ones((3, 4)), np.ones((2, 5)), np.ones((2, 4)), np.ones((2, 4))),
            ValueError,
            "w_q has shape (2, 5)",
        ),
        (
            lambda: A.single_head_attention(np.ones((3, 4)), np.ones((2, 4)), np.ones((3, 4)), np.ones((2, 4))),
            ValueError,
            "w_k must have 2 rows",
        ),
        (
            lambda: A.single_head_attention(
                np.ones((3, 4)), np.ones((2, 4)), np.ones((2, 4)), np.ones((2, 4)), b_q=np.ones(3)
            ),
            ValueError,
            "b_q must have shape (2,)",
        ),
        (
            lambda: A.multi_head_attention(np.ones((3, 6)), *[np.ones((6, 6))] * 4, 4),
            ValueError,
            "divisible by n_heads",
        ),
        (
            lambda: A.multi_head_attention(np.ones((3, 6)), *[np.ones((6, 6))] * 4, 0),
            ValueError,
            "n_heads must be a positive int",
        ),
        (lambda: A.split_heads(np.ones((3, 7)), 2), ValueError, "d_model (7) must be divisible by n_heads (2)"),
        (
            lambda: A.cross_attention(np.ones((3, 4)), None, np.ones((2, 4)), np.ones((2, 4)), np.ones((2, 4))),
            ValueError,
            "needs a context",
        ),
        (lambda: sizes.value_map_parameters(8, 9), ValueError, "rank (9) cannot exceed"),
        (lambda: A.best_low_rank(np.ones((3, 3)), 4), ValueError, "rank must be an int in 1..3, got 4"),
        (lambda: A.causal_mask(0), ValueError, "n_queries must be a positive int"),
        (lambda: A.measure_attention_cost([]), ValueError, "at least one length"),
        (lambda: sizes.attention_pattern_bytes(-1), ValueError, "context_length must be a positive int"),
        (lambda: A.weights_from_torch(torch.nn.Linear(2, 2)), TypeError, "MultiheadAttention"),
    ],
)
def test_clear_errors(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


NAN, INF = float("nan"), float("inf")


X, W = np.ones((3, 4)), np.ones((2, 4))


def test_numpy_integer_sizes_are_accepted():
    assert A.causal_mask(np.int64(3), np.int32(2)).shape == (3, 2)
    assert sizes.attention_pattern_bytes(np.int64(4)) == 64
    assert A.split_heads(np.ones((3, 4)), np.int64(2)).shape == (2, 3, 2)


def test_parameter_counts_agree_with_the_model():
    from course_lib.model import GPT2_SMALL, GPT3_175B, GPTConfig
    from course_lib.sizes import count_parameters

    assert sizes.mlp_parameter_count(768) == 8 * 768**2 + 5 * 768
    assert sizes.mlp_parameter_count(2, bias=False, mlp_ratio=1) == 8
    for cfg in (GPT2_SMALL, GPT3_175B, GPTConfig()):
        counts = count_parameters(cfg)
        block = sizes.block_parameter_counts(cfg.n_embd)
        assert counts["mlp"] == cfg.n_layer * block["mlp"]
        assert counts["attention"] == cfg.n_layer * block["attention"]
        assert counts["layer_norm"] == cfg.n_layer * block["layer_norm"] + 2 * cfg.n_embd
    assert count_parameters(GPT2_SMALL)["total"] == 124_439_808
    share = sizes.mlp_share(GPT3_175B)
    assert round(share["mlp_share_of_blocks"], 3) == 0.667 and 0.66 < share["mlp_share_of_total"] < 0.67
    assert sizes.block_parameter_counts(8, bias=False) == {"attention": 256, "mlp": 512, "layer_norm": 16, "total": 784}


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
        (lambda: sizes.mlp_parameter_count(0), ValueError, "n_embd must be a positive int"),
        (lambda: neurons.char_features("abc", ["vowels"]), ValueError, "unknown feature(s) ['vowels']"),
        (lambda: neurons.auc([1.0, 2.0], [1, 1]), ValueError, "both positive and negative"),
        (lambda: neurons.neuron_scores(np.ones((4, 2)), np.ones(3, bool)), ValueError, "one entry per position (4)"),
        (
            lambda: neurons.find_feature_neurons(np.ones((4, 2)), "abc"),
            ValueError,
            "one character per row of activations (4)",
        ),
    ],
)
def test_clear_errors_of_the_block_counts(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


NAN, INF = float("nan"), float("inf")


X, W_UP, W_DOWN = np.ones(2), np.ones((8, 2)), np.ones((2, 8))


# --------------------------------------------------------------------------- the KV cache


def test_attention_shape_of_each_architecture():
    """A GPT caches every query head's keys and values; SmolLM2 only its 3 shared key/value heads."""
    assert sizes.attention_shape(GPT2_SMALL) == sizes.AttentionShape(12, 12, 12, 64)
    assert sizes.attention_shape(SmolLMConfig()) == sizes.AttentionShape(30, 9, 3, 64)
    with pytest.raises(TypeError, match="config must be"):
        sizes.attention_shape({"n_layer": 30})
    with pytest.raises(ValueError, match="multiple of n_kv_head"):
        sizes.AttentionShape(2, 9, 2, 64)


def test_kv_cache_bytes_counts_keys_and_values_of_every_layer():
    shape = sizes.AttentionShape(n_layer=3, n_head=4, n_kv_head=2, head_size=8)
    assert sizes.kv_cache_bytes(shape, 10, 4) == 3 * 2 * 2 * 8 * 10 * 4
    assert sizes.kv_cache_bytes(shape, 10, 0.5) == 3 * 2 * 2 * 8 * 10 // 2  # 4-bit numbers
    assert isinstance(sizes.kv_cache_bytes(shape, 10, 4), int)
    # SmolLM2 with 9 key/value heads would need 3 times the cache: the lesson's 377 MB and 1,132 MB.
    full = sizes.AttentionShape(30, 9, 9, 64)
    assert sizes.kv_cache_bytes(full, 8192) == 3 * sizes.kv_cache_bytes(SmolLMConfig(), 8192) == 1_132_462_080
    with pytest.raises(ValueError, match="n_tokens"):
        sizes.kv_cache_bytes(shape, 0)
    with pytest.raises(ValueError, match="bytes_per_number"):
        sizes.kv_cache_bytes(shape, 5, 0)
