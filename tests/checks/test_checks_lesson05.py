"""Lesson 05's checkers: each accepts the reference, calls a stub unsolved, and names the likely bug."""

import math

import numpy as np
import pytest
import torch
from checker_support import (
    function_checkers,
    memorised_answer_fails,
    mutating_answer_corrupts_nothing,
    stub,
    verdict,
    wrong_kinds_are_not_yet,
)

from course_lib import sampling
from course_lib.checks import lesson05 as check
from course_lib.teaching import your_work

REFERENCE_NAMES = {
    "softmax",
    "softmax_with_temperature",
    "sample_index",
    "probability_ratio",
    "top_k_filter",
    "top_p_filter",
}


# --------------------------------------------------------------------------- softmax


def softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def test_softmax_accepts_reference_and_variants(capsys):
    verdict(check.softmax(softmax), True, "correct on all 7 test cases (1 drawn at random).")
    assert "[PASSED] softmax" in capsys.readouterr().out
    verdict(check.softmax(sampling.softmax), True)
    verdict(check.softmax(lambda x: np.exp(x - np.logaddexp.reduce(x, axis=-1, keepdims=True))), True)


def test_softmax_stub_and_mistakes():
    verdict(check.softmax(stub), False, "not solved yet")
    verdict(check.softmax(lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)), False, "overflow")
    by_min = lambda x: (
        np.exp(x - x.min(axis=-1, keepdims=True))
        / np.exp(x - x.min(axis=-1, keepdims=True)).sum(axis=-1, keepdims=True)
    )
    verdict(check.softmax(by_min), False, "subtract the largest score, not the smallest")
    verdict(check.softmax(lambda x: np.exp(x - x.max(axis=-1, keepdims=True))), False, "did not normalise")
    verdict(check.softmax(lambda x: x / x.sum(axis=-1, keepdims=True)), False, "divided the raw scores")
    verdict(check.softmax(lambda x: np.exp(x - x.max()) / np.exp(x - x.max()).sum()), False, "each row is its own")
    verdict(check.softmax(lambda x: softmax(x)[..., ::-1]), False, "values differ")


def test_softmax_without_warnings(recwarn):
    check.softmax(lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True))
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


# --------------------------------------------------------------------------- temperature


def softmax_with_temperature(logits, temperature):
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    return softmax(logits / temperature)


def test_temperature_accepts_reference():
    verdict(
        check.softmax_with_temperature(softmax_with_temperature),
        True,
        "correct on all 8 test cases (1 drawn at random).",
    )
    verdict(check.softmax_with_temperature(sampling.softmax), True)


def test_temperature_stub_and_mistakes():
    verdict(check.softmax_with_temperature(stub), False, "not solved yet")
    verdict(check.softmax_with_temperature(lambda x, t: softmax(x * t)), False, "you multiplied the scores by T")
    verdict(check.softmax_with_temperature(lambda x, t: softmax(x)), False, "does not change with T")
    verdict(check.softmax_with_temperature(lambda x, t: softmax(x) / t), False, "before exponentiating")
    naive = lambda x, t: np.exp(x / t) / np.exp(x / t).sum()
    verdict(check.softmax_with_temperature(naive), False, "overflow")
    verdict(check.softmax_with_temperature(lambda x, t: softmax(x / t)), False, "raise ValueError")


def test_temperature_other_refusals():
    def refuses_everything(x, t):
        raise ValueError("no")

    verdict(check.softmax_with_temperature(refuses_everything), False, "raised ValueError for a valid")

    def refuses_only_zero(x, t):
        if t == 0:
            raise ValueError("T = 0")
        return softmax(x / t)

    verdict(check.softmax_with_temperature(refuses_only_zero), False, "should raise ValueError, but it returned")


# --------------------------------------------------------------------------- sample_index


def sample_index(probs, u):
    total = 0.0
    for i, p in enumerate(probs):
        total += p
        if u < total:
            return i
    return len(probs) - 1


