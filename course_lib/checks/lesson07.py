"""Checkers for lesson 07 (the full forward pass): each runs the learner's answer and names the likely bug.

In the notebook::

    from course_lib.checks import lesson07 as check
    check.embed(embed)
"""

from __future__ import annotations

import numpy as np

from course_lib import model_numpy
from course_lib.checks import (
    Case,
    CheckResult,
    Mistake,
    as_count,
    check_function,
    check_value,
    describe,
    pick_reference,
    same_count,
)
from course_lib.model import GPTConfig
from course_lib.sizes import count_parameters

__all__ = ["embed", "layer_norm", "block_parameters", "logits_shape", "reference"]


# --------------------------------------------------------------------------- token + position


def _embed_reference(ids, tok_emb, pos_emb):
    return tok_emb[np.asarray(ids)] + pos_emb[: len(ids)]


def _embed_cases() -> list[Case]:
    rng = np.random.default_rng(7)
    tok, pos = rng.normal(size=(10, 4)).round(2), rng.normal(size=(8, 4)).round(2)
    tok2, pos2 = rng.normal(size=(6, 3)).round(2), rng.normal(size=(5, 3)).round(2)
    return [
        Case(([3, 1, 4, 1, 5], tok, pos), label="ids [3, 1, 4, 1, 5], a 10 x 4 token table, an 8 x 4 position table"),
        Case(([0, 0, 2], tok2, pos2), label="ids [0, 0, 2], a 6 x 3 token table, a 5 x 3 position table"),
        Case(([9], tok, pos), label="one id, [9]"),
    ]


EMBED_MISTAKES = [
    Mistake(
        lambda ids, tok, pos: tok[np.asarray(ids)],
        "you forgot the positions: add row t of the position table to the token vector at position t",
    ),
    Mistake(
        lambda ids, tok, pos: tok[np.asarray(ids)] + pos[np.asarray(ids) % len(pos)],
        "look the position table up by position (0, 1, 2, ...), not by token id",
    ),
    Mistake(
        lambda ids, tok, pos: tok[np.asarray(ids)] + pos[1 : len(ids) + 1],
        "positions count from 0: the first token gets row 0 of the position table",
    ),
    Mistake(
        lambda ids, tok, pos: tok[np.asarray(ids)] * pos[: len(ids)],
        "add the position vector to the token vector, don't multiply them",
    ),
]


def _fresh_embed(rng: np.random.Generator) -> Case:
    """A vocabulary of 4 to 12 rows and 3 to 8 positions of width 2 to 6; 1 to 8 ids (a list, repeats allowed)."""
    vocab, block, width = int(rng.integers(4, 13)), int(rng.integers(3, 9)), int(rng.integers(2, 7))
    ids = rng.integers(0, vocab, size=int(rng.integers(1, block + 1))).tolist()
    tok, pos = rng.normal(size=(vocab, width)).round(2), rng.normal(size=(block, width)).round(2)
    label = f"ids {ids}, a {vocab} x {width} token table, a {block} x {width} position table"
    return Case((ids, tok, pos), label=label)


def embed(learner) -> CheckResult:
    """``embed(ids, tok_emb, pos_emb)``: each token's row of tok_emb plus its position's row of pos_emb -> (T, C)."""
    return check_function("embed", learner, _embed_reference, _embed_cases(), EMBED_MISTAKES, fresh=_fresh_embed)


# --------------------------------------------------------------------------- LayerNorm


def _layer_norm_reference(x, weight, bias):
    return model_numpy.layer_norm(x, weight, bias)


def _normalise(x, ddof=0, eps=1e-5, axis=-1, center=True, sqrt=True):
    mean = x.mean(axis=axis, keepdims=True) if center else 0.0
    var = x.var(axis=axis, keepdims=True, ddof=ddof)
    return (x - mean) / (np.sqrt(var + eps) if sqrt else var + eps)


def _layer_norm_cases() -> list[Case]:
    rng = np.random.default_rng(70)
    w3, b3 = np.array([1.5, 0.5, -1.0]), np.array([0.1, 0.0, -0.2])
    return [
        Case((np.array([[1.0, 2.0, 6.0], [4.0, -2.0, 1.0]]), w3, b3)),
        Case((rng.normal(2.0, 3.0, size=(4, 5)), rng.normal(size=5), rng.normal(size=5))),
        Case((np.array([[0.5, 0.5, 0.5], [1.0, 2.0, 3.0]]), w3, b3), label="a row whose entries are all equal"),
        Case((np.array([[3.0, 1.0], [0.0, 2.0], [5.0, 5.5]]), np.ones(2), np.zeros(2)), label="3 rows of 2"),
    ]


LAYER_NORM_MISTAKES = [
    Mistake(
        lambda x, w, b: _normalise(x, axis=0) * w + b,
        "normalise each row (each token's vector) on its own: mean and variance over the last axis, axis=-1",
    ),
    Mistake(
        lambda x, w, b: _normalise(x, ddof=1) * w + b,
        "use the plain variance (divide by n, np.var's default), not the sample variance with ddof=1",
    ),
    Mistake(
        lambda x, w, b: _normalise(x, eps=0.0) * w + b,
        "add eps = 1e-5 to the variance before the square root: a row whose entries are all equal has variance 0",
    ),
    Mistake(
        lambda x, w, b: _normalise(x, center=False) * w + b,
        "subtract the row's mean before dividing by the standard deviation",
    ),
    Mistake(
        lambda x, w, b: _normalise(x, sqrt=False) * w + b,
        "divide by the standard deviation, sqrt(variance + eps), not by the variance",
    ),
    Mistake(lambda x, w, b: _normalise(x), "after normalising, scale by weight and add bias: normed * weight + bias"),
    Mistake(lambda x, w, b: (_normalise(x) + b) * w, "scale first, then shift: normed * weight + bias"),
]


