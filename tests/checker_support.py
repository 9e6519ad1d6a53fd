"""What every checker test needs: a learner's unsolved stub, one-line verdicts on a result, and the
answers that try to fool a checker (one that memorises the cases, one that scribbles over its input,
answers of the wrong kind) with the assertions that the checker is not fooled."""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
from collections.abc import Callable

import numpy as np
import pytest
import torch

from course_lib.checks import CheckResult


def stub(*args):
    """A function exactly as the student version leaves it: not written yet."""
    raise NotImplementedError()


def verdict(result, passed: bool, text: str = "") -> None:
    """The checker passed (or not) as expected, and its message says ``text``."""
    assert result.passed is passed, result.message
    assert text in result.message, result.message


def accepts_and_reports_stub(checker, right, capsys) -> None:
    """``checker`` passes a right answer (printing [PASSED]) and calls the stub not solved yet."""
    result = checker(right)
    assert result.passed, result.message
    assert "[PASSED]" in capsys.readouterr().out
    verdict(checker(stub), False, "not solved yet")


def quietly(checker: Callable, answer) -> CheckResult:
    """Run a checker without its printed verdict (so a test's output stays readable)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return checker(answer)


def function_checkers(module) -> set[str]:
    """The names of a lesson module's checkers that take the learner's function (their argument is ``learner``;
    a checker that ``your_work.use`` re-runs also takes the keyword ``quiet``)."""

    def takes_a_function(fn) -> bool:
        params = list(inspect.signature(fn).parameters.values())
        return bool(params) and params[0].name == "learner" and all(p.kind is p.KEYWORD_ONLY for p in params[1:])

    return {
        name
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module.__name__ and takes_a_function(value)
    }


# --------------------------------------------------------------------------- an answer that memorises the cases


def _key(value, keep: list):
    """A hashable fingerprint of an argument, equal for equal data (functions by identity, kept alive in ``keep``)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().numpy()
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str, value.tobytes())
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_key(v, keep) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _key(v, keep)) for k, v in value.items()))
    if callable(value):
        keep.append(value)  # so its id is never reused by another function
        return ("callable", id(value))
    return (type(value).__name__, repr(value))


def memorising(checker: Callable, right: Callable) -> Callable:
    """A lookup table of the answers to every case the checker shows every time, learned with ``right``.

    It watches two runs of the checker; the cases seen in both are the fixed ones (a case drawn at random
    turns up once), and the table holds their answers (or the exception ``right`` raised). An input it has
    not seen raises KeyError, as a dictionary lookup does.
    """
    keep: list = []
    runs = []
    for _ in range(2):
        seen = {}

        def recorder(*args, seen=seen):
            key = _key(args, keep)
            try:
                result = right(*args)
            except Exception as err:
                seen[key] = err
                raise
            seen[key] = copy.deepcopy(result)
            return result

        assert quietly(checker, recorder).passed
        runs.append(seen)
    table = {key: answer for key, answer in runs[0].items() if key in runs[1]}

    def memoriser(*args):
        answer = table[_key(args, keep)]
        if isinstance(answer, Exception):
            raise answer
        return copy.deepcopy(answer)

    return memoriser


def memorised_answer_fails(checker: Callable, right: Callable) -> None:
    """A table of the fixed cases' answers passes every fixed case, then fails on the case drawn at random."""
    result = quietly(checker, memorising(checker, right))
    assert not result.passed, result.message
    assert "drawn at random" in result.message, result.message  # every fixed case passed; the fresh one did not


# --------------------------------------------------------------------------- an answer that scribbles over its input


def _scribble(value) -> None:
    """Overwrite ``value`` in place, all the way down: arrays and tensors filled with 7, lists and dicts replaced."""
    if isinstance(value, np.ndarray) and value.flags.writeable and value.dtype.kind in "biuf":
        value[...] = 7
    elif isinstance(value, torch.Tensor):
        with torch.no_grad():
            value.fill_(7)
    elif isinstance(value, list):
        for v in value:
            _scribble(v)
        value[:] = [7] * (len(value) + 1)
    elif isinstance(value, dict):
        for v in value.values():
            _scribble(v)
        value.clear()
        value["scribbled"] = 7
    elif isinstance(value, tuple):
        for v in value:
            _scribble(v)


def scribbling(fn: Callable) -> Callable:
    """``fn``, but after computing its answer it overwrites every argument it was given."""

    def answer(*args):
        try:
            return copy.deepcopy(fn(*args))
        finally:
            for a in args:
                _scribble(a)

    return answer


def mutating_answer_corrupts_nothing(checker: Callable, right: Callable, wrong: Callable, hint: str) -> None:
    """Scribbling over the input changes no verdict: not this one, not a later one, not a known mistake's hint."""
    first = quietly(checker, scribbling(right))
    assert first.passed, first.message
    again = quietly(checker, right)
    assert again.passed and again.message == first.message, again.message
    verdict(quietly(checker, scribbling(wrong)), False, hint)  # the mistakes ran on clean copies


# --------------------------------------------------------------------------- answers of the wrong kind


