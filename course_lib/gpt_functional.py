"""The course's GPT as plain functions on a dict of weights: lesson 07's "your GPT", written the course's way.

:class:`course_lib.model.GPT` is a ``torch.nn.Module``: its weights live inside its layers. Here the
same computation is a handful of functions that take the weights as a plain dict of tensors, named as
in the model's state dict (``tok_emb.weight``, ``blocks.0.attn.qkv.weight``, ``ln_f.bias``...), so a
learner can write each function themselves and load the course's trained weights into their own code.
These are the references lesson 07's checkers compare a learner's pieces with, and the versions a
lesson falls back to while an exercise is not solved yet::

    weights = trained_weights(model)                 # {name: tensor}, detached copies
    logits = gpt_forward(idx, weights, model.config) # (B, T, vocab_size), as model(idx)[0]

    cache = {}                                       # a KV cache: {layer: (keys, values)}
    logits = gpt_forward_cached(idx, weights, config, cache)          # the prompt
    logits = gpt_forward_cached(next_id, weights, config, cache)      # one new token, reusing the past

Attention is :func:`course_lib.attention.multi_head_attention` and the MLP :func:`course_lib.mlp.mlp_block`
(the tanh GELU of GPT-2): the pieces of lessons 04 and 06. :func:`generate` writes text with any forward
function (a learner's, cached or not) and draws tokens exactly as :func:`course_lib.sampling.generate`
does, so the two can be compared token for token.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from course_lib.arrays import require_ids, require_int, require_positive_int
from course_lib.attention import causal_mask, merge_heads, multi_head_attention, split_heads
from course_lib.mlp import mlp_block
from course_lib.model import GPTConfig
from course_lib.sampling import top_k_filter, top_p_filter

__all__ = [
    "attention",
    "attention_weights",
    "cache_length",
    "capture_shapes",
    "embed",
    "generate",
    "gpt_forward",
    "gpt_forward_cached",
    "layer_norm",
    "mlp",
    "multiply_adds",
    "trained_weights",
]

EPS = 1e-5  # LayerNorm's epsilon, torch's default and the course model's


# --------------------------------------------------------------------------- the weights


def trained_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights as a plain ``{name: tensor}`` dict (the state dict's names), detached copies.

    Copies, so that code which changes a tensor of the dict in place cannot change the model.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a course GPT (a torch.nn.Module), got {type(model).__name__}")
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def _get(weights: Mapping[str, torch.Tensor], name: str) -> torch.Tensor:
    if name not in weights:
        raise KeyError(f"weights has no {name!r}: pass the dict trained_weights(model) gives")
    return weights[name]


def attention_weights(weights: Mapping[str, torch.Tensor], layer: int) -> dict[str, torch.Tensor | None]:
    """Layer ``layer``'s attention weights as :func:`multi_head_attention` takes them (``w_q`` ... ``b_o``).

    The model computes Q, K and V with one Linear whose output is ``[Q | K | V]``, so its weight's
    rows (and its bias) split in three equal parts. Biases are None in a model built with ``bias=False``.
    """
    prefix = f"blocks.{layer}.attn"
    w_q, w_k, w_v = _get(weights, f"{prefix}.qkv.weight").chunk(3)
    qkv_bias = weights.get(f"{prefix}.qkv.bias")
    b_q, b_k, b_v = qkv_bias.chunk(3) if qkv_bias is not None else (None, None, None)
    w_o, b_o = _get(weights, f"{prefix}.proj.weight"), weights.get(f"{prefix}.proj.bias")
    return {"w_q": w_q, "w_k": w_k, "w_v": w_v, "w_o": w_o, "b_q": b_q, "b_k": b_k, "b_v": b_v, "b_o": b_o}


# --------------------------------------------------------------------------- the pieces


def embed(idx: torch.Tensor, tok_emb: torch.Tensor, pos_emb: torch.Tensor) -> torch.Tensor:
    """Token ids ``idx`` (B, T) -> (B, T, C): each token's row of ``tok_emb`` plus its position's row of ``pos_emb``."""
    return tok_emb[idx] + pos_emb[: idx.shape[-1]]


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Each position's vector (the last axis) to mean 0 and variance 1 (plus eps), then ``* weight + bias``."""
    return F.layer_norm(x, (x.shape[-1],), weight, bias, eps=EPS)


