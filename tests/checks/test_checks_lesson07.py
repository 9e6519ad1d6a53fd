"""Lesson 07's checkers: each accepts the reference, calls a stub unsolved, and names the likely bug."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from checker_support import (
    function_checkers,
    memorised_answer_fails,
    mutating_answer_corrupts_nothing,
    quietly,
    stub,
    verdict,
    wrong_kinds_are_not_yet,
)

from course_lib import attention as A
from course_lib import gpt_functional
from course_lib.checks import lesson07 as check
from course_lib.model import GPT, GPTConfig

REFERENCE_NAMES = {"embed", "layer_norm", "capture_shapes", "gpt_forward", "gpt_forward_cached", "block_parameters"}
QUIET_CHECKERS = {"embed", "layer_norm", "gpt_forward", "gpt_forward_cached"}

# --------------------------------------------------------------------------- embed


def embed(idx, tok_emb, pos_emb):
    return tok_emb[idx] + pos_emb[torch.arange(idx.shape[1])]


def test_embed_accepts_reference():
    verdict(check.embed(embed), True, "correct on all 5 test cases (1 drawn at random).")


def test_embed_stub_and_mistakes():
    verdict(check.embed(stub), False, "not solved yet")
    verdict(check.embed(lambda idx, tok, pos: tok[idx]), False, "forgot the positions")
    verdict(check.embed(lambda idx, tok, pos: tok[idx] + pos[idx]), False, "by position")
    verdict(check.embed(lambda idx, tok, pos: tok[idx] + pos[1 : idx.shape[1] + 1]), False, "positions count from 0")
    verdict(check.embed(lambda idx, tok, pos: tok[idx] * pos[: idx.shape[1]]), False, "don't multiply")
    concatenated = lambda idx, tok, pos: torch.cat([tok[idx], pos[: idx.shape[1]].expand(idx.shape[0], -1, -1)], -1)
    verdict(check.embed(concatenated), False, "expected shape")


# --------------------------------------------------------------------------- layer_norm


def layer_norm(x, weight, bias):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + 1e-5) * weight + bias


def test_layer_norm_accepts_reference_and_torch():
    verdict(check.layer_norm(layer_norm), True, "correct on all 5 test cases (1 drawn at random).")
    verdict(check.layer_norm(lambda x, w, b: F.layer_norm(x, (x.shape[-1],), w, b)), True)


def test_layer_norm_stub_and_mistakes():
    def norm(x, dim=-1, unbiased=False, eps=1e-5):
        return (x - x.mean(dim=dim, keepdim=True)) / torch.sqrt(x.var(dim=dim, unbiased=unbiased, keepdim=True) + eps)

    verdict(check.layer_norm(stub), False, "not solved yet")
    verdict(check.layer_norm(lambda x, w, b: norm(x, dim=0) * w + b), False, "the last axis, dim=-1")
    verdict(check.layer_norm(lambda x, w, b: norm(x, unbiased=True) * w + b), False, "divides by n - 1")
    verdict(check.layer_norm(lambda x, w, b: torch.nan_to_num(norm(x, eps=0.0)) * w + b), False, "add eps")
    no_mean = lambda x, w, b: x / torch.sqrt(x.var(dim=-1, keepdim=True, unbiased=False) + 1e-5) * w + b
    verdict(check.layer_norm(no_mean), False, "subtract the row's mean")
    verdict(check.layer_norm(lambda x, w, b: norm(x)), False, "scale by weight and add bias")
    verdict(check.layer_norm(lambda x, w, b: (norm(x) + b) * w), False, "scale first, then shift")


# --------------------------------------------------------------------------- capture_shapes


def capture_shapes(config, batch, n_tokens):
    return gpt_functional.capture_shapes(config, batch, n_tokens)


def changed(key, shape):
    """The reference's prediction with one shape changed."""

    def answer(config, batch, n_tokens):
        shapes = gpt_functional.capture_shapes(config, batch, n_tokens)
        shapes[key] = shape(config, batch, n_tokens)
        return shapes

    return answer


def test_capture_shapes_accepts_reference_and_other_kinds_of_shape():
    verdict(check.capture_shapes(capture_shapes), True, "holds for GPT-2 and GPT-3 too")
    as_sizes = lambda c, b, t: {k: torch.Size(v) for k, v in gpt_functional.capture_shapes(c, b, t).items()}
    verdict(check.capture_shapes(as_sizes), True)
    as_lists = lambda c, b, t: {k: list(v) for k, v in gpt_functional.capture_shapes(c, b, t).items()}
    verdict(check.capture_shapes(as_lists), True)


