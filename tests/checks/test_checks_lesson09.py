"""Lesson 09's checkers accept right answers, call a stub "not solved", and explain plausible mistakes."""

import math

import numpy as np
import pytest
from checker_support import (
    accepts_and_reports_stub,
    function_checkers,
    robustness_tests,
    verdict,
)

from course_lib import sizes
from course_lib.checks import lesson09 as check
from course_lib.model import GPT2_SMALL, GPT3_175B, GPTConfig
from course_lib.smollm import SmolLMConfig

# --------------------------------------------------------------------------- answers a learner might write


def rms_norm_ok(x, weight, eps):
    return x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + eps) * weight


def rotate_pair_ok(x, y, angle):
    c, s = math.cos(angle), math.sin(angle)
    return x * c - y * s, x * s + y * c


def rotate_pair_as_matrix(x, y, angle):  # the same rotation written as a matrix product, returning an array
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return rotation @ np.array([x, y])


def silu(z):
    return z / (1 + np.exp(-z))


def swiglu_ok(x, w_gate, w_up, w_down):
    return (silu(x @ w_gate.T) * (x @ w_up.T)) @ w_down.T


def kv_cache_bytes_ok(shape, n_tokens, bytes_per_number):
    return shape.n_layer * 2 * shape.n_kv_head * shape.head_size * n_tokens * bytes_per_number


def kv_cache_bytes_one_tensor(shape, n_tokens, bytes_per_number):
    return shape.n_layer * shape.n_kv_head * shape.head_size * n_tokens * bytes_per_number


@pytest.mark.parametrize(
    ("checker", "right"),
    [
        (check.rms_norm, rms_norm_ok),
        (check.rotate_pair, rotate_pair_ok),
        (check.rotate_pair, rotate_pair_as_matrix),
        (check.swiglu, swiglu_ok),
        (check.kv_cache_bytes, kv_cache_bytes_ok),
    ],
)
def test_accepts_a_right_answer_and_reports_a_stub(checker, right, capsys):
    accepts_and_reports_stub(checker, right, capsys)


# --------------------------------------------------------------------------- mistakes


def _layer_norm(x, w, eps):
    centred = x - x.mean(-1, keepdims=True)
    return centred / np.sqrt((centred**2).mean(-1, keepdims=True) + eps) * w


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_layer_norm, "that is LayerNorm"),
        (lambda x, w, eps: x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps), "learned gain"),
        (lambda x, w, eps: x / np.sqrt(np.sum(x**2, axis=-1, keepdims=True) + eps) * w, "mean of the squares"),
        (lambda x, w, eps: x / (np.mean(x**2, axis=-1, keepdims=True) + eps) * w, "square ROOT"),
        (lambda x, w, eps: x / (np.sqrt(np.mean(x**2, axis=-1, keepdims=True)) + eps) * w, "eps goes inside"),
        (lambda x, w, eps: x / np.sqrt(np.mean(x**2, axis=0, keepdims=True) + eps) * w, "over the last axis"),
    ],
)
def test_rms_norm_mistakes(wrong, hint):
    result = check.rms_norm(wrong)
    assert not result.passed and hint in result.message


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, y, a: rotate_pair_ok(x, y, -a), "you turned clockwise"),
        (lambda x, y, a: (x * math.cos(a) - y * math.sin(a), x * math.sin(a) - y * math.cos(a)), "second number's"),
        (lambda x, y, a: (x * math.sin(a) - y * math.cos(a), x * math.cos(a) + y * math.sin(a)), "swapped"),
        (lambda x, y, a: rotate_pair_ok(x, y, a * math.pi / 180), "already in radians"),
        (lambda x, y, a: (x * math.cos(a), y * math.sin(a)), "mixes BOTH"),
    ],
)
def test_rotate_pair_mistakes(wrong, hint):
    result = check.rotate_pair(wrong)
    assert not result.passed and hint in result.message