def mlp(x: torch.Tensor, w_up: torch.Tensor, b_up, w_down: torch.Tensor, b_down) -> torch.Tensor:
    """The course model's MLP on ``x`` (..., C): up to 4C neurons, GELU (tanh approximation), back down to C."""
    return mlp_block(x, w_up, b_up, w_down, b_down, activation="gelu_tanh")


def attention(x: torch.Tensor, weights: Mapping[str, torch.Tensor], layer: int, n_head: int) -> torch.Tensor:
    """Layer ``layer``'s causal multi-head self-attention on ``x`` (B, T, C), without a cache."""
    return multi_head_attention(x, n_heads=n_head, causal=True, **attention_weights(weights, layer))


# --------------------------------------------------------------------------- the whole forward pass


def _check_idx(idx, config: GPTConfig, past: int = 0) -> None:
    if not isinstance(idx, torch.Tensor) or idx.dim() != 2:
        shape = tuple(idx.shape) if isinstance(idx, torch.Tensor) else type(idx).__name__
        raise ValueError(f"idx must be a (batch, time) tensor of token ids, e.g. torch.tensor([ids]); got {shape}")
    if idx.shape[1] == 0:
        raise ValueError("idx must hold at least one token per sequence")
    if past + idx.shape[1] > config.block_size:
        raise ValueError(
            f"{past} cached + {idx.shape[1]} new tokens is more than block_size={config.block_size}, the most "
            "positions the model has vectors for: crop the context (generate does)"
        )
    require_ids("idx", idx, config.vocab_size)


def _block(x, weights, layer, config, attend: Callable) -> torch.Tensor:
    """One block: ``x + attention(LN1(x))``, then ``+ MLP(LN2(...))``. ``attend(h, layer)`` is the attention."""
    b = f"blocks.{layer}"
    x = x + attend(layer_norm(x, _get(weights, f"{b}.ln1.weight"), weights.get(f"{b}.ln1.bias")), layer)
    h = layer_norm(x, _get(weights, f"{b}.ln2.weight"), weights.get(f"{b}.ln2.bias"))
    up, down = f"{b}.mlp.fc", f"{b}.mlp.proj"
    return x + mlp(h, _get(weights, f"{up}.weight"), weights.get(f"{up}.bias"), _get(weights, f"{down}.weight"),
                   weights.get(f"{down}.bias"))  # fmt: skip


def _unembed(x, weights) -> torch.Tensor:
    """Final LayerNorm, then a dot product with every token's embedding: the unembedding is tied to tok_emb."""
    x = layer_norm(x, _get(weights, "ln_f.weight"), weights.get("ln_f.bias"))
    return x @ _get(weights, "tok_emb.weight").T


def gpt_forward(idx: torch.Tensor, weights: Mapping[str, torch.Tensor], config: GPTConfig) -> torch.Tensor:
    """Logits (B, T, vocab_size) for token ids ``idx`` (B, T): the course GPT's forward pass, as functions.

    Equals ``GPT(config)`` with these weights, ``model(idx)[0]``, up to float32 rounding (the model's
    attention is torch's fused kernel; this one is :func:`multi_head_attention`, written out).
    """
    _check_idx(idx, config)
    x = embed(idx, _get(weights, "tok_emb.weight"), _get(weights, "pos_emb.weight"))
    for layer in range(config.n_layer):
        x = _block(x, weights, layer, config, lambda h, layer: attention(h, weights, layer, config.n_head))
    return _unembed(x, weights)


