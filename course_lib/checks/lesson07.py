"""Checkers for lesson 07 (the forward pass, and your GPT): each runs the learner's answer and names the likely bug.

In the notebook::

    from course_lib.checks import lesson07 as check
    check.embed(embed)
    check.gpt_forward(gpt_forward)

The pieces of a GPT are torch functions on the course model's weights (see
:mod:`course_lib.gpt_functional`, the reference). The checkers of pieces that later cells and lessons
use take ``quiet=True`` (how :func:`course_lib.teaching.your_work.use` re-runs them) and, when an answer
passes and they are not quiet, keep it in ``my_work/``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from course_lib import attention as A
from course_lib import gpt_functional
from course_lib.checkpoints import load_course_model
from course_lib.checks import (
    Case,
    CheckResult,
    Mistake,
    as_count,
    check_function,
    describe,
    pick_reference,
    same,
    same_count,
)
from course_lib.model import GPT, GPT2_SMALL, GPT3_175B, GPTConfig
from course_lib.sizes import count_parameters
from course_lib.teaching.your_work import keep_if_passed

__all__ = [
    "block_parameters",
    "capture_shapes",
    "embed",
    "gpt_forward",
    "gpt_forward_cached",
    "layer_norm",
    "reference",
]

PROMPTS = {
    "one token": "W",
    "text with newlines": "ROMEO.\nBut soft, what light through yonder window breaks?\n\nJULIET.\nAy me!",
    # cropped to the model's context, block_size characters
    "the full context": (
        "KING HENRY.\nOnce more unto the breach, dear friends, once more;\nOr close the wall up with our "
        "English dead.\nIn peace there's nothing"
    ),
}


def _finish(result: CheckResult, quiet: bool, hints: dict[str, str] = {}) -> CheckResult:  # noqa: B006 (read only)
    """Print the verdict unless ``quiet``; an error the learner's code raised gets the hint meant for it."""
    if not result:
        for raised, hint in hints.items():
            if raised in result.message:
                result = CheckResult(result.exercise, False, f"{hint} ({result.message})")
                break
    if not quiet:
        print(result)
    return result


def _close_float32(got, expected) -> tuple[bool, str]:
    """Float32 tolerance: the same sums added up in another order differ in the last bits."""
    return same(got, expected, rtol=1e-4, atol=1e-4)


@functools.lru_cache(maxsize=1)
def _course() -> tuple[GPT, object, dict[str, torch.Tensor]]:
    model, tokenizer = load_course_model()
    return model, tokenizer, gpt_functional.trained_weights(model)


