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
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CheckResult", "Mistake", "Case", "check_function", "check_value", "pick_reference", "same"]


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


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, np.ndarray | _torch_tensor_type()):
        return f"<array of shape {tuple(value.shape)}>"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _torch_tensor_type():
    # Only look torch up if the learner's code already imported it: importing torch costs seconds,
    # and a lesson about tokens should not pay for it.
    torch = sys.modules.get("torch")
    return torch.Tensor if torch is not None else np.ndarray


def _as_array(value: Any) -> np.ndarray | None:
    """A numeric array view of lists, tuples, numpy arrays and torch tensors; None if not numeric."""
    if isinstance(value, _torch_tensor_type()) and not isinstance(value, np.ndarray):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, list | tuple) and value and all(isinstance(v, int | float | np.number) for v in value):
        return np.asarray(value)
    if isinstance(value, int | float | np.number) and not isinstance(value, bool):
        return np.asarray(value)
    return None


def same(got: Any, expected: Any, rtol: float = 1e-5, atol: float = 1e-6) -> tuple[bool, str]:
    """Compare two answers; return (equal, what differs) with a message a learner can act on."""
    exp_arr, got_arr = _as_array(expected), _as_array(got)
    if exp_arr is not None and exp_arr.ndim > 0 or isinstance(expected, np.ndarray):
        if got_arr is None:
            return False, f"expected an array of shape {exp_arr.shape}, got {type(got).__name__}"
        if got_arr.shape != exp_arr.shape:
            return False, f"expected shape {exp_arr.shape}, got shape {got_arr.shape}"
        if np.issubdtype(got_arr.dtype, np.number) and np.isnan(got_arr).any() and not np.isnan(exp_arr).any():
            return False, "your result contains NaN (not a number): look for 0/0, log(0) or inf - inf"
        if not np.allclose(got_arr, exp_arr, rtol=rtol, atol=atol, equal_nan=True):
            diff = np.abs(got_arr.astype(float) - exp_arr.astype(float))
            where = np.unravel_index(int(np.nanargmax(diff)), diff.shape) if diff.ndim else ()
            return False, (
                f"values differ; the largest difference is at index {tuple(int(i) for i in where)}: "
                f"expected {_round(exp_arr[where])}, got {_round(got_arr[where])}"
            )
        return True, ""
    if isinstance(expected, float) or (exp_arr is not None and np.issubdtype(exp_arr.dtype, np.floating)):
        if got_arr is None or got_arr.ndim != 0:
            return False, f"expected a number, got {_short(got)}"
        value = float(got_arr)
        if math.isnan(value):
            return False, "your result is NaN (not a number): look for 0/0, log(0) or inf - inf"
        if not math.isclose(value, float(expected), rel_tol=rtol, abs_tol=atol):
            return False, f"expected {_round(expected)}, got {_round(value)}"
        return True, ""
    if type(expected) is not type(got) and not (isinstance(expected, int) and isinstance(got, np.integer)):
        return (
            False,
            f"expected a value of type {type(expected).__name__}, got type {type(got).__name__}: {_short(got)}",
        )
    if got != expected:
        return False, f"expected {_short(expected)}, got {_short(got)}"
    return True, ""


def _round(x: Any) -> str:
    try:
        return f"{float(x):.4g}"
    except (TypeError, ValueError):
        return repr(x)


def _call(fn: Callable, case: Case) -> Any:
    # Copy array arguments so an answer that modifies its input in place cannot corrupt the next call.
    args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in case.args)
    return fn(*args, **case.kwargs)


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
    compare: Callable[[Any, Any], tuple[bool, str]] = same,
    success: str = "",
    quiet: bool = False,
) -> CheckResult:
    """Run ``learner`` and ``reference`` on every case; explain the first disagreement."""
    if not callable(learner):
        return _finish(exercise, False, f"expected a function, got {type(learner).__name__}", quiet)
    for case in cases:
        expected = _call(reference, case)
        try:
            got = _call(learner, case)
        except NotImplementedError:
            return _finish(
                exercise, False, "not solved yet: replace `raise NotImplementedError()` with your code.", quiet
            )
        except Exception as err:  # the learner's bug, reported rather than raised
            return _finish(
                exercise, False, f"your function raised {type(err).__name__}: {err} (on input {case.describe()})", quiet
            )
        ok, why = compare(got, expected)
        if ok:
            continue
        for mistake in mistakes:
            try:
                wrong = _call(mistake.wrong, case)
            except Exception:
                continue
            matches_wrong, _ = compare(got, wrong)
            if matches_wrong:
                return _finish(exercise, False, f"{mistake.hint} (on input {case.describe()}: {why})", quiet)
        return _finish(exercise, False, f"on input {case.describe()}: {why}", quiet)
    return _finish(exercise, True, success or f"correct on all {len(cases)} test cases.", quiet)


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
    ok, why = compare(got, expected)
    if ok:
        return _finish(exercise, True, success, quiet)
    for wrong, hint in mistakes:
        if compare(got, wrong)[0]:
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
