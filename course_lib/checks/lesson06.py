"""Checkers for lesson 06 (the MLP): each runs the learner's answer and names the likely bug.

In the notebook::

    from course_lib.checks import lesson06 as check
    check.linear(linear)
"""

from __future__ import annotations

import math

import numpy as np

from course_lib.checks import Case, CheckResult, Mistake, check_function, check_value
from course_lib.mlp import gelu, mlp_block, relu

__all__ = ["linear", "gelu_tanh", "mlp_residual", "mean_difference", "mlp_share"]


def _cases(shapes: list[tuple[tuple[int, ...], ...]], seed: int) -> list[Case]:
    rng = np.random.default_rng(seed)
    return [Case(tuple(rng.normal(size=s).round(2) for s in shape)) for shape in shapes]


# --------------------------------------------------------------------------- a linear layer


LINEAR_CASES = [
    Case(
        (np.array([1.0, 2.0]), np.array([[1.0, 0.0], [1.0, -1.0]]), np.array([0.5, 1.0])),
        label="x=[1, 2], W=[[1, 0], [1, -1]], b=[0.5, 1]",
    ),
    *_cases([((3,), (3, 3), (3,)), ((4,), (2, 4), (2,)), ((2,), (5, 2), (5,))], seed=0),
]


def linear(learner) -> CheckResult:
    """``linear(x, W, b)`` for one vector ``x``: ``W @ x + b`` (row i of W asks question i)."""
    return check_function(
        "linear",
        learner,
        lambda x, w, b: w @ x + b,
        LINEAR_CASES,
        [
            Mistake(lambda x, w, b: w @ x, "did you add the bias b?"),
            Mistake(
                lambda x, w, b: x @ w + b, "each output is a row of W dotted with x (W @ x), not a column (x @ W)."
            ),
            Mistake(lambda x, w, b: w @ x - b, "add the bias, do not subtract it."),
            Mistake(lambda x, w, b: (w * x).sum(axis=0) + b, "sum each row's products (axis=1), not each column's."),
        ],
        success="one dot product per row of W, plus that row's bias.",
    )


# --------------------------------------------------------------------------- GELU


GELU_CASES = [
    Case((np.array([-3.0, -1.0, 0.0, 0.5, 1.0, 3.0]),), label="x = [-3, -1, 0, 0.5, 1, 3]"),
    Case((np.linspace(-4, 4, 17),), label="17 points from -4 to 4"),
]