@pytest.mark.parametrize(
    ("key", "shape", "hint"),
    [
        ("pos_emb", lambda c, b, t: (1, t, c.n_embd), "no batch axis"),
        ("blocks.{i}.attn.q", lambda c, b, t: (b, t, c.n_head, c.head_size), "the heads come before the positions"),
        ("blocks.{i}.attn.pattern", lambda c, b, t: (b, c.n_head, t, c.head_size), "the keys are the positions"),
        ("blocks.{i}.attn.k", lambda c, b, t: (b, c.n_head, t, c.n_embd), "n_embd // n_head dimensions"),
        ("blocks.{i}.mlp.pre", lambda c, b, t: (b, t, c.n_embd), "4 n_embd wide"),
        ("blocks.{i}.mlp.out", lambda c, b, t: (b, t, 4 * c.n_embd), "projects back down"),
        ("logits", lambda c, b, t: (b, t, c.n_embd), "one score per vocabulary entry"),
        ("logits", lambda c, b, t: (t, c.vocab_size), "keep the batch axis"),
        ("embed", lambda c, b, t: (1, t, c.n_embd), "the first axis is the batch"),
    ],
)
def test_capture_shapes_mistakes(key, shape, hint):
    verdict(check.capture_shapes(changed(key, shape)), False, hint)


def test_capture_shapes_stub_missing_names_and_a_single_config():
    verdict(check.capture_shapes(stub), False, "not solved yet")
    only_some = lambda c, b, t: {"logits": (b, t, c.vocab_size)}
    verdict(check.capture_shapes(only_some), False, "got none for ['tok_emb', 'pos_emb', 'embed']")
    course_only = lambda c, b, t: gpt_functional.capture_shapes(GPTConfig(vocab_size=84), b, t)
    verdict(check.capture_shapes(course_only), False, "a batch of 3 prompts")
    text = changed("ln_f", lambda c, b, t: "(1, 12, 128)")
    verdict(check.capture_shapes(text), False, "ln_f: expected a shape like (1, 12, 128)")


def my_attention(x, w_q, w_k, w_v, w_o, n_heads, *, b_q=None, b_k=None, b_v=None, b_o=None, causal=True):
    q, k, v = (A.split_heads(F.linear(x, w, b), n_heads) for w, b in ((w_q, b_q), (w_k, b_k), (w_v, b_v)))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    return F.linear(A.merge_heads(y), w_o, b_o)


def test_quiet_checkers_print_nothing(capsys):
    for name in sorted(QUIET_CHECKERS):
        assert getattr(check, name)(check.reference(name), quiet=True), name
    assert not check.gpt_forward(lambda idx, weights, config: stub(), quiet=True)
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------- gpt_forward


def gpt_forward(idx, weights, config):
    x = embed(idx, weights["tok_emb.weight"], weights["pos_emb.weight"])
    for i in range(config.n_layer):
        b = f"blocks.{i}"
        h = layer_norm(x, weights[f"{b}.ln1.weight"], weights[f"{b}.ln1.bias"])
        qkv_w, qkv_b = weights[f"{b}.attn.qkv.weight"], weights[f"{b}.attn.qkv.bias"]
        (w_q, w_k, w_v), (b_q, b_k, b_v) = qkv_w.chunk(3), qkv_b.chunk(3)
        w_o, b_o = weights[f"{b}.attn.proj.weight"], weights[f"{b}.attn.proj.bias"]
        x = x + my_attention(h, w_q, w_k, w_v, w_o, config.n_head, b_q=b_q, b_k=b_k, b_v=b_v, b_o=b_o)
        h = layer_norm(x, weights[f"{b}.ln2.weight"], weights[f"{b}.ln2.bias"])
        hidden = F.gelu(h @ weights[f"{b}.mlp.fc.weight"].T + weights[f"{b}.mlp.fc.bias"], approximate="tanh")
        x = x + hidden @ weights[f"{b}.mlp.proj.weight"].T + weights[f"{b}.mlp.proj.bias"]
    x = layer_norm(x, weights["ln_f.weight"], weights["ln_f.bias"])
    return x @ weights["tok_emb.weight"].T


def test_gpt_forward_accepts_a_right_answer_and_the_reference(capsys):
    verdict(check.gpt_forward(gpt_forward), True, "the course model's logits")
    verdict(check.gpt_forward(gpt_functional.gpt_forward), True)
    verdict(check.gpt_forward(stub), False, "not solved yet")


@pytest.mark.parametrize(
    ("flags", "hint"),
    [
        ({"positions": False}, "position embeddings are missing"),
        ({"residual": False}, "add each sublayer's output to the residual stream"),
        ({"final_norm": False}, "final LayerNorm (ln_f)"),
        ({"eps": 0.0}, "your LayerNorm has no eps"),
        ({"dim": -2}, "wrong axis"),
        ({"unbiased": True}, "divides by n - 1"),
        ({"gelu": "none"}, "tanh approximation"),
    ],
)
def test_gpt_forward_names_the_mistake(flags, hint):
    verdict(check.gpt_forward(lambda i, w, c: check._wrong_forward(i, w, c, **flags)), False, hint)


def test_gpt_forward_explains_an_unembedding_that_is_not_tied_or_not_transposed():
    def untransposed(idx, weights, config):
        x = gpt_functional.gpt_forward(idx, weights, config) @ weights["tok_emb.weight"]  # (B, T, C) again
        return x @ weights["tok_emb.weight"]

    verdict(check.gpt_forward(untransposed), False, "the unembedding is the token table transposed")
    own_head = lambda idx, weights, config: torch.zeros(1) @ weights["lm_head.weight"]
    verdict(check.gpt_forward(own_head), False, "tied to the token embedding")


