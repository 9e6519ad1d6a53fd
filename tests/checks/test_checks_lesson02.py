"""Lesson 02's checkers accept the reference, call a stub unsolved, and name the likely bug."""

import numpy as np
import pytest
from checker_support import (
    accepts_and_reports_stub,
    function_checkers,
    robustness_tests,
    stub,
    verdict,
)

from course_lib import embeddings
from course_lib.checks import lesson02 as check


def assert_hint(result, hint):
    assert not result.passed
    assert hint in result.message, result.message


# --------------------------------------------------------------------------- one_hot


def one_hot_solution(ids, vocab_size):
    out = np.zeros((len(ids), vocab_size))
    out[np.arange(len(ids)), ids] = 1
    return out


def test_one_hot_accepts_the_reference_and_a_solution(capsys):
    assert check.one_hot(embeddings.one_hot)
    assert check.one_hot(one_hot_solution)
    assert "[PASSED] one_hot" in capsys.readouterr().out


def test_one_hot_stub_is_not_solved():
    result = check.one_hot(stub)
    assert not result.passed and result.message.startswith("not solved yet")


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda ids, n: np.eye(n)[ids].T, "rows and columns are swapped"),
        (lambda ids, n: np.eye(n)[ids].sum(axis=0), "a single vector (a 'bag of words')"),
        (lambda ids, n: np.eye(n)[np.asarray(ids) - 1], "one column too far left"),
        (lambda ids, n: np.eye(n)[np.asarray(ids) + 1], "one column too far right"),
    ],
)
def test_one_hot_names_the_mistake(wrong, hint):
    assert_hint(
        check.one_hot(
            wrong,
        ),
        hint,
    )


# --------------------------------------------------------------------------- embedding_parameters


def embedding_parameters_ok(config):
    return config.vocab_size * config.n_embd


def test_embedding_parameters_accepts_a_right_answer_and_reports_a_stub(capsys):
    accepts_and_reports_stub(check.embedding_parameters, embedding_parameters_ok, capsys)
    assert check.embedding_parameters(lambda c: float(c.vocab_size * c.n_embd)).passed  # a whole float counts


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda c: c.n_embd, "the length of one row"),
        (lambda c: c.vocab_size, "the number of rows"),
        (lambda c: c.vocab_size + c.n_embd, "you added the two sizes"),
        (lambda c: (c.vocab_size + c.block_size) * c.n_embd, "the position table"),
        (lambda c: 2 * c.vocab_size * c.n_embd, "count one table only"),
        (lambda c: 4 * c.vocab_size * c.n_embd, "size in bytes"),
        (lambda c: 617_558_016, "expected 38,597,376, got 617,558,016"),  # GPT-3's number, typed once
    ],
)
def test_embedding_parameters_names_the_mistake(wrong, hint):
    assert_hint(check.embedding_parameters(wrong), hint)


# --------------------------------------------------------------------------- analogy_vector


def test_analogy_vector_accepts_the_reference():
    assert check.analogy_vector(lambda king, man, woman: king - man + woman)
    assert check.analogy_vector(lambda king, man, woman: woman + (king - man))


def test_analogy_vector_stub_is_not_solved():
    assert check.analogy_vector(stub).message.startswith("not solved yet")


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda k, m, w: k + m - w, "the signs are the wrong way round"),
        (lambda k, m, w: k - w + m, "the signs are the wrong way round"),
        (lambda k, m, w: k - m - w, "did you subtract woman?"),
        (lambda k, m, w: k + m + w, "did you add all three?"),
        (lambda k, m, w: m - k + w, "start from king"),
        (lambda k, m, w: w - m, "only the direction woman - man"),
    ],
)
def test_analogy_vector_names_the_mistake(wrong, hint):
    assert_hint(check.analogy_vector(wrong), hint)


# --------------------------------------------------------------------------- sinusoidal_positions


def sinusoidal_solution(n_positions, dim):
    pe = np.zeros((n_positions, dim))
    for pos in range(n_positions):
        for i in range(0, dim, 2):
            pe[pos, i] = np.sin(pos / 10000 ** (i / dim))
            pe[pos, i + 1] = np.cos(pos / 10000 ** (i / dim))
    return pe


def test_sinusoidal_accepts_the_reference_and_a_loop_solution():
    assert check.sinusoidal_positions(embeddings.sinusoidal_positions)
    assert check.sinusoidal_positions(sinusoidal_solution)


def test_sinusoidal_stub_is_not_solved():
    assert check.sinusoidal_positions(stub).message.startswith("not solved yet")


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (check._swapped, "sin and cos are swapped"),
        (check._column_exponent, "each sin/cos pair shares one frequency"),
        (check._pair_without_two, "did you forget the 2"),
        (check._multiplied, "you multiplied"),
        (check._concatenated, "'all sines, then all cosines' layout"),
    ],
)
def test_sinusoidal_names_the_mistake(wrong, hint):
    assert_hint(check.sinusoidal_positions(wrong), hint)


def test_sinusoidal_loop_with_the_column_exponent_bug_is_caught():
    def buggy(n_positions, dim):
        pe = np.zeros((n_positions, dim))
        for pos in range(n_positions):
            for j in range(dim):
                angle = pos / 10000 ** (j / dim)
                pe[pos, j] = np.sin(angle) if j % 2 == 0 else np.cos(angle)
        return pe

    assert_hint(check.sinusoidal_positions(buggy), "each sin/cos pair shares one frequency")


# --------------------------------------------------------------------------- hard to fool, impossible to crash

ROBUSTNESS = [
    (check.one_hot, one_hot_solution, lambda ids, n: np.eye(n)[ids].T, "rows and columns are swapped"),
    (
        check.analogy_vector,
        lambda king, man, woman: king - man + woman,
        lambda k, m, w: k + m - w,
        "the signs are the wrong way round",
    ),
    (check.sinusoidal_positions, sinusoidal_solution, check._swapped, "sin and cos are swapped"),
    (check.embedding_parameters, embedding_parameters_ok, lambda c: c.vocab_size, "the number of rows"),
]
globals().update(robustness_tests(check, ROBUSTNESS))  # the tests every lesson's checkers pass


def test_the_reference_passes_every_function_checker():
    for name in function_checkers(check):
        verdict(getattr(check, name)(check.reference(name)), True)
