"""Checkers for lesson 05 (softmax and temperature): each runs the learner's answer and names the likely bug.

In the notebook::

    from course_lib.checks import lesson05 as check
    check.softmax(softmax)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib import sampling
from course_lib.checks import Case, CheckResult, Mistake, check_function, check_value, pick_reference, same

__all__ = ["softmax", "softmax_with_temperature", "sample_index", "probability_ratio", "reference"]


def _stable(x: np.ndarray) -> np.ndarray:
    return sampling.softmax(x)


def _naive(x):
    e = np.exp(np.asarray(x, dtype=float))
    return e / e.sum(axis=-1, keepdims=True)


def _shift_by_min(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.min(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _not_normalised(x):
    x = np.asarray(x, dtype=float)
    return np.exp(x - x.max(axis=-1, keepdims=True))


def _scores_normalised(x):
    x = np.asarray(x, dtype=float)
    return x / x.sum(axis=-1, keepdims=True)


def _whole_array_normalised(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max())
    return e / e.sum()


# --------------------------------------------------------------------------- softmax

SOFTMAX_CASES = [
    Case((np.array([2.0, 1.0, 0.1]),)),
    Case((np.array([-1.0, 3.0, 0.5, 2.0]),)),
    Case((np.zeros(4),), label="four equal scores (all 0)"),
    Case(
        (np.array([1000.0, 1001.0, 1002.0]),),
        label="large scores [1000, 1001, 1002]: exp(1000) overflows unless you subtract the largest first",
    ),
    Case((np.array([-1000.0, 0.0, 1000.0]),), label="scores far apart [-1000, 0, 1000]"),
    Case((np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]),), label="a 2-D array, two rows of scores"),
]
SOFTMAX_MISTAKES = [
    Mistake(
        _naive,
        "overflow: np.exp(1000) is inf in floating point, and inf / inf is NaN. Subtract the largest score "
        "from every score before exponentiating (it does not change the result)",
    ),
    Mistake(
        _shift_by_min,
        "subtract the largest score, not the smallest: after subtracting the minimum, exp() of the largest "
        "score can still overflow",
    ),
    Mistake(
        _not_normalised,
        "you exponentiated but did not normalise: divide by the sum of the exponentials so the result adds up to 1",
    ),
    Mistake(
        _scores_normalised,
        "you divided the raw scores by their sum; exponentiate first (that makes every value positive)",
    ),
    Mistake(
        _whole_array_normalised,
        "each row is its own distribution: take the max and the sum along the last axis "
        "(axis=-1, keepdims=True), not over the whole array",
    ),
]


def _random_scores(rng: np.random.Generator) -> np.ndarray:
    """2 to 8 scores (or 2 or 3 rows of them), spread by up to 5, around 0 or around a large +-1000.

    They are multiples of 1/4, exact in float32 too, so an answer that computes in float32 is not
    failed for the rounding of its input (near 1000, float32 cannot hold 1000.48).
    """
    shape = (int(rng.integers(2, 9)),) if rng.random() < 0.5 else (int(rng.integers(2, 4)), int(rng.integers(2, 9)))
    offset = rng.choice([0.0, 1000.0, -1000.0])
    return offset + np.round(rng.normal(size=shape) * rng.uniform(0.5, 5.0) * 4) / 4


def _fresh_softmax(rng: np.random.Generator) -> Case:
    return Case((_random_scores(rng),))


def softmax(learner) -> CheckResult:
    """``softmax(logits)``: exponentiate and normalise along the last axis, without overflowing."""
    with np.errstate(all="ignore"):  # the naive softmax overflows on purpose here; the hint explains it in words
        return check_function("softmax", learner, _stable, SOFTMAX_CASES, SOFTMAX_MISTAKES, fresh=_fresh_softmax)


# --------------------------------------------------------------------------- temperature

RAISED = "raised ValueError"  # what a function that (correctly) refuses T <= 0 is recorded as


def _recording_value_error(fn: Callable) -> Callable:
    """Call ``fn``; a ValueError becomes the string RAISED so it can be compared like a result."""

    def call(*args):
        try:
            with np.errstate(all="ignore"):
                return fn(*args)
        except ValueError:
            return RAISED

    return call


def _raised(value: Any) -> bool:
    return isinstance(value, str) and value == RAISED


def _compare_with_raise(got: Any, expected: Any) -> tuple[bool, str]:
    if _raised(expected):
        if _raised(got):
            return True, ""
        return False, "for a temperature <= 0 your function should raise ValueError, but it returned a value"
    if _raised(got):
        return False, "your function raised ValueError for a valid (positive) temperature"
    return same(got, expected)


def _no_check(x, t):
    return _stable(np.asarray(x, dtype=float) / t) if t != 0 else np.full(np.shape(x), np.nan)


TEMPERATURE_CASES = [
    Case((np.array([2.0, 1.0, 0.1]), 1.0)),
    Case((np.array([2.0, 1.0, 0.1]), 0.5)),
    Case((np.array([2.0, 1.0, 0.1]), 2.0)),
    Case((np.array([3.0, 1.0, 0.0, -1.0]), 10.0)),
    Case((np.array([1000.0, 1001.0, 1002.0]), 0.1), label="([1000, 1001, 1002], T=0.1): large scores, small T"),
    Case((np.array([1.0, 2.0, 3.0]), 0.0), label="T = 0 (should raise ValueError)"),
    Case((np.array([1.0, 2.0, 3.0]), -1.0), label="T = -1 (should raise ValueError)"),
]
TEMPERATURE_MISTAKES = [
    Mistake(
        lambda x, t: _stable(np.asarray(x, dtype=float) * t),
        "you multiplied the scores by T; divide them by T (a higher T must flatten the distribution)",
    ),
    Mistake(
        lambda x, t: _stable(x),
        "your result does not change with T: divide the scores by T before the softmax",
    ),
    Mistake(
        lambda x, t: _stable(x) / t,
        "divide the scores by T before exponentiating; dividing the probabilities afterwards breaks their sum of 1",
    ),
    Mistake(
        lambda x, t: _naive(np.asarray(x, dtype=float) / t),
        "overflow: with small T the scores / T are huge; subtract the largest one before exponentiating",
    ),
    Mistake(
        _no_check,
        "a temperature must be positive: for T <= 0, raise ValueError with a message that says so "
        "(T = 0 divides by zero, and T < 0 would make the least likely token the most likely)",
    ),
]


def _fresh_temperature(rng: np.random.Generator) -> Case:
    """Random scores (one row) and a temperature from 0.2 to 5."""
    scores = (rng.normal(size=int(rng.integers(2, 9))) * 3).round(2)
    return Case((scores, round(float(rng.uniform(0.2, 5.0)), 3)))


def softmax_with_temperature(learner) -> CheckResult:
    """``softmax_with_temperature(logits, temperature)``: softmax(logits / T); ValueError when T <= 0."""
    wrapped = _recording_value_error(learner) if callable(learner) else learner
    return check_function(
        "softmax_with_temperature",
        wrapped,
        _recording_value_error(sampling.softmax),
        TEMPERATURE_CASES,
        [Mistake(_recording_value_error(m.wrong), m.hint) for m in TEMPERATURE_MISTAKES],
        fresh=_fresh_temperature,
        compare=_compare_with_raise,
    )


# --------------------------------------------------------------------------- sampling by hand


def _sample_index_reference(probs, u):
    cumulative = np.cumsum(probs)
    return int(min(np.searchsorted(cumulative, u, side="right"), len(cumulative) - 1))


PROBS = np.array([0.5, 0.3, 0.2])
SAMPLE_CASES = [
    Case((PROBS, 0.1)),
    Case((np.array([0.1, 0.2, 0.3, 0.4]), 0.25)),  # greedy, off-by-one and per-probability answers all differ here
    Case((PROBS, 0.6)),
    Case((PROBS, 0.95)),
    Case((np.array([0.1, 0.2, 0.3, 0.4]), 0.05)),
    Case((np.array([0.2, 0.5, 0.3]), 0.2), label="([0.2, 0.5, 0.3], u=0.2): u exactly where index 0's share ends"),
]
SAMPLE_MISTAKES = [
    Mistake(
        lambda probs, u: int(np.argmax(probs)),
        "you always return the most likely index (that is greedy decoding); use u to pick an index with "
        "probability equal to its share",
    ),
    Mistake(
        lambda probs, u: int(np.argmax(np.asarray(probs) > u)),
        "compare u with the running total (np.cumsum(probs)), not with each probability on its own",
    ),
    Mistake(
        lambda probs, u: _sample_index_reference(probs, u) + 1,
        "off by one: index 0 owns the first stretch [0, p0) of the line from 0 to 1, so u < p0 gives 0",
    ),
    Mistake(
        lambda probs, u: float(probs[_sample_index_reference(probs, u)]),
        "you returned the probability of the chosen entry; return its index",
    ),
    Mistake(
        lambda probs, u: int(min(np.searchsorted(np.cumsum(probs), u, side="left"), len(probs) - 1)),
        "at a boundary: each index owns [start, end), so u equal to the end of index i's stretch belongs to i + 1 "
        "(use u < total, not u <= total)",
    ),
]


def _fresh_sample(rng: np.random.Generator) -> Case:
    """Probabilities over 2 to 8 entries (rounded, summing to 1) and a u from [0, 1) off every boundary."""
    n = int(rng.integers(2, 9))
    probs = rng.dirichlet(np.ones(n)).round(3)
    probs[-1] = round(1.0 - probs[:-1].sum(), 3)
    while (probs <= 0).any():
        probs = rng.dirichlet(np.ones(n)).round(3)
        probs[-1] = round(1.0 - probs[:-1].sum(), 3)
    u = round(float(rng.uniform(0.0, 1.0)), 4)
    while np.isclose(np.cumsum(probs), u, atol=1e-6).any():  # a boundary is its own fixed case
        u = round(float(rng.uniform(0.0, 1.0)), 4)
    return Case((probs, u))


def sample_index(learner) -> CheckResult:
    """``sample_index(probs, u)``: the index whose stretch of [0, 1) contains u (inverse-CDF sampling)."""
    return check_function(
        "sample_index", learner, _sample_index_reference, SAMPLE_CASES, SAMPLE_MISTAKES, fresh=_fresh_sample
    )


# --------------------------------------------------------------------------- a value: what a score gap means

GAP, TEMPERATURE = 2.0, 0.5


def probability_ratio(got) -> CheckResult:
    """How many times likelier is a token whose score is GAP higher than another's, at temperature TEMPERATURE?"""
    expected = math.exp(GAP / TEMPERATURE)
    return check_value(
        "probability_ratio",
        got,
        expected,
        [
            (math.exp(GAP), "that is the ratio at T = 1; at T = 0.5 the gap is first divided by T"),
            (math.exp(GAP * TEMPERATURE), "you multiplied the gap by T; divide it by T"),
            (GAP / TEMPERATURE, "that is the gap after dividing by T; the ratio of probabilities is exp(gap / T)"),
            (math.exp(-GAP / TEMPERATURE), "upside down: the token with the higher score is the more likely one"),
        ],
        compare=lambda g, e: same(g, e, rtol=1e-4),
        success=f"correct: exp({GAP:g} / {TEMPERATURE:g}) = {expected:.1f} times likelier.",
    )


REFERENCES = {
    "softmax": _stable,
    "softmax_with_temperature": sampling.softmax,
    "sample_index": _sample_index_reference,
}


def reference(exercise: str):
    """The course's version of an exercise's function, for the cells after an exercise that is not solved yet."""
    return pick_reference(REFERENCES, exercise)