class Hostile:
    """An object every question about which raises: repr, equality, conversion to a number or an array."""

    def _refuse(self, *args, **kwargs):
        raise RuntimeError("no")

    __repr__ = __str__ = __eq__ = __ne__ = __float__ = __int__ = __len__ = __iter__ = __array__ = __bool__ = _refuse
    __hash__ = None


class MessageRaises(Exception):
    def __str__(self):
        raise RuntimeError("not even a message")


class NotAnException(BaseException):
    pass


def _numbers(answer) -> np.ndarray:
    """The right answer as an array of floats, or [1, 2] when it is not numbers (a string, say)."""
    try:
        numbers = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return np.array([1.0, 2.0])
    return numbers if numbers.dtype.kind == "f" else np.array([1.0, 2.0])


WRONG_KINDS: dict[str, Callable] = {
    "an array of Python objects": lambda r: np.array(_numbers(r), dtype=object),
    "an array of strings": lambda r: _numbers(r).astype(str),
    "None": lambda r: None,
    "a dict holding the answer": lambda r: {"answer": r},
    "a list of mixed types": lambda r: [1, "a", None],
    "a generator": lambda r: (x for x in np.ravel(_numbers(r))),
    "a requires_grad tensor of wrong numbers": lambda r: torch.tensor(_numbers(r) + 1, requires_grad=True),
    "a bfloat16 tensor of wrong numbers": lambda r: torch.tensor(_numbers(r) + 1).bfloat16(),
    "NaN": lambda r: np.full(_numbers(r).shape, np.nan),
    "complex numbers": lambda r: _numbers(r) + 1j,
    "True": lambda r: True,
    "a string": lambda r: "0.5",
    "an object that refuses every question": lambda r: Hostile(),
}
RAISES: dict[str, BaseException] = {
    "a KeyError": KeyError("x"),
    "an exception whose message raises": MessageRaises(),
    "SystemExit": SystemExit(1),
    "a BaseException that is no Exception": NotAnException("odd"),
}


def wrong_kinds_are_not_yet(checker: Callable, right: Callable) -> None:
    """Each answer of the wrong kind, and each function that raises, gets [NOT YET] saying what was expected."""
    for kind, make in WRONG_KINDS.items():
        result = quietly(checker, lambda *args, make=make: make(right(*args)))
        assert isinstance(result, CheckResult) and not result.passed, f"{kind}: {result.message}"
        assert "expected" in result.message and "got" in result.message, f"{kind}: {result.message}"
    for kind, err in RAISES.items():

        def raising(*args, err=err):
            raise err

        result = quietly(checker, raising)
        assert not result.passed and "raised" in result.message, f"{kind}: {result.message}"


def counts_accept_whole_floats(check_count: Callable[[object], CheckResult], right: int) -> None:
    """``check_count(value)`` passes ``right`` as an int, a float or numpy's; refuses a fraction and a bool."""
    for same_number in (right, float(right), np.float64(right), np.int64(right)):
        verdict(quietly(check_count, same_number), True)
    verdict(quietly(check_count, right + 0.5), False, "a count is a whole number")
    for truth in (True, False):
        verdict(quietly(check_count, truth), False, "True/False is a truth value, not a number")


def wrong_values_are_not_yet(check_one: Callable[[object], CheckResult]) -> None:
    """A value checker gives [NOT YET] with what it expected for each answer of the wrong kind (None aside:
    that is the unsolved placeholder, "not solved yet")."""
    for kind, make in WRONG_KINDS.items():
        if kind == "None":
            continue
        result = quietly(check_one, make(12345.678))
        assert isinstance(result, CheckResult) and not result.passed, f"{kind}: {result.message}"
        assert "expected" in result.message and "got" in result.message, f"{kind}: {result.message}"


def robustness_tests(check_module, cases: list[tuple]) -> dict[str, Callable]:
    """The tests every lesson's checkers must pass, for the lesson's test module to take in with
    ``globals().update(robustness_tests(check, ROBUSTNESS))``.

    ``cases`` lists ``(checker, right answer, plausible wrong answer, the hint it must get)`` for every
    function checker of ``check_module``: each checker rejects an answer that memorised its cases, is not
    fooled by an answer that scribbles over its input, and calls answers of the wrong kind "not yet".
    """
    names = [checker.__name__ for checker, *_ in cases]
    each = pytest.mark.parametrize(("checker", "right", "wrong", "hint"), cases, ids=names)

    def test_robustness_covers_every_function_checker():
        assert set(names) == function_checkers(check_module) == set(check_module.REFERENCES)

    @each
    def test_an_answer_that_memorised_the_cases_fails(checker, right, wrong, hint):
        memorised_answer_fails(checker, right)

    @each
    def test_an_answer_that_mutates_its_input_corrupts_nothing(checker, right, wrong, hint):
        mutating_answer_corrupts_nothing(checker, right, wrong, hint)

    @each
    def test_answers_of_the_wrong_kind_are_not_yet(checker, right, wrong, hint):
        wrong_kinds_are_not_yet(checker, right)

    tests = (
        test_robustness_covers_every_function_checker,
        test_an_answer_that_memorised_the_cases_fails,
        test_an_answer_that_mutates_its_input_corrupts_nothing,
        test_answers_of_the_wrong_kind_are_not_yet,
    )
    return {test.__name__: test for test in tests}