def _fresh_layer_norm(rng: np.random.Generator) -> Case:
    """1 to 5 rows of 2 to 8 numbers, shifted and scaled at random, with a random weight and bias."""
    rows, width = int(rng.integers(1, 6)), int(rng.integers(2, 9))
    x = rng.normal(rng.uniform(-3, 3), rng.uniform(0.5, 4), size=(rows, width)).round(3)
    return Case((x, rng.normal(size=width).round(2), rng.normal(size=width).round(2)))


def layer_norm(learner) -> CheckResult:
    """``layer_norm(x, weight, bias)``: each row to mean 0 and variance 1 (eps 1e-5), then * weight + bias."""
    with np.errstate(all="ignore"):  # a missing eps divides 0 by 0 on purpose in one case
        return check_function(
            "layer_norm",
            learner,
            _layer_norm_reference,
            _layer_norm_cases(),
            LAYER_NORM_MISTAKES,
            fresh=_fresh_layer_norm,
        )


# --------------------------------------------------------------------------- parameters in one block


def _block_reference(n_embd):
    counts = count_parameters(GPTConfig(vocab_size=1, block_size=1, n_layer=1, n_head=1, n_embd=n_embd))
    return counts["attention"] + counts["mlp"] + counts["layer_norm"] - 2 * n_embd  # minus the final LayerNorm


BLOCK_CASES = [Case((8,)), Case((64,)), Case((128,)), Case((768,)), Case((12288,))]
BLOCK_MISTAKES = [
    Mistake(lambda c: 12 * c * c, "you counted the weight matrices only: add the biases and the two LayerNorms"),
    Mistake(lambda c: 12 * c * c + 9 * c, "add the two LayerNorms: each has a weight and a bias of n_embd numbers"),
    Mistake(
        lambda c: 12 * c * c + 4 * c, "add the biases: Q, K, V (3 n_embd), the output projection, and both MLP layers"
    ),
    Mistake(lambda c: 12 * c * c + 11 * c, "a block has two LayerNorms (one before attention, one before the MLP)"),
    Mistake(
        lambda c: 8 * c * c + 11 * c,  # attention 4c^2 + 4c, an MLP 2c wide 4c^2 + 3c, LayerNorms 4c
        "the MLP's hidden layer is 4 x n_embd wide, not 2 x: n_embd -> 4 n_embd -> n_embd",
    ),
    Mistake(
        lambda c: 8 * c * c + 9 * c, "you left out attention: Q, K, V and the output projection are 4 n_embd^2 weights"
    ),
    Mistake(lambda c: 4 * c * c + 8 * c, "you left out the MLP: it holds 8 n_embd^2 weights, two thirds of a block"),
]


def _fresh_block(rng: np.random.Generator) -> Case:
    return Case((int(rng.integers(1, 8193)),))


def block_parameters(learner) -> CheckResult:
    """``block_parameters(n_embd)``: parameters in one transformer block (attention, MLP, two LayerNorms, biases).

    The answer is a count: an int, or a whole float such as 872.0 (for n_embd = 8).
    """
    return check_function(
        "block_parameters",
        learner,
        _block_reference,
        BLOCK_CASES,
        BLOCK_MISTAKES,
        fresh=_fresh_block,
        compare=same_count,
    )


# --------------------------------------------------------------------------- the shape of the logits


def _as_shape(value) -> tuple | None:
    """A shape as a tuple of whole numbers (from a tuple, a list, a torch.Size...); None if it is not one."""
    if isinstance(value, str):
        return None
    try:
        dims = tuple(as_count(v) for v in value)
    except Exception:  # not iterable
        return None
    return None if None in dims else dims


def logits_shape(got, n_tokens: int, vocab_size: int, n_embd: int) -> CheckResult:
    """The shape of the logits for one prompt of ``n_tokens`` tokens: (1, n_tokens, vocab_size)."""
    expected = (1, n_tokens, vocab_size)

    def compare(g, e):
        shape = _as_shape(g)
        if shape == e:
            return True, ""
        if shape is None:
            return False, f"expected a shape like {e} (a tuple of whole numbers), got {describe(g)}"
        return False, f"expected a shape like {e}, got {shape}"

    return check_value(
        "logits_shape",
        got,
        expected,
        [
            (
                (n_tokens, vocab_size),
                "the model works on batches: a single prompt is a batch of 1, the first dimension",
            ),
            ((1, vocab_size), "the model scores the next token at every position, not only after the last one"),
            (
                (1, n_tokens, n_embd),
                "that is the width of the residual stream; logits have one score per vocabulary entry",
            ),
            ((1, vocab_size, n_tokens), "the order is (batch, position, vocabulary entry)"),
        ],
        compare=compare,
        success=f"correct: {expected}, a score for each of the {vocab_size} tokens at each of {n_tokens} positions.",
    )


REFERENCES = {"embed": _embed_reference, "layer_norm": _layer_norm_reference, "block_parameters": _block_reference}


def reference(exercise: str):
    """The course's version of an exercise's function, for the cells after an exercise that is not solved yet."""
    return pick_reference(REFERENCES, exercise)
