"""Lesson 03's checkers accept the reference, call a stub unsolved, and name the likely bug."""

import numpy as np
import pytest
from checker_support import (
    function_checkers,
    robustness_tests,
    stub,
    verdict,
)

from course_lib.checks import lesson03 as check


def assert_hint(result, hint):
    assert not result.passed
    assert hint in result.message, result.message


# --------------------------------------------------------------------------- dot


def test_dot_accepts_correct_answers(capsys):
    assert check.dot(lambda a, b: sum(x * y for x, y in zip(a, b, strict=True)))
    assert check.dot(np.dot)
    assert "[PASSED] dot" in capsys.readouterr().out


def test_dot_stub_is_not_solved():
    assert check.dot(stub).message.startswith("not solved yet")


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda a, b: a * b, "did not add the products up"),
        (lambda a, b: sum(a) * sum(b), "you added up each vector first"),
        (lambda a, b: sum(a + b), "you added them"),
        (lambda a, b: np.linalg.norm(a) * np.linalg.norm(b), "product of the two lengths"),
    ],
)
def test_dot_names_the_mistake(wrong, hint):
    assert_hint(check.dot(wrong), hint)


# --------------------------------------------------------------------------- cosine_similarity


def test_cosine_accepts_correct_answers():
    assert check.cosine_similarity(lambda a, b: a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    assert check.cosine_similarity(lambda a, b: np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))


def test_cosine_stub_is_not_solved():
    assert check.cosine_similarity(stub).message.startswith("not solved yet")


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda a, b: a @ b, "did you forget to normalise?"),
        (lambda a, b: a @ b / ((a @ a) * (b @ b)), "you divided by the squared lengths"),
        (lambda a, b: a @ b / np.linalg.norm(a), "you used only |a|"),
        (lambda a, b: a @ b / np.linalg.norm(b), "you used only |b|"),
        (lambda a, b: 1 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), "cosine *distance*"),
    ],
)
def test_cosine_names_the_mistake(wrong, hint):
    assert_hint(check.cosine_similarity(wrong), hint)


# --------------------------------------------------------------------------- matvec


def test_matvec_accepts_correct_answers():
    assert check.matvec(lambda W, x: W @ x)
    assert check.matvec(lambda W, x: np.array([row @ x for row in W]))


def test_matvec_stub_is_not_solved():
    assert check.matvec(stub).message.startswith("not solved yet")


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda W, x: W.T @ x, "with the columns of W"),
        (lambda W, x: x @ W, "with the columns of W"),
        (lambda W, x: (W * x).sum(axis=0), "you added down the columns"),
        (lambda W, x: W * x, "you multiplied but did not add"),
        (lambda W, x: W.sum(axis=1) * x.sum(), "you added first"),
    ],
)
def test_matvec_names_the_mistake(wrong, hint):
    assert_hint(check.matvec(wrong), hint)


# --------------------------------------------------------------------------- similarity_table


def test_similarity_table_accepts_correct_answers():
    def by_loops(X):
        n = len(X)
        out = np.zeros((n, n))
        for i in range(n):
            for j in range(n):
                out[i, j] = X[i] @ X[j] / (np.linalg.norm(X[i]) * np.linalg.norm(X[j]))
        return out

    assert check.similarity_table(by_loops)
    assert check.similarity_table(lambda X: (U := X / np.linalg.norm(X, axis=1, keepdims=True)) @ U.T)


def test_similarity_table_stub_is_not_solved():
    assert check.similarity_table(stub).message.startswith("not solved yet")


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda X: X @ X.T, "did you forget to normalise?"),
        (lambda X: (U := X / np.linalg.norm(X, axis=0, keepdims=True)) @ U.T, "you normalised the columns"),
        (lambda X: (U := X / np.linalg.norm(X, axis=1, keepdims=True)).T @ U, "not X.T @ X"),
        (lambda X: X @ X.T / (np.linalg.norm(X, axis=1) ** 2)[:, None], "its own squared length"),
    ],
)
def test_similarity_table_names_the_mistake(wrong, hint):
    assert_hint(check.similarity_table(wrong), hint)


# --------------------------------------------------------------------------- hard to fool, impossible to crash

ROBUSTNESS = [
    (check.dot, lambda a, b: sum(x * y for x, y in zip(a, b, strict=True)), lambda a, b: a * b, "did not add"),
    (
        check.cosine_similarity,
        lambda a, b: a @ b / (np.linalg.norm(a) * np.linalg.norm(b)),
        lambda a, b: a @ b,
        "did you forget to normalise?",
    ),
    (check.matvec, lambda W, x: W @ x, lambda W, x: W.T @ x, "with the columns of W"),
    (
        check.similarity_table,
        lambda X: (U := X / np.linalg.norm(X, axis=1, keepdims=True)) @ U.T,
        lambda X: X @ X.T,
        "did you forget to normalise?",
    ),
]
globals().update(robustness_tests(check, ROBUSTNESS))  # the tests every lesson's checkers pass


def test_the_reference_passes_every_function_checker():
    for name in function_checkers(check):
        verdict(getattr(check, name)(check.reference(name)), True)
