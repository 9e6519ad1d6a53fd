"""The checker framework itself: it passes right answers, and explains wrong ones."""

import importlib
import random

import numpy as np
import pytest
import torch
from checker_support import Hostile, MessageRaises, NotAnException, function_checkers

from course_lib.checks import (
    Case,
    CheckResult,
    Mistake,
    as_count,
    check_function,
    check_value,
    same,
    same_count,
)


def reference(ids, vocab_size):
    return np.eye(vocab_size)[ids]


CASES = [Case((np.array([0, 2]), 4)), Case((np.array([1, 1, 0]), 3))]
MISTAKES = [Mistake(lambda ids, n: np.eye(n)[ids].T, "did you transpose the result?")]


def test_correct_function_passes_and_prints_a_verdict(capsys):
    result = check_function("one_hot", reference, reference, CASES, MISTAKES)
    assert isinstance(result, CheckResult) and result.passed and bool(result)
    assert "[PASSED] one_hot: correct on all 2 test cases." in capsys.readouterr().out


def test_known_mistake_gets_its_hint():
    result = check_function("one_hot", lambda ids, n: np.eye(n)[ids].T, reference, CASES, MISTAKES, quiet=True)
    assert not result.passed
    assert result.message.startswith("did you transpose the result?")
    assert "expected shape (2, 4), got shape (4, 2)" in result.message


def test_unknown_mistake_reports_the_first_differing_case():
    result = check_function("one_hot", lambda ids, n: np.eye(n)[ids] * 2, reference, CASES, MISTAKES, quiet=True)
    assert not result.passed
    assert "largest difference is at index" in result.message and "expected 1, got 2" in result.message


def test_stub_is_not_solved_yet_rather_than_a_crash():
    def stub(ids, vocab_size):
        raise NotImplementedError()

    result = check_function("one_hot", stub, reference, CASES, quiet=True)
    assert not result.passed and "not solved yet" in result.message


def test_a_crash_in_the_learners_code_is_reported_with_the_input():
    result = check_function("one_hot", lambda ids, n: ids[10], reference, CASES, quiet=True)
    assert "raised IndexError" in result.message and "on input" in result.message


def test_not_a_function():
    assert "expected a function" in check_function("f", 3, reference, CASES, quiet=True).message


def test_learner_cannot_corrupt_later_cases_by_mutating_input():
    def mutating(ids, n):
        out = np.eye(n)[ids]
        ids[:] = 0
        return out

    assert check_function("one_hot", mutating, reference, CASES, quiet=True).passed


@pytest.mark.parametrize(
    "got, expected, fragment",
    [
        (np.array([1.0, np.nan]), np.array([1.0, 2.0]), "NaN"),
        (3, 4, "expected 4, got 3"),
        ("abc", "abd", "expected 'abd'"),
        (["a"], ("a",), "expected a value of type tuple"),
        ("1", 1, "of type int, got type str"),
        (0.5, 0.25, "expected 0.25, got 0.5"),
        (float("nan"), 0.25, "NaN"),
        (torch.ones(2, 3), np.ones((3, 2)), "expected shape (3, 2), got shape (2, 3)"),
        ("text", np.ones(2), "expected an array"),
    ],
)
def test_same_explains_differences(got, expected, fragment):
    ok, why = same(got, expected)
    assert not ok and fragment in why


def test_same_accepts_torch_for_numpy_and_tolerates_rounding():
    assert same(torch.tensor([0.1, 0.2]), np.array([0.1, 0.2 + 1e-9]))[0]
    assert same(np.int64(3), 3)[0]


def test_check_value_hints_and_stub():
    assert check_value("n", 4, 4, quiet=True).passed
    assert check_value("n", 5, 4, [(5, "you counted the space")], quiet=True).message == "you counted the space"
    assert "not solved yet" in check_value("n", ..., 4, quiet=True).message
    assert check_value("n", 6, 4, quiet=True).message == "expected 4, got 6"


def test_result_is_not_displayed_twice_in_a_notebook(capsys):
    result = check_value("n", 4, 4)
    assert capsys.readouterr().out.count("[PASSED]") == 1
    assert result._ipython_display_() is None  # the verdict was printed; display adds nothing


