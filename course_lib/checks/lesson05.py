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
import torch

from course_lib import sampling
from course_lib.checks import Case, CheckResult, Mistake, check_function, pick_reference, same
from course_lib.teaching.your_work import keep_if_passed

__all__ = [
    "softmax",
    "softmax_with_temperature",
    "sample_index",
    "probability_ratio",
    "top_k_filter",
    "top_p_filter",
    "reference",
]


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


# --------------------------------------------------------------------------- a function: what a score gap means

GAP, TEMPERATURE = 2.0, 0.5  # the example of the lesson's prose


def _ratio_reference(gap, temperature):
    return math.exp(gap / temperature)


RATIO_CASES = [
    Case((GAP, TEMPERATURE), label=f"gap {GAP:g} at T = {TEMPERATURE:g}"),
    Case((1.0, 1.0), label="gap 1 at T = 1"),
    Case((3.0, 2.0), label="gap 3 at T = 2"),
    Case((0.0, 0.7), label="gap 0 (equal scores) at T = 0.7"),
    Case((1.5, 0.25), label="gap 1.5 at T = 0.25"),
]


def _fresh_ratio(rng: np.random.Generator) -> Case:
    return Case((round(float(rng.uniform(0.1, 4.0)), 2), round(float(rng.uniform(0.3, 3.0)), 2)))


def probability_ratio(learner) -> CheckResult:
    """``probability_ratio(gap, temperature)``: how many times likelier the token whose score is ``gap`` higher is."""
    return check_function(
        "probability_ratio",
        learner,
        _ratio_reference,
        RATIO_CASES,
        [
            Mistake(lambda g, t: math.exp(g), "that is the ratio at T = 1: divide the gap by the temperature first"),
            Mistake(lambda g, t: math.exp(g * t), "you multiplied the gap by T; divide it by T"),
            Mistake(
                lambda g, t: g / t, "that is the gap after dividing by T; the ratio of probabilities is exp(gap / T)"
            ),
            Mistake(
                lambda g, t: math.exp(-g / t), "upside down: the token with the higher score is the more likely one"
            ),
        ],
        fresh=_fresh_ratio,
        compare=lambda g, e: same(g, e, rtol=1e-4),
        success=f"a gap of 2 at T = 0.5 is exp(2 / 0.5) = {math.exp(GAP / TEMPERATURE):.1f} times likelier.",
    )


# --------------------------------------------------------------------------- top-k and top-p (torch)


def _row(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def _kept(logits: torch.Tensor) -> torch.Tensor:
    return torch.isfinite(logits)


def _keep_count(logits, n_keep):
    """Keep the ``n_keep`` largest logits of each row (ties broken by position), the rest -inf."""
    order = torch.argsort(logits, dim=-1, descending=True, stable=True)
    rank = torch.empty_like(order).scatter_(-1, order, torch.arange(logits.shape[-1]).expand_as(order))
    return logits.masked_fill(rank >= n_keep, float("-inf"))


def _top_k_exactly(logits, k):
    """k tokens exactly, as torch.topk's indices give them, even when the k-th largest is tied with the next."""
    if k >= logits.shape[-1]:
        return logits.clone()
    keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, torch.topk(logits, k, dim=-1).indices, True)
    return logits.masked_fill(~keep, float("-inf"))


def _top_k_shifted(shift: int):
    def wrong(logits, k):
        return sampling.top_k_filter(logits, max(1, k + shift)) if k + shift < logits.shape[-1] else logits.clone()

    return wrong


def _drop_with_zero(reference):
    def wrong(logits, amount):
        kept = _kept(reference(logits, amount))
        return logits.masked_fill(~kept, 0.0)

    return wrong


def _probabilities_returned(reference):
    def wrong(logits, amount):
        return torch.softmax(reference(logits, amount), dim=-1)

    return wrong


def _smallest_k(logits, k):
    return -sampling.top_k_filter(-logits, k) if k < logits.shape[-1] else logits.clone()