# --------------------------------------------------------------------------- with a KV cache


def cache_length(cache: Mapping[int, tuple[torch.Tensor, torch.Tensor]]) -> int:
    """How many positions a KV cache (``{layer: (keys, values)}``, keys (B, H, S, hs)) holds: S, or 0 when empty."""
    return cache[0][0].shape[2] if cache else 0


def _cached_attention(x, weights, layer: int, n_head: int, cache: dict) -> torch.Tensor:
    """Attention for the new positions ``x`` (B, T, C), attending to the cached keys and values and their own.

    The new keys and values are appended to ``cache[layer]``; the mask lets new query ``i`` see every
    cached key and the new keys up to its own position (``causal_mask``'s ``past``).
    """
    w = attention_weights(weights, layer)
    q, k, v = (split_heads(F.linear(x, w[f"w_{n}"], w[f"b_{n}"]), n_head) for n in "qkv")
    if layer in cache:
        past_k, past_v = cache[layer]
        k, v = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)
    cache[layer] = (k, v)
    new, keys = q.shape[2], k.shape[2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~causal_mask(new, keys, past=keys - new, like=scores), float("-inf"))
    heads = torch.softmax(scores, dim=-1) @ v
    return F.linear(merge_heads(heads), w["w_o"], w["b_o"])


def gpt_forward_cached(
    idx: torch.Tensor, weights: Mapping[str, torch.Tensor], config: GPTConfig, cache: dict
) -> torch.Tensor:
    """Logits (B, T, vocab_size) for the new tokens ``idx`` (B, T), which continue the ones in ``cache``.

    ``cache`` is a dict ``{layer: (keys, values)}``, empty at the start, which this call extends with
    the new tokens' keys and values. Feeding a sequence in pieces gives the logits that
    :func:`gpt_forward` gives for the whole of it, while each call computes only the new positions.
    """
    past = cache_length(cache)
    _check_idx(idx, config, past)
    new = idx.shape[1]
    x = _get(weights, "tok_emb.weight")[idx] + _get(weights, "pos_emb.weight")[past : past + new]
    for layer in range(config.n_layer):
        x = _block(x, weights, layer, config, lambda h, layer: _cached_attention(h, weights, layer, config.n_head,
                                                                                 cache))  # fmt: skip
    return _unembed(x, weights)


# --------------------------------------------------------------------------- generation