# --------------------------------------------------------------------------- answers of the wrong kind never crash

WRONG_KINDS = {
    "an array of Python objects": np.array([1.0, 2.0], dtype=object),
    "an array of objects that are no numbers": np.array([object(), object()], dtype=object),
    "an array of strings": np.array(["1.0", "2.0"]),
    "None": None,
    "a dict": {"answer": [1.0, 2.0]},
    "a list of mixed types": [1, "a", None],
    "a generator": (x for x in (1.0, 2.0)),
    "a tensor that requires grad, wrong numbers": torch.tensor([5.0, 6.0], requires_grad=True),
    "a bfloat16 tensor": torch.tensor([5.0, 6.0]).bfloat16(),
    "a 0-d object array": np.array(None, dtype=object),
    "complex numbers": np.array([1.0 + 1j, 2.0]),
    "True": True,
    "a string": "0.5",
    "an object that refuses every question": Hostile(),
}
EXPECTED_KINDS = {
    "an array": np.array([1.0, 2.0]),
    "a float": 0.25,
    "an int": 3,
    "a string": "ab",
    "a tuple of ints": (1, 2),
}


@pytest.mark.parametrize("expected", EXPECTED_KINDS.values(), ids=EXPECTED_KINDS.keys())
@pytest.mark.parametrize("got", WRONG_KINDS.values(), ids=WRONG_KINDS.keys())
def test_same_explains_a_wrong_kind_and_never_raises(got, expected):
    ok, why = same(got, expected)
    assert not ok and "expected" in why and "got" in why, why


@pytest.mark.parametrize("got", WRONG_KINDS.values(), ids=WRONG_KINDS.keys())
def test_a_function_returning_a_wrong_kind_is_not_yet(got):
    result = check_function("one_hot", lambda ids, n: got, reference, CASES, MISTAKES, quiet=True)
    assert not result.passed and "expected" in result.message and "got" in result.message, result.message


def test_the_wrong_kinds_say_what_they_are():
    assert "did your function forget to `return`" in same(None, np.ones(2))[1]
    assert "holds Python objects, not numbers" in same(np.array([1.0, 2.0], dtype=object), np.ones(2))[1]
    assert "holds strings, not numbers" in same(np.array(["1", "2"]), np.ones(2))[1]
    assert "a generator: make a list or an array of it first" in same((x for x in [1, 2]), np.ones(2))[1]
    assert "truth value, not a number" in same(True, 0.5)[1]
    assert "got a list holding NoneType, int, str" in same([1, "a", None], 0.5)[1]
    assert same(np.array([np.nan, 1.0]), np.ones(2))[1].startswith("your result contains NaN")


def test_right_numbers_in_another_container_are_right():
    assert same([[1.0, 0.0], [0.0, 1.0]], np.eye(2))[0]  # nested lists
    assert same(torch.tensor([0.5, 1.5], requires_grad=True) * 1, np.array([0.5, 1.5]))[0]  # part of a graph
    assert same(torch.tensor(0.25, requires_grad=True), 0.25)[0]
    assert same(torch.tensor([0.5, 1.5]).bfloat16(), np.array([0.5, 1.5]))[0]  # exactly representable
    assert same(np.str_("b"), "b")[0]  # what indexing a numpy array of characters gives


@pytest.mark.parametrize(
    "error",
    [KeyError("x"), MessageRaises(), SystemExit(1), NotAnException("odd"), RecursionError("deep")],
    ids=["KeyError", "a message that raises", "SystemExit", "a BaseException", "RecursionError"],
)
def test_any_exception_from_the_learner_is_reported(error):
    def raising(ids, n):
        raise error

    result = check_function("one_hot", raising, reference, CASES, quiet=True)
    assert not result.passed and f"your function raised {type(error).__name__}" in result.message


def test_a_long_error_message_is_cut():
    def long_message(ids, n):
        raise KeyError("x" * 1000)

    message = check_function("one_hot", long_message, reference, CASES, quiet=True).message
    assert "raised KeyError: 'xxx" in message and len(message) < 300
    assert message.endswith("... (on input (array([0, 2]), 4))")


