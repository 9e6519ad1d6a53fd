"""Exercise checkers: run the learner's answer against a reference and say what is probably wrong.

A checker compares the learner's function (or value) with a reference implementation on
several cases. When the answers differ it does not just say "wrong": it runs a list of
*known mistakes* (plausible wrong implementations, each with a hint) and, if the learner's
output matches one of them, shows that mistake's hint. Otherwise it reports the first case
that differs, with the expected and the received value.

Each lesson has its own module (``course_lib.checks.lesson01``...) whose functions take the
learner's answer, print a one-line verdict and return a :class:`CheckResult`. A stub that
still raises ``NotImplementedError`` is reported as "not solved yet", never as a crash, so a
student notebook runs top to bottom.

Three rules keep a checker hard to fool and impossible to crash:

* Every call gets its own deep copy of a case's arguments (the reference, the learner's
  function and each known mistake alike), so an answer that edits its input in place cannot
  change what the reference or a later case sees.
* Besides its fixed cases, a function checker draws ``n_fresh`` cases at call time from an
  unseeded generator (``fresh``), so an answer that memorises the visible cases fails. The
  verdict for a right answer names only how many cases there were, so it prints the same
  text on every run; the lesson's own random state is never touched.
* An answer of the wrong kind (None, a string, a dict, a generator, an array of objects or
  strings, a tensor, NaN, a function that raises anything) gets "[NOT YET]" with what was
  expected and what came back, never an exception from inside the checker.
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "CheckResult",
    "Mistake",
    "Case",
    "as_count",
    "as_numbers",
    "check_function",
    "check_value",
    "describe",
    "pick_reference",
    "same",
    "same_count",
]


@dataclass
class CheckResult:
    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        mark = "PASSED" if self.passed else "NOT YET"
        return f"[{mark}] {self.exercise}: {self.message}"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _ipython_display_(self) -> None:
        # The checker has already printed its verdict; a cell ending in `check.x(f)` shows it once.
        # (nbval runs cells without history, so a trailing `;` cannot be relied on to hide it.)
        pass


@dataclass
class Mistake:
    """A plausible wrong answer: if the learner's output matches ``wrong``'s, show ``hint``."""

    wrong: Callable[..., Any]
    hint: str


@dataclass
class Case:
    """One set of arguments for the learner's function, with an optional label for messages."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    label: str = ""

    def describe(self) -> str:
        if self.label:
            return self.label
        parts = [_short(a) for a in self.args] + [f"{k}={_short(v)}" for k, v in self.kwargs.items()]
        return f"({', '.join(parts)})"


# --------------------------------------------------------------------------- describing values


def _torch_tensor_type():
    # Only look torch up if the learner's code already imported it: importing torch costs seconds,
    # and a lesson about tokens should not pay for it.
    torch = sys.modules.get("torch")
    return torch.Tensor if torch is not None else None


def _is_tensor(value: Any) -> bool:
    tensor = _torch_tensor_type()
    return tensor is not None and isinstance(value, tensor)


def _short(value: Any, limit: int = 60) -> str:
    """A one-line picture of a value for a message; never raises, whatever the value is."""
    try:
        if isinstance(value, np.ndarray) or _is_tensor(value):
            shape = tuple(value.shape)
            numbers, _ = _numeric(value)
            if numbers is not None and 0 < numbers.size <= 12:
                return f"array({(np.round(numbers, 4) if numbers.dtype.kind == 'f' else numbers).tolist()})"
            return f"<array of shape {shape}>"
        text = repr(value)
    except Exception:
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(value: Any) -> str:
    """What kind of thing ``value`` is, for the "got ..." half of a message; never raises."""
    try:
        if value is None:
            return "None (did your function forget to `return` its result?)"
        if isinstance(value, Generator):
            return "a generator: make a list or an array of it first, list(...) or np.array(list(...))"
        if isinstance(value, np.ndarray) or _is_tensor(value):
            kind = "a tensor" if _is_tensor(value) else "an array"
            dtype = str(value.dtype).replace("torch.", "")
            if isinstance(value, np.ndarray) and value.dtype.kind == "O":
                dtype = "object: it holds Python objects, not numbers"
            elif isinstance(value, np.ndarray) and value.dtype.kind in "US":
                dtype = f"{dtype}: it holds strings, not numbers"
            return f"{kind} of shape {tuple(value.shape)} and dtype {dtype}"
        if isinstance(value, bool | np.bool_):
            return f"{value} (True/False is a truth value, not a number)"
        if isinstance(value, str):
            return f"the string {_short(value)}"
        if isinstance(value, dict):
            return f"a dict {_short(value)}"
        if isinstance(value, list | tuple):
            kinds = sorted({type(v).__name__ for v in value})
            holding = f" holding {', '.join(kinds)}" if kinds else ", empty"
            return f"a {type(value).__name__}{holding}: {_short(value)}"
        if isinstance(value, complex | np.complexfloating):
            return f"the complex number {value}"
        return _short(value)
    except Exception:
        return f"a {type(value).__name__}"


