"""Checkers for lesson 03, dot products.

Each function takes the learner's function, prints a one-line verdict and returns a
:class:`~course_lib.checks.CheckResult`.
"""

from __future__ import annotations

import numpy as np

from course_lib import embeddings
from course_lib.checks import Case, CheckResult, Mistake, check_function, pick_reference

__all__ = ["dot", "cosine_similarity", "matvec", "similarity_table", "reference"]


def _random(seed: int | np.random.Generator, *shape: int) -> np.ndarray:
    return np.round(np.random.default_rng(seed).normal(size=shape), 2)


def _fresh_pair(rng: np.random.Generator) -> Case:
    """Two random vectors of one length from 2 to 12, neither of them zero."""
    n = int(rng.integers(2, 13))
    a, b = _random(rng, n), _random(rng, n)
    while not (a.any() and b.any()):
        a, b = _random(rng, n), _random(rng, n)
    return Case((a, b))


# --------------------------------------------------------------------------- dot product


def _dot_reference(a, b):
    return float(np.dot(a, b))


DOT_CASES = [
    Case((np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]))),
    Case((np.array([3.0, 4.0]), np.array([4.0, -3.0])), label="perpendicular: ([3, 4], [4, -3])"),
    Case((np.array([1.0, 2.0]), np.array([-2.0, -1.0])), label="pointing apart: ([1, 2], [-2, -1])"),
    Case((_random(0, 6), _random(1, 6)), label="two random 6-D vectors"),
]
DOT_MISTAKES = [
    Mistake(lambda a, b: a * b, "you multiplied matching components but did not add the products up"),
    Mistake(
        lambda a, b: float(np.sum(a) * np.sum(b)),
        "multiply matching components first, then add; you added up each vector first",
    ),
    Mistake(lambda a, b: float(np.sum(a + b)), "multiply the matching components (a[i] * b[i]); you added them"),
    Mistake(
        lambda a, b: float(np.linalg.norm(a) * np.linalg.norm(b)),
        "that is the product of the two lengths; the dot product multiplies matching components and adds them",
    ),
]


def dot(learner) -> CheckResult:
    """``learner(a, b)`` must return the dot product: the sum of ``a[i] * b[i]``."""
    return check_function("dot", learner, _dot_reference, DOT_CASES, DOT_MISTAKES, fresh=_fresh_pair)


# --------------------------------------------------------------------------- cosine similarity


def _cosine_reference(a, b):
    return embeddings.cosine_similarity(a, b)


COSINE_CASES = [
    Case((np.array([1.0, 0.0]), np.array([0.0, 1.0])), label="perpendicular unit vectors"),
    Case((np.array([3.0, 4.0]), np.array([6.0, 8.0])), label="same direction, different lengths: ([3, 4], [6, 8])"),
    Case((np.array([1.0, 2.0, 2.0]), np.array([-2.0, 0.0, 1.0]))),
    Case((np.array([2.0, 0.0]), np.array([-1.0, 1.0]))),
    Case((_random(2, 5), _random(3, 5)), label="two random 5-D vectors"),
]
COSINE_MISTAKES = [
    Mistake(lambda a, b: float(a @ b), "did you forget to normalise? Divide the dot product by both vectors' lengths"),
    Mistake(
        lambda a, b: float(a @ b / ((a @ a) * (b @ b))),
        "you divided by the squared lengths; a length is the square root: np.linalg.norm(a)",
    ),
    Mistake(lambda a, b: float(a @ b / np.linalg.norm(a)), "divide by both lengths, |a| * |b|; you used only |a|"),
    Mistake(lambda a, b: float(a @ b / np.linalg.norm(b)), "divide by both lengths, |a| * |b|; you used only |b|"),
    Mistake(
        lambda a, b: float(1 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b))),
        "that is the cosine *distance*, 1 - similarity; return the similarity itself",
    ),
]


def cosine_similarity(learner) -> CheckResult:
    """``learner(a, b)`` must return ``a . b / (|a| |b|)``."""
    return check_function(
        "cosine_similarity", learner, _cosine_reference, COSINE_CASES, COSINE_MISTAKES, fresh=_fresh_pair
    )