TOP_K_MISTAKES = [
    Mistake(_top_k_shifted(+1), "you kept k + 1 tokens: keep the k largest logits (the k-th largest is the last kept)"),
    Mistake(_top_k_shifted(-1), "you kept k - 1 tokens: the k-th largest logit is kept too (use <, not <=, to drop)"),
    Mistake(
        _top_k_exactly,
        "a token tied with the k-th largest logit is dropped: keep every logit >= the k-th largest "
        "(drop only those below it), as the course's filter does, so equal scores are treated alike",
    ),
    Mistake(_smallest_k, "you kept the k smallest logits: keep the k largest (torch.topk gives them)"),
    Mistake(
        _drop_with_zero(sampling.top_k_filter),
        "the dropped logits must become -inf, not 0: softmax gives exp(0) a share",
    ),
    Mistake(
        _probabilities_returned(sampling.top_k_filter),
        "return logits, not probabilities: the kept tokens keep their logits, the others become -inf",
    ),
]


def _top_k_case(logits: torch.Tensor, k: int, label: str = "") -> Case:
    return Case((logits, k), label=label)


TOP_K_CASES = [
    _top_k_case(_row(2.0, -1.0, 0.5, 3.0, 1.0, 0.0), 3, "6 logits, k = 3"),
    _top_k_case(_row(2.0, 1.0, 1.0, 0.0, 1.0, -2.0), 2, "a tie at the k-th largest: [2, 1, 1, 0, 1, -2], k = 2"),
    _top_k_case(_row(0.5, 1.5, -0.5, 2.5), 1, "k = 1: greedy"),
    _top_k_case(_row(1.0, 3.0, 2.0), 10, "k = 10, larger than the vocabulary of 3: keep every logit"),
    _top_k_case(_row(1.0, 3.0, 2.0, 0.0), 4, "k equal to the vocabulary: keep every logit"),
    _top_k_case(
        torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0], [4.0, -1.0, 3.0, 3.0, 0.0]], dtype=torch.float64),
        2,
        "two rows (one per sequence), k = 2",
    ),
]


def _fresh_logits(rng: np.random.Generator) -> torch.Tensor:
    """1 or 2 rows of 3 to 12 logits, multiples of 1/4 (so ties happen)."""
    shape = (int(rng.integers(3, 13)),) if rng.random() < 0.6 else (2, int(rng.integers(3, 13)))
    return torch.from_numpy(np.round(rng.normal(scale=1.5, size=shape) * 4) / 4)


def _fresh_top_k(rng: np.random.Generator) -> Case:
    logits = _fresh_logits(rng)
    return _top_k_case(logits, int(rng.integers(1, logits.shape[-1] + 3)))


def top_k_filter(learner, *, quiet: bool = False) -> CheckResult:
    """``sampling.top_k_filter(logits, k)`` on torch logits: the k largest of each row kept (ties with the k-th too),
    the others -inf. Kept for lesson 07's GPT when it passes."""
    result = check_function(
        "top_k_filter",
        learner,
        sampling.top_k_filter,
        TOP_K_CASES,
        TOP_K_MISTAKES,
        fresh=_fresh_top_k,
        success="the k largest logits of each row survive (with any tied with the k-th), the rest are -inf.",
        quiet=True,
    )
    if not quiet:
        print(result)
        keep_if_passed(result, "top_k_filter", learner, lesson="05", used_in="lesson 07's GPT")
    return result


def _sorted_probs(logits):
    return torch.softmax(logits, dim=-1).sort(dim=-1, descending=True).values


def _keep_by(count):
    """A filter that keeps the ``count(sorted probabilities, p)`` most likely tokens of each row."""

    def wrong(logits, p):
        n_keep = count(_sorted_probs(logits), p)
        return _keep_count(logits, n_keep.unsqueeze(-1) if n_keep.ndim else n_keep)

    return wrong


def _mass_before(probs):
    return probs.cumsum(-1) - probs


CROSSING_DROPPED = (
    "the token that carries the total past p is dropped: keep it too. Drop a token only when the tokens "
    "before it already hold at least p (the running total before it >= p); so even a tiny p keeps one token"
)


def _unsorted(logits, p):
    """The running total taken in vocabulary order, not from the most likely token down."""
    probs = torch.softmax(logits, dim=-1)
    return logits.masked_fill(_mass_before(probs) >= p, float("-inf"))


def _summed_logits(logits, p):
    """The running total of the sorted logits themselves instead of their probabilities."""
    ordered = logits.sort(dim=-1, descending=True).values
    n_keep = (_mass_before(ordered) < p).sum(-1)
    return _keep_count(logits, n_keep.unsqueeze(-1) if n_keep.ndim else n_keep)


