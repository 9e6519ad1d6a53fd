"""Checkers for lesson 06 (the MLP): each runs the learner's answer and names the likely bug.

In the notebook::

    from course_lib.checks import lesson06 as check
    check.linear(linear)
"""

from __future__ import annotations

import math

import numpy as np

from course_lib.checks import Case, CheckResult, Mistake, check_function, check_value, pick_reference
from course_lib.mlp import gelu, mlp_block, relu

__all__ = ["linear", "gelu_tanh", "mlp_residual", "mean_difference", "mlp_share", "reference"]


def _cases(shapes: list[tuple[tuple[int, ...], ...]], seed: int | np.random.Generator) -> list[Case]:
    rng = np.random.default_rng(seed)
    return [Case(tuple(rng.normal(size=s).round(2) for s in shape)) for shape in shapes]


def _size(rng: np.random.Generator, low: int = 1, high: int = 6) -> int:
    return int(rng.integers(low, high + 1))


# --------------------------------------------------------------------------- a linear layer


LINEAR_CASES = [
    Case(
        (np.array([1.0, 2.0]), np.array([[1.0, 0.0], [1.0, -1.0]]), np.array([0.5, 1.0])),
        label="x=[1, 2], W=[[1, 0], [1, -1]], b=[0.5, 1]",
    ),
    *_cases([((3,), (3, 3), (3,)), ((4,), (2, 4), (2,)), ((2,), (5, 2), (5,))], seed=0),
]


def _linear_reference(x, w, b):
    return w @ x + b


def _fresh_linear(rng: np.random.Generator) -> Case:
    n_in, n_out = _size(rng, 2), _size(rng)
    return _cases([((n_in,), (n_out, n_in), (n_out,))], rng)[0]


def linear(learner) -> CheckResult:
    """``linear(x, W, b)`` for one vector ``x``: ``W @ x + b`` (row i of W asks question i)."""
    return check_function(
        "linear",
        learner,
        _linear_reference,
        LINEAR_CASES,
        [
            Mistake(lambda x, w, b: w @ x, "did you add the bias b?"),
            Mistake(
                lambda x, w, b: x @ w + b, "each output is a row of W dotted with x (W @ x), not a column (x @ W)."
            ),
            Mistake(lambda x, w, b: w @ x - b, "add the bias, do not subtract it."),
            Mistake(lambda x, w, b: (w * x).sum(axis=0) + b, "sum each row's products (axis=1), not each column's."),
        ],
        fresh=_fresh_linear,
        success="one dot product per row of W, plus that row's bias.",
    )


# --------------------------------------------------------------------------- GELU


GELU_CASES = [
    Case((np.array([-3.0, -1.0, 0.0, 0.5, 1.0, 3.0]),), label="x = [-3, -1, 0, 0.5, 1, 3]"),
    Case((np.linspace(-4, 4, 17),), label="17 points from -4 to 4"),
]


def _gelu_tanh_reference(x):
    return gelu(x, approximate="tanh")


def _fresh_gelu(rng: np.random.Generator) -> Case:
    """3 to 30 points from -5 to 5, as a row or as a (2, n) block of activations."""
    shape = (_size(rng, 3, 30),) if rng.random() < 0.5 else (2, _size(rng, 2, 15))
    return Case((rng.uniform(-5.0, 5.0, size=shape).round(3),))


def gelu_tanh(learner) -> CheckResult:
    """``gelu_tanh(x)``: GPT-2's GELU, ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    c = math.sqrt(2 / math.pi)
    return check_function(
        "gelu_tanh",
        learner,
        _gelu_tanh_reference,
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
        fresh=_fresh_gelu,
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


def _fresh_mlp(rng: np.random.Generator) -> Case:
    """T positions of width d through h neurons, T, d and h drawn (h from 2 to 16)."""
    t, d, h = _size(rng), _size(rng, 2), _size(rng, 2, 16)
    return _cases([((t, d), (h, d), (h,), (d, h), (d,))], rng)[0]


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
        fresh=_fresh_mlp,
        success="up, ReLU, down, and added to the residual stream, for every position.",
    )


# --------------------------------------------------------------------------- neurons


def _mean_difference_reference(acts, mask):
    return acts[mask].mean(axis=0) - acts[~mask].mean(axis=0)


def _mask_case(rng: np.random.Generator, positions: int, neurons: int, with_property: int) -> Case:
    acts = rng.normal(size=(positions, neurons)).round(2)
    mask = np.zeros(positions, dtype=bool)
    mask[rng.choice(positions, size=with_property, replace=False)] = True
    return Case((acts, mask))


def _mask_cases() -> list[Case]:
    rng = np.random.default_rng(4)
    return [_mask_case(rng, positions, neurons, positions // 3) for positions, neurons in ((6, 3), (20, 5), (9, 1))]


def _fresh_mask(rng: np.random.Generator) -> Case:
    """4 to 24 positions of 1 to 6 neurons; the property holds at some of them, but not at all."""
    positions = _size(rng, 4, 24)
    return _mask_case(rng, positions, _size(rng), int(rng.integers(1, positions)))


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
        fresh=_fresh_mask,
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


REFERENCES = {
    "linear": _linear_reference,
    "gelu_tanh": _gelu_tanh_reference,
    "mlp_residual": _mlp_reference,
    "mean_difference": _mean_difference_reference,
}


def reference(exercise: str):
    """The course's version of an exercise's function, for the cells after an exercise that is not solved yet."""
    return pick_reference(REFERENCES, exercise)