def test_rotate_pair_explains_a_wrong_shape():
    result = check.rotate_pair(lambda x, y, a: (x, y, a))
    assert not result.passed and "expected two numbers" in result.message


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, g, u, d: (silu(x @ u.T) * (x @ g.T)) @ d.T, "SiLU goes on the GATE"),
        (lambda x, g, u, d: ((x @ g.T) * (x @ u.T)) @ d.T, "apply SiLU to the gate"),
        (lambda x, g, u, d: (np.maximum(x @ g.T, 0) * (x @ u.T)) @ d.T, "not ReLU"),
        (lambda x, g, u, d: ((1 / (1 + np.exp(-x @ g.T))) * (x @ u.T)) @ d.T, "not sigmoid(z) alone"),
        (lambda x, g, u, d: (silu(x @ g.T) + x @ u.T) @ d.T, "MULTIPLIED"),
        (lambda x, g, u, d: x + swiglu_ok(x, g, u, d), "only the MLP's output"),
    ],
)
def test_swiglu_mistakes(wrong, hint):
    result = check.swiglu(wrong)
    assert not result.passed and hint in result.message


def test_swiglu_reference_is_the_models_mlp():
    """The checker's reference formula is exactly what SmolLM's SwiGLU module computes."""
    import torch

    from course_lib.smollm import SmolLMConfig, SwiGLU

    config = SmolLMConfig(vocab_size=10, n_layer=1, n_head=2, n_kv_head=1, n_embd=4, n_hidden=6)
    mlp = SwiGLU(config)
    g = torch.Generator().manual_seed(0)
    weights = {name: torch.randn(p.shape, generator=g, dtype=torch.float64) for name, p in mlp.state_dict().items()}
    mlp.load_state_dict(weights, assign=True)
    x = torch.randn(3, 4, generator=g, dtype=torch.float64)
    expected = check._swiglu_reference(
        x.numpy(), weights["gate.weight"].numpy(), weights["up.weight"].numpy(), weights["down.weight"].numpy()
    )
    np.testing.assert_allclose(mlp(x, None, "mlp").detach().numpy(), expected)


# --------------------------------------------------------------------------- the KV cache's size


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda s, t, b: s.n_layer * 2 * s.n_head * s.head_size * t * b, "you used the query heads"),
        (kv_cache_bytes_one_tensor, "K and V are two tensors"),
        (lambda s, t, b: 2 * s.n_kv_head * s.head_size * t * b, "that is one layer"),
        (lambda s, t, b: s.n_layer * 2 * s.n_kv_head * s.head_size * t, "counts numbers, not bytes"),
        (lambda s, t, b: s.n_layer * 2 * s.n_kv_head * t * b, "multiply by shape.head_size"),
    ],
)
def test_kv_cache_bytes_mistakes(wrong, hint):
    verdict(check.kv_cache_bytes(wrong), False, hint)


def test_kv_cache_bytes_accepts_whole_floats():
    """A formula written with a float (4.0 bytes, say) gives the same count as a float, and passes."""
    assert check.kv_cache_bytes(lambda s, t, b: float(kv_cache_bytes_ok(s, t, b))).passed


def test_kv_cache_bytes_cases_cover_every_model_of_the_brief():
    """SmolLM2, the course model, GPT-2 small, GPT-3 and a made-up model, with the reference's numbers."""
    shapes = [case.args[0] for case in check.KV_CASES]
    for config in (SmolLMConfig(), GPTConfig(), GPT2_SMALL, GPT3_175B):
        assert sizes.attention_shape(config) in shapes
    assert sizes.kv_cache_bytes(SmolLMConfig(), 8192, 4) == 377_487_360  # the lesson's 377.49 MB
    assert sizes.kv_cache_bytes(GPT3_175B, 2048, 2) == 96 * 2 * 96 * 128 * 2048 * 2


# --------------------------------------------------------------------------- hard to fool, impossible to crash

ROBUSTNESS = [
    (check.rms_norm, rms_norm_ok, _layer_norm, "that is LayerNorm"),
    (check.rotate_pair, rotate_pair_ok, lambda x, y, a: rotate_pair_ok(x, y, -a), "you turned clockwise"),
    (check.swiglu, swiglu_ok, lambda x, g, u, d: ((x @ g.T) * (x @ u.T)) @ d.T, "apply SiLU to the gate"),
    (check.kv_cache_bytes, kv_cache_bytes_ok, kv_cache_bytes_one_tensor, "K and V are two tensors"),
]
globals().update(robustness_tests(check, ROBUSTNESS))  # the tests every lesson's checkers pass


def test_the_reference_passes_every_function_checker():
    for name in function_checkers(check):
        verdict(getattr(check, name)(check.reference(name)), True)