TOP_P_MISTAKES = [
    Mistake(_keep_by(lambda probs, p: (probs.cumsum(-1) <= p).sum(-1)), CROSSING_DROPPED),
    Mistake(_keep_by(lambda probs, p: (probs.cumsum(-1) < p).sum(-1)), CROSSING_DROPPED),
    Mistake(
        _keep_by(lambda probs, p: (_mass_before(probs) < p).sum(-1) + 1),
        "you kept one token too many: once the kept tokens hold at least p, drop the rest",
    ),
    Mistake(_unsorted, "sort the tokens by probability first (most likely first), then add them up"),
    Mistake(_summed_logits, "add up probabilities (the softmax of the logits), not the logits themselves"),
    Mistake(
        _drop_with_zero(sampling.top_p_filter),
        "the dropped logits must become -inf, not 0: softmax gives exp(0) a share",
    ),
    Mistake(
        _probabilities_returned(sampling.top_p_filter),
        "return logits, not probabilities: the kept tokens keep their logits, the others become -inf",
    ),
]

WORD_SCORES = (2.9, 1.8, 1.5, 1.2, 0.6, -0.8)  # the lesson's six candidate words after "What will be"

# No case puts p on a running total, nor a tie across the edge of the nucleus: there the tokens kept
# would depend on how a sort orders equal values, which no learner can be asked to match.
TOP_P_CASES = [
    Case((_row(*WORD_SCORES), 0.8), label="the lesson's six words, p = 0.8"),
    Case((_row(2.0, 1.0, 1.0, 0.0), 0.75), label="two tied logits inside the nucleus: [2, 1, 1, 0], p = 0.75"),
    Case((_row(*WORD_SCORES), 0.001), label="p = 0.001, close to 0: only the most likely token"),
    Case((_row(5.0, 3.0, 1.0, -3.0), 0.999), label="p = 0.999, close to 1: [5, 3, 1, -3] still drops the rarest"),
    Case((_row(*WORD_SCORES), 1.0), label="p = 1: keep every token"),
    Case((_row(0.2, 3.0, 0.1, 2.5, 1.0), 0.5), label="the largest logits not in front: [0.2, 3, 0.1, 2.5, 1], p = 0.5"),
    Case(
        (torch.tensor([[4.0, 0.0, 1.0, 0.5], [0.5, 0.4, 0.3, 0.2]], dtype=torch.float64), 0.6),
        label="two rows, a sure one and an unsure one, p = 0.6",
    ),
]


def _fresh_top_p(rng: np.random.Generator) -> Case:
    """Logits without ties and a p from 0.05 to 0.98 at least 0.002 away from every running total."""
    while True:
        shape = (int(rng.integers(3, 13)),) if rng.random() < 0.6 else (2, int(rng.integers(3, 13)))
        logits = torch.from_numpy(rng.normal(scale=2.0, size=shape).round(3))
        p = round(float(rng.uniform(0.05, 0.98)), 3)
        totals = _mass_before(_sorted_probs(logits))
        tied = (logits.unsqueeze(-1) == logits.unsqueeze(-2)).sum() > logits.numel()
        if not tied and bool(((totals - p).abs() > 2e-3).all()):
            return Case((logits, p))


def top_p_filter(learner, *, quiet: bool = False) -> CheckResult:
    """``top_p_filter(logits, p)`` on torch logits: the most likely tokens of each row until they hold at least p
    (the one that crosses p included), the others -inf. Kept for lesson 07's GPT when it passes."""
    result = check_function(
        "top_p_filter",
        learner,
        sampling.top_p_filter,
        TOP_P_CASES,
        TOP_P_MISTAKES,
        fresh=_fresh_top_p,
        success="each row keeps its most likely tokens until they hold at least p, and no more.",
        quiet=True,
    )
    if not quiet:
        print(result)
        keep_if_passed(result, "top_p_filter", learner, lesson="05", used_in="lesson 07's GPT")
    return result


REFERENCES = {
    "softmax": _stable,
    "softmax_with_temperature": sampling.softmax,
    "sample_index": _sample_index_reference,
    "probability_ratio": _ratio_reference,
    "top_k_filter": sampling.top_k_filter,
    "top_p_filter": sampling.top_p_filter,
}


def reference(exercise: str):
    """The course's version of an exercise's function, for the cells after an exercise that is not solved yet."""
    return pick_reference(REFERENCES, exercise)