def test_sample_index_accepts_reference():
    verdict(check.sample_index(sample_index), True, "correct on all 7 test cases (1 drawn at random).")
    verdict(check.sample_index(lambda p, u: int(np.searchsorted(np.cumsum(p), u, side="right"))), True)


def test_sample_index_stub_and_mistakes():
    verdict(check.sample_index(stub), False, "not solved yet")
    verdict(check.sample_index(lambda p, u: int(np.argmax(p))), False, "greedy decoding")
    verdict(check.sample_index(lambda p, u: sample_index(p, u) + 1), False, "off by one")
    verdict(check.sample_index(lambda p, u: p[sample_index(p, u)]), False, "returned the probability")

    def each_probability(probs, u):
        for i, p in enumerate(probs):
            if u < p:
                return i
        return 0

    verdict(check.sample_index(each_probability), False, "running total")

    def less_or_equal(probs, u):
        total = 0.0
        for i, p in enumerate(probs):
            total += p
            if u <= total:
                return i
        return len(probs) - 1

    verdict(check.sample_index(less_or_equal), False, "at a boundary")


# --------------------------------------------------------------------------- probability_ratio


def probability_ratio(gap, temperature):
    return math.exp(gap / temperature)


def test_probability_ratio():
    verdict(check.probability_ratio(probability_ratio), True, "54.6 times")
    verdict(check.probability_ratio(stub), False, "not solved yet")
    verdict(check.probability_ratio(lambda g, t: math.exp(g)), False, "ratio at T = 1")
    verdict(check.probability_ratio(lambda g, t: math.exp(g * t)), False, "multiplied the gap by T")
    verdict(check.probability_ratio(lambda g, t: g / t), False, "exp(gap / T)")
    verdict(check.probability_ratio(lambda g, t: math.exp(-g / t)), False, "upside down")
    verdict(check.probability_ratio(lambda g, t: 54.598), False, "expected 2.718, got 54.6")  # one number typed


# --------------------------------------------------------------------------- top-k and top-p


def top_k_ok(logits, k):
    if k >= logits.shape[-1]:
        return logits.clone()
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_ok(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    before = torch.cumsum(probs, dim=-1) - probs
    drop = torch.zeros_like(before, dtype=torch.bool).scatter(-1, order, before >= p)
    return logits.masked_fill(drop, float("-inf"))


def test_filters_accept_a_right_answer_and_report_a_stub(capsys):
    for checker, right in ((check.top_k_filter, top_k_ok), (check.top_p_filter, top_p_ok)):
        verdict(checker(right), True)
        assert "[PASSED]" in capsys.readouterr().out
        verdict(checker(stub, quiet=True), False, "not solved yet")


def test_filters_keep_a_passing_answer_only_when_not_quiet(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_WORK_DIR", str(tmp_path))
    verdict(check.top_k_filter(top_k_ok, quiet=True), True)
    assert not (tmp_path / "top_k_filter.py").exists()
    verdict(check.top_p_filter(top_p_ok), True)
    assert "Kept as" in capsys.readouterr().out and (tmp_path / "top_p_filter.py").is_file()
    kept = your_work.use("top_p_filter", sampling.top_p_filter, lesson="05", check=check.top_p_filter)
    assert kept is not sampling.top_p_filter and "Using your top_p_filter" in capsys.readouterr().out


def _k_plus_one(logits, k):
    return top_k_ok(logits, k + 1)


def _exactly_k(logits, k):
    if k >= logits.shape[-1]:
        return logits.clone()
    keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, torch.topk(logits, k, dim=-1).indices, True)
    return logits.masked_fill(~keep, float("-inf"))


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_k_plus_one, "you kept k + 1 tokens"),
        (lambda x, k: top_k_ok(x, max(k - 1, 1)), "you kept k - 1 tokens"),
        (_exactly_k, "a token tied with the k-th largest logit is dropped"),
        (lambda x, k: top_k_ok(x, k).nan_to_num(neginf=0.0), "must become -inf, not 0"),
        (lambda x, k: torch.softmax(top_k_ok(x, k), dim=-1), "return logits, not probabilities"),
        (lambda x, k: x.masked_fill(x < torch.topk(x, k, dim=-1).values[..., -1:], float("-inf")), "raised"),
    ],
)
def test_top_k_mistakes(wrong, hint):
    verdict(check.top_k_filter(wrong, quiet=True), False, hint)


