"""Attention, one step at a time: the computations behind lesson 04.

Every function works on NumPy arrays *and* on torch tensors (the same code runs on both, and
returns the same kind it was given), so a lesson can show the steps with small NumPy arrays and
then run the same code on a trained model's tensors.

Conventions, the same as ``torch.nn.Linear`` and ``course_lib.model``:

* a sequence is a matrix with one **row per token**: ``x`` has shape ``(..., T, d_model)``, where
  ``...`` are optional batch dimensions;
* a weight matrix has one **row per output**: ``W_Q`` has shape ``(d_k, d_model)`` and the queries
  are ``Q = x @ W_Q.T`` (each row of ``W_Q`` asks one question of every token).

Single-head attention, with every intermediate kept by ``return_steps=True``::

    Q = x W_Q^T,  K = x W_K^T,  V = x W_V^T            (projections)
    scores  = Q K^T                                    (T x S: every query against every key)
    scaled  = scores / sqrt(d_k)                       (optional: ``scale=False`` skips it)
    masked  = scaled with the future set to -inf       (optional: ``causal=False`` skips it)
    pattern = softmax(masked) along the keys           (each row sums to 1)
    output  = pattern V                                (a weighted sum of values per query)

The causal mask is aligned like ``torch.nn.functional.scaled_dot_product_attention(is_causal=True)``:
query ``i`` may look at keys ``0..i``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields

import numpy as np
import torch

from course_lib.arrays import (
    Array,
    is_torch,
    require_array,
    require_bias,
    require_int,
    require_positive_int,
    require_weight,
    same_kind,
    to_numpy,
)
from course_lib.sampling import softmax  # over the last axis; lesson 05 studies it

__all__ = [
    "AttentionSteps",
    "MultiHeadSteps",
    "AttentionCost",
    "causal_mask",
    "attention_scores",
    "apply_causal_mask",
    "attend",
    "single_head_attention",
    "cross_attention",
    "split_heads",
    "merge_heads",
    "multi_head_attention",
    "weights_from_torch",
    "low_rank_value",
    "best_low_rank",
    "measure_attention_cost",
    "TOY_FEATURES",
    "TOY_WORDS",
    "toy_embeddings",
    "toy_head",
    "model_attention",
    "head_scores",
]


# --------------------------------------------------------------------------- input checks


def _batch_shape(**arrays: Array) -> None:
    """Refuse batch dimensions (all but the last two) that cannot be broadcast together."""
    try:
        np.broadcast_shapes(*(tuple(a.shape[:-2]) for a in arrays.values()))
    except ValueError:
        described = ", ".join(f"{n} has shape {tuple(a.shape)}" for n, a in arrays.items())
        raise ValueError(f"the batch dimensions (all but the last two) do not match: {described}") from None


def _linear(x: Array, w: Array, b: Array | None) -> Array:
    y = x @ w.T
    return y if b is None else y + b


def _transpose_last(x: Array) -> Array:
    return x.transpose(-2, -1) if is_torch(x) else np.swapaxes(x, -1, -2)


# --------------------------------------------------------------------------- the steps


def causal_mask(n_queries: int, n_keys: int | None = None, *, past: int = 0, like: Array | None = None) -> Array:
    """Boolean ``(n_queries, n_keys)`` matrix, True where query ``i`` may look at key ``j``: ``j <= past + i``.

    The one causal mask of the course: the from-scratch attention here, the course GPT and SmolLM2 all
    build theirs with it. ``past`` counts the keys that come before the first query, the tokens already
    in a KV cache: the queries are then the *last* ``n_queries`` positions, and ``n_keys`` defaults to
    ``past + n_queries``. With ``past=0`` query ``i`` sees keys ``0..i``, the alignment of
    ``torch.nn.functional.scaled_dot_product_attention(is_causal=True)``.

    Returns a torch tensor (on ``like``'s device) if ``like`` is a tensor, else a NumPy array.
    """
    n_queries = require_positive_int("n_queries", n_queries)
    past = require_int("past", past, minimum=0)
    n_keys = past + n_queries if n_keys is None else require_positive_int("n_keys", n_keys)
    if like is not None and is_torch(like):
        return torch.ones(n_queries, n_keys, dtype=torch.bool, device=like.device).tril(diagonal=past)
    return np.tril(np.ones((n_queries, n_keys), dtype=bool), k=past)


def attention_scores(q: Array, k: Array, *, scale: bool = True) -> Array:
    """``Q K^T``, divided by ``sqrt(d_k)`` when ``scale`` is true: shape ``(..., T, S)``."""
    q = require_array("q", q, 2, nonempty=True, finite=True)
    k = require_array("k", k, 2, nonempty=True, finite=True)
    same_kind(q=q, k=k)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"queries and keys must have the same size d_k to be compared by dot products: "
            f"q has shape {tuple(q.shape)}, k has shape {tuple(k.shape)}"
        )
    _batch_shape(q=q, k=k)
    scores = q @ _transpose_last(k)
    return scores / math.sqrt(q.shape[-1]) if scale else scores


def apply_causal_mask(scores: Array) -> Array:
    """Set the entries where a query would look at a later key to -inf (before the softmax).

    ``scores`` may already hold -inf (entries masked before), but not NaN or +inf.
    """
    scores = require_array("scores", scores, 2, nonempty=True, allow_neg_inf=True)
    allowed = causal_mask(scores.shape[-2], scores.shape[-1], like=scores)
    if is_torch(scores):
        return scores.masked_fill(~allowed, float("-inf"))
    return np.where(allowed, scores, -np.inf)


@dataclass
class AttentionSteps:
    """Every intermediate of one attention computation (``None`` where a step did not happen)."""

    q: Array
    k: Array
    v: Array
    scores: Array  # Q K^T
    scaled: Array  # after dividing by sqrt(d_k) (the same as scores when scale=False)
    masked: Array  # after the causal mask (the same as scaled when causal=False)
    pattern: Array  # softmax over keys: each row sums to 1
    output: Array  # pattern @ V
    x: Array | None = None  # the tokens the queries come from
    context: Array | None = None  # the tokens the keys and values come from (x itself for self-attention)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of every recorded intermediate, in the order they are computed."""
        return {f.name: tuple(getattr(self, f.name).shape) for f in fields(self) if getattr(self, f.name) is not None}


def attend(
    q: Array, k: Array, v: Array, *, causal: bool = True, scale: bool = True, return_steps: bool = False
) -> Array | tuple[Array, AttentionSteps]:
    """Attention for given queries, keys and values: ``softmax(mask(Q K^T / sqrt(d_k))) V``.

    Shapes: ``q`` ``(..., T, d_k)``, ``k`` ``(..., S, d_k)``, ``v`` ``(..., S, d_v)``; the result is
    ``(..., T, d_v)``. With ``return_steps=True`` also returns an :class:`AttentionSteps`.
    Every array must be non-empty and finite (no NaN or infinity).
    """
    q, k, v = (require_array(n, a, 2, nonempty=True, finite=True) for n, a in (("q", q), ("k", k), ("v", v)))
    same_kind(q=q, k=k, v=v)
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"every key needs its value: k has {k.shape[-2]} rows (shape {tuple(k.shape)}) "
            f"but v has {v.shape[-2]} (shape {tuple(v.shape)})"
        )
    _batch_shape(q=q, k=k, v=v)
    scores = attention_scores(q, k, scale=False)
    scaled = scores / math.sqrt(q.shape[-1]) if scale else scores
    masked = apply_causal_mask(scaled) if causal else scaled
    pattern = softmax(masked, name="scores")  # along the keys; exp(-inf) = 0 removes the masked ones
    output = pattern @ v
    if not return_steps:
        return output
    return output, AttentionSteps(q, k, v, scores, scaled, masked, pattern, output)


