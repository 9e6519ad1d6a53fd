"""Checkers for lesson 08 (training): each runs the learner's answer and names the likely bug.

In the notebook::

    from course_lib.checks import lesson08 as check
    check.cross_entropy(cross_entropy)
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from course_lib import sampling
from course_lib.checks import Case, CheckResult, Mistake, check_function, check_value, pick_reference, same

__all__ = ["uniform_loss", "cross_entropy", "grad_logits", "sgd_step", "reference"]


# --------------------------------------------------------------------------- the loss of a blind guess


def uniform_loss(got, vocab_size: int) -> CheckResult:
    """The loss of a model that gives all ``vocab_size`` tokens the same probability: ln(vocab_size)."""
    expected = math.log(vocab_size)
    return check_value(
        "uniform_loss",
        got,
        expected,
        [
            (math.log2(vocab_size), "that is in bits (log base 2); the course's losses use the natural log, np.log"),
            (math.log10(vocab_size), "that is log base 10; the course's losses use the natural log, np.log"),
            (1 / vocab_size, "that is the probability of the correct token; the loss is minus its log"),
            (-math.log(vocab_size), "the sign: the loss is MINUS the log-probability, so it is positive"),
            (float(vocab_size), "that is the number of tokens; the loss is -log(1 / vocab_size)"),
        ],
        compare=lambda g, e: same(g, e, rtol=1e-4),
        success=f"correct: -ln(1/{vocab_size}) = ln({vocab_size}) = {expected:.3f} nats.",
    )


# --------------------------------------------------------------------------- cross-entropy


def _cross_entropy_reference(logits, targets):
    return float(F.cross_entropy(torch.as_tensor(logits, dtype=torch.float64), torch.as_tensor(targets)))


def _probs(logits):
    return sampling.softmax(np.asarray(logits, dtype=float))


def _rows(logits):
    return np.arange(len(logits))


def _naive_log_softmax_loss(logits, targets):
    e = np.exp(np.asarray(logits, dtype=float))
    p = e / e.sum(axis=-1, keepdims=True)
    return float(-np.log(p[_rows(logits), targets]).mean())


def _ce_cases() -> list[Case]:
    rng = np.random.default_rng(8)
    cases = [
        Case((np.array([[2.0, 0.5, -1.0, 0.0], [0.1, 0.2, 3.0, -2.0], [1.0, 1.0, 1.0, 1.0]]), np.array([0, 2, 3]))),
        Case((rng.normal(size=(5, 6)) * 2, np.array([1, 4, 0, 5, 2]))),
        Case((np.array([[0.3, -0.7, 2.2]]), np.array([1])), label="one position whose target is not the likeliest"),
        Case(
            (np.array([[1000.0, 1002.0, 999.0], [-1000.0, 0.0, 1000.0]]), np.array([1, 0])),
            label="large scores [[1000, 1002, 999], [-1000, 0, 1000]]",
        ),
    ]
    return cases


CE_MISTAKES = [
    Mistake(
        lambda x, t: float(np.log(_probs(x)[_rows(x), t]).mean()),
        "the sign: the loss is MINUS the log-probability of the correct token, so it is positive",
    ),
    Mistake(
        lambda x, t: float(-np.log(_probs(x)[_rows(x), t]).sum()),
        "take the mean over the positions, not the sum (PyTorch's cross_entropy averages)",
    ),
    Mistake(
        lambda x, t: float(-_probs(x)[_rows(x), t].mean()),
        "take the log of the probability: the loss is -log p(correct token), not -p",
    ),
    Mistake(
        lambda x, t: float(-np.asarray(x, dtype=float)[_rows(x), t].mean()),
        "turn the scores into probabilities first (softmax), then take -log of the correct token's probability",
    ),
    Mistake(
        lambda x, t: float(-np.log2(_probs(x)[_rows(x), t]).mean()),
        "that is in bits (log base 2); use the natural log, np.log, as PyTorch does",
    ),
    Mistake(
        lambda x, t: float(-np.log(_probs(x)[:, t]).mean()),
        "pick one entry per row: probs[np.arange(len(targets)), targets], not probs[:, targets]",
    ),
    Mistake(
        _naive_log_softmax_loss,
        "overflow: exp(1000) is inf. Subtract each row's largest score before exponentiating "
        "(or use log-softmax: x - max - log(sum(exp(x - max))))",
    ),
]


def _same_or_both_nan(got, expected) -> tuple[bool, str]:
    """``same``, except that NaN matches NaN: how an overflowing answer is recognised as the naive mistake."""
    return same(got, expected, equal_nan=True)


def _fresh_ce(rng: np.random.Generator) -> Case:
    """1 to 6 positions over 2 to 10 tokens, scores spread by up to 4, targets drawn (an int array)."""
    positions, vocab = int(rng.integers(1, 7)), int(rng.integers(2, 11))
    logits = (rng.normal(size=(positions, vocab)) * rng.uniform(0.5, 4.0)).round(3)
    return Case((logits, rng.integers(0, vocab, size=positions)))


def cross_entropy(learner) -> CheckResult:
    """``cross_entropy(logits, targets)``: mean over rows of -log softmax(logits)[row, target], as a float."""
    with np.errstate(all="ignore"):  # the naive version overflows on purpose; the hint says so in words
        return check_function(
            "cross_entropy",
            learner,
            _cross_entropy_reference,
            _ce_cases(),
            CE_MISTAKES,
            fresh=_fresh_ce,
            compare=_same_or_both_nan,
        )


# --------------------------------------------------------------------------- the gradient at the logits


def _grad_reference(logits, target):
    x = torch.tensor(np.asarray(logits, dtype=float), requires_grad=True)
    F.cross_entropy(x[None], torch.tensor([target])).backward()
    return x.grad.numpy()


def _one_hot(logits, target):
    y = np.zeros(len(logits))
    y[target] = 1.0
    return y


GRAD_CASES = [
    Case((np.array([2.0, 1.0, 0.1]), 0)),
    Case((np.array([2.0, 1.0, 0.1]), 2)),
    Case((np.array([0.5, -1.0, 3.0, 0.0, 1.5]), 3)),
    Case((np.zeros(4), 1), label="four equal scores, target 1"),
]
GRAD_MISTAKES = [
    Mistake(
        lambda x, t: _one_hot(x, t) - _probs(x),
        "the sign is flipped: the gradient is probs - one_hot, the direction in which the loss grows",
    ),
    Mistake(lambda x, t: _probs(x), "subtract 1 at the target: the gradient is probs - one_hot(target)"),
    Mistake(
        lambda x, t: -_one_hot(x, t), "every score gets a gradient, not only the target's: probs - one_hot(target)"
    ),
    Mistake(
        lambda x, t: _probs(x) * (1 - _probs(x)),
        "that is the derivative of one probability by its own score; the loss's gradient is probs - one_hot(target)",
    ),
]


def _fresh_grad(rng: np.random.Generator) -> Case:
    vocab = int(rng.integers(2, 11))
    return Case(((rng.normal(size=vocab) * 2).round(3), int(rng.integers(0, vocab))))


def grad_logits(learner) -> CheckResult:
    """``grad_logits(logits, target)``: d(cross-entropy)/d(logits) for one position = softmax(logits) - one_hot."""
    return check_function("grad_logits", learner, _grad_reference, GRAD_CASES, GRAD_MISTAKES, fresh=_fresh_grad)


# --------------------------------------------------------------------------- one step downhill


def _sgd_reference(weights, grad, learning_rate):
    return weights - learning_rate * grad


SGD_CASES = [
    Case((np.array([1.0, -2.0, 0.5]), np.array([0.2, -0.4, 1.0]), 0.1)),
    Case((np.array([[0.3, 0.1], [-0.2, 0.4]]), np.array([[1.0, -1.0], [0.5, 0.0]]), 0.5)),
    Case((np.array([2.0, 2.0]), np.array([3.0, -1.0]), 0.01)),
]
SGD_MISTAKES = [
    Mistake(
        lambda w, g, lr: w + lr * g,
        "you stepped uphill: the gradient points where the loss grows, so subtract it",
    ),
    Mistake(lambda w, g, lr: w - g, "scale the step by the learning rate: weights - learning_rate * grad"),
    Mistake(lambda w, g, lr: -lr * g, "return the new weights (old weights minus the step), not only the step"),
    Mistake(lambda w, g, lr: w - g / lr, "multiply the gradient by the learning rate, don't divide by it"),
]


def _fresh_sgd(rng: np.random.Generator) -> Case:
    """Weights and a gradient of one random shape (a vector or a matrix), and a learning rate from 0.001 to 1."""
    shape = (int(rng.integers(1, 7)),) if rng.random() < 0.5 else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    weights, grad = rng.normal(size=shape).round(3), rng.normal(size=shape).round(3)
    return Case((weights, grad, round(float(10 ** rng.uniform(-3, 0)), 4)))


def sgd_step(learner) -> CheckResult:
    """``sgd_step(weights, grad, learning_rate)``: the weights after one step of gradient descent (a new array)."""
    return check_function("sgd_step", learner, _sgd_reference, SGD_CASES, SGD_MISTAKES, fresh=_fresh_sgd)


REFERENCES = {
    "cross_entropy": _cross_entropy_reference,
    "grad_logits": _grad_reference,
    "sgd_step": _sgd_reference,
}


def reference(exercise: str):
    """The course's version of an exercise's function, for the cells after an exercise that is not solved yet."""
    return pick_reference(REFERENCES, exercise)