def test_gpt_forward_is_checked_on_a_model_of_another_shape():
    course_only = lambda idx, w, c: gpt_forward(idx, w, c) if c.n_embd == 128 else torch.zeros(*idx.shape, 1)
    verdict(check.gpt_forward(course_only), False, "drawn at random")
    four_layers = lambda idx, w, c: gpt_functional.gpt_forward(idx, w, GPTConfig(**{**c.to_dict(), "n_layer": 4}))
    assert not quietly(check.gpt_forward, four_layers)


# --------------------------------------------------------------------------- gpt_forward_cached


def gpt_forward_cached(idx, weights, config, cache):
    return gpt_functional.gpt_forward_cached(idx, weights, config, cache)


def test_gpt_forward_cached_accepts_a_right_answer():
    verdict(check.gpt_forward_cached(gpt_forward_cached), True, "the logits of the whole sequence at once")
    verdict(check.gpt_forward_cached(check.reference("gpt_forward_cached")), True)
    verdict(check.gpt_forward_cached(stub), False, "not solved yet")


@pytest.mark.parametrize(
    ("flags", "hint"),
    [
        ({"offset": False}, "positions restart at 0"),
        ({"keep": False}, "must also see the cached keys"),
        ({"store_all": False}, "store all the keys and values"),
        ({"mask_past": False}, "offset by the cached positions"),
    ],
)
def test_gpt_forward_cached_names_the_mistake(flags, hint):
    wrong = lambda i, w, c, cache: check._wrong_cached(i, w, c, cache, **flags)
    verdict(check.gpt_forward_cached(wrong), False, hint)


def test_gpt_forward_cached_refuses_an_uncached_forward_and_a_scribbling_one():
    verdict(check.gpt_forward_cached(lambda i, w, c, cache: gpt_functional.gpt_forward(i, w, c)), False)

    def scribbles_weights(idx, weights, config, cache):
        logits = gpt_functional.gpt_forward_cached(idx, weights, config, cache)
        for tensor in weights.values():
            tensor.fill_(7.0)
        return logits

    # it spoils the weights of its own later pieces, never the checker's
    verdict(check.gpt_forward_cached(scribbles_weights), False, "values differ")
    verdict(check.gpt_forward_cached(gpt_forward_cached), True)


# --------------------------------------------------------------------------- keeping


def test_passing_pieces_are_kept_and_quiet_checks_keep_nothing(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "work"
    monkeypatch.setenv("COURSE_WORK_DIR", str(folder))
    assert check.gpt_forward(gpt_functional.gpt_forward, quiet=True)
    assert not folder.exists()
    check.embed(embed)
    assert "Kept as" in capsys.readouterr().out and (folder / "embed.py").is_file()
    check.embed(stub)
    assert not (folder / "layer_norm.py").exists()


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


def test_reference_stands_in_for_every_function_exercise():
    for name in REFERENCE_NAMES:
        verdict(getattr(check, name)(check.reference(name)), True)
    with pytest.raises(ValueError, match="exercise must be one of"):
        check.reference("no_such_exercise")


# --------------------------------------------------------------------------- hard to fool, impossible to crash

ROBUSTNESS = [
    (check.embed, embed, lambda idx, tok, pos: tok[idx], "forgot the positions"),
    (check.layer_norm, layer_norm, lambda x, w, b: F.layer_norm(x, (x.shape[-1],)), "scale by weight and add bias"),
    (check.capture_shapes, capture_shapes, changed("logits", lambda c, b, t: (b, t, c.n_embd)), "vocabulary entry"),
    (
        check.gpt_forward,
        gpt_forward,
        lambda i, w, c: check._wrong_forward(i, w, c, positions=False),
        "position embeddings are missing",
    ),
    (check.block_parameters, lambda c: 12 * c * c + 13 * c, lambda c: 12 * c * c, "weight matrices only"),
]
NAMES = [checker.__name__ for checker, *_ in ROBUSTNESS]


def test_robustness_covers_every_function_checker():
    # gpt_forward_cached is run in pieces with a cache its answer fills, so it gets its own tests above
    assert set(NAMES) | {"gpt_forward_cached"} == set(check.REFERENCES) == REFERENCE_NAMES
    checkers_with_quiet = QUIET_CHECKERS - {"multi_head_attention", "top_k_filter", "top_p_filter"}
    assert function_checkers(check) | checkers_with_quiet == REFERENCE_NAMES


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_an_answer_that_memorised_the_cases_fails(checker, right, wrong, hint):
    memorised_answer_fails(checker, right)


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_an_answer_that_mutates_its_input_corrupts_nothing(checker, right, wrong, hint):
    mutating_answer_corrupts_nothing(checker, right, wrong, hint)


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_answers_of_the_wrong_kind_are_not_yet(checker, right, wrong, hint):
    wrong_kinds_are_not_yet(checker, right)
