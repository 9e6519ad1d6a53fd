"""Lesson 04's checkers accept the reference, call a stub "not solved", and explain plausible mistakes."""

import math

import numpy as np
import pytest
from checker_support import (
    accepts_and_reports_stub,
    counts_accept_whole_floats,
    function_checkers,
    memorised_answer_fails,
    mutating_answer_corrupts_nothing,
    verdict,
    wrong_kinds_are_not_yet,
    wrong_values_are_not_yet,
)

from course_lib.checks import lesson04 as check
from course_lib.sampling import softmax

# --------------------------------------------------------------------------- references a learner might write


def scores_ok(q, k):
    return q @ k.T / math.sqrt(k.shape[1])


def causal_softmax_ok(scores):
    t = scores.shape[0]
    masked = np.where(np.tril(np.ones((t, t))) == 1, scores, -np.inf)
    e = np.exp(masked - masked.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def attention_ok(q, k, v):
    return causal_softmax_ok(scores_ok(q, k)) @ v


def tril(s):
    return np.tril(np.ones(s.shape, dtype=bool))


# --------------------------------------------------------------------------- function checkers


@pytest.mark.parametrize(
    ("checker", "right"),
    [(check.scaled_scores, scores_ok), (check.causal_softmax, causal_softmax_ok), (check.attention, attention_ok)],
)
def test_accepts_a_right_answer_and_reports_a_stub(checker, right, capsys):
    accepts_and_reports_stub(checker, right, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda q, k: q @ k.T, "did you divide by sqrt(d_k)?"),
        (lambda q, k: q @ k.T / k.shape[1], "not by d_k itself"),
        (lambda q, k: q @ k.T / math.sqrt(len(q)), "not the number of tokens"),
        (lambda q, k: k @ q.T / math.sqrt(k.shape[1]), "compute Q K^T"),
    ],
)
def test_scaled_scores_mistakes(wrong, hint):
    result = check.scaled_scores(wrong)
    assert not result.passed and hint in result.message


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda s: softmax(s), "did you apply the causal mask?"),
        (lambda s: np.where(tril(s), softmax(s), 0.0), "is your mask applied before the softmax?"),
        (lambda s: softmax(np.where(tril(s), s, -np.inf).T).T, "softmax over the wrong axis?"),
        (lambda s: softmax(np.where(tril(s), s, 0.0)), "must be -inf, not 0"),
        (lambda s: softmax(np.where(tril(s).T, s, -np.inf)), "keeps the future"),
    ],
)
def test_causal_softmax_mistakes(wrong, hint):
    result = check.causal_softmax(wrong)
    assert not result.passed and hint in result.message


def test_masking_after_softmax_then_renormalising_is_right():
    def renormalised(s):
        p = np.where(tril(s), softmax(s), 0.0)
        return p / p.sum(axis=-1, keepdims=True)

    assert check.causal_softmax(renormalised).passed


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda q, k, v: causal_softmax_ok(q @ k.T) @ v, "did you divide by sqrt(d_k)?"),
        (lambda q, k, v: softmax(scores_ok(q, k)) @ v, "did you apply the causal mask"),
        (lambda q, k, v: np.where(tril(q @ k.T), softmax(scores_ok(q, k)), 0) @ v, "mask applied before the softmax"),
        (lambda q, k, v: causal_softmax_ok(scores_ok(q, k)).T @ v, "not its transpose"),
        (lambda q, k, v: scores_ok(q, k) @ v, "softmax first"),
    ],
)
def test_attention_mistakes(wrong, hint):
    result = check.attention(wrong)
    assert not result.passed and hint in result.message


def test_a_crash_is_reported_not_raised():
    result = check.attention(lambda q, k, v: q @ k @ v)
    assert not result.passed and "raised ValueError" in result.message


# --------------------------------------------------------------------------- value checkers


def test_gpt3_heads():
    assert check.gpt3_heads(96 * 96).passed
    assert "not solved yet" in check.gpt3_heads(...).message
    assert "multiply" in check.gpt3_heads(96 + 96).message
    assert "one layer's heads" in check.gpt3_heads(96).message


def test_pattern_entries():
    assert check.pattern_entries(2048**2).passed
    assert check.pattern_entries(100, context_length=10).passed
    assert "not solved yet" in check.pattern_entries(None).message
    assert "T x T, not T." in check.pattern_entries(2048).message
    assert "still stored" in check.pattern_entries(2048 * 2049 // 2).message


@pytest.mark.parametrize(
    ("checker", "right"),
    [
        (check.gpt3_heads, 96 * 96),
        (check.pattern_entries, 2048**2),
        (check.gpt3_attention_parameters, 4 * 12288**2 * 96),
    ],
)
def test_counts_accept_whole_floats_and_refuse_the_rest(checker, right):
    counts_accept_whole_floats(checker, right)
    wrong_values_are_not_yet(checker)


def test_gpt3_attention_parameters():
    d = 12288
    assert check.gpt3_attention_parameters(4 * d * d * 96).passed
    assert check.gpt3_attention_parameters(96 * (4 * d * d + 4 * d)).passed  # with biases: also fine
    assert check.gpt3_attention_parameters(58e9).passed
    assert "not solved yet" in check.gpt3_attention_parameters(...).message
    assert "output projection" in check.gpt3_attention_parameters(3 * d * d * 96).message
    assert "that is one layer" in check.gpt3_attention_parameters(4 * d * d).message
    assert "the heads split d" in check.gpt3_attention_parameters(4 * d * d * 96 * 96).message


# --------------------------------------------------------------------------- hard to fool, impossible to crash

ROBUSTNESS = [
    (check.scaled_scores, scores_ok, lambda q, k: q @ k.T, "did you divide by sqrt(d_k)?"),
    (check.causal_softmax, causal_softmax_ok, lambda s: softmax(s), "did you apply the causal mask?"),
    (check.attention, attention_ok, lambda q, k, v: scores_ok(q, k) @ v, "softmax first"),
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


def test_the_reference_passes_every_function_checker():
    for name in function_checkers(check):
        verdict(getattr(check, name)(check.reference(name)), True)
