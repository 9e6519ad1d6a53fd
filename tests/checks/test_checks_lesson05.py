"""Lesson 05's checkers: each accepts the reference, calls a stub unsolved, and names the likely bug."""

import math

import numpy as np
import pytest
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

REFERENCE_NAMES = {"softmax", "softmax_with_temperature", "sample_index"}


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


def test_probability_ratio():
    verdict(check.probability_ratio(math.exp(2 / 0.5)), True, "54.6 times")
    verdict(check.probability_ratio(...), False, "not solved yet")
    verdict(check.probability_ratio(math.exp(2)), False, "ratio at T = 1")
    verdict(check.probability_ratio(math.exp(1)), False, "multiplied the gap by T")
    verdict(check.probability_ratio(4.0), False, "exp(gap / T)")
    verdict(check.probability_ratio(math.exp(-4)), False, "upside down")
    verdict(check.probability_ratio(10.0), False, "expected 54.6")


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
]
NAMES = [checker.__name__ for checker, *_ in ROBUSTNESS]


def test_robustness_covers_every_function_checker():
    assert set(NAMES) == function_checkers(check) == set(check.REFERENCES)


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_an_answer_that_memorised_the_cases_fails(checker, right, wrong, hint):
    memorised_answer_fails(checker, right)


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_an_answer_that_mutates_its_input_corrupts_nothing(checker, right, wrong, hint):
    mutating_answer_corrupts_nothing(checker, right, wrong, hint)


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_answers_of_the_wrong_kind_are_not_yet(checker, right, wrong, hint):
    wrong_kinds_are_not_yet(checker, right)