def single_head_attention(
    x: Array,
    w_q: Array,
    w_k: Array,
    w_v: Array,
    *,
    b_q: Array | None = None,
    b_k: Array | None = None,
    b_v: Array | None = None,
    context: Array | None = None,
    causal: bool = True,
    scale: bool = True,
    return_steps: bool = False,
) -> Array | tuple[Array, AttentionSteps]:
    """One head: project ``x`` to queries and ``context`` (default ``x``) to keys and values, then attend.

    ``x``: ``(..., T, d_model)``; ``w_q``, ``w_k``: ``(d_k, d_model)``; ``w_v``: ``(d_v, d_model)``.
    Returns ``(..., T, d_v)`` (and the :class:`AttentionSteps` with ``return_steps=True``).
    """
    x = require_array("x", x, 2, nonempty=True, finite=True)
    context = x if context is None else require_array("context", context, 2, nonempty=True, finite=True)
    same_kind(x=x, context=context, w_q=w_q, w_k=w_k, w_v=w_v)
    w_q = require_weight("w_q", w_q, x.shape[-1])
    w_k = require_weight("w_k", w_k, context.shape[-1], w_q.shape[0])
    w_v = require_weight("w_v", w_v, context.shape[-1])
    b_q = require_bias("b_q", b_q, w_q.shape[0])
    b_k = require_bias("b_k", b_k, w_k.shape[0])
    b_v = require_bias("b_v", b_v, w_v.shape[0])
    q, k, v = _linear(x, w_q, b_q), _linear(context, w_k, b_k), _linear(context, w_v, b_v)
    result = attend(q, k, v, causal=causal, scale=scale, return_steps=return_steps)
    if not return_steps:
        return result
    output, steps = result
    steps.x, steps.context = x, context
    return output, steps