@torch.no_grad()
def generate(
    forward: Callable,
    weights: Mapping[str, torch.Tensor],
    config: GPTConfig,
    prompt,
    max_new_tokens: int,
    *,
    cached: bool = False,
    greedy: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    top_k_filter: Callable = top_k_filter,
    top_p_filter: Callable = top_p_filter,
) -> list[int]:
    """The prompt's ids followed by ``max_new_tokens`` new ones, each chosen from ``forward``'s last logits.

    ``forward(idx, weights, config)`` is a forward pass such as :func:`gpt_forward`; with ``cached=True``
    it is ``forward(idx, weights, config, cache)`` (:func:`gpt_forward_cached`), fed only the new token at
    each step. Past ``block_size`` tokens the context is cropped to its last ``block_size`` (the cache
    starts again on the cropped context), as in :func:`course_lib.sampling.generate`, whose draws this
    repeats exactly: logits / temperature, ``top_k_filter``, ``top_p_filter``, softmax, one multinomial
    draw from a generator seeded with ``seed``. Pass your own filters to use them.
    """
    if not callable(forward):
        raise TypeError(f"forward must be a function such as gpt_forward, got {type(forward).__name__}")
    max_new_tokens = require_int("max_new_tokens", max_new_tokens, minimum=0)
    ids = [int(i) for i in require_ids("prompt", list(prompt), config.vocab_size, ndim=1)]
    if not ids:
        raise ValueError("prompt is empty: give at least one token id to continue")
    if not greedy and not (isinstance(temperature, int | float) and math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a number > 0 (or use greedy=True), got {temperature!r}")
    if top_k is not None:
        top_k = require_positive_int("top_k", top_k)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    cache: dict = {}
    start = 0  # where the cached context begins in ids
    for _ in range(max_new_tokens):
        if not cached:
            logits = forward(torch.tensor([ids[-config.block_size :]]), weights, config)
        else:
            if not cache or len(ids) - start > config.block_size:
                cache, start = {}, max(0, len(ids) - config.block_size)  # (re)start on the cropped context
            seen = start + cache_length(cache)
            logits = forward(torch.tensor([ids[seen:]]), weights, config, cache)
        last = logits[:, -1]
        if greedy:
            next_id = int(last.argmax(dim=-1))
        else:
            last = last.float() / temperature
            if top_k is not None:
                last = top_k_filter(last, top_k)
            if top_p is not None:
                last = top_p_filter(last, top_p)
            next_id = int(torch.multinomial(torch.softmax(last, dim=-1), 1, generator=generator))
        ids.append(next_id)
    return ids


# --------------------------------------------------------------------------- counting and shapes


# Calls that hold no matrix product, by name: element-wise arithmetic, comparisons, reductions, shapes,
# indexing, normalisation, reading a tensor's attributes. multiply_adds runs them as they are; every other
# call runs under torch's counter, which sees each of its operations. Without this list the counter would
# also look at the hundreds of small operations of the input checks in every forward pass, at a few
# microseconds each: most of the time of a counted run.
_NO_PRODUCT = frozenset(
    """
    __get__ __len__ __bool__ __int__ __float__ __index__ __format__ __repr__ __hash__ __iter__ __contains__
    is_floating_point is_complex numel nelement dim ndimension size stride item tolist is_contiguous element_size
    add __add__ __radd__ __iadd__ sub __sub__ __rsub__ __isub__ rsub mul __mul__ __rmul__ __imul__
    div __truediv__ __rtruediv__ __itruediv__ __floordiv__ true_divide neg __neg__ pow __pow__ __rpow__
    sqrt rsqrt exp log tanh sigmoid erf abs __abs__ clamp clip maximum minimum where masked_fill masked_fill_
    isfinite isnan isinf isposinf isneginf __invert__ __and__ __or__ __xor__ logical_not bitwise_not
    eq ne gt ge lt le __eq__ __ne__ __gt__ __ge__ __lt__ __le__ allclose equal
    sum mean var std max min amax amin aminmax argmax argmin all any logsumexp softmax log_softmax
    cumsum sort topk multinomial gelu relu silu dropout layer_norm rms_norm embedding
    view view_as reshape reshape_as transpose permute t contiguous unsqueeze squeeze flatten expand expand_as
    repeat chunk split unbind narrow select __getitem__ __setitem__ index_select gather cat stack tril triu
    flip roll movedim clone detach float double half to type_as new_zeros new_ones zeros ones full arange
    empty zeros_like ones_like full_like tensor as_tensor
    """.split()
)


class _ProductCounter(TorchDispatchMode):
    """Adds up the FLOPs of every operation torch has a formula for: the ones ``FlopCounterMode`` counts."""

    def __init__(self):
        super().__init__()
        self.flops = 0

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch's way for a mode to say it is never compiled: without it, torch wraps __torch_dispatch__ to
        # keep its compiler out, which imports the compiler (over a second) and slows every counted call.
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        with self:  # an operation made of others (linear, in inference mode) is counted by its parts, as torch does
            parts = func.decompose(*args, **kwargs)
        if parts is not NotImplemented:
            return parts
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.flops += formula(*args, **kwargs, out_val=out)
        return out


# Matrix products whose count follows from their arguments' shapes: counted once for each new set of shapes.
_BY_SHAPES = frozenset("matmul __matmul__ __rmatmul__ linear mm bmm addmm baddbmm einsum".split())


def _shapes_key(func, args, kwargs) -> tuple | None:
    """What a product's count depends on: the function and its arguments, a tensor by its shape and dtype.

    None when an argument is something else (a list of tensors, say): that call is counted as it runs.
    """
    parts: list = [func, tuple(kwargs)]
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor):
            parts.append((tuple(value.shape), value.dtype))
        elif value is None or isinstance(value, int | float | str):
            parts.append(value)
        else:
            return None
    return tuple(parts)