# --------------------------------------------------------------------------- matrix times vector


def _matvec_reference(W, x):
    return np.asarray(W, dtype=float) @ np.asarray(x, dtype=float)


MATVEC_CASES = [
    Case((np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1.0, -1.0])), label="W = [[1, 2], [3, 4]], x = [1, -1]"),
    Case((_random(4, 3, 3), _random(5, 3)), label="a random 3 x 3 matrix and 3-vector"),
    Case((_random(6, 2, 4), _random(7, 4)), label="a 2 x 4 matrix (two questions) and a 4-vector"),
]
MATVEC_MISTAKES = [
    Mistake(
        lambda W, x: W.T @ x,
        "you took dot products with the columns of W; each output is one *row* of W dotted with x",
    ),
    Mistake(
        lambda W, x: (W * x).sum(axis=0),
        "you added down the columns; add across each row (axis=1) so each row gives one number",
    ),
    Mistake(lambda W, x: W * x, "you multiplied but did not add: sum each row's products into one number"),
    Mistake(lambda W, x: W.sum(axis=1) * x.sum(), "multiply matching entries first, then add; you added first"),
]


def _fresh_matvec(rng: np.random.Generator) -> Case:
    rows, columns = int(rng.integers(1, 7)), int(rng.integers(2, 7))
    return Case((_random(rng, rows, columns), _random(rng, columns)))


def matvec(learner) -> CheckResult:
    """``learner(W, x)`` must return one dot product per row of ``W``: ``W @ x``."""
    return check_function("matvec", learner, _matvec_reference, MATVEC_CASES, MATVEC_MISTAKES, fresh=_fresh_matvec)


# --------------------------------------------------------------------------- similarity table


def _table_reference(X):
    return embeddings.cosine_matrix(X)


TABLE_CASES = [
    Case((np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]]),), label="three 2-D vectors"),
    Case((_random(8, 4, 3),), label="four random 3-D vectors"),
    Case((_random(9, 3, 5),), label="three random 5-D vectors"),
]


def _unit(X, axis):
    return X / np.linalg.norm(X, axis=axis, keepdims=True)


TABLE_MISTAKES = [
    Mistake(lambda X: X @ X.T, "did you forget to normalise? Scale each row to length 1 before the dot products"),
    Mistake(
        lambda X: _unit(X, 0) @ _unit(X, 0).T,
        "you normalised the columns (axis=0); normalise each row (one vector per row): axis=1",
    ),
    Mistake(
        lambda X: _unit(X, 1).T @ _unit(X, 1),
        "rows are the vectors, so compare rows with rows: X @ X.T (n x n), not X.T @ X",
    ),
    Mistake(
        lambda X: X @ X.T / (np.linalg.norm(X, axis=1) ** 2)[:, None],
        "divide by both lengths, |x_i| |x_j|; you divided each row by its own squared length",
    ),
]


def _fresh_table(rng: np.random.Generator) -> Case:
    """2 to 6 random vectors of 2 to 6 numbers, none of them zero."""
    rows, columns = int(rng.integers(2, 7)), int(rng.integers(2, 7))
    X = _random(rng, rows, columns)
    while not X.any(axis=1).all():
        X = _random(rng, rows, columns)
    return Case((X,))


def similarity_table(learner) -> CheckResult:
    """``learner(X)`` must return the ``(n, n)`` cosine similarity of every row of ``X`` with every row."""
    return check_function(
        "similarity_table", learner, _table_reference, TABLE_CASES, TABLE_MISTAKES, fresh=_fresh_table
    )


REFERENCES = {
    "dot": _dot_reference,
    "cosine_similarity": _cosine_reference,
    "matvec": _matvec_reference,
    "similarity_table": _table_reference,
}


def reference(exercise: str):
    """The course's version of an exercise's function, for the cells after an exercise that is not solved yet."""
    return pick_reference(REFERENCES, exercise)
