"""Checkers for lesson 02, embeddings and vector arithmetic.

Each function takes the learner's answer (a function or a value), prints a one-line verdict
and returns a :class:`~course_lib.checks.CheckResult`.
"""

from __future__ import annotations

import numpy as np

from course_lib import embeddings
from course_lib.checks import Case, CheckResult, Mistake, check_function, pick_reference, same_count
from course_lib.model import GPT2_SMALL, GPT3_175B, GPTConfig
from course_lib.sizes import count_parameters

__all__ = ["one_hot", "embedding_parameters", "analogy_vector", "sinusoidal_positions", "reference"]

# --------------------------------------------------------------------------- one-hot


def _one_hot_reference(ids, vocab_size):
    return embeddings.one_hot(ids, vocab_size)


ONE_HOT_CASES = [
    Case(([1, 3], 5)),
    Case(([0, 0, 2], 3)),
    Case(([15, 3256], 10_000), label="the ids of 'Hi world': ([15, 3256], 10000)"),
]
ONE_HOT_MISTAKES = [
    Mistake(
        lambda ids, n: np.eye(n)[ids].T,
        "rows and columns are swapped: give one row per token and one column per vocabulary entry, "
        "shape (len(ids), vocab_size)",
    ),
    Mistake(
        lambda ids, n: np.eye(n)[ids].sum(axis=0),
        "you added the one-hot rows into a single vector (a 'bag of words'); keep one row per token",
    ),
    Mistake(
        lambda ids, n: np.eye(n)[np.asarray(ids) - 1],
        "each 1 is one column too far left: ids count from 0, so id 0 puts its 1 in the first column",
    ),
    Mistake(
        lambda ids, n: np.eye(n)[np.asarray(ids) + 1],
        "each 1 is one column too far right: ids count from 0, so id 0 puts its 1 in the first column",
    ),
]


def _fresh_one_hot(rng: np.random.Generator) -> Case:
    """1 to 8 ids (a list of ints, repeats allowed) in a vocabulary of 2 to 40 entries."""
    vocab_size = int(rng.integers(2, 41))
    return Case((rng.integers(0, vocab_size, size=int(rng.integers(1, 9))).tolist(), vocab_size))


def one_hot(learner) -> CheckResult:
    """``learner(ids, vocab_size)`` must return the ``(len(ids), vocab_size)`` one-hot matrix."""
    return check_function("one_hot", learner, _one_hot_reference, ONE_HOT_CASES, ONE_HOT_MISTAKES, fresh=_fresh_one_hot)


# --------------------------------------------------------------------------- the size of an embedding matrix


def _embedding_parameters_reference(config):
    return count_parameters(config)["token_embedding"]


EMBEDDING_CASES = [
    Case((GPT3_175B,), label="GPT-3 175B (50,257 tokens, width 12,288)"),
    Case((GPT2_SMALL,), label="GPT-2 small (50,257 tokens, width 768)"),
    Case((GPTConfig(vocab_size=84),), label="the course model (84 characters, width 128)"),
    Case(
        (GPTConfig(vocab_size=1000, block_size=4096, n_embd=64, n_head=2),),
        label="1,000 tokens, width 64, 4,096 positions",
    ),
]


def _fresh_embedding(rng: np.random.Generator) -> Case:
    n_head = int(rng.integers(1, 9))
    config = GPTConfig(
        vocab_size=int(rng.integers(50, 200_000)),
        block_size=int(rng.integers(16, 8192)),
        n_embd=n_head * int(rng.integers(4, 257)),
        n_head=n_head,
    )
    return Case((config,))


EMBEDDING_MISTAKES = [
    Mistake(lambda c: c.n_embd, "that is the length of one row; the matrix has one such row per vocabulary entry"),
    Mistake(lambda c: c.vocab_size, "that is the number of rows; each row holds config.n_embd numbers"),
    Mistake(
        lambda c: c.vocab_size + c.n_embd,
        "you added the two sizes; a rows x columns matrix holds rows * columns numbers",
    ),
    Mistake(
        lambda c: (c.vocab_size + c.block_size) * c.n_embd,
        "count the token embedding only: the position table (config.block_size rows) is a second matrix",
    ),
    Mistake(
        lambda c: 2 * c.vocab_size * c.n_embd,
        "count one table only, the token embedding (the unembedding reuses the same matrix)",
    ),
    Mistake(
        lambda c: 4 * c.vocab_size * c.n_embd,
        "that is the size in bytes at 4 bytes per number; count the numbers themselves",
    ),
]


def embedding_parameters(learner) -> CheckResult:
    """``embedding_parameters(config)``: the numbers in the token-embedding matrix of a model of that shape."""
    return check_function(
        "embedding_parameters",
        learner,
        _embedding_parameters_reference,
        EMBEDDING_CASES,
        EMBEDDING_MISTAKES,
        fresh=_fresh_embedding,
        compare=same_count,
        success="vocab_size x n_embd: GPT-3 has 617,558,016 parameters just to look tokens up.",
    )


