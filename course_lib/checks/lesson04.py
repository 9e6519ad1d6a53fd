"""Checkers for lesson 04 (attention): each runs the learner's answer and names the likely bug.

In the notebook::

    from course_lib.checks import lesson04 as check
    check.scaled_scores(scaled_scores)
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.attention import attend, attention_scores, causal_mask
from course_lib.checkpoints import load_course_model
from course_lib.checks import Case, CheckResult, Mistake, check_function, pick_reference, same, same_count
from course_lib.model import GPT2_SMALL, GPT3_175B, GPTConfig
from course_lib.sampling import softmax
from course_lib.sizes import attention_parameter_count, attention_pattern_bytes
from course_lib.teaching.your_work import keep_if_passed

__all__ = [
    "scaled_scores",
    "causal_softmax",
    "attention",
    "multi_head_attention",
    "pattern_memory",
    "total_heads",
    "attention_parameters",
    "reference",
]


def _rng_cases(shapes: list[tuple[tuple[int, ...], ...]], seed: int | np.random.Generator = 0) -> list[Case]:
    rng = np.random.default_rng(seed)
    return [Case(tuple(rng.normal(size=s).round(2) for s in shape)) for shape in shapes]


def _size(rng: np.random.Generator, low: int = 2, high: int = 7) -> int:
    return int(rng.integers(low, high + 1))


def _fresh_scores(rng: np.random.Generator) -> Case:
    """T queries and S keys of size d, each drawn from 2 to 7."""
    t, s, d = _size(rng), _size(rng), _size(rng)
    return _rng_cases([((t, d), (s, d))], rng)[0]


def _fresh_square(rng: np.random.Generator) -> Case:
    t = _size(rng)
    return _rng_cases([((t, t),)], rng)[0]


def _fresh_head(rng: np.random.Generator) -> Case:
    t, d, d_v = _size(rng), _size(rng, 1), _size(rng, 1)
    return _rng_cases([((t, d), (t, d), (t, d_v))], rng)[0]


# --------------------------------------------------------------------------- scores


def _scores_reference(q, k):
    return attention_scores(q, k, scale=True)


# T != d_k and T != S, so each wrong denominator and the transposed product give different numbers.
SCORE_CASES = [
    Case(
        (
            np.array([[1.0, 0.0, 2.0, 0.0], [0.0, 1.0, 0.0, 1.0]]),
            np.array([[2.0, 0.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0]]),
        ),
        label="2 queries and 2 keys of size 4",
    ),
    *_rng_cases([((3, 4), (3, 4)), ((2, 9), (5, 9)), ((6, 2), (6, 2))]),
]


def scaled_scores(learner) -> CheckResult:
    """``scaled_scores(q, k)`` -> ``q @ k.T / sqrt(d_k)``: one row per query, one column per key."""
    return check_function(
        "scaled_scores",
        learner,
        _scores_reference,
        SCORE_CASES,
        [
            Mistake(lambda q, k: q @ k.T, "did you divide by sqrt(d_k)? The scores are Q K^T / sqrt(d_k)."),
            Mistake(lambda q, k: q @ k.T / q.shape[-1], "divide by the square root of d_k, not by d_k itself."),
            Mistake(
                lambda q, k: q @ k.T / math.sqrt(q.shape[0]),
                "d_k is the length of each query/key vector (q.shape[-1]), not the number of tokens (q.shape[0]).",
            ),
            Mistake(
                lambda q, k: k @ q.T / math.sqrt(q.shape[-1]),
                "rows and columns are swapped: compute Q K^T (one row per query), not K Q^T.",
            ),
        ],
        fresh=_fresh_scores,
        success="every query is compared with every key, and the scores are scaled.",
    )


# --------------------------------------------------------------------------- mask + softmax


def _causal_softmax_reference(scores):
    return _masked_pattern(scores)


def _masked_pattern(scores: np.ndarray) -> np.ndarray:
    """The attention pattern from (already scaled) square scores: causal mask, then softmax per row."""
    allowed = np.tril(np.ones(scores.shape, dtype=bool))
    return softmax(np.where(allowed, scores, -np.inf))


def _softmax_rows_then_zero(scores):
    p = softmax(scores)
    return np.where(np.tril(np.ones(scores.shape, dtype=bool)), p, 0.0)


def _softmax_columns(scores):
    allowed = np.tril(np.ones(scores.shape, dtype=bool))
    return softmax(np.where(allowed, scores, -np.inf).T).T


def _mask_with_zero(scores):
    return softmax(np.where(np.tril(np.ones(scores.shape, dtype=bool)), scores, 0.0))


def _mask_future_kept(scores):
    return softmax(np.where(np.triu(np.ones(scores.shape, dtype=bool)), scores, -np.inf))


MASK_CASES = [
    Case((np.array([[1.0, 5.0, 2.0], [0.5, 0.0, 3.0], [1.0, 2.0, 3.0]]),), label="3 x 3 scores"),
    *_rng_cases([((4, 4),), ((6, 6),)], seed=1),
]


def causal_softmax(learner) -> CheckResult:
    """``causal_softmax(scores)``: hide the future with -inf, then softmax each row (over the keys)."""
    return check_function(
        "causal_softmax",
        learner,
        _causal_softmax_reference,
        MASK_CASES,
        [
            Mistake(softmax, "did you apply the causal mask? Token i may only look at tokens 0..i."),
            Mistake(
                _softmax_rows_then_zero,
                "is your mask applied before the softmax? Zeroing after it leaves rows that no longer sum to 1.",
            ),
            Mistake(_softmax_columns, "softmax over the wrong axis? Each row (one query) must sum to 1: use axis=-1."),
            Mistake(
                _mask_with_zero,
                "masked scores must be -inf, not 0: exp(0) = 1, so a score of 0 still gets attention.",
            ),
            Mistake(
                _mask_future_kept,
                "your mask keeps the future and hides the past: keep entries with key <= query (np.tril).",
            ),
        ],
        fresh=_fresh_square,
        success="each token attends only to itself and earlier tokens, and every row sums to 1.",
    )


# --------------------------------------------------------------------------- the whole head


def _attention_reference(q, k, v):
    return attend(q, k, v, causal=True, scale=True)


ATTENTION_CASES = _rng_cases([((3, 2), (3, 2), (3, 2)), ((4, 3), (4, 3), (4, 5)), ((5, 4), (5, 4), (5, 1))], seed=2)


def attention(learner) -> CheckResult:
    """``attention(q, k, v)`` -> ``causal_softmax(q k^T / sqrt(d_k)) @ v``."""
    return check_function(
        "attention",
        learner,
        _attention_reference,
        ATTENTION_CASES,
        [
            Mistake(lambda q, k, v: attend(q, k, v, scale=False), "did you divide by sqrt(d_k)?"),
            Mistake(lambda q, k, v: attend(q, k, v, causal=False), "did you apply the causal mask before the softmax?"),
            Mistake(
                lambda q, k, v: _softmax_rows_then_zero(attention_scores(q, k)) @ v,
                "is your mask applied before the softmax? Masking afterwards leaves rows that do not sum to 1.",
            ),
            Mistake(
                lambda q, k, v: _softmax_columns(attention_scores(q, k)) @ v,
                "softmax over the wrong axis? Normalise each row (axis=-1), one query at a time.",
            ),
            Mistake(
                lambda q, k, v: _masked_pattern(attention_scores(q, k)).T @ v,
                "the weighted sum uses the pattern itself (pattern @ V), not its transpose.",
            ),
            Mistake(lambda q, k, v: attention_scores(q, k) @ v, "turn the scores into a pattern with softmax first."),
        ],
        fresh=_fresh_head,
        success="your head computes softmax(mask(Q K^T / sqrt(d_k))) V.",
    )


# --------------------------------------------------------------------------- multi-head attention (torch)


def _split(t, n_heads: int, how: str):
    """``(..., T, C)`` -> ``(..., n_heads, T, dh)``; ``how`` names a right or a wrong way of doing it."""
    *batch, n, c = t.shape
    dh = c // n_heads
    if how == "heads then tokens":  # a reshape straight to (heads, T, dh): mixes tokens into the heads
        return t.reshape(*batch, n_heads, n, dh)
    if how == "strided":  # head h takes every n_heads-th column instead of a block of dh columns
        return t.reshape(*batch, n, dh, n_heads).transpose(-1, -2).transpose(-3, -2)
    return t.reshape(*batch, n, n_heads, dh).transpose(-3, -2)


def _mha(
    x, w_q, w_k, w_v, w_o, n_heads, *, b_q=None, b_k=None, b_v=None, b_o=None, causal=True,
    split="right", scale="head", mask="before", join="right", project=True, biases=True,
):  # fmt: skip
    """Multi-head attention written out step by step, with switches that make each of the usual mistakes."""
    if not biases:
        b_q = b_k = b_v = b_o = None
    *batch, n, c = x.shape
    q, k, v = (_split(F.linear(x, w, b), n_heads, split) for w, b in ((w_q, b_q), (w_k, b_k), (w_v, b_v)))
    width = {"head": c // n_heads, "model": c, "none": 1}[scale]
    scores = q @ k.transpose(-2, -1) / math.sqrt(width)
    allowed = causal_mask(n, like=x) if causal else None
    if allowed is not None and mask == "before":
        scores = scores.masked_fill(~allowed, float("-inf"))
    pattern = torch.softmax(scores, dim=-1)
    if allowed is not None and mask == "after":
        pattern = pattern.masked_fill(~allowed, 0.0)
    heads = pattern @ v  # (..., n_heads, T, dh)
    if join == "no transpose":  # (..., heads, T, dh) read straight into (..., T, C): tokens and heads mixed
        joined = heads.reshape(*batch, n, c)
    elif join == "mean":  # the heads averaged instead of put side by side, then spread over the width
        joined = heads.mean(dim=-3).repeat(*([1] * len(batch)), 1, n_heads)
    else:
        joined = heads.transpose(-3, -2).reshape(*batch, n, c)
    return F.linear(joined, w_o, b_o) if project else joined


def _sdpa_reference(x, w_q, w_k, w_v, w_o, n_heads, *, b_q=None, b_k=None, b_v=None, b_o=None, causal=True):
    """The reference: PyTorch's own ``scaled_dot_product_attention`` on the projected, split heads."""
    *batch, n, c = x.shape
    q, k, v = (_split(F.linear(x, w, b), n_heads, "right") for w, b in ((w_q, b_q), (w_k, b_k), (w_v, b_v)))
    heads = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    return F.linear(heads.transpose(-3, -2).reshape(*batch, n, c), w_o, b_o)