def gelu_tanh(learner) -> CheckResult:
    """``gelu_tanh(x)``: GPT-2's GELU, ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    c = math.sqrt(2 / math.pi)
    return check_function(
        "gelu_tanh",
        learner,
        lambda x: gelu(x, approximate="tanh"),
        GELU_CASES,
        [
            Mistake(relu, "that is ReLU; GELU is smooth and slightly negative just below zero."),
            Mistake(
                lambda x: 0.5 * (1 + np.tanh(c * (x + 0.044715 * x**3))),
                "multiply by x: GELU is x times a smooth step between 0 and 1.",
            ),
            Mistake(
                lambda x: 0.5 * x * (1 + np.tanh(c * x)), "did you forget the 0.044715 * x**3 term inside the tanh?"
            ),
            Mistake(
                lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 * math.pi) * (x + 0.044715 * x**3))),
                "the constant is sqrt(2 / pi), not sqrt(2 * pi).",
            ),
            Mistake(lambda x: gelu(x), "close: that is the exact (erf) GELU; here use the tanh formula."),
            Mistake(lambda x: x / (1 + np.exp(-x)), "that is SiLU, x * sigmoid(x); use the tanh formula."),
        ],
        success="your curve matches GPT-2's GELU.",
    )


# --------------------------------------------------------------------------- the block


def _mlp_reference(x, w_up, b_up, w_down, b_down):
    return x + mlp_block(x, w_up, b_up, w_down, b_down, activation="relu")


MLP_CASES = [
    Case(
        (
            np.array([[1.0, -1.0]]),
            np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
            np.array([0.0, 0.0, 0.5]),
            np.array([[1.0, 1.0, 1.0], [0.0, 2.0, -1.0]]),
            np.array([0.0, 0.0]),
        ),
        label="one position x=[1, -1], 3 neurons",
    ),
    *_cases([((3, 2), (8, 2), (8,), (2, 8), (2,)), ((5, 4), (16, 4), (16,), (4, 16), (4,))], seed=3),
]


def mlp_residual(learner) -> CheckResult:
    """``mlp_residual(x, w_up, b_up, w_down, b_down)`` -> ``x + (ReLU(x W_up^T + b_up) W_down^T + b_down)``."""
    return check_function(
        "mlp_residual",
        learner,
        _mlp_reference,
        MLP_CASES,
        [
            Mistake(
                lambda x, wu, bu, wd, bd: mlp_block(x, wu, bu, wd, bd, activation="relu"),
                "did you add the block's output back to x (the residual stream)?",
            ),
            Mistake(
                lambda x, wu, bu, wd, bd: x + (x @ wu.T + bu) @ wd.T + bd,
                "the neurons need the ReLU between the two projections: without it the block is just linear.",
            ),
            Mistake(
                lambda x, wu, bu, wd, bd: x + relu(relu(x @ wu.T + bu) @ wd.T + bd),
                "apply ReLU only to the hidden neurons, not to the down-projection's output.",
            ),
            Mistake(
                lambda x, wu, bu, wd, bd: x + relu(x @ wu.T) @ wd.T + bd,
                "did you add the up-projection's bias b_up before the ReLU?",
            ),
            Mistake(
                lambda x, wu, bu, wd, bd: x + relu(x @ wu.T + bu) @ wd.T,
                "did you add the down-projection's bias b_down?",
            ),
        ],
        success="up, ReLU, down, and added to the residual stream, for every position.",
    )


# --------------------------------------------------------------------------- neurons


def _mean_difference_reference(acts, mask):
    return acts[mask].mean(axis=0) - acts[~mask].mean(axis=0)


def _mask_cases() -> list[Case]:
    rng = np.random.default_rng(4)
    cases = []
    for positions, neurons in ((6, 3), (20, 5), (9, 1)):
        acts = rng.normal(size=(positions, neurons)).round(2)
        mask = np.zeros(positions, dtype=bool)
        mask[rng.choice(positions, size=positions // 3, replace=False)] = True
        cases.append(Case((acts, mask)))
    return cases


def mean_difference(learner) -> CheckResult:
    """``mean_difference(acts, mask)``: per neuron, mean where ``mask`` holds minus mean where it does not."""
    return check_function(
        "mean_difference",
        learner,
        _mean_difference_reference,
        _mask_cases(),
        [
            Mistake(
                lambda a, m: a[~m].mean(axis=0) - a[m].mean(axis=0),
                "the sign is flipped: subtract the mean *without* the property from the mean *with* it.",
            ),
            Mistake(
                lambda a, m: a[m].mean(axis=0) - a.mean(axis=0),
                "compare with the positions without the property (acts[~mask]), not with all positions.",
            ),
            Mistake(
                lambda a, m: a[m].sum(axis=0) - a[~m].sum(axis=0),
                "use means, not sums: the two groups have different sizes.",
            ),
            Mistake(lambda a, m: a[m].mean(axis=0), "subtract the mean activation where the property does not hold."),
        ],
        success="a positive number means the neuron fires more where the property holds.",
    )


def mlp_share(got) -> CheckResult:
    """The MLP's share of a block's attention + MLP weights (ratio 4): 8 d^2 / (4 d^2 + 8 d^2)."""
    return check_value(
        "mlp_share",
        got,
        2 / 3,
        [
            (1 / 3, "that is attention's share: 4 d^2 of the 12 d^2."),
            (0.5, "the MLP has two d x 4d matrices (8 d^2), attention four d x d ones (4 d^2): not equal."),
            (0.8, "the MLP's two matrices are d x 4d and 4d x d: 8 d^2 together, not 16 d^2."),
            (2.0, "that is MLP / attention; the share is MLP / (MLP + attention)."),
        ],
        success="8 d^2 of every 12 d^2: two thirds, at any width d.",
    )
