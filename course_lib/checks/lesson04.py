"""Checkers for lesson 04 (attention): each runs the learner's answer and names the likely bug.

In the notebook::

    from course_lib.checks import lesson04 as check
    check.scaled_scores(scaled_scores)
"""

from __future__ import annotations

import math

import numpy as np

from course_lib.attention import attend, attention_scores
from course_lib.checks import Case, CheckResult, Mistake, check_function, check_value, pick_reference, same_count
from course_lib.model import GPT3_175B
from course_lib.sampling import softmax

__all__ = [
    "scaled_scores",
    "causal_softmax",
    "attention",
    "gpt3_heads",
    "pattern_entries",
    "gpt3_attention_parameters",
    "reference",
]


def _rng_cases(shapes: list[tuple[tuple[int, ...], ...]], seed: int | np.random.Generator = 0) -> list[Case]:
    rng = np.random.default_rng(seed)
    return [Case(tuple(rng.normal(size=s).round(2) for s in shape)) for shape in shapes]


def _size(rng: np.random.Generator, low: int = 2, high: int = 7) -> int:
    return int(rng.integers(low, high + 1))


def _fresh_scores(rng: np.random.Generator) -> Case:
    """T queries and S keys of size d, each drawn from 2 to 7."""
    t, s, d = _size(rng), _size(rng), _size(rng)
    return _rng_cases([((t, d), (s, d))], rng)[0]


def _fresh_square(rng: np.random.Generator) -> Case:
    t = _size(rng)
    return _rng_cases([((t, t),)], rng)[0]


def _fresh_head(rng: np.random.Generator) -> Case:
    t, d, d_v = _size(rng), _size(rng, 1), _size(rng, 1)
    return _rng_cases([((t, d), (t, d), (t, d_v))], rng)[0]


# --------------------------------------------------------------------------- scores


def _scores_reference(q, k):
    return attention_scores(q, k, scale=True)


# T != d_k and T != S, so each wrong denominator and the transposed product give different numbers.
SCORE_CASES = [
    Case(
        (
            np.array([[1.0, 0.0, 2.0, 0.0], [0.0, 1.0, 0.0, 1.0]]),
            np.array([[2.0, 0.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0]]),
        ),
        label="2 queries and 2 keys of size 4",
    ),
    *_rng_cases([((3, 4), (3, 4)), ((2, 9), (5, 9)), ((6, 2), (6, 2))]),
]


def scaled_scores(learner) -> CheckResult:
    """``scaled_scores(q, k)`` -> ``q @ k.T / sqrt(d_k)``: one row per query, one column per key."""
    return check_function(
        "scaled_scores",
        learner,
        _scores_reference,
        SCORE_CASES,
        [
            Mistake(lambda q, k: q @ k.T, "did you divide by sqrt(d_k)? The scores are Q K^T / sqrt(d_k)."),
            Mistake(lambda q, k: q @ k.T / q.shape[-1], "divide by the square root of d_k, not by d_k itself."),
            Mistake(
                lambda q, k: q @ k.T / math.sqrt(q.shape[0]),
                "d_k is the length of each query/key vector (q.shape[-1]), not the number of tokens (q.shape[0]).",
            ),
            Mistake(
                lambda q, k: k @ q.T / math.sqrt(q.shape[-1]),
                "rows and columns are swapped: compute Q K^T (one row per query), not K Q^T.",
            ),
        ],
        fresh=_fresh_scores,
        success="every query is compared with every key, and the scores are scaled.",
    )


# --------------------------------------------------------------------------- mask + softmax


def _causal_softmax_reference(scores):
    return _masked_pattern(scores)


def _masked_pattern(scores: np.ndarray) -> np.ndarray:
    """The attention pattern from (already scaled) square scores: causal mask, then softmax per row."""
    allowed = np.tril(np.ones(scores.shape, dtype=bool))
    return softmax(np.where(allowed, scores, -np.inf))


def _softmax_rows_then_zero(scores):
    p = softmax(scores)
    return np.where(np.tril(np.ones(scores.shape, dtype=bool)), p, 0.0)


def _softmax_columns(scores):
    allowed = np.tril(np.ones(scores.shape, dtype=bool))
    return softmax(np.where(allowed, scores, -np.inf).T).T


def _mask_with_zero(scores):
    return softmax(np.where(np.tril(np.ones(scores.shape, dtype=bool)), scores, 0.0))


def _mask_future_kept(scores):
    return softmax(np.where(np.triu(np.ones(scores.shape, dtype=bool)), scores, -np.inf))


MASK_CASES = [
    Case((np.array([[1.0, 5.0, 2.0], [0.5, 0.0, 3.0], [1.0, 2.0, 3.0]]),), label="3 x 3 scores"),
    *_rng_cases([((4, 4),), ((6, 6),)], seed=1),
]


