"""Lesson 07's checkers: each accepts the reference, calls a stub unsolved, and names the likely bug."""

import numpy as np
import pytest
import torch
from checker_support import (
    function_checkers,
    memorised_answer_fails,
    mutating_answer_corrupts_nothing,
    stub,
    verdict,
    wrong_kinds_are_not_yet,
    wrong_values_are_not_yet,
)

from course_lib import model_numpy
from course_lib.checks import lesson07 as check
from course_lib.model import GPT, GPTConfig

REFERENCE_NAMES = {"embed", "layer_norm", "block_parameters"}

# --------------------------------------------------------------------------- embed


def embed(ids, tok_emb, pos_emb):
    return tok_emb[ids] + pos_emb[np.arange(len(ids))]


def test_embed_accepts_reference():
    verdict(check.embed(embed), True, "correct on all 4 test cases (1 drawn at random).")


def test_embed_stub_and_mistakes():
    verdict(check.embed(stub), False, "not solved yet")
    verdict(check.embed(lambda ids, tok, pos: tok[ids]), False, "forgot the positions")
    verdict(check.embed(lambda ids, tok, pos: tok[ids] + pos[ids]), False, "by position")
    verdict(check.embed(lambda ids, tok, pos: tok[ids] + pos[1 : len(ids) + 1]), False, "positions count from 0")
    verdict(check.embed(lambda ids, tok, pos: tok[ids] * pos[: len(ids)]), False, "don't multiply")
    concatenated = lambda ids, tok, pos: np.concatenate([tok[ids], pos[: len(ids)]], axis=1)
    verdict(check.embed(concatenated), False, "expected shape")


# --------------------------------------------------------------------------- layer_norm


def layer_norm(x, weight, bias):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * weight + bias


def test_layer_norm_accepts_reference_and_torch():
    verdict(check.layer_norm(layer_norm), True, "correct on all 5 test cases (1 drawn at random).")

    def torch_version(x, w, b):
        return torch.nn.functional.layer_norm(torch.tensor(x), (x.shape[-1],), torch.tensor(w), torch.tensor(b)).numpy()

    verdict(check.layer_norm(torch_version), True)


def test_layer_norm_stub_and_mistakes():
    def norm(x, axis=-1, ddof=0, eps=1e-5):
        return (x - x.mean(axis=axis, keepdims=True)) / np.sqrt(x.var(axis=axis, ddof=ddof, keepdims=True) + eps)

    verdict(check.layer_norm(stub), False, "not solved yet")
    verdict(check.layer_norm(lambda x, w, b: norm(x, axis=0) * w + b), False, "each row")
    verdict(check.layer_norm(lambda x, w, b: norm(x, ddof=1) * w + b), False, "ddof=1")
    verdict(check.layer_norm(lambda x, w, b: norm(x, eps=0.0) * w + b), False, "add eps")
    no_mean = lambda x, w, b: x / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-5) * w + b
    verdict(check.layer_norm(no_mean), False, "subtract the row's mean")
    by_var = lambda x, w, b: (x - x.mean(axis=-1, keepdims=True)) / (x.var(axis=-1, keepdims=True) + 1e-5) * w + b
    verdict(check.layer_norm(by_var), False, "not by the variance")
    verdict(check.layer_norm(lambda x, w, b: norm(x)), False, "scale by weight and add bias")
    verdict(check.layer_norm(lambda x, w, b: (norm(x) + b) * w), False, "scale first, then shift")


# --------------------------------------------------------------------------- block_parameters


def test_block_parameters_accepts_reference_and_matches_a_real_block():
    verdict(
        check.block_parameters(lambda c: 12 * c * c + 13 * c), True, "correct on all 6 test cases (1 drawn at random)."
    )
    block = GPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=2, n_embd=16)).blocks[0]
    assert sum(p.numel() for p in block.parameters()) == 12 * 16 * 16 + 13 * 16


def test_block_parameters_stub_and_mistakes():
    verdict(check.block_parameters(stub), False, "not solved yet")
    verdict(check.block_parameters(lambda c: 12 * c * c), False, "weight matrices only")
    verdict(check.block_parameters(lambda c: 12 * c * c + 9 * c), False, "add the two LayerNorms")
    verdict(check.block_parameters(lambda c: 12 * c * c + 4 * c), False, "add the biases")
    verdict(check.block_parameters(lambda c: 12 * c * c + 11 * c), False, "two LayerNorms (one before")
    verdict(check.block_parameters(lambda c: 8 * c * c + 11 * c), False, "4 x n_embd wide")
    verdict(check.block_parameters(lambda c: 8 * c * c + 9 * c), False, "left out attention")
    verdict(check.block_parameters(lambda c: 4 * c * c + 8 * c), False, "left out the MLP")


