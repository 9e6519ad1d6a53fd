"""The input checks every from-scratch module uses: one vocabulary, one exception policy.

The lessons call the same functions (``softmax``, ``attention``, ``mlp``, the models) with NumPy
arrays, torch tensors, lists and plain numbers, so these checks turn a wrong input into one clear
sentence instead of a deep NumPy or torch traceback, or worse, a NaN result.

Exception policy
----------------
* ``TypeError``: the argument is the wrong *kind* of thing: a str where numbers are expected,
  a float or a bool where an int (or a token id) is expected, a bool array where scores are
  expected, a NumPy array mixed with a torch tensor.
* ``ValueError``: the right kind but a wrong *value*: a wrong shape, an empty array, NaN or
  infinity, a count below 1, a number outside its interval, an id outside the vocabulary, a row
  of scores that is entirely masked, "probabilities" that do not add up to 1.

Every message names the argument, says what was expected and what was received, and, for a bad
entry of an array, where it is: ``logits contains NaN at index (0, 3)``.

The checks are cheap (a few reductions over the array, nothing copied when the input is already
an array), so the model's forward pass can run them on every call.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

__all__ = [
    "Array",
    "is_torch",
    "require_array",
    "require_bias",
    "require_finite",
    "require_ids",
    "require_int",
    "require_not_fully_masked",
    "require_positive_int",
    "require_probabilities",
    "require_real",
    "require_weight",
    "same_kind",
    "to_numpy",
]

Array = Any  # a NumPy array or a torch tensor


def is_torch(x: Array) -> bool:
    return isinstance(x, torch.Tensor)


def to_numpy(x: Array, dtype: Any = None) -> np.ndarray:
    """A torch tensor's values as a NumPy array (detached, on the CPU); anything else through ``np.asarray``.

    With ``dtype``, converted to it (no copy when it already has that dtype).
    """
    array = x.detach().cpu().numpy() if is_torch(x) else np.asarray(x)
    return array if dtype is None else np.asarray(array, dtype=dtype)


def _where(index: tuple[int, ...]) -> str:
    """An array position as a reader writes it: ``3`` for a vector, ``(0, 3)`` for a matrix."""
    return str(index[0]) if len(index) == 1 else str(index)


def _first(mask: Array) -> tuple[int, ...]:
    """The position of the first True entry of a boolean array or tensor."""
    found = mask.nonzero()[0] if is_torch(mask) else np.argwhere(mask)[0]
    return tuple(int(i) for i in found)


def _count(mask: Array) -> int:
    return int(mask.sum())


# --------------------------------------------------------------------------- numbers


def require_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None, hint: str = ""
) -> int:
    """``value`` as a Python int (numpy integers are accepted; bools and floats are not).

    ``minimum`` and ``maximum`` are inclusive. ``hint`` is appended to the message of a value out of range.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r:.40}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if minimum == 1 and maximum is None:
            wanted = "a positive int"
        elif maximum is None:
            wanted = f"an int >= {minimum}"
        elif minimum is None:
            wanted = f"an int <= {maximum}"
        else:
            wanted = f"an int in {minimum}..{maximum}"
        raise ValueError(f"{name} must be {wanted}, got {value}" + (f". {hint}" if hint else ""))
    return int(value)


def require_positive_int(name: str, value: Any, *, hint: str = "") -> int:
    """``value`` as a Python int >= 1: a count, a size, a number of heads or layers."""
    return require_int(name, value, minimum=1, hint=hint)


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"> {low:g}" if low_open else f">= {low:g}"
    return f"< {high:g}" if high_open else f"<= {high:g}"


