"""Checkers for lesson 09 (a real LLM opened up): each runs the learner's answer and names the likely bug.

In the notebook::

    from course_lib.checks import lesson09 as check
    check.rms_norm(rms_norm)

The references are course_lib.smollm's own pieces, the ones that run SmolLM2.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from course_lib import sizes
from course_lib.checks import (
    Case,
    CheckResult,
    Mistake,
    as_numbers,
    check_function,
    describe,
    pick_reference,
    same,
    same_count,
)
from course_lib.model import GPT2_SMALL, GPT3_175B, GPTConfig
from course_lib.sizes import AttentionShape
from course_lib.smollm import SmolLMConfig
from course_lib.smollm import rms_norm as _rms_norm
from course_lib.smollm import rotate_pair as _rotate_pair

__all__ = ["rms_norm", "rotate_pair", "swiglu", "kv_cache_bytes", "reference"]


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- RMSNorm


def _rms_norm_reference(x, weight, eps):
    return _rms_norm(torch.from_numpy(x), torch.from_numpy(weight), eps).numpy()


# Vectors with a clearly non-zero mean (so LayerNorm differs), gains that are not 1, and one case with a
# large eps (so eps inside or outside the square root makes a visible difference).
RMS_CASES = [
    Case((np.array([1.0, 2.0, 3.0, 6.0]), np.array([1.0, 1.0, 1.0, 1.0]), 1e-5), label="x = [1, 2, 3, 6], gain 1"),
    Case((_rng(0).normal(1.0, 2.0, size=(3, 8)), _rng(1).uniform(0.5, 2.0, size=8), 1e-5), label="3 vectors of 8"),
    Case((np.array([[0.5, -1.0, 2.0]]), np.array([2.0, 0.5, 1.0]), 1.0), label="x = [[0.5, -1, 2]], eps = 1"),
]


def _layer_norm(x, weight, eps):
    centred = x - x.mean(axis=-1, keepdims=True)
    return centred / np.sqrt(centred.var(axis=-1, keepdims=True) + eps) * weight


def _fresh_rms(rng: np.random.Generator) -> Case:
    """1 to 5 vectors of 2 to 10 numbers around a non-zero mean, gains from 0.5 to 2, and an eps from 1e-6 to 1."""
    rows, width = int(rng.integers(1, 6)), int(rng.integers(2, 11))
    x = rng.normal(rng.uniform(-2, 2), rng.uniform(0.5, 3), size=(rows, width)).round(3)
    return Case((x, rng.uniform(0.5, 2.0, size=width).round(3), float(rng.choice([1e-6, 1e-5, 0.1, 1.0]))))


def rms_norm(learner) -> CheckResult:
    """``rms_norm(x, weight, eps)``: x / sqrt(mean(x^2) + eps) * weight, over the last axis."""
    return check_function(
        "rms_norm",
        learner,
        _rms_norm_reference,
        RMS_CASES,
        [
            Mistake(_layer_norm, "that is LayerNorm: RMSNorm does not subtract the mean, it only rescales."),
            Mistake(
                lambda x, w, eps: x / np.sqrt((x**2).mean(axis=-1, keepdims=True) + eps),
                "multiply by the learned gain `weight` at the end.",
            ),
            Mistake(
                lambda x, w, eps: x / np.sqrt((x**2).sum(axis=-1, keepdims=True) + eps) * w,
                "take the mean of the squares, not their sum (the root-MEAN-square).",
            ),
            Mistake(
                lambda x, w, eps: x / ((x**2).mean(axis=-1, keepdims=True) + eps) * w,
                "divide by the square ROOT of the mean square.",
            ),
            Mistake(
                lambda x, w, eps: x / (np.sqrt((x**2).mean(axis=-1, keepdims=True)) + eps) * w,
                "eps goes inside the square root: sqrt(mean(x^2) + eps).",
            ),
            Mistake(
                lambda x, w, eps: x / np.sqrt((x**2).mean(axis=0, keepdims=True) + eps) * w,
                "average over the last axis (each vector's own numbers), axis=-1, not over the tokens.",
            ),
        ],
        fresh=_fresh_rms,
        success="each vector is divided by its root-mean-square and scaled by the gain.",
    )


# --------------------------------------------------------------------------- rotary: one pair


ROTATE_CASES = [
    Case((1.0, 0.0, math.pi / 2), label="(1, 0) by 90 degrees (pi/2)"),
    Case((3.0, 4.0, 0.5), label="(3, 4) by 0.5 radians"),
    Case((-2.0, 1.0, 2.0), label="(-2, 1) by 2 radians"),
    Case((0.3, -0.7, 7 * 0.25), label="(0.3, -0.7) at position 7, angle 0.25 per position"),
]


def _as_pair(value) -> np.ndarray | None:
    """Two numbers from a tuple, a list, an array or a tensor (or a tuple of two one-number tensors)."""
    numbers = as_numbers(value)
    if numbers is None and isinstance(value, tuple | list) and len(value) == 2:
        parts = [as_numbers(v) for v in value]
        if all(p is not None and p.size == 1 for p in parts):
            numbers = np.array([float(p.reshape(())) for p in parts])
    return numbers


def _compare_pairs(got, expected):
    numbers = _as_pair(got)
    if numbers is None:
        return False, f"expected two numbers (x', y'), got {describe(got)}"
    if numbers.size != 2:
        return False, f"expected two numbers (x', y'), got {numbers.size}"
    return same(numbers.reshape(2), _as_pair(expected))


def _fresh_rotate(rng: np.random.Generator) -> Case:
    x, y = rng.uniform(-3, 3, size=2).round(3)
    return Case((float(x), float(y), round(float(rng.uniform(-2 * math.pi, 2 * math.pi)), 3)))


def rotate_pair(learner) -> CheckResult:
    """``rotate_pair(x, y, angle)`` -> (x cos a - y sin a, x sin a + y cos a): the point turned anticlockwise."""
    return check_function(
        "rotate_pair",
        learner,
        _rotate_pair,
        ROTATE_CASES,
        [
            Mistake(
                lambda x, y, a: _rotate_pair(x, y, -a),
                "you turned clockwise: use x cos a - y sin a for the first number, x sin a + y cos a for the second.",
            ),
            Mistake(
                lambda x, y, a: (x * math.cos(a) - y * math.sin(a), x * math.sin(a) - y * math.cos(a)),
                "check the second number's sign: y' = x sin a + y cos a.",
            ),
            Mistake(
                lambda x, y, a: (x * math.sin(a) - y * math.cos(a), x * math.cos(a) + y * math.sin(a)),
                "sin and cos are swapped: x' = x cos a - y sin a.",
            ),
            Mistake(
                lambda x, y, a: _rotate_pair(x, y, math.radians(a)),
                "the angle is already in radians: use math.cos(angle) directly, no conversion.",
            ),
            Mistake(
                lambda x, y, a: (x * math.cos(a), y * math.sin(a)),
                "each new number mixes BOTH old ones: x' = x cos a - y sin a, y' = x sin a + y cos a.",
            ),
        ],
        fresh=_fresh_rotate,
        compare=_compare_pairs,
        success="a rotation keeps the pair's length and turns it by the angle, as RoPE does to every pair.",
    )


# --------------------------------------------------------------------------- SwiGLU


def _t(a):
    return torch.from_numpy(np.asarray(a, dtype=float))


def _swiglu_reference(x, w_gate, w_up, w_down):
    x, w_gate, w_up, w_down = map(_t, (x, w_gate, w_up, w_down))
    return F.linear(F.silu(F.linear(x, w_gate)) * F.linear(x, w_up), w_down).numpy()


def _silu(z):
    return z / (1 + np.exp(-z))


def _swiglu_case(rng: np.random.Generator, t: int, d: int, hidden: int) -> Case:
    x = rng.normal(size=(t, d)).round(2)
    return Case((x, *(rng.normal(size=s).round(2) for s in ((hidden, d), (hidden, d), (d, hidden)))))


def _swiglu_cases() -> list[Case]:
    return [_swiglu_case(_rng(10 + seed), *sizes) for seed, sizes in enumerate([(1, 4, 6), (3, 5, 8), (4, 3, 7)])]


def _fresh_swiglu(rng: np.random.Generator) -> Case:
    """T from 1 to 5 positions of width 2 to 6, through 2 to 12 hidden neurons."""
    return _swiglu_case(rng, int(rng.integers(1, 6)), int(rng.integers(2, 7)), int(rng.integers(2, 13)))


def swiglu(learner) -> CheckResult:
    """``swiglu(x, w_gate, w_up, w_down)`` -> (SiLU(x W_gate^T) * x W_up^T) W_down^T, for x of shape (T, d)."""
    return check_function(
        "swiglu",
        learner,
        _swiglu_reference,
        _swiglu_cases(),
        [
            Mistake(
                lambda x, g, u, d: (_silu(x @ u.T) * (x @ g.T)) @ d.T,
                "SiLU goes on the GATE projection (x @ w_gate.T); the up projection stays linear.",
            ),
            Mistake(
                lambda x, g, u, d: ((x @ g.T) * (x @ u.T)) @ d.T,
                "apply SiLU to the gate before multiplying: SiLU(x W_gate^T) * (x W_up^T).",
            ),
            Mistake(
                lambda x, g, u, d: (np.maximum(0, x @ g.T) * (x @ u.T)) @ d.T,
                "SwiGLU's gate uses SiLU, z * sigmoid(z), not ReLU (it is smooth and lets a little negative through).",
            ),
            Mistake(
                lambda x, g, u, d: ((1 / (1 + np.exp(-(x @ g.T)))) * (x @ u.T)) @ d.T,
                "SiLU(z) is z * sigmoid(z), not sigmoid(z) alone.",
            ),
            Mistake(
                lambda x, g, u, d: (_silu(x @ g.T) + (x @ u.T)) @ d.T,
                "the gate and the up projection are MULTIPLIED element by element, not added.",
            ),
            Mistake(
                lambda x, g, u, d: x + (_silu(x @ g.T) * (x @ u.T)) @ d.T,
                "return only the MLP's output: the block adds it to the residual stream itself.",
            ),
        ],
        fresh=_fresh_swiglu,
        success="gate, multiply, project down: SwiGLU as SmolLM2 and Llama compute it.",
    )


# --------------------------------------------------------------------------- grouped-query attention: the KV cache


def _shape(config) -> AttentionShape:
    return sizes.attention_shape(config)


# SmolLM2 first: its 3 key/value heads for 9 query heads tell the query-heads mistake apart (a GPT has as
# many of each); the others show the formula holds for any decoder, a KV cache of gigabytes for GPT-3.
KV_CASES = [
    Case((_shape(SmolLMConfig()), 8192, 4), label="SmolLM2-135M, 8,192 tokens in float32 (4 bytes)"),
    Case((_shape(SmolLMConfig()), 1000, 2), label="SmolLM2-135M, 1,000 tokens in float16 (2 bytes)"),
    Case((_shape(GPTConfig()), 128, 4), label="the course model (lesson 08), 128 tokens in float32"),
    Case((_shape(GPT2_SMALL), 1024, 4), label="GPT-2 small, 1,024 tokens in float32"),
    Case((_shape(GPT3_175B), 2048, 2), label="GPT-3 (175B), 2,048 tokens in float16"),
    Case((AttentionShape(5, 8, 2, 16), 37, 1), label="5 layers, 8 query heads, 2 K/V heads of 16, 37 tokens, 1 byte"),
]


def _fresh_kv(rng: np.random.Generator) -> Case:
    """2 to 48 layers, 1 to 8 K/V heads shared by 1 to 4 query heads each, heads of 8 to 128, 1 to 9,999 tokens."""
    n_kv_head, group = int(rng.integers(1, 9)), int(rng.integers(1, 5))
    shape = AttentionShape(int(rng.integers(2, 49)), n_kv_head * group, n_kv_head, 8 * int(rng.integers(1, 17)))
    return Case((shape, int(rng.integers(1, 10_000)), int(rng.choice([1, 2, 4]))))


def kv_cache_bytes(learner) -> CheckResult:
    """``kv_cache_bytes(shape, n_tokens, bytes_per_number)``: the KV cache's bytes, every layer's keys and values."""
    return check_function(
        "kv_cache_bytes",
        learner,
        sizes.kv_cache_bytes,
        KV_CASES,
        [
            Mistake(
                lambda s, t, b: s.n_layer * 2 * s.n_head * s.head_size * t * b,
                "you used the query heads (shape.n_head): only the key/value heads (shape.n_kv_head) are cached, "
                "and with grouped-query attention there are fewer of them.",
            ),
            Mistake(
                lambda s, t, b: s.n_layer * s.n_kv_head * s.head_size * t * b,
                "K and V are two tensors: the cache holds a key AND a value for every token (a factor 2).",
            ),
            Mistake(
                lambda s, t, b: 2 * s.n_kv_head * s.head_size * t * b,
                "that is one layer: every one of the shape.n_layer layers keeps its own keys and values.",
            ),
            Mistake(
                lambda s, t, b: s.n_layer * 2 * s.n_kv_head * s.head_size * t,
                "that counts numbers, not bytes: multiply by bytes_per_number.",
            ),
            Mistake(
                lambda s, t, b: s.n_layer * 2 * s.n_kv_head * t * b,
                "each key and each value is head_size numbers wide: multiply by shape.head_size.",
            ),
        ],
        fresh=_fresh_kv,
        compare=same_count,
        success="n_layer x 2 (K and V) x n_kv_head x head_size x tokens x bytes: the memory a long context costs.",
    )


REFERENCES = {
    "rms_norm": _rms_norm_reference,
    "rotate_pair": _rotate_pair,
    "swiglu": _swiglu_reference,
    "kv_cache_bytes": sizes.kv_cache_bytes,
}


def reference(exercise: str):
    """The course's version of an exercise's function, for the cells after an exercise that is not solved yet."""
    return pick_reference(REFERENCES, exercise)