def _crossing_dropped(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    drop = torch.zeros_like(probs, dtype=torch.bool).scatter(-1, order, torch.cumsum(probs, dim=-1) > p)
    return logits.masked_fill(drop, float("-inf"))


def _unsorted(logits, p):
    probs = torch.softmax(logits, dim=-1)
    return logits.masked_fill(torch.cumsum(probs, dim=-1) - probs >= p, float("-inf"))


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (_crossing_dropped, "the token that carries the total past p is dropped"),
        (_unsorted, "sort the tokens by probability first"),
        (lambda x, p: top_p_ok(x, p).nan_to_num(neginf=0.0), "must become -inf, not 0"),
        (lambda x, p: torch.softmax(top_p_ok(x, p), dim=-1), "return logits, not probabilities"),
    ],
)
def test_top_p_mistakes(wrong, hint):
    verdict(check.top_p_filter(wrong, quiet=True), False, hint)


def test_the_filter_cases_cover_ties_a_large_k_and_p_near_0_and_1():
    labels = " ".join(case.label for case in check.TOP_K_CASES + check.TOP_P_CASES)
    for what in ("tie", "larger than the vocabulary", "p = 0.001", "p = 0.999", "p = 1"):
        assert what in labels
    for case in check.TOP_P_CASES:  # no p sits on a running total: the kept set does not hang on rounding
        totals = check._mass_before(check._sorted_probs(case.args[0]))
        assert bool(((totals - case.args[1]).abs() > 5e-4).all()), case.label


def test_reference_stands_in_for_every_function_exercise():
    for name in [n for n in check.__all__ if n in REFERENCE_NAMES]:
        verdict(getattr(check, name)(check.reference(name)), True)
    with pytest.raises(ValueError, match="exercise must be one of"):
        check.reference("no_such_exercise")


# --------------------------------------------------------------------------- hard to fool, impossible to crash

ROBUSTNESS = [
    (check.softmax, softmax, lambda x: np.exp(x - x.max(axis=-1, keepdims=True)), "did not normalise"),
    (
        check.softmax_with_temperature,
        softmax_with_temperature,
        lambda x, t: softmax(x * t),
        "you multiplied the scores by T",
    ),
    (check.sample_index, sample_index, lambda p, u: sample_index(p, u) + 1, "off by one"),
    (check.probability_ratio, probability_ratio, lambda g, t: math.exp(g), "ratio at T = 1"),
    (check.top_k_filter, top_k_ok, _k_plus_one, "you kept k + 1 tokens"),
    (check.top_p_filter, top_p_ok, _crossing_dropped, "the token that carries the total past p is dropped"),
]
NAMES = [checker.__name__ for checker, *_ in ROBUSTNESS]
KEPT = {"top_k_filter", "top_p_filter"}  # checkers with a quiet=False keyword: they keep a passing answer


def test_robustness_covers_every_function_checker():
    assert set(NAMES) == function_checkers(check) | KEPT == set(check.REFERENCES)


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_an_answer_that_memorised_the_cases_fails(checker, right, wrong, hint):
    memorised_answer_fails(checker, right)


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_an_answer_that_mutates_its_input_corrupts_nothing(checker, right, wrong, hint):
    mutating_answer_corrupts_nothing(checker, right, wrong, hint)


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_answers_of_the_wrong_kind_are_not_yet(checker, right, wrong, hint):
    wrong_kinds_are_not_yet(checker, right)