def _variant(**switches):
    return lambda *args, **kwargs: _mha(*args, **kwargs, **switches)


MHA_MISTAKES = [
    Mistake(
        _variant(split="heads then tokens"),
        "heads split along the wrong axis: reshape (..., T, C) to (..., T, n_heads, head_size) first, then move "
        "the head axis in front of T (transpose(-3, -2)); a reshape straight to (n_heads, T, head_size) mixes tokens",
    ),
    Mistake(
        _variant(split="strided"),
        "heads split along the wrong axis: head h owns a block of head_size neighbouring columns, "
        "h * head_size to (h + 1) * head_size: reshape to (..., T, n_heads, head_size)",
    ),
    Mistake(
        _variant(scale="model"),
        "you scaled by sqrt(d_model): each head's queries and keys have head_size = C // n_heads numbers, "
        "so divide the scores by sqrt(head_size)",
    ),
    Mistake(_variant(scale="none"), "did you divide the scores by sqrt(head_size)?"),
    Mistake(
        _variant(mask="after"),
        "the mask is applied after the softmax: set the future scores to -inf before it, so every row still sums to 1",
    ),
    Mistake(_variant(mask="none"), "did you apply the causal mask (when causal=True)? Token i may only look at 0..i."),
    Mistake(
        _variant(join="no transpose"),
        "the heads are not joined before the output projection: move the head axis back behind T "
        "(transpose(-3, -2)) and reshape to (..., T, C), the heads side by side, then apply w_o",
    ),
    Mistake(
        _variant(join="mean"),
        "the heads are not joined before the output projection: put them side by side (concatenate, "
        "(..., T, n_heads * head_size)), do not average them",
    ),
    Mistake(_variant(project=False), "did you apply the output projection w_o (and b_o) to the joined heads?"),
    Mistake(_variant(biases=False), "did you add the biases b_q, b_k, b_v and b_o when they are given?"),
]


