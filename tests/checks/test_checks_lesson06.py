"""Lesson 06's checkers accept the reference, call a stub "not solved", and explain plausible mistakes."""

import math

import numpy as np
import pytest
from checker_support import (
    accepts_and_reports_stub,
    function_checkers,
    memorised_answer_fails,
    mutating_answer_corrupts_nothing,
    verdict,
    wrong_kinds_are_not_yet,
)

from course_lib.checks import lesson06 as check


def linear_ok(x, w, b):
    return np.array([row @ x for row in w]) + b


def gelu_tanh_ok(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def mlp_residual_ok(x, w_up, b_up, w_down, b_down):
    neurons = np.maximum(0, x @ w_up.T + b_up)
    return x + neurons @ w_down.T + b_down


def mean_difference_ok(acts, mask):
    return acts[mask].mean(axis=0) - acts[~mask].mean(axis=0)


@pytest.mark.parametrize(
    ("checker", "right"),
    [
        (check.linear, linear_ok),
        (check.gelu_tanh, gelu_tanh_ok),
        (check.mlp_residual, mlp_residual_ok),
        (check.mean_difference, mean_difference_ok),
    ],
)
def test_accepts_a_right_answer_and_reports_a_stub(checker, right, capsys):
    accepts_and_reports_stub(checker, right, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, w, b: w @ x, "did you add the bias b?"),
        (lambda x, w, b: x @ w + b, "not a column"),
        (lambda x, w, b: w @ x - b, "do not subtract it"),
    ],
)
def test_linear_mistakes(wrong, hint):
    result = check.linear(wrong)
    assert not result.passed and hint in result.message


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x: np.maximum(x, 0), "that is ReLU"),
        (lambda x: 0.5 * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))), "multiply by x"),
        (lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * x)), "0.044715 * x**3"),
        (lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 * math.pi) * (x + 0.044715 * x**3))), "sqrt(2 / pi)"),
        (lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2))), "exact (erf) GELU"),
    ],
)
def test_gelu_tanh_mistakes(wrong, hint):
    result = check.gelu_tanh(wrong)
    assert not result.passed and hint in result.message


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, wu, bu, wd, bd: np.maximum(0, x @ wu.T + bu) @ wd.T + bd, "residual stream"),
        (lambda x, wu, bu, wd, bd: x + (x @ wu.T + bu) @ wd.T + bd, "need the ReLU"),
        (lambda x, wu, bu, wd, bd: x + np.maximum(0, np.maximum(0, x @ wu.T + bu) @ wd.T + bd), "only to the hidden"),
        (lambda x, wu, bu, wd, bd: x + np.maximum(0, x @ wu.T) @ wd.T + bd, "b_up"),
        (lambda x, wu, bu, wd, bd: x + np.maximum(0, x @ wu.T + bu) @ wd.T, "b_down"),
    ],
)
def test_mlp_residual_mistakes(wrong, hint):
    result = check.mlp_residual(wrong)
    assert not result.passed and hint in result.message


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda a, m: a[~m].mean(axis=0) - a[m].mean(axis=0), "the sign is flipped"),
        (lambda a, m: a[m].mean(axis=0) - a.mean(axis=0), "not with all positions"),
        (lambda a, m: a[m].sum(axis=0) - a[~m].sum(axis=0), "use means, not sums"),
    ],
)
def test_mean_difference_mistakes(wrong, hint):
    result = check.mean_difference(wrong)
    assert not result.passed and hint in result.message


def test_mlp_share():
    assert check.mlp_share(8 / 12).passed
    assert check.mlp_share(2 / 3).passed
    assert "not solved yet" in check.mlp_share(...).message
    assert "attention's share" in check.mlp_share(1 / 3).message
    assert "not equal" in check.mlp_share(0.5).message
    assert "MLP / (MLP + attention)" in check.mlp_share(2).message


# --------------------------------------------------------------------------- hard to fool, impossible to crash

ROBUSTNESS = [
    (check.linear, linear_ok, lambda x, w, b: w @ x, "did you add the bias b?"),
    (check.gelu_tanh, gelu_tanh_ok, lambda x: np.maximum(x, 0), "that is ReLU"),
    (
        check.mlp_residual,
        mlp_residual_ok,
        lambda x, wu, bu, wd, bd: np.maximum(0, x @ wu.T + bu) @ wd.T + bd,
        "residual stream",
    ),
    (
        check.mean_difference,
        mean_difference_ok,
        lambda a, m: a[~m].mean(axis=0) - a[m].mean(axis=0),
        "the sign is flipped",
    ),
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
