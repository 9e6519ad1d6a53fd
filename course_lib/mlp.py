"""The MLP (feed-forward) block: lesson 06.

Conventions are those of ``torch.nn.Linear`` and ``course_lib.model``: a weight matrix has one
**row per output** (each row is a question asked of the input by a dot product), and a sequence
has one row per token. Functions accept NumPy arrays or torch tensors and return the same kind.

The block, for every position on its own::

    hidden = x W_up^T + b_up          (n_embd -> 4 n_embd: 4 n_embd questions)
    neurons = GELU(hidden)            (a neuron is "active" when clearly positive)
    out = neurons W_down^T + b_down   (4 n_embd -> n_embd: back to the residual stream's width)
    x_next = x + out                  (added to the residual stream)

What a trained model's neurons respond to is :mod:`course_lib.neurons`; the block's parameter count
is in :mod:`course_lib.sizes`, with every other count.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import torch

from course_lib.arrays import (
    Array,
    is_torch,
    require_array,
    require_bias,
    require_weight,
    same_kind,
)

__all__ = [
    "ACTIVATIONS",
    "MLPSteps",
    "linear",
    "relu",
    "gelu",
    "mlp_block",
    "position_by_position",
]


# --------------------------------------------------------------------------- the pieces


def linear(x: Array, w: Array, b: Array | None = None) -> Array:
    """``x W^T + b``: output ``i`` is the dot product of row ``i`` of ``w`` with ``x``, plus ``b[i]``.

    ``x``: ``(..., n_in)``; ``w``: ``(n_out, n_in)``; ``b``: ``(n_out,)`` or None. Same as ``torch.nn.Linear``.
    """
    x = require_array("x", x, 1, finite=True)
    same_kind(x=x, w=w, b=b)
    w = require_weight("w", w, x.shape[-1])
    b = require_bias("b", b, w.shape[0])
    y = x @ w.T
    return y if b is None else y + b


def relu(x: Array) -> Array:
    """max(0, x), element-wise: negative values become 0, positive ones pass unchanged."""
    x = require_array("x", x, finite=True)
    return torch.relu(x) if is_torch(x) else np.maximum(x, 0.0)


_erf = np.vectorize(math.erf, otypes=[float])


def gelu(x: Array, approximate: str = "none") -> Array:
    """GELU: ``x * Phi(x)``, where ``Phi`` is the standard normal's cumulative distribution.

    ``approximate="none"`` uses the exact ``Phi(x) = (1 + erf(x / sqrt 2)) / 2``; ``"tanh"`` uses
    GPT-2's approximation ``(1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2``. Matches
    ``torch.nn.functional.gelu``. Unlike ReLU it is smooth, and slightly negative just below 0.
    """
    x = require_array("x", x, finite=True)
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    if is_torch(x):
        return torch.nn.functional.gelu(x, approximate=approximate)
    x = np.asarray(x, dtype=float)
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "relu": relu,
    "gelu": gelu,
    "gelu_tanh": lambda x: gelu(x, approximate="tanh"),
}


@dataclass
class MLPSteps:
    """The intermediates of :func:`mlp_block` for the positions it was given."""

    x: Array  # (..., n_embd) input
    hidden: Array  # (..., n_hidden) before the nonlinearity: the answers to the questions
    neurons: Array  # (..., n_hidden) after it: the neurons' activations
    out: Array  # (..., n_embd) projected back down
    residual: Array  # x + out: what the next layer sees

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {f.name: tuple(getattr(self, f.name).shape) for f in fields(self)}


def mlp_block(
    x: Array,
    w_up: Array,
    b_up: Array | None,
    w_down: Array,
    b_down: Array | None,
    *,
    activation: str = "gelu",
    return_steps: bool = False,
) -> Array | tuple[Array, MLPSteps]:
    """Up-project, apply the nonlinearity, down-project; returns the block's output (not yet added).

    ``x``: ``(..., n_embd)``; ``w_up``: ``(n_hidden, n_embd)``; ``w_down``: ``(n_embd, n_hidden)``.
    ``activation`` is ``"gelu"`` (exact), ``"gelu_tanh"`` (GPT-2 and the course's model) or ``"relu"``.
    The residual stream after the block is ``x + output`` (``steps.residual``).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    x = require_array("x", x, 1, finite=True)
    same_kind(x=x, w_up=w_up, b_up=b_up, w_down=w_down, b_down=b_down)
    w_up = require_weight("w_up", w_up, x.shape[-1])
    w_down = require_array("w_down", w_down, finite=True)
    if w_down.shape != (x.shape[-1], w_up.shape[0]):
        raise ValueError(
            f"w_down must have shape (n_embd, n_hidden) = ({x.shape[-1]}, {w_up.shape[0]}) to bring the "
            f"{w_up.shape[0]} neurons back to the input's width {x.shape[-1]}; got w_up {tuple(w_up.shape)}, "
            f"w_down {tuple(w_down.shape)}"
        )
    b_up, b_down = require_bias("b_up", b_up, w_up.shape[0]), require_bias("b_down", b_down, x.shape[-1])
    hidden = linear(x, w_up, b_up)
    neurons = ACTIVATIONS[activation](hidden)
    out = linear(neurons, w_down, b_down)
    if not return_steps:
        return out
    return out, MLPSteps(x, hidden, neurons, out, x + out)


def position_by_position(x: Array, block: Callable[[Array], Array]) -> tuple[Array, Array, float]:
    """Run ``block`` on each position's vector alone, and on the whole sequence at once.

    Returns ``(one_at_a_time, all_at_once, largest_difference)``. For an MLP the difference is zero
    (up to rounding): no position ever looks at another, so the block can run on all in parallel.
    ``x``: ``(T, n_embd)``.
    """
    x = require_array("x", x, 2, finite=True)
    if x.ndim != 2:
        raise ValueError(f"x must be (positions, features), got shape {tuple(x.shape)}")
    rows = [block(x[i : i + 1]) for i in range(x.shape[0])]
    looped = torch.cat(rows) if is_torch(x) else np.concatenate(rows)
    batched = block(x)
    diff = (looped - batched).abs().max().item() if is_torch(x) else float(np.max(np.abs(looped - batched)))
    return looped, batched, float(diff)
