"""Lesson 08's checkers: each accepts the reference, calls a stub unsolved, and names the likely bug."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from checker_support import (
    function_checkers,
    memorised_answer_fails,
    mutating_answer_corrupts_nothing,
    stub,
    verdict,
    wrong_kinds_are_not_yet,
)

from course_lib.checks import lesson08 as check

REFERENCE_NAMES = {"cross_entropy", "grad_logits", "sgd_step"}


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------- uniform_loss


def test_uniform_loss():
    verdict(check.uniform_loss(math.log(84), 84), True, "ln(84) = 4.431")
    verdict(check.uniform_loss(-math.log(1 / 65), 65), True)
    verdict(check.uniform_loss(..., 84), False, "not solved yet")
    verdict(check.uniform_loss(math.log2(84), 84), False, "in bits")
    verdict(check.uniform_loss(1 / 84, 84), False, "probability of the correct token")
    verdict(check.uniform_loss(-math.log(84), 84), False, "the sign")
    verdict(check.uniform_loss(84, 84), False, "number of tokens")
    verdict(check.uniform_loss(3.0, 84), False, "expected 4.431")


# --------------------------------------------------------------------------- cross_entropy


def cross_entropy(logits, targets):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return float(-log_probs[np.arange(len(targets)), targets].mean())


def test_cross_entropy_accepts_reference_and_torch():
    verdict(check.cross_entropy(cross_entropy), True, "correct on all 5 test cases (1 drawn at random).")
    torch_version = lambda x, t: F.cross_entropy(torch.tensor(x), torch.tensor(t)).item()
    verdict(check.cross_entropy(torch_version), True)


def test_cross_entropy_stub_and_mistakes():
    rows = lambda t: np.arange(len(t))
    verdict(check.cross_entropy(stub), False, "not solved yet")
    verdict(check.cross_entropy(lambda x, t: np.log(softmax(x)[rows(t), t]).mean()), False, "the sign")
    verdict(check.cross_entropy(lambda x, t: -np.log(softmax(x)[rows(t), t]).sum()), False, "mean over the positions")
    verdict(check.cross_entropy(lambda x, t: -softmax(x)[rows(t), t].mean()), False, "take the log")
    verdict(check.cross_entropy(lambda x, t: -x[rows(t), t].mean()), False, "into probabilities first")
    verdict(check.cross_entropy(lambda x, t: -np.log2(softmax(x)[rows(t), t]).mean()), False, "in bits")
    verdict(check.cross_entropy(lambda x, t: -np.log(softmax(x)[:, t]).mean()), False, "one entry per row")

    def naive(x, t):
        p = np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)
        return -np.log(p[rows(t), t]).mean()

    verdict(check.cross_entropy(naive), False, "overflow")


# --------------------------------------------------------------------------- grad_logits


def grad_logits(logits, target):
    grad = softmax(logits)
    grad[target] -= 1.0
    return grad


def test_grad_logits_accepts_reference():
    verdict(check.grad_logits(grad_logits), True, "correct on all 5 test cases (1 drawn at random).")


def test_grad_logits_stub_and_mistakes():
    one_hot = lambda x, t: np.eye(len(x))[t]
    verdict(check.grad_logits(stub), False, "not solved yet")
    verdict(check.grad_logits(lambda x, t: one_hot(x, t) - softmax(x)), False, "sign is flipped")
    verdict(check.grad_logits(lambda x, t: softmax(x)), False, "subtract 1 at the target")
    verdict(check.grad_logits(lambda x, t: -one_hot(x, t)), False, "every score gets a gradient")
    verdict(check.grad_logits(lambda x, t: softmax(x) * (1 - softmax(x))), False, "derivative of one probability")


# --------------------------------------------------------------------------- sgd_step


def test_sgd_step():
    verdict(check.sgd_step(lambda w, g, lr: w - lr * g), True, "correct on all 4 test cases (1 drawn at random).")
    verdict(check.sgd_step(stub), False, "not solved yet")
    verdict(check.sgd_step(lambda w, g, lr: w + lr * g), False, "uphill")
    verdict(check.sgd_step(lambda w, g, lr: w - g), False, "scale the step by the learning rate")
    verdict(check.sgd_step(lambda w, g, lr: -lr * g), False, "return the new weights")
    verdict(check.sgd_step(lambda w, g, lr: w - g / lr), False, "don't divide")


def test_sgd_step_in_place_answer_still_checked():
    def in_place(w, g, lr):
        w -= lr * g
        return w

    verdict(check.sgd_step(in_place), True)


def test_reference_stands_in_for_every_function_exercise():
    for name in [n for n in check.__all__ if n in REFERENCE_NAMES]:
        verdict(getattr(check, name)(check.reference(name)), True)
    with pytest.raises(ValueError, match="exercise must be one of"):
        check.reference("no_such_exercise")


# --------------------------------------------------------------------------- hard to fool, impossible to crash

ROBUSTNESS = [
    (
        check.cross_entropy,
        cross_entropy,
        lambda x, t: -np.log(softmax(x)[np.arange(len(t)), t]).sum(),
        "mean over the positions",
    ),
    (check.grad_logits, grad_logits, lambda x, t: softmax(x), "subtract 1 at the target"),
    (check.sgd_step, lambda w, g, lr: w - lr * g, lambda w, g, lr: w + lr * g, "uphill"),
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