def test_interrupting_a_slow_answer_still_interrupts():
    def interrupted(ids, n):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check_function("one_hot", interrupted, reference, CASES, quiet=True)


def test_a_comparison_that_raises_is_a_not_yet():
    def broken_compare(got, expected):
        raise TypeError("this compare cannot handle that")

    result = check_function("one_hot", reference, reference, CASES, MISTAKES, compare=broken_compare, quiet=True)
    assert not result.passed and result.message.startswith("on input") and "expected an array" in result.message
    result = check_value("n", Hostile(), 4, [(5, "off by one")], compare=broken_compare, quiet=True)
    assert not result.passed and result.message == "expected 4, got a Hostile"


def test_a_mistake_that_cannot_be_compared_is_skipped():
    def picky(got, expected):
        if isinstance(expected, np.ndarray) and expected.shape == (4, 2):
            raise ValueError("no")
        return same(got, expected)

    result = check_function("one_hot", lambda ids, n: np.eye(n)[ids].T, reference, CASES, MISTAKES, compare=picky)
    assert not result.passed and "expected shape (2, 4), got shape (4, 2)" in result.message


# --------------------------------------------------------------------------- arguments are copied, all the way down


def reads_nested(data, table):
    return [sum(data["ids"]), len(data["ids"]), float(table.sum()), len(table)]


def scribbles_nested(data, table):
    answer = reads_nested(data, table)
    data["ids"].append(100)  # into a list inside a dict
    data["tags"][0][0] = "changed"  # into a list inside a list
    with torch.no_grad():
        table.fill_(9.0)
    return answer


SHARED = {"ids": [1, 2, 3], "tags": [["a"]]}
NESTED_CASES = [Case((SHARED, torch.ones(2))), Case((SHARED, torch.ones(3)))]  # both cases hold the same dict


def test_a_learner_that_mutates_nested_arguments_corrupts_nothing():
    assert check_function("nested", scribbles_nested, reads_nested, NESTED_CASES, quiet=True).passed
    assert SHARED == {"ids": [1, 2, 3], "tags": [["a"]]}
    assert torch.equal(NESTED_CASES[0].args[1], torch.ones(2))


def test_the_known_mistakes_run_on_clean_copies():
    def wrong_and_scribbling(ids, n):
        out = np.eye(n)[ids].T
        ids[:] = [0] * len(ids)
        ids.append(0)
        return out

    cases = [Case(([0, 2], 4)), Case(([1, 1, 0], 3))]
    result = check_function("one_hot", wrong_and_scribbling, reference, cases, MISTAKES, quiet=True)
    assert result.message.startswith("did you transpose the result?"), result.message


def test_a_tensor_in_the_middle_of_a_graph_is_copied_too():
    x = torch.ones(3, requires_grad=True) * 2  # deepcopy refuses a non-leaf tensor

    def zeroes_it(t):
        total = float(t.sum())
        t.data.zero_()
        return total

    cases = [Case((x,)), Case((x,))]
    assert check_function("sum", zeroes_it, lambda t: float(t.sum()), cases, quiet=True).passed
    assert float(x.detach().sum()) == 6.0


# --------------------------------------------------------------------------- cases drawn fresh at call time


def fresh_one_hot(rng):
    vocab_size = int(rng.integers(2, 30))
    return Case((rng.integers(0, vocab_size, size=int(rng.integers(1, 6))), vocab_size))


def lookup_table(ids, n):
    """An answer that memorised the visible cases' answers."""
    answers = {(0, 2, 4): np.eye(4)[[0, 2]], (1, 1, 0, 3): np.eye(3)[[1, 1, 0]]}
    return answers[(*ids.tolist(), n)]


def test_a_memorised_answer_fails_on_the_case_drawn_at_random():
    assert check_function("one_hot", lookup_table, reference, CASES, quiet=True).passed  # no fresh case: fooled
    result = check_function("one_hot", lookup_table, reference, CASES, fresh=fresh_one_hot, quiet=True)
    assert not result.passed and "raised KeyError" in result.message and "drawn at random" in result.message