def _round(x: Any) -> str:
    try:
        return f"{float(x):.4g}"
    except Exception:
        return _short(x)


# --------------------------------------------------------------------------- comparing answers


def _numeric(value: Any) -> tuple[np.ndarray | None, str]:
    """A float-or-int array for numbers, lists of numbers, arrays and tensors; (None, why) for anything else.

    Object arrays, string arrays, complex numbers, bools on their own, dicts, generators and None are
    not numbers: each comes back as None with a description of what it is.
    """
    original = value
    try:
        if isinstance(value, bool | np.bool_):
            return None, describe(value)
        if isinstance(value, int | float | np.integer | np.floating):
            return np.asarray(value), ""
        if _is_tensor(value):
            tensor = value.detach().cpu()
            if tensor.is_complex():
                return None, describe(value)
            if tensor.is_floating_point():
                tensor = tensor.double()  # bfloat16 has no numpy dtype
            value = tensor.numpy()
        elif isinstance(value, list | tuple):
            value = np.asarray(value)
        if not isinstance(value, np.ndarray):
            return None, describe(value)
        if value.dtype.kind in "iuf" or (value.dtype.kind == "b" and value.ndim > 0):
            return value, ""
        return None, describe(original)
    except Exception:  # ragged lists, tensors that cannot leave their device...: not an array of numbers
        return None, describe(original)


def as_numbers(value: Any) -> np.ndarray | None:
    """``value`` as an array of numbers (from a number, a list, an array or a tensor), or None if it is not one."""
    return _numeric(value)[0]


def _index(where: tuple) -> str:
    return str(tuple(int(i) for i in where))


def _same_array(got: Any, expected: np.ndarray, rtol: float, atol: float) -> tuple[bool, str]:
    got_arr, what = _numeric(got)
    if got_arr is None:
        return False, f"expected an array of numbers of shape {expected.shape}, got {what}"
    if got_arr.shape != expected.shape:
        return False, f"expected shape {expected.shape}, got shape {got_arr.shape}"
    g, e = got_arr.astype(float), expected.astype(float)
    with np.errstate(invalid="ignore", over="ignore"):
        nan_in_got = np.isnan(g) & ~np.isnan(e)
        if nan_in_got.any():
            where = tuple(np.argwhere(nan_in_got)[0])
            return False, (
                f"your result contains NaN (not a number): at index {_index(where)} expected {_round(e[where])}, "
                "got nan; look for 0/0, log(0) or inf - inf"
            )
        close = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
        if close.all():
            return True, ""
        gap = np.nan_to_num(np.abs(g - e), nan=np.inf, posinf=np.inf)
        where = np.unravel_index(int(np.argmax(np.where(close, -1.0, gap))), gap.shape) if gap.ndim else ()
    return False, (
        f"values differ; the largest difference is at index {_index(where)}: "
        f"expected {_round(e[where])}, got {_round(g[where])}"
    )


def _same_number(got: Any, expected: float, rtol: float, atol: float, equal_nan: bool) -> tuple[bool, str]:
    got_arr, what = _numeric(got)
    if got_arr is None or got_arr.ndim != 0:
        return False, f"expected a number, got {what or describe(got)}"
    value = float(got_arr)
    if math.isnan(value):
        if equal_nan and math.isnan(expected):
            return True, ""
        return False, f"expected {_round(expected)}, got NaN (not a number): look for 0/0, log(0) or inf - inf"
    if not math.isclose(value, expected, rel_tol=rtol, abs_tol=atol):
        return False, f"expected {_round(expected)}, got {_round(value)}"
    return True, ""


def _same_other(got: Any, expected: Any) -> tuple[bool, str]:
    if isinstance(expected, str) and isinstance(got, str):  # numpy's str_ is a str too
        got = str(got)
    elif isinstance(expected, int) and isinstance(got, np.integer):
        got = int(got)
    if type(expected) is not type(got):
        what = describe(got) if got is None else f"type {type(got).__name__}: {_short(got)}"
        return False, f"expected a value of type {type(expected).__name__}, got {what}"
    if not bool(got == expected):
        return False, f"expected {_short(expected)}, got {_short(got)}"
    return True, ""


