"""Lesson 06's checkers accept the reference, call a stub "not solved", and explain plausible mistakes."""

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from checker_support import (
    accepts_and_reports_stub,
    function_checkers,
    memorised_answer_fails,
    mutating_answer_corrupts_nothing,
    stub,
    verdict,
    wrong_kinds_are_not_yet,
)

from course_lib import sizes
from course_lib.checks import lesson06 as check
from course_lib.model import GPTConfig


def linear_ok(x, w, b):
    return np.array([row @ x for row in w]) + b


def gelu_tanh_ok(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def mlp_residual_ok(x, w_up, b_up, w_down, b_down):
    neurons = np.maximum(0, x @ w_up.T + b_up)
    return x + neurons @ w_down.T + b_down


def mean_difference_ok(acts, mask):
    return acts[mask].mean(axis=0) - acts[~mask].mean(axis=0)


def gelu(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def mlp_ok(x, w_up, b_up, w_down, b_down):
    return gelu(x @ w_up.T + b_up) @ w_down.T + b_down


def mlp_share_ok(config):
    d, bias = config.n_embd, int(config.bias)
    attention, mlp = 4 * d * d + bias * 4 * d, 8 * d * d + bias * 5 * d
    return mlp / (attention + mlp)


@pytest.mark.parametrize(
    ("checker", "right"),
    [
        (check.linear, linear_ok),
        (check.gelu_tanh, gelu_tanh_ok),
        (check.mlp_residual, mlp_residual_ok),
        (check.mean_difference, mean_difference_ok),
        (check.mlp, mlp_ok),
        (check.mlp_share, mlp_share_ok),
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


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, wu, bu, wd, bd: F.gelu(x @ wu.T + bu) @ wd.T + bd, "exact (erf) GELU"),
        (lambda x, wu, bu, wd, bd: torch.relu(x @ wu.T + bu) @ wd.T + bd, "that is ReLU"),
        (lambda x, wu, bu, wd, bd: gelu(x @ wu.T) @ wd.T + bd, "b_up"),
        (lambda x, wu, bu, wd, bd: gelu(x @ wu.T + bu) @ wd.T, "b_down"),
        (lambda x, wu, bu, wd, bd: gelu(x @ wu + bu) @ wd + bd, "one row per output"),
        (lambda x, wu, bu, wd, bd: x + gelu(x @ wu.T + bu) @ wd.T + bd, "return the block's output only"),
    ],
)
def test_mlp_mistakes(wrong, hint):
    verdict(check.mlp(wrong), False, hint)


def test_mlp_accepts_torch_functions_and_is_checked_on_other_widths():
    verdict(
        check.mlp(lambda x, wu, bu, wd, bd: F.linear(F.gelu(F.linear(x, wu, bu), approximate="tanh"), wd, bd)), True
    )
    only_the_course_width = lambda x, wu, bu, wd, bd: mlp_ok(x, wu, bu, wd, bd) if x.shape[-1] == 128 else x
    verdict(check.mlp(only_the_course_width), False, "random weights")


def test_mlp_keeps_a_passing_answer_and_quiet_keeps_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_WORK_DIR", str(tmp_path))
    assert check.mlp(mlp_ok, quiet=True) and not (tmp_path / "mlp.py").exists()
    assert capsys.readouterr().out == ""
    check.mlp(mlp_ok)
    out = capsys.readouterr().out
    assert "[PASSED] mlp" in out and "lesson 07's GPT uses it" in out
    kept = (tmp_path / "mlp.py").read_text()
    assert "def gelu(x):" in kept and "def mlp_ok(" in kept and "mlp = mlp_ok" in kept  # the helper came along
    assert not check.mlp(stub) and "not solved yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda c: 2 / 3, "count the biases too"),
        (lambda c: 8 / 12, "count the biases too"),
        (lambda c: 1 - mlp_share_ok(c), "attention's share"),
        (lambda c: mlp_share_ok(c) / (1 - mlp_share_ok(c)), "MLP / (MLP + attention)"),
        (lambda c: sizes.count_parameters(c)["mlp"] / sizes.count_parameters(c)["total"], "embeddings included"),
    ],
)
def test_mlp_share_mistakes(wrong, hint):
    verdict(check.mlp_share(wrong), False, hint)


def test_mlp_share_is_checked_on_several_configs():
    course_only = lambda c: 526848 / (526848 + 264192)
    verdict(check.mlp_share(course_only), False, "GPT-2 small")
    biases_always = lambda c: mlp_share_ok(dataclasses.replace(c, bias=True))
    verdict(check.mlp_share(biases_always), False, "a model without biases")
    verdict(check.mlp_share(lambda c: sizes.mlp_share(c)["mlp_share_of_blocks"]), True)
    assert check.mlp_share(mlp_share_ok).passed and check.reference("mlp_share")(GPTConfig(bias=False)) == 2 / 3


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
    (check.mlp, mlp_ok, lambda x, wu, bu, wd, bd: torch.relu(x @ wu.T + bu) @ wd.T + bd, "that is ReLU"),
    (check.mlp_share, mlp_share_ok, lambda c: 1 - mlp_share_ok(c), "attention's share"),
]
NAMES = [checker.__name__ for checker, *_ in ROBUSTNESS]


def test_robustness_covers_every_function_checker():
    # check.mlp also takes quiet=True (how your_work.use re-runs it), so function_checkers leaves it out
    assert set(NAMES) == function_checkers(check) | {"mlp"} == set(check.REFERENCES)


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
    for name in function_checkers(check) | {"mlp"}:
        verdict(getattr(check, name)(check.reference(name)), True)
