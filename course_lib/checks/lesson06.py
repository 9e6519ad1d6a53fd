"""Checkers for lesson 06 (the MLP): each runs the learner's answer and names the likely bug.

In the notebook::

    from course_lib.checks import lesson06 as check
    check.linear(linear)
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from course_lib import gpt_functional, sizes
from course_lib.checkpoints import load_course_model
from course_lib.checks import Case, CheckResult, Mistake, check_function, pick_reference, same
from course_lib.mlp import gelu, mlp_block, relu
from course_lib.model import GPT2_SMALL, GPT3_175B, GPTConfig
from course_lib.teaching.your_work import keep_if_passed

__all__ = ["linear", "gelu_tanh", "mlp_residual", "mean_difference", "mlp", "mlp_share", "reference"]


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


# --------------------------------------------------------------------------- the course model's MLP, in torch


@functools.lru_cache(maxsize=1)
def _course_weights() -> dict[str, torch.Tensor]:
    model, _ = load_course_model()
    return gpt_functional.trained_weights(model)


def _layer_case(layer: int, positions: int, seed: int) -> Case:
    """The course model's trained MLP of ``layer`` on ``positions`` vectors of a LayerNorm'd size (mean 0, std 1)."""
    w = _course_weights()
    prefix = f"blocks.{layer}.mlp"
    x = torch.from_numpy(np.random.default_rng(seed).normal(size=(positions, w["tok_emb.weight"].shape[1]))).float()
    args = (x, w[f"{prefix}.fc.weight"], w[f"{prefix}.fc.bias"], w[f"{prefix}.proj.weight"], w[f"{prefix}.proj.bias"])
    return Case(args, label=f"the course model's trained MLP of layer {layer} on {positions} positions")


def _torch_case(rng: np.random.Generator, batch: tuple[int, ...], width: int) -> Case:
    """Random weights of an MLP ``width -> 4 width -> width`` on an input of shape ``batch + (width,)``."""

    def tensor(*shape):
        return torch.from_numpy(rng.normal(size=shape)).float()

    args = (tensor(*batch, width), tensor(4 * width, width), tensor(4 * width), tensor(width, 4 * width), tensor(width))
    return Case(args, label=f"random weights, x of shape {(*batch, width)}")


def _mlp_cases() -> list[Case]:
    rng = np.random.default_rng(6)
    return [_layer_case(0, 5, seed=60), _layer_case(3, 3, seed=61), _torch_case(rng, (2, 3), 6)]


def _fresh_torch_mlp(rng: np.random.Generator) -> Case:
    """x of shape (T, d) or (B, T, d), d from 2 to 12, through a random MLP of 4 d neurons."""
    batch = (_size(rng),) if rng.random() < 0.5 else (_size(rng, 1, 3), _size(rng))
    return _torch_case(rng, batch, _size(rng, 2, 12))


def _mlp_torch_reference(x, w_up, b_up, w_down, b_down):
    return gpt_functional.mlp(x, w_up, b_up, w_down, b_down)


def _close_float32(got, expected) -> tuple[bool, str]:
    """Float32 tolerance: the same sums added up in another order differ in the last bits."""
    return same(got, expected, rtol=1e-4, atol=1e-5)


MLP_TORCH_MISTAKES = [
    Mistake(
        lambda x, wu, bu, wd, bd: F.linear(F.gelu(F.linear(x, wu, bu)), wd, bd),
        "close: that is the exact (erf) GELU; the course model uses the tanh approximation, "
        "F.gelu(h, approximate='tanh')",
    ),
    Mistake(
        lambda x, wu, bu, wd, bd: F.linear(torch.relu(F.linear(x, wu, bu)), wd, bd),
        "that is ReLU; the course model's neurons go through GELU (tanh approximation)",
    ),
    Mistake(
        lambda x, wu, bu, wd, bd: F.linear(F.gelu(F.linear(x, wu), approximate="tanh"), wd, bd),
        "did you add the up-projection's bias b_up before the GELU?",
    ),
    Mistake(
        lambda x, wu, bu, wd, bd: F.linear(F.gelu(F.linear(x, wu, bu), approximate="tanh"), wd),
        "did you add the down-projection's bias b_down?",
    ),
    Mistake(
        lambda x, wu, bu, wd, bd: x + F.linear(F.gelu(F.linear(x, wu, bu), approximate="tanh"), wd, bd),
        "return the block's output only: adding it to the residual stream is the next step (lesson 07 does it)",
    ),
]

_TRANSPOSE_HINT = (
    "a weight has one row per output (torch.nn.Linear's layout): w_up is (4 C, C), so multiply by its "
    "transpose, x @ w_up.T (and h @ w_down.T)"
)


def mlp(learner, *, quiet: bool = False) -> CheckResult:
    """``mlp(x, w_up, b_up, w_down, b_down)`` in torch: ``GELU_tanh(x W_up^T + b_up) W_down^T + b_down``.

    Checked on the course model's trained weights (layers 0 and 3) and on random MLPs of other widths.
    When it passes (and ``quiet`` is False) it is kept as ``my_work/mlp.py`` for lesson 07's GPT.
    """
    result = check_function(
        "mlp",
        learner,
        _mlp_torch_reference,
        _mlp_cases(),
        MLP_TORCH_MISTAKES,
        fresh=_fresh_torch_mlp,
        compare=_close_float32,
        success="GELU (tanh) between the two projections, with both biases: the course model's MLP.",
        quiet=True,
    )
    if not result and "cannot be multiplied" in result.message:
        result = CheckResult(result.exercise, False, f"{_TRANSPOSE_HINT} ({result.message})")
    if not quiet:
        print(result)
        keep_if_passed(result, "mlp", learner, lesson="06", used_in="lesson 07's GPT")
    return result


# --------------------------------------------------------------------------- the MLP's share, for any config


def _share_reference(config):
    return sizes.mlp_share(config)["mlp_share_of_blocks"]


def _share_case(config: GPTConfig, name: str) -> Case:
    return Case((config,), label=f"{name} ({config})")


@functools.lru_cache(maxsize=1)
def _course_config() -> GPTConfig:
    return load_course_model()[0].config


def _share_cases() -> list[Case]:
    without_bias = GPTConfig(vocab_size=500, block_size=64, n_layer=3, n_head=4, n_embd=96, bias=False)
    return [
        _share_case(_course_config(), "the course model"),
        _share_case(GPT2_SMALL, "GPT-2 small"),
        _share_case(GPT3_175B, "GPT-3"),
        _share_case(without_bias, "a model without biases"),
    ]


def _fresh_config(rng: np.random.Generator) -> Case:
    """A random GPT config: 1 to 8 heads of 1 to 64 dimensions, 1 to 48 layers, with or without biases."""
    heads = _size(rng, 1, 8)
    config = GPTConfig(
        vocab_size=int(rng.integers(2, 60000)),
        block_size=int(rng.integers(1, 4097)),
        n_layer=_size(rng, 1, 48),
        n_head=heads,
        n_embd=heads * _size(rng, 1, 64),
        bias=bool(rng.random() < 0.7),
    )
    return _share_case(config, "a random config")


def _counts(config):
    return sizes.count_parameters(config)


SHARE_MISTAKES = [
    Mistake(
        lambda c: _share_reference(dataclasses.replace(c, bias=False)),
        "close: that counts the weight matrices only (8 d^2 of 12 d^2); count the biases too, when the "
        "config has them (config.bias): the MLP's 4 d + d, attention's 4 d",
    ),
    Mistake(
        lambda c: _counts(c)["attention"] / (_counts(c)["attention"] + _counts(c)["mlp"]),
        "that is attention's share; the question is the MLP's",
    ),
    Mistake(
        lambda c: _counts(c)["mlp"] / _counts(c)["attention"],
        "that is MLP / attention; the share is MLP / (MLP + attention)",
    ),
    Mistake(
        lambda c: _counts(c)["mlp"] / _counts(c)["total"],
        "that is the MLP's share of all parameters, embeddings included; the question is its share of the "
        "blocks' attention + MLP parameters",
    ),
]


def mlp_share(learner) -> CheckResult:
    """``mlp_share(config)``: the MLP's share of the blocks' attention + MLP parameters, biases included.

    Checked on the course model, GPT-2 small, GPT-3, a model without biases and a random config.
    """
    return check_function(
        "mlp_share",
        learner,
        _share_reference,
        _share_cases(),
        SHARE_MISTAKES,
        fresh=_fresh_config,
        success="two thirds of the weights, a little more of the biases: the MLP's share at any size.",
    )


REFERENCES = {
    "linear": _linear_reference,
    "gelu_tanh": _gelu_tanh_reference,
    "mlp_residual": _mlp_reference,
    "mean_difference": _mean_difference_reference,
    "mlp": _mlp_torch_reference,
    "mlp_share": _share_reference,
}


def reference(exercise: str):
    """The course's version of an exercise's function, for the cells after an exercise that is not solved yet."""
    return pick_reference(REFERENCES, exercise)