class _CountProducts(TorchFunctionMode):
    """Runs each torch call under a :class:`_ProductCounter`, except the calls of ``_NO_PRODUCT``.

    A product of ``_BY_SHAPES`` on shapes counted before adds the same count again without being watched.
    """

    def __init__(self):
        super().__init__()
        self.counter = _ProductCounter()
        self.by_shapes: dict[tuple, int] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", None)
        if name in _NO_PRODUCT:
            return func(*args, **kwargs)
        key = _shapes_key(func, args, kwargs) if name in _BY_SHAPES else None
        if key is not None and key in self.by_shapes:
            self.counter.flops += self.by_shapes[key]
            return func(*args, **kwargs)
        before = self.counter.flops
        with self.counter:
            out = func(*args, **kwargs)
        if key is not None:
            self.by_shapes[key] = self.counter.flops - before
        return out


def multiply_adds(fn: Callable, *args, **kwargs) -> tuple[object, int]:
    """``(fn(*args, **kwargs), the multiply-adds of its matrix products)``, counted by torch as they run.

    Counted with the formulas of ``torch.utils.flop_counter``, the ones its ``FlopCounterMode`` uses (a
    matrix product of (n, k) by (k, m) is n k m multiply-adds, 2 n k m FLOPs), and the same total;
    element-wise work (softmax, GELU, LayerNorm) is not counted. Only the calls that may hold a matrix
    product are watched operation by operation, which keeps a counted run close to the speed of a plain one.
    The count depends only on the shapes, so it is the same on every machine.
    """
    counting = _CountProducts()
    with counting:
        result = fn(*args, **kwargs)
    return result, counting.counter.flops // 2


def capture_shapes(config: GPTConfig, batch: int, n_tokens: int) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor ``model(idx, capture=d)`` records (keys of ``CAPTURE_KEYS``, ``{i}`` as is).

    For ``idx`` of shape (batch, n_tokens) and a model of this config, without a cache. Lesson 07's
    prediction exercise; the tests compare it with real captures.
    """
    b, t = require_positive_int("batch", batch), require_positive_int("n_tokens", n_tokens)
    c, h, hs, v = config.n_embd, config.n_head, config.head_size, config.vocab_size
    shapes = {
        "tok_emb": (b, t, c),
        "pos_emb": (t, c),
        "embed": (b, t, c),
        "blocks.{i}.ln1": (b, t, c),
        "blocks.{i}.attn.q": (b, h, t, hs),
        "blocks.{i}.attn.k": (b, h, t, hs),
        "blocks.{i}.attn.v": (b, h, t, hs),
        "blocks.{i}.attn.scores": (b, h, t, t),
        "blocks.{i}.attn.masked_scores": (b, h, t, t),
        "blocks.{i}.attn.pattern": (b, h, t, t),
        "blocks.{i}.attn.head_out": (b, h, t, hs),
        "blocks.{i}.attn.out": (b, t, c),
        "blocks.{i}.resid_mid": (b, t, c),
        "blocks.{i}.ln2": (b, t, c),
        "blocks.{i}.mlp.pre": (b, t, 4 * c),
        "blocks.{i}.mlp.post": (b, t, 4 * c),
        "blocks.{i}.mlp.out": (b, t, c),
        "blocks.{i}.resid_post": (b, t, c),
        "ln_f": (b, t, c),
        "logits": (b, t, v),
    }

    return shapes