def test_a_right_answer_gets_the_same_verdict_on_every_call(capsys):
    for _ in range(5):
        check_function("one_hot", reference, reference, CASES, fresh=fresh_one_hot, n_fresh=2)
    assert capsys.readouterr().out == "[PASSED] one_hot: correct on all 4 test cases (2 drawn at random).\n" * 5


def test_each_call_draws_new_cases():
    seen = []

    def watching(ids, n):
        seen.append((tuple(ids.tolist()), n))
        return reference(ids, n)

    for _ in range(3):
        check_function("one_hot", watching, reference, CASES, fresh=fresh_one_hot, n_fresh=3, quiet=True)
    fresh = [s for s in seen if s not in {((0, 2), 4), ((1, 1, 0), 3)}]
    assert len(fresh) == 9 and len(set(fresh)) > 1


def test_a_drawn_case_never_repeats_a_fixed_one():
    def often_fixed(rng):
        return CASES[0] if rng.random() < 0.9 else fresh_one_hot(rng)

    for _ in range(5):
        drawn = []

        def watching(ids, n, drawn=drawn):
            drawn.append((tuple(ids.tolist()), n))
            return reference(ids, n)

        check_function("one_hot", watching, reference, CASES, fresh=often_fixed, quiet=True)
        assert drawn.count(((0, 2), 4)) == 1  # the fixed case itself, and no copy of it drawn at random


def test_a_generator_that_only_repeats_the_fixed_cases_is_a_bug_in_the_course():
    with pytest.raises(RuntimeError, match="keeps drawing the fixed cases"):
        check_function("one_hot", reference, reference, CASES, fresh=lambda rng: CASES[1], quiet=True)


def test_drawing_leaves_the_lessons_random_state_alone():
    np.random.seed(0)
    random.seed(0)
    torch.manual_seed(0)
    states = np.random.get_state()[1].copy(), random.getstate(), torch.get_rng_state()
    check_function("one_hot", reference, reference, CASES, fresh=fresh_one_hot, quiet=True)
    assert np.array_equal(np.random.get_state()[1], states[0])
    assert random.getstate() == states[1] and torch.equal(torch.get_rng_state(), states[2])


# --------------------------------------------------------------------------- counts


@pytest.mark.parametrize(
    "value", [9216, 9216.0, np.float64(9216.0), np.int64(9216), np.float32(9216.0), torch.tensor(9216.0)]
)
def test_a_count_may_be_a_whole_float(value):
    assert same_count(value, 9216) == (True, "")
    assert as_count(value) == 9216
    assert check_value("heads", value, 96 * 96, compare=same_count, quiet=True).passed


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (9216.5, "expected 9,216 (a whole number), got 9216.5: a count is a whole number"),
        (True, "got True (True/False is a truth value, not a number)"),
        (False, "got False (True/False is a truth value, not a number)"),
        ("9216", "got the string '9216': write the number itself, without quotes"),
        (float("nan"), "expected 9,216 (a whole number), got nan"),
        (np.array([9216]), "got an array of shape (1,)"),
        (9300, "expected 9,216, got 9,300"),
        (9300.0, "expected 9,216, got 9,300"),
    ],
)
def test_what_is_not_the_count_is_explained(value, fragment):
    ok, why = same_count(value, 9216)
    assert not ok and fragment in why, why


def test_an_estimated_count_within_tolerance():
    assert same_count(58e9, 57_982_058_496, rtol=2e-3)[0]
    assert not same_count(60e9, 57_982_058_496, rtol=2e-3)[0]
    assert not same_count(True, 1, rtol=0.5)[0]


# --------------------------------------------------------------------------- every lesson's function checkers


@pytest.mark.parametrize("number", range(10))
def test_every_lesson_names_a_reference_for_each_function_checker(number):
    module = importlib.import_module(f"course_lib.checks.lesson{number:02d}")
    assert set(module.REFERENCES) == function_checkers(module)
    for name in module.REFERENCES:
        assert module.reference(name) is module.REFERENCES[name]