def _tensor(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.from_numpy(rng.normal(scale=scale, size=shape).round(3))


def _mha_case(rng, batch: tuple[int, ...], n: int, n_heads: int, dh: int, *, biases: bool, causal: bool = True) -> Case:
    c = n_heads * dh
    weights = [_tensor(rng, c, c, scale=c**-0.5) for _ in range(4)]
    kwargs = {f"b_{name}": _tensor(rng, c, scale=0.1) for name in "qkvo"} if biases else {}
    if not causal:
        kwargs["causal"] = False
    x = _tensor(rng, *batch, n, c)
    label = (
        f"x of shape {tuple(x.shape)}, {n_heads} heads of {dh}"
        + (", with biases" if biases else "")
        + ("" if causal else ", causal=False")
    )
    return Case((x, *weights, n_heads), kwargs, label=label)


# T, n_heads and head_size all differ, so each wrong split, scale and join gives other numbers.
MHA_CASES = [
    _mha_case(np.random.default_rng(40), (2,), 5, 2, 3, biases=False),
    _mha_case(np.random.default_rng(41), (1,), 6, 3, 4, biases=True),
    _mha_case(np.random.default_rng(42), (), 4, 4, 2, biases=True),
    _mha_case(np.random.default_rng(43), (2, 2), 3, 2, 5, biases=False),
    _mha_case(np.random.default_rng(44), (1,), 5, 2, 2, biases=True, causal=False),
]


def _fresh_mha(rng: np.random.Generator) -> Case:
    batch = [(), (1,), (2,), (2, 3)][int(rng.integers(4))]
    return _mha_case(
        rng, batch, _size(rng, 2, 8), _size(rng, 1, 4), _size(rng, 1, 6), biases=bool(rng.random() < 0.5),
        causal=bool(rng.random() < 0.8),
    )  # fmt: skip


#: Texts on which the course model's first block checks the learner's attention: one character,
#: a line of a play with its newline, and a text as long as the model's context.
MODEL_TEXTS = ("R", "ROMEO.\nBut soft, what light", "KING HENRY.\n" + "Once more unto the breach, dear friends! " * 4)


@functools.cache
def _course_block0():
    """The course's trained model and tokenizer, loaded once per session for the checker."""
    return load_course_model()


def _block0_input(model, tokenizer, text: str) -> torch.Tensor:
    """What the attention in ``model``'s first block reads for ``text``: ln1(token + position), ``(1, T, C)``."""
    ids = torch.tensor([tokenizer.encode(text)[-model.config.block_size :]])
    with torch.no_grad():
        return model.blocks[0].ln1(model.tok_emb(ids) + model.pos_emb(torch.arange(ids.shape[1])))


def _attention_weights(model) -> dict[str, torch.Tensor]:
    """Block 0's attention weights as keyword arguments of ``multi_head_attention`` (plain tensors)."""
    attn = model.blocks[0].attn
    w_q, w_k, w_v = attn.qkv.weight.detach().chunk(3)
    weights = {"w_q": w_q, "w_k": w_k, "w_v": w_v, "w_o": attn.proj.weight.detach()}
    if attn.qkv.bias is not None:
        weights.update(zip(("b_q", "b_k", "b_v"), attn.qkv.bias.detach().chunk(3), strict=True))
        weights["b_o"] = attn.proj.bias.detach()
    return weights


def _model_cases() -> list[Case]:
    model, tokenizer = _course_block0()
    weights = _attention_weights(model)
    cases = []
    for text in MODEL_TEXTS:
        x = _block0_input(model, tokenizer, text)
        w = dict(weights)
        args = (x, w.pop("w_q"), w.pop("w_k"), w.pop("w_v"), w.pop("w_o"), model.config.n_head)
        cases.append(Case(args, w, label=f"the course model's block 0 on {text[:24]!r} ({x.shape[1]} characters)"))
    return cases


def _model_attention(x, w_q, w_k, w_v, w_o, n_heads, **biases):
    """The course model's own attention module of block 0 (its trained weights are the ones passed)."""
    model, _ = _course_block0()
    with torch.no_grad():
        return model.blocks[0].attn(x, None, "blocks.0.attn", None, 0)


def _close_tensors(got, expected):
    return same(got, expected, rtol=1e-4, atol=1e-5)


def multi_head_attention(learner, *, quiet: bool = False) -> CheckResult:
    """``multi_head_attention(x, w_q, w_k, w_v, w_o, n_heads, *, b_q=None, ..., causal=True)`` in torch:
    compared with ``scaled_dot_product_attention`` on random weights, then with the course model's own
    attention (block 0, its trained weights) on three texts. Kept for lesson 07 when it passes."""
    name = "multi_head_attention"
    common = {"compare": _close_tensors, "quiet": True}
    result = check_function(name, learner, _sdpa_reference, MHA_CASES, MHA_MISTAKES, fresh=_fresh_mha, **common)
    if result:
        result = check_function(name, learner, _model_attention, _model_cases(), MHA_MISTAKES, **common)
    if result:
        n_cases = len(MHA_CASES) + 1
        result.message = (
            f"same as torch's scaled_dot_product_attention on {n_cases} cases (1 drawn at random) and as the "
            f"course model's own attention with its trained weights on {len(MODEL_TEXTS)} texts."
        )
    if not quiet:
        print(result)
        keep_if_passed(result, name, learner, lesson="04", used_in="lesson 07's GPT")
    return result


# --------------------------------------------------------------------------- counts as functions of the configuration

COURSE_CONFIG = GPTConfig(vocab_size=84)  # the course model's shape (its checkpoint's config)


def _config_cases() -> list[Case]:
    return [
        Case((COURSE_CONFIG,), label="the course model (4 layers x 4 heads, width 128)"),
        Case((GPT2_SMALL,), label="GPT-2 small (12 layers x 12 heads, width 768)"),
        Case((GPT3_175B,), label="GPT-3 175B (96 layers x 96 heads, width 12,288)"),
        Case((GPTConfig(n_layer=3, n_head=6, n_embd=48, bias=False),), label="3 layers x 6 heads, width 48, no biases"),
    ]


def _fresh_config(rng: np.random.Generator) -> Case:
    n_head = _size(rng, 1, 16)
    config = GPTConfig(
        vocab_size=int(rng.integers(50, 60_000)),
        block_size=int(rng.integers(16, 4096)),
        n_layer=_size(rng, 1, 48),
        n_head=n_head,
        n_embd=n_head * int(rng.integers(8, 129)),
        bias=bool(rng.random() < 0.5),
    )
    return Case((config,))


def _total_heads_reference(config):
    return config.n_layer * config.n_head


def total_heads(learner) -> CheckResult:
    """``total_heads(config)``: how many attention heads a GPT of that shape has, over all its layers."""
    return check_function(
        "total_heads",
        learner,
        _total_heads_reference,
        _config_cases(),
        [
            Mistake(
                lambda c: c.n_layer + c.n_head, "heads per layer and layers multiply: every layer has its own heads."
            ),
            Mistake(
                lambda c: c.n_head, "that is one layer's heads; every one of the config.n_layer layers has its own."
            ),
            Mistake(
                lambda c: c.n_embd // c.n_head, "that is the head size (numbers per head), not the number of heads."
            ),
        ],
        fresh=_fresh_config,
        compare=same_count,
        success="n_layer x n_head heads, each with its own queries, keys and values: GPT-3 has 9,216.",
    )


def _attention_parameters_reference(config):
    return config.n_layer * attention_parameter_count(config.n_embd, bias=config.bias)


def attention_parameters(learner) -> CheckResult:
    """``attention_parameters(config)``: W_Q, W_K, W_V and W_O of every layer, with their biases when config.bias."""
    return check_function(
        "attention_parameters",
        learner,
        _attention_parameters_reference,
        _config_cases(),
        [
            Mistake(
                lambda c: c.n_layer * 4 * c.n_embd**2,
                "the weights are right; with config.bias True each of the four projections also has n_embd biases.",
            ),
            *(
                Mistake(
                    lambda c, with_bias=with_bias: c.n_layer * (3 * c.n_embd**2 + 3 * c.n_embd * c.bias * with_bias),
                    "did you forget the output projection W_O? A layer has four n_embd x n_embd matrices.",
                )
                for with_bias in (True, False)
            ),
            Mistake(
                lambda c: attention_parameter_count(c.n_embd, bias=c.bias), "that is one layer; multiply by n_layer."
            ),
            Mistake(
                lambda c: c.n_layer * c.n_head * attention_parameter_count(c.n_embd, bias=c.bias),
                "each head's maps are n_embd x head_size, not n_embd x n_embd: the heads share out the width.",
            ),
        ],
        fresh=_fresh_config,
        compare=same_count,
        success="4 x n_embd^2 (+ 4 x n_embd biases) per layer, times n_layer: about 58 billion in GPT-3.",
    )


def _pattern_memory_reference(context_length, n_heads, bytes_per_number):
    return attention_pattern_bytes(context_length, n_heads=n_heads, bytes_per_value=bytes_per_number)


PATTERN_CASES = [
    Case((2048, 1, 4), label="2,048 tokens, 1 head, float32 (4 bytes)"),
    Case((2048, 96, 2), label="GPT-3's layer: 2,048 tokens, 96 heads, 16-bit numbers"),
    Case((1024, 12, 4), label="GPT-2 small's layer: 1,024 tokens, 12 heads, float32"),
    Case((128, 4, 4), label="the course model's layer: 128 characters, 4 heads, float32"),
    Case((3, 5, 8), label="3 tokens, 5 heads, float64"),
]


def _fresh_pattern(rng: np.random.Generator) -> Case:
    return Case((int(rng.integers(2, 9000)), _size(rng, 1, 64), int(rng.choice([1, 2, 4, 8]))))


def pattern_memory(learner) -> CheckResult:
    """``pattern_memory(context_length, n_heads, bytes_per_number)``: bytes of one layer's patterns for one text."""
    return check_function(
        "pattern_memory",
        learner,
        _pattern_memory_reference,
        PATTERN_CASES,
        [
            Mistake(lambda t, h, b: t * t * h, "that is the count of numbers; multiply by the bytes each one takes."),
            Mistake(lambda t, h, b: t * t * b, "every head has its own T x T pattern: multiply by n_heads."),
            Mistake(lambda t, h, b: t * h * b, "one number per (query, key) pair: T x T per head, not T."),
            Mistake(
                lambda t, h, b: t * (t + 1) // 2 * h * b,
                "the mask hides half of each pattern, but the T x T matrix is still stored and computed.",
            ),
            Mistake(lambda t, h, b: 2 * t * h * b, "one number per (query, key) pair: T x T, not T + T."),
            Mistake(
                lambda t, h, b: t * t * h * b * 8, "a byte is already the unit: bytes_per_number is in bytes, not bits."
            ),
        ],
        fresh=_fresh_pattern,
        compare=same_count,
        success="T x T numbers per head: doubling the context multiplies the memory by four.",
    )


REFERENCES = {
    "scaled_scores": _scores_reference,
    "causal_softmax": _causal_softmax_reference,
    "attention": _attention_reference,
    "multi_head_attention": _sdpa_reference,
    "pattern_memory": _pattern_memory_reference,
    "total_heads": _total_heads_reference,
    "attention_parameters": _attention_parameters_reference,
}


def reference(exercise: str):
    """The course's version of an exercise's function, for the cells after an exercise that is not solved yet."""
    return pick_reference(REFERENCES, exercise)