def same(
    got: Any, expected: Any, rtol: float = 1e-5, atol: float = 1e-6, *, equal_nan: bool = False
) -> tuple[bool, str]:
    """Compare two answers; return (equal, what differs) with a message a learner can act on.

    Arrays, lists of numbers and tensors compare by shape and value (within ``rtol``/``atol``); a float
    by value; anything else by type and equality. ``equal_nan`` lets a NaN match a NaN (for recognising
    a mistake that overflows). It never raises: an answer no rule foresaw is reported as what it is.
    """
    try:
        exp_arr, _ = _numeric(expected)
        if exp_arr is not None and (exp_arr.ndim > 0 or isinstance(expected, np.ndarray)):
            return _same_array(got, exp_arr, rtol, atol)
        if exp_arr is not None and exp_arr.dtype.kind == "f":
            return _same_number(got, float(exp_arr), rtol, atol, equal_nan)
        return _same_other(got, expected)
    except Exception:
        return False, f"expected {describe(expected)}, got {describe(got)}"


def as_count(value: Any) -> int | None:
    """The whole number a count answer stands for: an int, a whole float (9216.0), numpy's or torch's.

    None for anything else: a bool, a fraction (9216.5), NaN, a string, a list...
    """
    try:
        if _is_tensor(value) or isinstance(value, np.ndarray):
            numbers = as_numbers(value)  # None for arrays of objects, strings or bools
            if numbers is None or numbers.ndim != 0:
                return None
            value = numbers.item()
        if isinstance(value, bool | np.bool_):
            return None
        if isinstance(value, int | np.integer):
            return int(value)
        if isinstance(value, float | np.floating) and math.isfinite(value) and float(value).is_integer():
            return int(value)
    except Exception:
        pass
    return None


def _count_text(x: Any) -> str:
    try:
        return f"{int(x):,}" if float(x).is_integer() else _round(x)
    except Exception:
        return _short(x)


def same_count(got: Any, expected: int | float, rtol: float = 0.0) -> tuple[bool, str]:
    """Compare a count: an int or a whole float (9216.0) counts alike; a bool or 9216.5 is not a count.

    With ``rtol`` > 0 an estimate within that relative distance is right (58e9 for 57,982,058,496).
    """
    count = as_count(got)
    if count is None:
        if isinstance(got, float | np.floating) and math.isfinite(got):
            what = f"{got}: a count is a whole number"
        elif isinstance(got, str):
            what = f"the string {_short(got)}: write the number itself, without quotes"
        else:
            what = describe(got)
        return False, f"expected {_count_text(expected)} (a whole number), got {what}"
    if count == expected or (rtol > 0 and math.isclose(count, expected, rel_tol=rtol)):
        return True, ""
    return False, f"expected {_count_text(expected)}, got {count:,}"


def _compared(compare: Callable, got: Any, expected: Any) -> tuple[bool, str]:
    """``compare(got, expected)``, with a plain "expected ..., got ..." if a comparison itself fails."""
    try:
        ok, why = compare(got, expected)
        return bool(ok), str(why)
    except Exception:
        return False, f"expected {describe(expected)}, got {describe(got)}"


# --------------------------------------------------------------------------- running cases


def _copy(value: Any) -> Any:
    """A deep copy of an argument; what cannot be deep-copied is copied one level down, or passed as it is."""
    try:
        return copy.deepcopy(value)
    except Exception:  # e.g. a tensor in the middle of an autograd graph
        if isinstance(value, list | tuple):
            return type(value)(_copy(v) for v in value)
        if isinstance(value, dict):
            return {k: _copy(v) for k, v in value.items()}
        if _is_tensor(value):
            return value.detach().clone()
        return value


def _call(fn: Callable, case: Case) -> Any:
    # Every call gets its own copy, so an answer that modifies its input in place corrupts nothing.
    return fn(*_copy(case.args), **_copy(case.kwargs))