def _tensor(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.from_numpy(rng.normal(scale=scale, size=shape)).float()


def _random_gpt(rng: np.random.Generator, **fixed) -> tuple[GPTConfig, dict[str, torch.Tensor]]:
    """A GPT of a random shape (1 to 3 layers, 1 to 4 heads of 2 to 8 dimensions) and its random weights.

    The biases and LayerNorm parameters are random too (an untrained model's are 0 and 1, which would
    hide a bias left out).
    """
    heads = int(rng.integers(1, 5))
    shape = {
        "vocab_size": int(rng.integers(5, 40)),
        "block_size": int(rng.integers(8, 24)),
        "n_layer": int(rng.integers(1, 4)),
        "n_head": heads,
        "n_embd": heads * int(rng.integers(2, 9)),
    }
    config = GPTConfig(**{**shape, **fixed})
    torch.manual_seed(int(rng.integers(2**31)))
    weights = gpt_functional.trained_weights(GPT(config))
    for name, tensor in weights.items():
        if name.endswith(".bias"):
            tensor.copy_(_tensor(rng, *tensor.shape, scale=0.1))
        elif name.startswith("ln") or ".ln" in name:
            tensor.copy_(1 + _tensor(rng, *tensor.shape, scale=0.1))
        elif name.endswith("emb.weight"):
            tensor.mul_(20)  # embeddings of the size a trained model's have
    return config, weights


# --------------------------------------------------------------------------- token + position


def _embed_reference(idx, tok_emb, pos_emb):
    return gpt_functional.embed(idx, tok_emb, pos_emb)


def _embed_case(rng: np.random.Generator, batch: int, n_tokens: int, vocab: int, block: int, width: int) -> Case:
    idx = torch.from_numpy(rng.integers(0, vocab, size=(batch, n_tokens)))
    tok, pos = _tensor(rng, vocab, width).round(decimals=2), _tensor(rng, block, width).round(decimals=2)
    label = f"idx of shape {(batch, n_tokens)}, a {vocab} x {width} token table, a {block} x {width} position table"
    return Case((idx, tok, pos), label=label)


def _embed_cases() -> list[Case]:
    rng = np.random.default_rng(7)
    course = Case(
        (torch.tensor([[49, 63, 56, 75]]), _course()[2]["tok_emb.weight"], _course()[2]["pos_emb.weight"]),
        label="'What' through the course model's tables",
    )
    return [course, _embed_case(rng, 1, 5, 10, 8, 4), _embed_case(rng, 2, 3, 6, 5, 3), _embed_case(rng, 1, 1, 10, 8, 4)]


EMBED_MISTAKES = [
    Mistake(
        lambda idx, tok, pos: tok[idx],
        "you forgot the positions: add row t of the position table to the token vector at position t",
    ),
    Mistake(
        lambda idx, tok, pos: tok[idx] + pos[idx % len(pos)],
        "look the position table up by position (0, 1, 2, ...), not by token id",
    ),
    Mistake(
        lambda idx, tok, pos: tok[idx] + pos[1 : idx.shape[-1] + 1],
        "positions count from 0: the first token gets row 0 of the position table",
    ),
    Mistake(
        lambda idx, tok, pos: tok[idx] * pos[: idx.shape[-1]],
        "add the position vector to the token vector, don't multiply them",
    ),
]


def _fresh_embed(rng: np.random.Generator) -> Case:
    """A batch of 1 to 3 sequences of 1 to 8 ids, tables of 4 to 12 tokens and 8 positions, 2 to 6 wide."""
    return _embed_case(rng, int(rng.integers(1, 4)), int(rng.integers(1, 9)), int(rng.integers(4, 13)), 8,
                       int(rng.integers(2, 7)))  # fmt: skip


def embed(learner, *, quiet: bool = False) -> CheckResult:
    """``embed(idx, tok_emb, pos_emb)``: idx (B, T) -> (B, T, C), each token's row plus its position's row."""
    result = check_function(
        "embed", learner, _embed_reference, _embed_cases(), EMBED_MISTAKES, fresh=_fresh_embed, quiet=True
    )
    result = _finish(result, quiet, {"len()": "use idx.shape[-1], the number of positions, not len(idx)"})
    if not quiet:
        keep_if_passed(result, "embed", learner, lesson="07", used_in="your GPT and lesson 08")
    return result


# --------------------------------------------------------------------------- LayerNorm


def _layer_norm_reference(x, weight, bias):
    return gpt_functional.layer_norm(x, weight, bias)


def _normalise(x, unbiased=False, eps=1e-5, dim=-1, center=True, sqrt=True):
    mean = x.mean(dim=dim, keepdim=True) if center else 0.0
    var = x.var(dim=dim, keepdim=True, unbiased=unbiased)
    return (x - mean) / (torch.sqrt(var + eps) if sqrt else var + eps)


def _layer_norm_cases() -> list[Case]:
    rng = np.random.default_rng(70)
    w3, b3 = torch.tensor([1.5, 0.5, -1.0]), torch.tensor([0.1, 0.0, -0.2])
    model_ln = _course()[2]
    x = _tensor(rng, 1, 4, 128, scale=0.15)
    return [
        Case((torch.tensor([[1.0, 2.0, 6.0], [4.0, -2.0, 1.0]]), w3, b3)),
        Case((x, model_ln["blocks.0.ln1.weight"], model_ln["blocks.0.ln1.bias"]), label="block 0's first LayerNorm"),
        Case((torch.tensor([[0.5, 0.5, 0.5], [1.0, 2.0, 3.0]]), w3, b3), label="a row whose entries are all equal"),
        Case((torch.tensor([[3.0, 1.0], [0.0, 2.0], [5.0, 5.5]]), torch.ones(2), torch.zeros(2)), label="3 rows of 2"),
    ]


LAYER_NORM_MISTAKES = [
    Mistake(
        lambda x, w, b: _normalise(x, dim=0) * w + b,
        "normalise each position's vector on its own: mean and variance over the last axis, dim=-1",
    ),
    Mistake(
        lambda x, w, b: _normalise(x, dim=-2) * w + b,
        "normalise each position's vector on its own: mean and variance over the last axis, dim=-1",
    ),
    Mistake(
        lambda x, w, b: _normalise(x, unbiased=True) * w + b,
        "use the plain variance (divide by n): x.var(dim=-1, unbiased=False); torch's default divides by n - 1",
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
    x = torch.from_numpy(rng.normal(rng.uniform(-3, 3), rng.uniform(0.5, 4), size=(rows, width))).float()
    return Case((x, _tensor(rng, width), _tensor(rng, width)))


def layer_norm(learner, *, quiet: bool = False) -> CheckResult:
    """``layer_norm(x, weight, bias)`` in torch: each position's vector to mean 0 and variance 1 (eps 1e-5),
    then ``* weight + bias``."""
    result = check_function(
        "layer_norm",
        learner,
        _layer_norm_reference,
        _layer_norm_cases(),
        LAYER_NORM_MISTAKES,
        fresh=_fresh_layer_norm,
        compare=_close_float32,
        quiet=True,
    )
    result = _finish(result, quiet)
    if not quiet:
        keep_if_passed(result, "layer_norm", learner, lesson="07", used_in="your GPT and lesson 08")
    return result


# --------------------------------------------------------------------------- the shape of every captured tensor


def _capture_reference(config, batch, n_tokens):
    return gpt_functional.capture_shapes(config, batch, n_tokens)


def _as_shape(value) -> tuple | None:
    """A shape as a tuple of whole numbers (from a tuple, a list, a torch.Size...); None if it is not one."""
    if isinstance(value, str):
        return None
    try:
        dims = tuple(as_count(v) for v in value)
    except Exception:  # not iterable
        return None
    return None if None in dims else dims


def _shape_hint(key: str, expected: tuple, got: tuple) -> str:
    """What a plausible wrong shape for ``key`` says about the model."""
    if key == "pos_emb" and got == (1, *expected):
        return "the position rows are the same for every sequence of the batch: (T, C), no batch axis"
    if len(expected) == 4 and got == (expected[0], expected[2], expected[1], expected[3]):
        return "the heads come before the positions: (B, H, T, head size), so each head is one batch of matrices"
    if key.endswith("pattern") and got[:3] == expected[:3] and got[3] != expected[3]:
        return "a pattern has one weight per (query, key) pair: (B, H, T, T), the keys are the positions"
    if len(expected) == 4 and got[-1] == expected[-1] * expected[1]:
        return "each head works in n_embd // n_head dimensions, not n_embd"
    if key.startswith("blocks.{i}.mlp.") and key != "blocks.{i}.mlp.out" and got[-1] * 4 == expected[-1]:
        return "the MLP's hidden layer is 4 n_embd wide"
    if key == "blocks.{i}.mlp.out" and got[-1] == 4 * expected[-1]:
        return "the MLP projects back down to n_embd before its output is added to the stream"
    if key == "logits" and got[-1] != expected[-1]:
        return "logits have one score per vocabulary entry (vocab_size), at every position"
    if got[0] != expected[0] and len(got) == len(expected):
        return "the first axis is the batch: one row per sequence"
    if len(got) == len(expected) - 1:
        return "keep the batch axis, even for a batch of one sequence"
    return ""


def _compare_shapes(got, expected: dict) -> tuple[bool, str]:
    if not isinstance(got, dict):
        return (
            False,
            f"expected a dict {{name: shape}} with the {len(expected)} names of CAPTURE_KEYS, got {describe(got)}",
        )
    missing = [key for key in expected if key not in got]
    if missing:
        return (
            False,
            f"expected a shape for each of the {len(expected)} names of CAPTURE_KEYS, got none for {missing[:3]}",
        )
    for key, shape in expected.items():
        mine = _as_shape(got[key])
        if mine == shape:
            continue
        if mine is None:
            return False, f"{key}: expected a shape like {shape} (a tuple of whole numbers), got {describe(got[key])}"
        hint = _shape_hint(key, shape, mine)
        return False, f"{key}: expected {shape}, got {mine}" + (f"; {hint}" if hint else "")
    return True, ""


def _capture_cases() -> list[Case]:
    small = GPTConfig(vocab_size=30, block_size=16, n_layer=2, n_head=2, n_embd=8)
    return [
        Case((_course()[0].config, 1, 12), label="the course model, one prompt of 12 tokens"),
        Case((small, 3, 5), label=f"a batch of 3 prompts of 5 tokens, {small}"),
        Case((GPT2_SMALL, 1, 1024), label="GPT-2 small, one prompt of 1,024 tokens"),
        Case((GPT3_175B, 4, 2048), label="GPT-3, a batch of 4 prompts of 2,048 tokens"),
    ]


def _fresh_capture(rng: np.random.Generator) -> Case:
    heads = int(rng.integers(1, 17))
    config = GPTConfig(
        vocab_size=int(rng.integers(2, 60000)),
        block_size=4096,
        n_layer=int(rng.integers(1, 50)),
        n_head=heads,
        n_embd=heads * int(rng.integers(1, 129)),
    )
    return Case((config, int(rng.integers(1, 9)), int(rng.integers(1, 4097))), label=f"a random config, {config}")


def capture_shapes(learner) -> CheckResult:
    """``capture_shapes(config, batch, n_tokens)``: ``{name: shape}`` for every name of ``CAPTURE_KEYS``."""
    return check_function(
        "capture_shapes",
        learner,
        _capture_reference,
        _capture_cases(),
        fresh=_fresh_capture,
        compare=_compare_shapes,
        success="every shape follows from the config: your prediction holds for GPT-2 and GPT-3 too.",
    )


# --------------------------------------------------------------------------- your GPT


def _model_logits(idx, weights, config):
    """The course GPT's own logits for these weights: ``GPT(config)`` loaded with them, ``model(idx)[0]``."""
    model = GPT(config).eval()
    model.load_state_dict(weights)
    with torch.no_grad():
        return model(idx)[0]


def _wrong_forward(
    idx, w, config, *, positions=True, eps=1e-5, dim=-1, unbiased=False, residual=True, final_norm=True, gelu="tanh"
):
    """The forward pass with one of the plausible mistakes switched on (the checker's known mistakes)."""

    def ln(x, name):
        mean = x.mean(dim=dim, keepdim=True)
        var = x.var(dim=dim, keepdim=True, unbiased=unbiased)
        return (x - mean) / torch.sqrt(var + eps) * w[f"{name}.weight"] + w[f"{name}.bias"]

    x = w["tok_emb.weight"][idx] + (w["pos_emb.weight"][: idx.shape[1]] if positions else 0)
    for i in range(config.n_layer):
        b = f"blocks.{i}"
        a = A.multi_head_attention(ln(x, f"{b}.ln1"), n_heads=config.n_head, **gpt_functional.attention_weights(w, i))
        x = x + a if residual else a
        h = F.gelu(F.linear(ln(x, f"{b}.ln2"), w[f"{b}.mlp.fc.weight"], w[f"{b}.mlp.fc.bias"]), approximate=gelu)
        m = F.linear(h, w[f"{b}.mlp.proj.weight"], w[f"{b}.mlp.proj.bias"])
        x = x + m if residual else m
    if final_norm:
        x = ln(x, "ln_f")
    return x @ w["tok_emb.weight"].T


FORWARD_MISTAKES = [
    Mistake(
        lambda i, w, c: _wrong_forward(i, w, c, positions=False),
        "the position embeddings are missing: the stream starts as tok_emb[idx] + pos_emb[:T]",
    ),
    Mistake(
        lambda i, w, c: _wrong_forward(i, w, c, residual=False),
        "add each sublayer's output to the residual stream (x = x + attention(...)), do not replace x with it",
    ),
    Mistake(
        lambda i, w, c: _wrong_forward(i, w, c, final_norm=False),
        "apply the final LayerNorm (ln_f) to the stream before the unembedding",
    ),
    Mistake(
        lambda i, w, c: _wrong_forward(i, w, c, eps=0.0),
        "your LayerNorm has no eps: divide by sqrt(variance + 1e-5)",
    ),
    Mistake(
        lambda i, w, c: _wrong_forward(i, w, c, dim=-2),
        "your LayerNorm normalises along the wrong axis: each position's vector, dim=-1",
    ),
    Mistake(
        lambda i, w, c: _wrong_forward(i, w, c, unbiased=True),
        "your LayerNorm divides by n - 1: use the plain variance, x.var(dim=-1, unbiased=False)",
    ),
    Mistake(
        lambda i, w, c: _wrong_forward(i, w, c, gelu="none"),
        "the course model's GELU is the tanh approximation (your MLP uses the exact one)",
    ),
]

FORWARD_ERRORS = {
    "cannot be multiplied": (
        "a shape does not fit: the unembedding is the token table transposed, x @ weights['tok_emb.weight'].T "
        "((T, C) times (C, vocab_size)); a weight has one row per output, so multiply by weight.T"
    ),
    "KeyError": (
        "weights holds the state dict's names only (see list(weights)); the unembedding has no matrix of its "
        "own: it is tied to the token embedding, weights['tok_emb.weight']"
    ),
}


def _forward_cases() -> list[Case]:
    model, tokenizer, weights = _course()
    cases = [
        Case(
            (torch.tensor([tokenizer.encode(text)[: model.config.block_size]]), weights, model.config),
            label=f"the course model on {name}",
        )
        for name, text in PROMPTS.items()
    ]
    two = torch.tensor([tokenizer.encode("To be, or"), tokenizer.encode("not to be\n")[:9]])
    cases.append(Case((two, weights, model.config), label="the course model on a batch of 2 prompts"))
    return cases


def _fresh_forward(rng: np.random.Generator) -> Case:
    config, weights = _random_gpt(rng)
    idx = torch.from_numpy(
        rng.integers(0, config.vocab_size, size=(int(rng.integers(1, 3)), int(rng.integers(1, config.block_size + 1))))
    )
    return Case((idx, weights, config), label=f"random weights of another shape, {config}, idx {tuple(idx.shape)}")


def gpt_forward(learner, *, quiet: bool = False) -> CheckResult:
    """``gpt_forward(idx, weights, config)`` -> logits (B, T, vocab_size), against the course GPT itself.

    On the course model's trained weights (one token, text with newlines, the full context of 128
    characters, a batch of two) and on a random model of another shape. Kept for lesson 08 when it passes.
    """
    result = check_function(
        "gpt_forward",
        learner,
        _model_logits,
        _forward_cases(),
        FORWARD_MISTAKES,
        fresh=_fresh_forward,
        compare=_close_float32,
        success="your GPT gives the course model's logits, to float32 rounding, on every prompt.",
        quiet=True,
    )
    result = _finish(result, quiet, FORWARD_ERRORS)
    if not quiet:
        keep_if_passed(result, "gpt_forward", learner, lesson="07", used_in="lesson 08's untrained-loss check")
    return result


# --------------------------------------------------------------------------- the KV cache

CHUNKS = (5, 1, 1, 3, 1)  # a prompt, two single tokens, three at once after a past, one more


def _in_pieces(forward, idx, weights, config):
    """Feed ``idx`` to ``forward(piece, weights, config, cache)`` in :data:`CHUNKS`, one cache: all the logits."""
    cache: dict = {}
    pieces, start = [], 0
    for size in CHUNKS:
        pieces.append(forward(idx[:, start : start + size], weights, config, cache))
        start += size
    return torch.cat(pieces, dim=1)


def _cached_reference(idx, weights, config):
    return _model_logits(idx, weights, config)


def _wrong_cached(idx, w, config, cache, *, offset=True, keep=True, mask_past=True, store_all=True):
    past = gpt_functional.cache_length(cache) if offset else 0
    t = idx.shape[1]
    x = w["tok_emb.weight"][idx] + w["pos_emb.weight"][past : past + t]
    for i in range(config.n_layer):
        b = f"blocks.{i}"
        aw = gpt_functional.attention_weights(w, i)
        h = gpt_functional.layer_norm(x, w[f"{b}.ln1.weight"], w[f"{b}.ln1.bias"])
        q, k, v = (A.split_heads(F.linear(h, aw[f"w_{n}"], aw[f"b_{n}"]), config.n_head) for n in "qkv")
        new_k, new_v = k, v
        if keep and i in cache:
            k, v = torch.cat([cache[i][0], k], dim=2), torch.cat([cache[i][1], v], dim=2)
        cache[i] = (k, v) if store_all else (new_k, new_v)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        allowed = A.causal_mask(t, k.shape[2], past=k.shape[2] - t if mask_past else 0, like=scores)
        heads = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1) @ v
        x = x + F.linear(A.merge_heads(heads), aw["w_o"], aw["b_o"])
        h = gpt_functional.layer_norm(x, w[f"{b}.ln2.weight"], w[f"{b}.ln2.bias"])
        x = x + gpt_functional.mlp(h, w[f"{b}.mlp.fc.weight"], w[f"{b}.mlp.fc.bias"], w[f"{b}.mlp.proj.weight"],
                                   w[f"{b}.mlp.proj.bias"])  # fmt: skip
    x = gpt_functional.layer_norm(x, w["ln_f.weight"], w["ln_f.bias"])
    return x @ w["tok_emb.weight"].T


def _cached_mistake(**flags):
    return lambda idx, w, c: _in_pieces(lambda *a: _wrong_cached(*a, **flags), idx, w, c)


CACHED_MISTAKES = [
    Mistake(
        _cached_mistake(offset=False),
        "the new tokens' positions restart at 0: they continue after the cached ones, "
        "pos_emb[past : past + T] with past the number of positions already in the cache",
    ),
    Mistake(
        _cached_mistake(keep=False),
        "the new queries must also see the cached keys and values: put the old ones before the new ones "
        "(torch.cat along the positions, dim=2)",
    ),
    Mistake(
        _cached_mistake(store_all=False),
        "store all the keys and values so far in the cache (old and new), not only the new ones",
    ),
    Mistake(
        _cached_mistake(mask_past=False),
        "the causal mask must be offset by the cached positions: causal_mask(T, S, past=S - T), "
        "new query i sees every cached key and the new keys up to its own",
    ),
]


def _cached_cases() -> list[Case]:
    model, tokenizer, weights = _course()
    idx = torch.tensor([tokenizer.encode("HAMLET.\nTo be, or")[: sum(CHUNKS)]])
    return [Case((idx, weights, model.config), label=f"the course model, {CHUNKS} tokens at a time")]


def _fresh_cached(rng: np.random.Generator) -> Case:
    config, weights = _random_gpt(rng, block_size=16)
    idx = torch.from_numpy(rng.integers(0, config.vocab_size, size=(int(rng.integers(1, 3)), sum(CHUNKS))))
    return Case((idx, weights, config), label=f"random weights of another shape, {config}, {CHUNKS} tokens at a time")


def gpt_forward_cached(learner, *, quiet: bool = False) -> CheckResult:
    """``gpt_forward_cached(idx, weights, config, cache)``: the logits of new tokens after the cached ones.

    A sequence fed in pieces (:data:`CHUNKS`: a prompt, single tokens, three at once) with one cache must give
    the logits the course GPT gives for the whole sequence at once.
    """
    result = check_function(
        "gpt_forward_cached",
        lambda idx, w, c: _in_pieces(learner, idx, w, c),
        _cached_reference,
        _cached_cases(),
        CACHED_MISTAKES,
        fresh=_fresh_cached,
        compare=_close_float32,
        success="fed a few tokens at a time, your cached GPT gives the logits of the whole sequence at once.",
        quiet=True,
    )
    result = _finish(result, quiet, FORWARD_ERRORS)
    if not quiet:
        keep_if_passed(result, "gpt_forward_cached", learner, lesson="07", used_in="generation with a KV cache")
    return result


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


REFERENCES = {
    "embed": _embed_reference,
    "layer_norm": _layer_norm_reference,
    "capture_shapes": _capture_reference,
    "gpt_forward": gpt_functional.gpt_forward,
    "gpt_forward_cached": gpt_functional.gpt_forward_cached,
    "block_parameters": _block_reference,
}


def reference(exercise: str):
    """The course's version of an exercise's function, for the cells after an exercise that is not solved yet."""
    return pick_reference(REFERENCES, exercise)
