"""Input checks shared by the from-scratch modules that accept NumPy arrays *or* torch tensors.

The lessons call the same functions (``attention``, ``mlp``) with either kind, so the checks
here turn a wrong input into one clear sentence instead of a deep NumPy or torch traceback.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["Array", "is_torch", "require_array", "same_kind"]

Array = Any  # a NumPy array or a torch tensor


def is_torch(x: Array) -> bool:
    return isinstance(x, torch.Tensor)


def require_array(name: str, x: Array, min_ndim: int = 0) -> Array:
    """``x`` as an array of numbers with at least ``min_ndim`` dimensions (lists and numbers are converted)."""
    if isinstance(x, list | tuple | int | float) and not isinstance(x, bool):
        x = np.asarray(x, dtype=float)
    if not isinstance(x, np.ndarray | torch.Tensor):
        raise TypeError(f"{name} must be a NumPy array or a torch tensor, got {type(x).__name__}")
    if x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {tuple(x.shape)}")
    if isinstance(x, np.ndarray) and not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"{name} must hold numbers, got dtype {x.dtype}")
    return x


def same_kind(**arrays: Array) -> None:
    """Refuse a mix of NumPy arrays and torch tensors (``None`` values are ignored)."""
    given = {name: a for name, a in arrays.items() if a is not None}
    if len({is_torch(a) for a in given.values()}) > 1:
        described = ", ".join(f"{n}={'tensor' if is_torch(a) else 'ndarray'}" for n, a in given.items())
        raise TypeError(f"mix of NumPy arrays and torch tensors ({described}); convert them all to one kind")