def cross_attention(
    x: Array,
    context: Array,
    w_q: Array,
    w_k: Array,
    w_v: Array,
    *,
    scale: bool = True,
    return_steps: bool = False,
    **biases,
) -> Array | tuple[Array, AttentionSteps]:
    """Queries from ``x``, keys and values from another sequence ``context``; no mask.

    There is no "future" to hide: every token of ``x`` may look at every token of ``context``
    (for example, a translation looking at the whole source sentence). ``x`` and ``context`` may
    have different lengths, and even different widths (``w_k``, ``w_v`` take the context's width).
    """
    if context is None:
        raise ValueError("cross_attention needs a context sequence for the keys and values, got None")
    return single_head_attention(
        x, w_q, w_k, w_v, context=context, causal=False, scale=scale, return_steps=return_steps, **biases
    )


# --------------------------------------------------------------------------- many heads


def _require_heads(n_heads: int, d_model: int) -> None:
    n_heads = require_positive_int("n_heads", n_heads)
    if d_model % n_heads != 0:
        raise ValueError(
            f"d_model ({d_model}) must be divisible by n_heads ({n_heads}): each head gets d_model // n_heads "
            f"dimensions; try n_heads in {[h for h in range(1, d_model + 1) if d_model % h == 0][:8]}..."
        )


