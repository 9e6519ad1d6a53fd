"""The checker framework itself: it passes right answers, and explains wrong ones."""

import numpy as np
import pytest
import torch

from course_lib.checks import Case, CheckResult, Mistake, check_function, check_value, same


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
