"""Lesson 07's checkers: each accepts the reference, calls a stub unsolved, and names the likely bug."""

import numpy as np
import pytest
import torch

from course_lib import model_numpy
from course_lib.checks import lesson07 as check

REFERENCE_NAMES = {"embed", "layer_norm", "block_parameters"}
from checker_support import stub, verdict

from course_lib.model import GPT, GPTConfig

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
    verdict(check.block_parameters(lambda c: 12 * c * c + 13 * c), True, "correct on all 6 test cases (1 drawn at random).")
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


def test_layer_norm_reference_is_the_numpy_pass():
    x = np.random.default_rng(0).normal(size=(3, 4))
    np.testing.assert_allclose(model_numpy.layer_norm(x, np.ones(4), np.zeros(4)).var(axis=-1), 1.0, rtol=1e-3)


def test_reference_stands_in_for_every_function_exercise():
    for name in [n for n in check.__all__ if n in REFERENCE_NAMES]:
        verdict(getattr(check, name)(check.reference(name)), True)
    with pytest.raises(ValueError, match="exercise must be one of"):
        check.reference("no_such_exercise")