def _equal_args(a: Any, b: Any) -> bool:
    """Whether two arguments hold the same data (for keeping a drawn case apart from the fixed ones)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype.kind == b.dtype.kind and bool(np.array_equal(a, b))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_equal_args(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal_args(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:
        return a is b


def _draw(fresh: Callable[[np.random.Generator], Case], n_fresh: int, cases: Sequence[Case]) -> list[Case]:
    """``n_fresh`` cases from ``fresh``, none equal to a fixed case, from a generator seeded by the OS."""
    rng = np.random.default_rng()  # unseeded, and separate from np.random's global state the lesson seeded
    drawn: list[Case] = []
    for _ in range(100 * n_fresh):
        if len(drawn) == n_fresh:
            break
        case = fresh(rng)
        if not any(_equal_args((case.args, case.kwargs), (c.args, c.kwargs)) for c in [*cases, *drawn]):
            drawn.append(case)
    if len(drawn) < n_fresh:
        raise RuntimeError("the fresh-case generator keeps drawing the fixed cases")  # a bug in the course
    return drawn


def _error_text(err: BaseException, limit: int = 200) -> str:
    """``Name: message`` of an exception, the message cut to ``limit`` characters (or left out if it raises)."""
    try:
        text = str(err)
    except Exception:
        text = ""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    name = type(err).__name__
    return f"{name}: {text}" if text else name


def _finish(exercise: str, passed: bool, message: str, quiet: bool) -> CheckResult:
    result = CheckResult(exercise, passed, message)
    if not quiet:
        print(result)
    return result


def check_function(
    exercise: str,
    learner: Callable,
    reference: Callable,
    cases: Sequence[Case],
    mistakes: Sequence[Mistake] = (),
    *,
    fresh: Callable[[np.random.Generator], Case] | None = None,
    n_fresh: int = 1,
    compare: Callable[[Any, Any], tuple[bool, str]] = same,
    success: str = "",
    quiet: bool = False,
) -> CheckResult:
    """Run ``learner`` and ``reference`` on every case; explain the first disagreement.

    ``fresh(rng)`` returns a new :class:`Case` drawn with ``rng``; the checker runs ``n_fresh`` of them
    after the fixed ``cases``, so a memorised table of the fixed cases' answers fails.
    """
    if not callable(learner):
        return _finish(exercise, False, f"expected a function, got {describe(learner)}", quiet)
    drawn = _draw(fresh, n_fresh, cases) if fresh is not None else []
    for case, at_random in [(c, False) for c in cases] + [(c, True) for c in drawn]:
        where = f"on input {case.describe()}" + (", drawn at random" if at_random else "")
        expected = _call(reference, case)
        try:
            got = _call(learner, case)
        except NotImplementedError:
            return _finish(
                exercise, False, "not solved yet: replace `raise NotImplementedError()` with your code.", quiet
            )
        except KeyboardInterrupt:  # the learner stopping a slow cell
            raise
        except BaseException as err:  # the learner's bug (even sys.exit()), reported rather than raised
            return _finish(exercise, False, f"your function raised {_error_text(err)} ({where})", quiet)
        ok, why = _compared(compare, got, expected)
        if ok:
            continue
        for mistake in mistakes:
            try:
                wrong = _call(mistake.wrong, case)
            except Exception:
                continue
            if _compared(compare, got, wrong)[0]:
                return _finish(exercise, False, f"{mistake.hint} ({where}: {why})", quiet)
        return _finish(exercise, False, f"{where}: {why}", quiet)
    total = f"correct on all {len(cases) + len(drawn)} test cases"
    return _finish(exercise, True, success or total + (f" ({len(drawn)} drawn at random)." if drawn else "."), quiet)


def check_value(
    exercise: str,
    got: Any,
    expected: Any,
    mistakes: Sequence[tuple[Any, str]] = (),
    *,
    compare: Callable[[Any, Any], tuple[bool, str]] = same,
    success: str = "correct.",
    quiet: bool = False,
) -> CheckResult:
    """Compare a single value with the expected one; ``mistakes`` pairs known wrong values with hints."""
    if got is Ellipsis or got is None:
        return _finish(exercise, False, "not solved yet: replace the `...` (or None) with your answer.", quiet)
    ok, why = _compared(compare, got, expected)
    if ok:
        return _finish(exercise, True, success, quiet)
    for wrong, hint in mistakes:
        if _compared(compare, got, wrong)[0]:
            return _finish(exercise, False, hint, quiet)
    return _finish(exercise, False, why, quiet)


def pick_reference(references: dict[str, Callable], exercise: str) -> Callable:
    """The course's own version of an exercise's function, by exercise name.

    A lesson uses it in the cells after an exercise, so a learner who has not solved the exercise
    yet can still run the rest of the lesson.
    """
    if exercise not in references:
        raise ValueError(f"exercise must be one of {sorted(references)}, got {exercise!r}")
    return references[exercise]