@pytest.mark.parametrize("kind", [float, np.float64, np.int64, lambda n: torch.tensor(n, dtype=torch.float64)])
def test_block_parameters_accepts_a_whole_float(kind):
    verdict(check.block_parameters(lambda c: kind(12 * c * c + 13 * c)), True)


def test_block_parameters_refuses_a_fraction_or_a_bool():
    verdict(check.block_parameters(lambda c: 12 * c * c + 13 * c + 0.5), False, "a count is a whole number")
    verdict(check.block_parameters(lambda c: True), False, "True/False is a truth value, not a number")


# --------------------------------------------------------------------------- logits_shape


def test_logits_shape():
    verdict(check.logits_shape((1, 12, 84), 12, 84, 128), True, "a score for each of the 84 tokens")
    verdict(check.logits_shape(torch.Size([1, 12, 84]), 12, 84, 128), True)
    verdict(check.logits_shape(torch.zeros(1, 12, 84).shape, 12, 84, 128), True)
    verdict(check.logits_shape(..., 12, 84, 128), False, "not solved yet")
    verdict(check.logits_shape((12, 84), 12, 84, 128), False, "batch of 1")
    verdict(check.logits_shape((1, 84), 12, 84, 128), False, "at every position")
    verdict(check.logits_shape((1, 12, 128), 12, 84, 128), False, "width of the residual stream")
    verdict(check.logits_shape((1, 84, 12), 12, 84, 128), False, "(batch, position, vocabulary entry)")
    verdict(check.logits_shape("1, 12, 84", 12, 84, 128), False, "expected a shape like (1, 12, 84)")


def test_logits_shape_is_made_of_whole_numbers():
    verdict(check.logits_shape((1.0, 12.0, 84.0), 12, 84, 128), True)
    verdict(check.logits_shape(np.array([1, 12, 84]), 12, 84, 128), True)
    verdict(check.logits_shape(torch.tensor([1, 12, 84]), 12, 84, 128), True)
    verdict(check.logits_shape((1, 12.5, 84), 12, 84, 128), False, "(a tuple of whole numbers)")
    verdict(check.logits_shape((True, 12, 84), 12, 84, 128), False, "(a tuple of whole numbers)")
    wrong_values_are_not_yet(lambda value: check.logits_shape(value, 12, 84, 128))


def test_layer_norm_reference_is_the_numpy_pass():
    x = np.random.default_rng(0).normal(size=(3, 4))
    np.testing.assert_allclose(model_numpy.layer_norm(x, np.ones(4), np.zeros(4)).var(axis=-1), 1.0, rtol=1e-3)


def test_reference_stands_in_for_every_function_exercise():
    for name in [n for n in check.__all__ if n in REFERENCE_NAMES]:
        verdict(getattr(check, name)(check.reference(name)), True)
    with pytest.raises(ValueError, match="exercise must be one of"):
        check.reference("no_such_exercise")


# --------------------------------------------------------------------------- hard to fool, impossible to crash

ROBUSTNESS = [
    (check.embed, embed, lambda ids, tok, pos: tok[ids], "forgot the positions"),
    (
        check.layer_norm,
        layer_norm,
        lambda x, w, b: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5),
        "scale by weight and add bias",
    ),
    (check.block_parameters, lambda c: 12 * c * c + 13 * c, lambda c: 12 * c * c, "weight matrices only"),
]
NAMES = [checker.__name__ for checker, *_ in ROBUSTNESS]


def test_robustness_covers_every_function_checker():
    assert set(NAMES) == function_checkers(check) == set(check.REFERENCES)


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_an_answer_that_memorised_the_cases_fails(checker, right, wrong, hint):
    memorised_answer_fails(checker, right)


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_an_answer_that_mutates_its_input_corrupts_nothing(checker, right, wrong, hint):
    mutating_answer_corrupts_nothing(checker, right, wrong, hint)


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_answers_of_the_wrong_kind_are_not_yet(checker, right, wrong, hint):
    wrong_kinds_are_not_yet(checker, right)