def require_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    hint: str = "",
) -> float:
    """``value`` as a finite Python float, optionally inside an interval (ints and numpy numbers are accepted).

    ``low``/``high`` bound the interval, closed unless ``low_open``/``high_open``: ``low=0, low_open=True``
    means "> 0". A str such as ``"1e-3"``, a bool or None is a TypeError; NaN and infinity are ValueErrors.
    ``hint`` is appended to the message of a value out of range.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r:.40}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(
            f"{name} must be {_interval(low, high, low_open, high_open)}, got {value!r}" + (f". {hint}" if hint else "")
        )
    return float(value)


# --------------------------------------------------------------------------- arrays of numbers


def _from_python(name: str, x: Any) -> np.ndarray:
    """A list, tuple or number as a float64 array, refusing text, None, bools and ragged nesting."""
    try:
        array = np.asarray(x)
    except ValueError:
        raise ValueError(f"{name} is ragged: its rows have different lengths, so it is not an array") from None
    if array.dtype == bool:
        raise TypeError(f"{name} must hold numbers, got bools (True/False)")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        odd = next((v for v in array.ravel().tolist() if isinstance(v, bool) or not isinstance(v, numbers.Real)), None)
        raise TypeError(f"{name} must hold real numbers, got {type(odd).__name__} {odd!r:.40}")
    return array.astype(np.float64, copy=False)


def _check_dtype(name: str, x: Array) -> None:
    if is_torch(x):
        if x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    elif not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")


def require_finite(name: str, x: Array, *, allow_neg_inf: bool = False) -> Array:
    """Refuse NaN and infinities in an array or tensor (``allow_neg_inf``: -inf is fine, a masked score).

    The message says which value and where: ``logits contains NaN at index (0, 3)``.
    """
    # A sum is finite only if every value is: one reduction, where isfinite(x).all() makes a mask first (on a
    # small tensor several times slower, and the lessons' forward passes check every weight at every call).
    # A sum of finite values that overflows lands in the full check below, which then finds nothing.
    if is_torch(x):
        if not x.is_floating_point() or math.isfinite(x.sum().item()) or bool(torch.isfinite(x).all()):
            return x
        problems = (("NaN", torch.isnan(x)), ("+inf", torch.isposinf(x)), ("-inf", torch.isneginf(x)))
    else:
        if not np.issubdtype(x.dtype, np.floating):
            return x
        with np.errstate(over="ignore", invalid="ignore"):  # an overflowing sum is not the learner's concern
            total = x.sum()
        if math.isfinite(total) or np.isfinite(x).all():
            return x
        problems = (("NaN", np.isnan(x)), ("+inf", np.isposinf(x)), ("-inf", np.isneginf(x)))
    for label, mask in problems:
        if label == "-inf" and allow_neg_inf:
            continue
        count = _count(mask)
        if count == 0:
            continue
        if x.ndim == 0:
            raise ValueError(f"{name} is {label}: it must be a finite number")
        where = f"{name} contains {label} at index {_where(_first(mask))}"
        also = f" ({count} {label} values in all)" if count > 1 else ""
        allowed = " (-inf is allowed: it masks a score)" if allow_neg_inf else ""
        raise ValueError(where + also + allowed)
    return x


def require_array(
    name: str,
    x: Array,
    min_ndim: int = 0,
    *,
    ndim: int | None = None,
    shape: tuple[int | None, ...] | None = None,
    nonempty: bool = False,
    finite: bool = False,
    allow_neg_inf: bool = False,
) -> Array:
    """``x`` as an array of real numbers: a NumPy array or a torch tensor (lists and numbers become float64 arrays).

    Arrays and tensors are returned as they are (no copy, no change of dtype). Checks, in this order:
    the kind (TypeError), the number of dimensions (``min_ndim``, exact ``ndim``), the ``shape``
    (``None`` entries match any size), emptiness (``nonempty``), and with ``finite`` no NaN or
    infinity (``allow_neg_inf`` lets -inf through: a masked score).
    """
    if isinstance(x, list | tuple | numbers.Number) and not isinstance(x, bool | np.bool_):
        x = _from_python(name, x)
    if not isinstance(x, np.ndarray | torch.Tensor):
        raise TypeError(f"{name} must be a NumPy array or a torch tensor, got {type(x).__name__}")
    _check_dtype(name, x)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {tuple(x.shape)}")
    if x.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {tuple(x.shape)}")
    if shape is not None and (
        len(shape) != x.ndim or any(want is not None and want != got for want, got in zip(shape, x.shape, strict=False))
    ):
        expected = (
            "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        )
        raise ValueError(f"{name} must have shape {expected}, got {tuple(x.shape)}")
    if nonempty and (x.numel() if is_torch(x) else x.size) == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}): it needs at least one number")
    if finite or allow_neg_inf:
        require_finite(name, x, allow_neg_inf=allow_neg_inf)
    return x


def require_not_fully_masked(name: str, scores: Array) -> Array:
    """Refuse a row of scores (last axis) that is -inf everywhere: softmax would divide 0 by 0 there."""
    if is_torch(scores):
        alive = (scores > float("-inf")).any(dim=-1)
        if bool(alive.all()):
            return scores
    else:
        alive = (scores > -np.inf).any(axis=-1)
        if alive.all():
            return scores
    where = "" if scores.ndim == 1 else f" row {_where(_first(~alive))}"
    raise ValueError(
        f"every score is -inf in {name}{where}: the row is fully masked, and softmax needs at least one "
        "score above -inf to give probability to"
    )


def require_probabilities(name: str, p: Array) -> Array:
    """``p`` as probability distributions over the last axis: finite, >= 0, each row summing to 1.

    The sum may be off by rounding: 1e-6 for float64, the square root of the dtype's machine
    epsilon for lower precisions (3.5e-4 for float32), so a float32 softmax over a 49,152-token
    vocabulary passes.
    """
    p = require_array(name, p, 1, nonempty=True, finite=True)
    if is_torch(p):
        negative = p < 0
        eps = torch.finfo(p.dtype).eps if p.is_floating_point() else 0.0
        sums = p.double().sum(dim=-1)
    else:
        negative = p < 0
        eps = np.finfo(p.dtype).eps if np.issubdtype(p.dtype, np.floating) else 0.0
        sums = p.astype(np.float64, copy=False).sum(axis=-1)
    if bool(negative.any()):
        index = _first(negative)
        raise ValueError(
            f"{name} must be probabilities (each >= 0), but {name}[{', '.join(map(str, index))}] = "
            f"{float(p[index]):.4g}; softmax turns scores into probabilities"
        )
    tolerance = max(1e-6, math.sqrt(eps))
    off = abs(sums - 1) > tolerance
    if bool(off.any()):
        row = _first(off) if p.ndim > 1 else ()
        total = float(sums[row]) if row else float(sums)
        where = f" row {_where(row)}" if row else ""
        raise ValueError(
            f"{name} must be a probability distribution summing to 1 along the last axis, but{where} it sums "
            f"to {total:.6g}; were these scores (logits)? softmax turns them into probabilities"
        )
    return p


def require_weight(name: str, w: Array, n_in: int, n_out: int | None = None) -> Array:
    """A weight matrix laid out as ``torch.nn.Linear`` stores it: one row per output, ``n_in`` columns.

    Finite numbers only; ``n_out``, when given, is the number of rows it must have.
    """
    w = require_array(name, w, finite=True)
    if w.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix (outputs, inputs), got shape {tuple(w.shape)}")
    if w.shape[1] != n_in:
        raise ValueError(
            f"{name} has shape {tuple(w.shape)} but the input vectors have {n_in} features: "
            f"{name} needs {n_in} columns (one weight per input feature, rows = outputs)"
        )
    if n_out is not None and w.shape[0] != n_out:
        raise ValueError(f"{name} must have {n_out} rows (outputs), got shape {tuple(w.shape)}")
    return w


def require_bias(name: str, b: Array | None, n_out: int) -> Array | None:
    """A bias vector with one finite entry per output (per row of its weight), or None for no bias."""
    if b is None:
        return None
    b = require_array(name, b, finite=True)
    if tuple(b.shape) != (n_out,):
        raise ValueError(f"{name} must have shape ({n_out},), one entry per row of its weight, got {tuple(b.shape)}")
    return b


def same_kind(**arrays: Array) -> None:
    """Refuse a mix of NumPy arrays and torch tensors (``None`` values are ignored)."""
    given = {name: a for name, a in arrays.items() if a is not None}
    if len({is_torch(a) for a in given.values()}) > 1:
        described = ", ".join(f"{n}={'tensor' if is_torch(a) else 'ndarray'}" for n, a in given.items())
        raise TypeError(f"mix of NumPy arrays and torch tensors ({described}); convert them all to one kind")


# --------------------------------------------------------------------------- token ids


def _walk(items: Any, index: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], Any]]:
    """Every (position, entry) of a nested list or tuple."""
    for i, item in enumerate(items):
        if isinstance(item, list | tuple):
            yield from _walk(item, (*index, i))
        else:
            yield (*index, i), item


def _position(name: str, index: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(map(str, index))}]" if index else name


def _check_id_entries(name: str, ids: list | tuple) -> None:
    """Refuse entries of a Python list of ids that are not ints (numpy integers are ints; bools are not)."""
    for index, value in _walk(ids):
        if isinstance(value, bool | np.bool_):
            raise TypeError(f"{name} must hold integer token ids; {_position(name, index)} is the bool {value}")
        if not isinstance(value, numbers.Integral):
            what = (
                f"the float {value!r}" if isinstance(value, numbers.Real) else f"{type(value).__name__} {value!r:.40}"
            )
            hint = ": ids are integers (int() converts a whole number)" if isinstance(value, numbers.Real) else ""
            raise TypeError(f"{name} must hold integer token ids; {_position(name, index)} is {what}{hint}")


def require_ids(
    name: str,
    ids: Any,
    vocab_size: int | None,
    *,
    ndim: int | tuple[int, ...] | None = None,
    kind: str = "token id",
) -> Array:
    """Token ids, checked: integers in ``0 .. vocab_size - 1`` (only ``>= 0`` when ``vocab_size`` is None).

    Accepts a Python int, a numpy integer, a (nested) list, tuple or range of them, a NumPy integer
    array or a torch integer tensor. A torch tensor or NumPy array is returned unchanged; anything
    else becomes an int64 NumPy array. Bools, floats (even whole ones: ``3.0`` is a TypeError saying
    how to convert it) and text are TypeErrors; a negative or too large id is a ValueError that
    says which value, where, and what range is valid. ``ndim`` asks for a number of dimensions
    (or one of several); ``kind`` names one entry in messages (``"position"`` for position ids).
    """
    if isinstance(ids, str | bytes):
        raise TypeError(f"{name} must be integer {kind}s, not {type(ids).__name__} {ids!r:.40}: encode text first")
    if isinstance(ids, list | tuple | range | numbers.Number | np.generic):
        if isinstance(ids, list | tuple | range):
            _check_id_entries(name, ids)
        else:
            _check_id_entries(name, [ids])
            ids = int(ids)
        try:
            ids = np.asarray(ids, dtype=np.int64)
        except OverflowError:
            raise ValueError(f"{name} holds an id too large for any vocabulary (over 2**63)") from None
        except ValueError:
            raise ValueError(f"{name} is ragged: its rows have different lengths") from None
    if is_torch(ids):
        if ids.dtype == torch.bool or ids.is_floating_point() or ids.is_complex():
            raise TypeError(f"{name} must hold integer {kind}s, got dtype {ids.dtype}: convert with .long()")
    elif isinstance(ids, np.ndarray):
        if not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"{name} must hold integer {kind}s, got dtype {ids.dtype}: convert with .astype(int)")
    else:
        raise TypeError(
            f"{name} must be integer {kind}s (a list, NumPy array or torch tensor), got {type(ids).__name__}"
        )
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and ids.ndim not in allowed:
        wanted = " or ".join(f"{n}-D" for n in allowed)
        raise ValueError(f"{name} must be {wanted}, got shape {tuple(ids.shape)}")
    if (ids.numel() if is_torch(ids) else ids.size) == 0:
        return ids
    if is_torch(ids):
        low, high = (int(v) for v in torch.aminmax(ids))
    else:
        low, high = int(ids.min()), int(ids.max())
    if low < 0 or (vocab_size is not None and high >= vocab_size):
        bad = (ids < 0) if vocab_size is None else (ids < 0) | (ids >= vocab_size)
        index = _first(bad)
        value = int(ids[index]) if index else int(ids)
        valid = f"from 0 to {vocab_size - 1}" if vocab_size is not None else "from 0 up"
        raise ValueError(f"{kind} {value} is out of range at {_position(name, index)}: valid values go {valid}")
    return ids