def causal_softmax(learner) -> CheckResult:
    """``causal_softmax(scores)``: hide the future with -inf, then softmax each row (over the keys)."""
    return check_function(
        "causal_softmax",
        learner,
        _causal_softmax_reference,
        MASK_CASES,
        [
            Mistake(softmax, "did you apply the causal mask? Token i may only look at tokens 0..i."),
            Mistake(
                _softmax_rows_then_zero,
                "is your mask applied before the softmax? Zeroing after it leaves rows that no longer sum to 1.",
            ),
            Mistake(_softmax_columns, "softmax over the wrong axis? Each row (one query) must sum to 1: use axis=-1."),
            Mistake(
                _mask_with_zero,
                "masked scores must be -inf, not 0: exp(0) = 1, so a score of 0 still gets attention.",
            ),
            Mistake(
                _mask_future_kept,
                "your mask keeps the future and hides the past: keep entries with key <= query (np.tril).",
            ),
        ],
        fresh=_fresh_square,
        success="each token attends only to itself and earlier tokens, and every row sums to 1.",
    )


# --------------------------------------------------------------------------- the whole head


def _attention_reference(q, k, v):
    return attend(q, k, v, causal=True, scale=True)


ATTENTION_CASES = _rng_cases([((3, 2), (3, 2), (3, 2)), ((4, 3), (4, 3), (4, 5)), ((5, 4), (5, 4), (5, 1))], seed=2)


def attention(learner) -> CheckResult:
    """``attention(q, k, v)`` -> ``causal_softmax(q k^T / sqrt(d_k)) @ v``."""
    return check_function(
        "attention",
        learner,
        _attention_reference,
        ATTENTION_CASES,
        [
            Mistake(lambda q, k, v: attend(q, k, v, scale=False), "did you divide by sqrt(d_k)?"),
            Mistake(lambda q, k, v: attend(q, k, v, causal=False), "did you apply the causal mask before the softmax?"),
            Mistake(
                lambda q, k, v: _softmax_rows_then_zero(attention_scores(q, k)) @ v,
                "is your mask applied before the softmax? Masking afterwards leaves rows that do not sum to 1.",
            ),
            Mistake(
                lambda q, k, v: _softmax_columns(attention_scores(q, k)) @ v,
                "softmax over the wrong axis? Normalise each row (axis=-1), one query at a time.",
            ),
            Mistake(
                lambda q, k, v: _masked_pattern(attention_scores(q, k)).T @ v,
                "the weighted sum uses the pattern itself (pattern @ V), not its transpose.",
            ),
            Mistake(lambda q, k, v: attention_scores(q, k) @ v, "turn the scores into a pattern with softmax first."),
        ],
        fresh=_fresh_head,
        success="your head computes softmax(mask(Q K^T / sqrt(d_k))) V.",
    )


# --------------------------------------------------------------------------- numbers


def gpt3_heads(got) -> CheckResult:
    """How many attention heads GPT-3 has in total (96 per layer, 96 layers)."""
    c = GPT3_175B
    return check_value(
        "gpt3_heads",
        got,
        c.n_layer * c.n_head,
        [
            (c.n_layer + c.n_head, "heads per layer and layers multiply: every layer has its own 96 heads."),
            (c.n_head, "that is one layer's heads; GPT-3 has 96 layers, each with its own."),
        ],
        compare=same_count,
        success="96 layers x 96 heads: 9,216 heads, each with its own query, key and value maps.",
    )


def pattern_entries(got, context_length: int = 2048) -> CheckResult:
    """Numbers in one head's attention pattern at ``context_length`` tokens."""
    t = context_length
    return check_value(
        "pattern_entries",
        got,
        t * t,
        [
            (t, "one number per (query, key) pair: T x T, not T."),
            (t * (t + 1) // 2, "the mask hides half of it, but the T x T matrix is still stored and computed."),
            (2 * t, "one number per (query, key) pair: T x T, not T + T."),
        ],
        compare=same_count,
        success=f"{t} x {t} = {t * t:,} numbers per head: it grows with the square of the context.",
    )


def _close(got, expected):
    return same_count(got, expected, rtol=2e-3)


def gpt3_attention_parameters(got) -> CheckResult:
    """GPT-3's attention weights over all layers (biases may be included or not)."""
    d, n = GPT3_175B.n_embd, GPT3_175B.n_layer
    return check_value(
        "gpt3_attention_parameters",
        got,
        4 * d * d * n,
        [
            (3 * d * d * n, "did you forget the output projection W_O? A layer has four d x d matrices."),
            (4 * d * d, "that is one layer; multiply by the 96 layers."),
            (4 * d * d * n * GPT3_175B.n_head, "each head's maps are d x 128, not d x d: the heads split d."),
            (d * d * n, "Q, K, V and the output projection are four d x d matrices per layer."),
        ],
        compare=_close,
        success="4 x 12288^2 x 96 = about 58 billion: a third of GPT-3's 175 billion.",
    )


REFERENCES = {
    "scaled_scores": _scores_reference,
    "causal_softmax": _causal_softmax_reference,
    "attention": _attention_reference,
}


def reference(exercise: str):
    """The course's version of an exercise's function, for the cells after an exercise that is not solved yet."""
    return pick_reference(REFERENCES, exercise)