def split_heads(x: Array, n_heads: int) -> Array:
    """``(..., T, d_model)`` -> ``(..., n_heads, T, d_model // n_heads)``: head h gets columns h*dh .. (h+1)*dh."""
    x = require_array("x", x, 2, finite=True)
    _require_heads(n_heads, x.shape[-1])
    *batch, t, d = x.shape
    x = x.reshape(*batch, t, n_heads, d // n_heads)
    return x.transpose(-3, -2) if is_torch(x) else np.swapaxes(x, -3, -2)


def merge_heads(x: Array) -> Array:
    """Undo :func:`split_heads`: ``(..., n_heads, T, dh)`` -> ``(..., T, n_heads * dh)`` (heads side by side)."""
    x = require_array("x", x, 3, finite=True)
    x = x.transpose(-3, -2) if is_torch(x) else np.swapaxes(x, -3, -2)
    *batch, t, h, dh = x.shape
    return x.reshape(*batch, t, h * dh)


@dataclass
class MultiHeadSteps:
    """The intermediates of multi-head attention; per-head tensors have shape ``(..., n_heads, T, dh)``."""

    q: Array
    k: Array
    v: Array
    scores: Array  # (..., n_heads, T, S) after scaling (if any), before the mask
    pattern: Array  # (..., n_heads, T, S)
    heads: Array  # (..., n_heads, T, dh): each head's weighted sum of values
    concat: Array  # (..., T, d_model): the heads side by side
    output: Array  # (..., T, d_model): after the output projection

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {f.name: tuple(getattr(self, f.name).shape) for f in fields(self)}


def multi_head_attention(
    x: Array,
    w_q: Array,
    w_k: Array,
    w_v: Array,
    w_o: Array,
    n_heads: int,
    *,
    b_q: Array | None = None,
    b_k: Array | None = None,
    b_v: Array | None = None,
    b_o: Array | None = None,
    context: Array | None = None,
    causal: bool = True,
    scale: bool = True,
    return_steps: bool = False,
) -> Array | tuple[Array, MultiHeadSteps]:
    """Several heads in parallel: project, split into heads, attend in each, concatenate, project out.

    All four weights are ``(d_model, d_model)``; head ``h`` uses rows ``h*dh .. (h+1)*dh`` of ``w_q``,
    ``w_k``, ``w_v`` (``dh = d_model // n_heads``), so this equals running ``n_heads`` separate
    :func:`single_head_attention` calls and adding up each head's output pushed through its slice of
    ``w_o``'s columns. Matches ``torch.nn.MultiheadAttention`` (``batch_first=True``) given its weights.
    """
    x = require_array("x", x, 2, nonempty=True, finite=True)
    context = x if context is None else require_array("context", context, 2, nonempty=True, finite=True)
    same_kind(x=x, context=context, w_q=w_q, w_k=w_k, w_v=w_v, w_o=w_o)
    d_model = x.shape[-1]
    if context.shape[-1] != d_model:
        raise ValueError(
            f"context must have the same width as x ({d_model}) in multi_head_attention, "
            f"got shape {tuple(context.shape)}"
        )
    _require_heads(n_heads, d_model)
    w_q, w_k, w_v, w_o = (
        require_weight(n, w, d_model, d_model) for n, w in (("w_q", w_q), ("w_k", w_k), ("w_v", w_v), ("w_o", w_o))
    )
    b_q, b_k, b_v, b_o = (
        require_bias(n, b, d_model) for n, b in (("b_q", b_q), ("b_k", b_k), ("b_v", b_v), ("b_o", b_o))
    )
    q = split_heads(_linear(x, w_q, b_q), n_heads)
    k = split_heads(_linear(context, w_k, b_k), n_heads)
    v = split_heads(_linear(context, w_v, b_v), n_heads)
    heads, steps = attend(q, k, v, causal=causal, scale=scale, return_steps=True)
    concat = merge_heads(heads)
    output = _linear(concat, w_o, b_o)
    if not return_steps:
        return output
    return output, MultiHeadSteps(q, k, v, steps.scaled, steps.pattern, heads, concat, output)


def weights_from_torch(module: torch.nn.MultiheadAttention) -> dict[str, torch.Tensor]:
    """The weights of a ``torch.nn.MultiheadAttention`` as keyword arguments for :func:`multi_head_attention`."""
    if not isinstance(module, torch.nn.MultiheadAttention):
        raise TypeError(f"module must be a torch.nn.MultiheadAttention, got {type(module).__name__}")
    if module.in_proj_weight is None:
        raise ValueError("only MultiheadAttention with equal query/key/value widths (one in_proj_weight) is supported")
    w_q, w_k, w_v = module.in_proj_weight.detach().chunk(3)
    weights = {"w_q": w_q, "w_k": w_k, "w_v": w_v, "w_o": module.out_proj.weight.detach()}
    if module.in_proj_bias is not None:
        weights.update(zip(("b_q", "b_k", "b_v"), module.in_proj_bias.detach().chunk(3), strict=True))
    if module.out_proj.bias is not None:
        weights["b_o"] = module.out_proj.bias.detach()
    return weights


# --------------------------------------------------------------------------- the value map, low rank


def low_rank_value(x: Array, w_down: Array, w_up: Array, *, return_steps: bool = False) -> Array | tuple:
    """Values through a factored map ``W_V = W_up @ W_down``: first down to ``rank`` numbers, then back up.

    ``x``: ``(..., T, d_model)``; ``w_down``: ``(rank, d_model)``; ``w_up``: ``(d_out, rank)``. Computing
    ``(x @ W_down^T) @ W_up^T`` never builds the big ``d_out x d_model`` matrix. With ``return_steps``
    returns ``(values, small)`` where ``small`` is the ``(..., T, rank)`` intermediate.
    """
    x = require_array("x", x, 1, finite=True)
    same_kind(x=x, w_down=w_down, w_up=w_up)
    w_down = require_weight("w_down", w_down, x.shape[-1])
    w_up = require_weight("w_up", w_up, w_down.shape[0])
    small = x @ w_down.T
    values = small @ w_up.T
    return (values, small) if return_steps else values


def best_low_rank(w: Array, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """The closest rank-``r`` factorisation ``w ~ w_up @ w_down`` (truncated SVD): returns ``(w_up, w_down)``."""
    w = require_array("w", w, finite=True)
    if w.ndim != 2:
        raise ValueError(f"w must be a 2-D matrix, got shape {tuple(w.shape)}")
    rank = require_int(
        "rank",
        rank,
        minimum=1,
        maximum=min(w.shape),
        hint=f"A matrix of shape {tuple(w.shape)} has rank at most {min(w.shape)}",
    )
    w = w.detach().cpu().numpy() if is_torch(w) else np.asarray(w, dtype=float)
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    root = np.sqrt(s[:rank])
    return u[:, :rank] * root, root[:, None] * vt[:rank]


# --------------------------------------------------------------------------- cost as context grows


@dataclass
class AttentionCost:
    context_length: int
    pattern_entries: int  # T * T
    pattern_bytes: int  # measured from the tensor actually built
    seconds: float  # best of the repeats: scores, mask, softmax and weighted sum, one head


def measure_attention_cost(
    context_lengths, *, d_head: int = 64, repeats: int = 3, dtype: torch.dtype = torch.float32, seed: int = 0
) -> list[AttentionCost]:
    """Time one causal attention head and measure its pattern's memory, for each context length.

    The pattern is built explicitly (as :func:`attend` does) so its size can be read off the tensor.
    Timings depend on the machine; the memory is exactly ``T * T * bytes per number``.
    """
    lengths = list(context_lengths)
    if not lengths:
        raise ValueError("context_lengths must contain at least one length")
    lengths = [require_positive_int(f"context_lengths[{i}]", n) for i, n in enumerate(lengths)]
    d_head, repeats = require_positive_int("d_head", d_head), require_positive_int("repeats", repeats)
    generator = torch.Generator().manual_seed(seed)
    results = []
    with torch.no_grad():
        for t in lengths:
            q, k, v = (torch.randn(int(t), d_head, generator=generator, dtype=dtype) for _ in range(3))
            best = math.inf
            for _ in range(repeats):
                start = time.perf_counter()
                _, steps = attend(q, k, v, causal=True, scale=True, return_steps=True)
                best = min(best, time.perf_counter() - start)
            pattern = steps.pattern
            results.append(AttentionCost(int(t), pattern.numel(), pattern.numel() * pattern.element_size(), best))
            del steps, pattern
    return results


# --------------------------------------------------------------------------- a hand-built toy (lesson 04)

#: The named features of the toy embeddings, followed by two position dimensions.
TOY_FEATURES = ("noun", "describer", "small", "orange", "animal", "sport", "dark", "verb")
#: Each toy word's features (1 where listed, 0 elsewhere). Words not listed (a, the...) have none.
TOY_WORDS: dict[str, tuple[str, ...]] = {
    "small": ("describer", "small"),
    "orange": ("describer", "orange"),
    "black": ("describer", "dark"),
    "vampire": ("describer", "animal"),
    "baseball": ("describer", "sport"),
    "fruit": ("noun",),
    "bat": ("noun",),
    "dog": ("noun", "animal"),
    "cat": ("noun", "animal"),
    "garden": ("noun",),
    "chased": ("verb",),
}
TOY_POSITION_ANGLE = 0.5  # radians per position in the toy position vectors


def toy_embeddings(words: list[str]) -> np.ndarray:
    """Hand-made vectors for a list of words: one column per :data:`TOY_FEATURES`, then a position
    vector ``(cos(0.5 p), sin(0.5 p))`` for position ``p``, whose dot product with another position's
    is ``cos(0.5 * distance)``: largest for nearby tokens. Shape ``(len(words), len(TOY_FEATURES) + 2)``.
    """
    if isinstance(words, str) or not words or not all(isinstance(w, str) for w in words):
        raise TypeError(f"words must be a non-empty list of strings, e.g. 'the black cat'.split(), got {words!r}")
    x = np.zeros((len(words), len(TOY_FEATURES) + 2))
    for p, word in enumerate(words):
        for feature in TOY_WORDS.get(word.lower().strip(",."), ()):
            x[p, TOY_FEATURES.index(feature)] = 1.0
        x[p, -2:] = math.cos(TOY_POSITION_ANGLE * p), math.sin(TOY_POSITION_ANGLE * p)
    return x


def toy_head(asker: str = "noun", *, match: float = 2.0, closeness: float = math.sqrt(3)) -> dict[str, np.ndarray]:
    """A hand-built head: ``asker`` tokens ("noun" or "describer") look for the other kind nearby.

    Queries and keys have 3 numbers: ``[match * is-asker, closeness * position]`` for queries and
    ``[match * is-other-kind, closeness * position]`` for keys, so a score is
    ``match**2`` (right kind) + ``closeness**2 * cos(0.5 * distance)`` (nearby). The value map copies
    the describing features (small, orange, animal, sport, dark) and nothing else.
    Returns ``{"w_q": (3, d), "w_k": (3, d), "w_v": (d, d)}`` for :func:`single_head_attention`.
    """
    kinds = {"noun": "describer", "describer": "noun"}
    if asker not in kinds:
        raise ValueError(f"asker must be 'noun' or 'describer', got {asker!r}")
    d = len(TOY_FEATURES) + 2
    w_q, w_k, w_v = np.zeros((3, d)), np.zeros((3, d)), np.zeros((d, d))
    w_q[0, TOY_FEATURES.index(asker)] = match
    w_k[0, TOY_FEATURES.index(kinds[asker])] = match
    for w in (w_q, w_k):
        w[1, d - 2] = w[2, d - 1] = closeness
    for feature in ("small", "orange", "animal", "sport", "dark"):
        i = TOY_FEATURES.index(feature)
        w_v[i, i] = 1.0
    return {"w_q": w_q, "w_k": w_k, "w_v": w_v}


# --------------------------------------------------------------------------- a trained model's heads


def model_attention(
    model, tokenizer, text: str, *, causal: bool = True, scale: bool = True
) -> tuple[list[str], torch.Tensor]:
    """Run ``model`` on ``text``; return its tokens and every head's pattern, ``(n_layer, n_head, T, T)``.

    The patterns are recomputed from the heads' recorded queries and keys, so ``causal=False`` or
    ``scale=False`` show what a head *would* do without the mask or the scaling (the model itself
    always uses both). ``text`` is cut to the model's context: its last ``block_size`` tokens.
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    ids = tokenizer.encode(text)[-model.config.block_size :]
    capture: dict = {}
    with torch.no_grad():
        model(torch.tensor([ids]), capture=capture)
    patterns = []
    for i in range(model.config.n_layer):
        q, k = capture[f"blocks.{i}.attn.q"][0], capture[f"blocks.{i}.attn.k"][0]
        scores = attention_scores(q, k, scale=scale)
        patterns.append(softmax(apply_causal_mask(scores) if causal else scores))
    return [tokenizer.decode([i]) for i in ids], torch.stack(patterns)


def head_scores(patterns: Array) -> dict[str, np.ndarray]:
    """Simple descriptions of each head from its patterns ``(n_layer, n_head, T, T)``, one number per head:

    * ``"self"``: mean weight a token puts on itself;
    * ``"previous"``: mean weight on the token just before (queries 1..T-1);
    * ``"first"``: mean weight on the first token (queries 1..T-1);
    * ``"distance"``: mean distance, in tokens, between a query and what it looks at.
    """
    p = to_numpy(require_array("patterns", patterns, finite=True))
    if p.ndim != 4 or p.shape[-1] != p.shape[-2] or p.shape[-1] < 2:
        raise ValueError(f"patterns must be (n_layer, n_head, T, T) with T >= 2, got shape {p.shape}")
    t = p.shape[-1]
    rows = np.arange(1, t)
    distance = np.arange(t)[:, None] - np.arange(t)[None, :]
    return {
        "self": np.diagonal(p, axis1=-2, axis2=-1).mean(axis=-1),
        "previous": p[..., rows, rows - 1].mean(axis=-1),
        "first": p[..., 1:, 0].mean(axis=-1),
        "distance": (p * np.maximum(distance, 0)).sum(axis=-1).mean(axis=-1),
    }