# --------------------------------------------------------------------------- analogy arithmetic


def _analogy_reference(king, man, woman):
    return king - man + woman


def _vectors(seed: int | np.random.Generator, dim: int) -> tuple:
    rng = np.random.default_rng(seed)
    return tuple(np.round(rng.normal(size=dim), 2) for _ in range(3))


ANALOGY_CASES = [
    Case((np.array([1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])), label="king, man, woman"),
    Case(_vectors(1, 5), label="three random 5-D vectors"),
    Case(_vectors(2, 8), label="three random 8-D vectors"),
]
ANALOGY_MISTAKES = [
    Mistake(
        lambda k, m, w: k + m - w,
        "the signs are the wrong way round: start from king, subtract man and add woman (you added man)",
    ),
    Mistake(lambda k, m, w: k - m - w, "did you subtract woman? Take man away, then add woman"),
    Mistake(lambda k, m, w: k + m + w, "did you add all three? Subtract man: king - man + woman"),
    Mistake(lambda k, m, w: m - k + w, "start from king: it is king - man + woman, not man - king + woman"),
    Mistake(lambda k, m, w: w - m, "you returned only the direction woman - man; add it to king"),
]


def _fresh_analogy(rng: np.random.Generator) -> Case:
    return Case(_vectors(rng, int(rng.integers(2, 13))))


def analogy_vector(learner) -> CheckResult:
    """``learner(king, man, woman)`` must return ``king - man + woman``."""
    return check_function(
        "analogy_vector", learner, _analogy_reference, ANALOGY_CASES, ANALOGY_MISTAKES, fresh=_fresh_analogy
    )


# --------------------------------------------------------------------------- sinusoidal positions


def _sinusoidal_reference(n_positions, dim):
    return embeddings.sinusoidal_positions(n_positions, dim).astype(np.float64)


def _pairs(n_positions, dim, exponent_of_column):
    """Angles ``position / 10000 ** exponent`` for each column; the exponent depends on the column index."""
    positions = np.arange(n_positions)[:, None]
    columns = np.arange(dim)[None, :]
    return positions / 10000.0 ** exponent_of_column(columns, dim)


def _sin_even_cos_odd(angles):
    out = np.sin(angles)
    out[:, 1::2] = np.cos(angles[:, 1::2])
    return out


def _swapped(n, d):
    angles = _pairs(n, d, lambda j, d: (j - j % 2) / d)
    out = np.cos(angles)
    out[:, 1::2] = np.sin(angles[:, 1::2])
    return out


def _column_exponent(n, d):
    return _sin_even_cos_odd(_pairs(n, d, lambda j, d: j / d))


def _pair_without_two(n, d):
    return _sin_even_cos_odd(_pairs(n, d, lambda j, d: (j // 2) / d))


def _multiplied(n, d):
    positions = np.arange(n)[:, None]
    columns = np.arange(d)[None, :]
    return _sin_even_cos_odd(positions * 10000.0 ** ((columns - columns % 2) / d))


def _concatenated(n, d):
    half = d // 2
    angles = np.arange(n)[:, None] / 10000.0 ** (2 * np.arange(half)[None, :] / d)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)


SINUSOIDAL_CASES = [Case((4, 6)), Case((10, 8)), Case((3, 4))]
SINUSOIDAL_MISTAKES = [
    Mistake(_swapped, "sin and cos are swapped: even columns (0, 2, 4...) take sin, odd columns take cos"),
    Mistake(
        _column_exponent,
        "each sin/cos pair shares one frequency: the exponent is 2i/dim with i the pair number "
        "(columns 2i and 2i+1), not the column number / dim",
    ),
    Mistake(_pair_without_two, "did you forget the 2 in the exponent? It is 10000 ** (2i / dim)"),
    Mistake(_multiplied, "divide the position by 10000 ** (2i / dim); you multiplied"),
    Mistake(
        _concatenated,
        "that is the 'all sines, then all cosines' layout; here sin and cos alternate: column 2i sin, column 2i+1 cos",
    ),
]


def _fresh_sinusoidal(rng: np.random.Generator) -> Case:
    """2 to 24 positions of an even width from 2 to 32."""
    return Case((int(rng.integers(2, 25)), 2 * int(rng.integers(1, 17))))


def sinusoidal_positions(learner) -> CheckResult:
    """``learner(n_positions, dim)`` must return the ``(n_positions, dim)`` sinusoidal encodings."""
    return check_function(
        "sinusoidal_positions",
        learner,
        _sinusoidal_reference,
        SINUSOIDAL_CASES,
        SINUSOIDAL_MISTAKES,
        fresh=_fresh_sinusoidal,
    )


REFERENCES = {
    "one_hot": _one_hot_reference,
    "embedding_parameters": _embedding_parameters_reference,
    "analogy_vector": _analogy_reference,
    "sinusoidal_positions": _sinusoidal_reference,
}


def reference(exercise: str):
    """The course's version of an exercise's function, for the cells after an exercise that is not solved yet."""
    return pick_reference(REFERENCES, exercise)
