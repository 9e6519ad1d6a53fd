"""SmolLM2, decoded fast: the model of :mod:`course_lib.smollm.model`, laid out for speed instead of for reading.

Lesson 09 teaches the forward pass in :mod:`course_lib.smollm.model`, one idea per line. Generating with it
is slow, and arithmetic is not the reason. To produce one token the model reads every weight once and
does two floating-point operations with it (a multiply and an add), so memory sets the pace::

    seconds per token  >=  weights read per token x bytes per weight / memory bandwidth

SmolLM2-135M reads about 134 M weights per token: 540 MB in float32. One laptop core streams roughly
10-15 GB/s, so no float32 code can go much faster than 25 tokens/s on one thread. This module gets
close to that limit, then moves it by storing fewer bytes per weight (:data:`PRECISIONS`):

* ``"float32"``: the readable model's own numbers, arranged so that no work is wasted. Each weight
  matrix is stored transposed, so a step is a plain ``x @ W_t`` that streams it row after row; q, k
  and v are one matrix, so are the MLP's gate and up, so one pass over memory serves them all. The
  rotary angles are computed once for every position; each key/value head serves its group of query
  heads without the cache being copied three times; only the last position's logits are computed.
  The greedy tokens are the readable path's (tests/smollm/test_fast.py checks it): only the order of
  floating-point additions differs, which moves the logits by about 1e-4.
* ``"float16"``: every matrix in 2 bytes per weight, widened back to float32 inside FBGEMM's matrix
  product (the F16C instructions of every AVX2 CPU). Half the bytes of float32; logits within a few
  hundredths of float32's.
* ``"int8"``: 1 byte per weight, one scale per matrix row, and each activation vector rounded to
  integers just before each product, so the product itself runs on integers (FBGEMM's int8 kernels).
  Rounding costs accuracy where a vector has a few huge numbers among many small ones, which this
  model's activations do (the largest is often 20 times the typical one). So first, the model is
  *rotated*: the residual stream, every head's values and the MLP's hidden layer are multiplied by
  fixed orthogonal matrices, whose inverses are folded into the weights (the model computes the same
  function: the test checks it in float32). A rotation spreads each vector's size evenly over its
  coordinates, so rounding loses less. The int8 logits still differ from float32's by a few tenths on
  average, enough to change a greedy reply after some tokens where two candidates were nearly tied.

Left out on purpose: computing on the GGUF file's own 4-bit blocks, and bfloat16. PyTorch's CPU
kernel for 4-bit weights (``_weight_int4pack_mm_for_cpu``) reproduces the Q4_1 numbers but runs several
times slower than float32 for one token at a time; bfloat16 matrix products are only fast on CPUs with
AVX-512 BF16, which AVX2 machines lack. llama.cpp is faster still because its hand-written kernels
read the 4.5-bit blocks directly.

What it shares with the readable model: :class:`FastSmolLM` is a course model like ``SmolLM``
(``model(idx, kv_cache=...)`` returns ``(logits, None)``, ``new_cache`` gives a ``course_lib.model.KVCache``),
so the course's one generation loop, ``course_lib.sampling.generate``, runs it, ``smollm.chat`` chats
with it and ``sampling.next_token_logits`` scores with it. The rotary angles come from
``smollm.model.rope_angles`` and the prompt's causal mask from ``attention.causal_mask``. Its own are
the layout of the weights (above) and the attention step, which reads each key/value head once for its
whole group of query heads instead of repeating the cache (``repeat_interleave``) as the readable model does.

Usage::

    model, tok = smollm.load()
    fast = FastSmolLM.from_model(model, precision="int8")
    ids = smollm.generate(fast, tok.encode(text), 64, greedy=True)  # the loop that runs every course model
    reply = smollm.chat(fast, tok, [{"role": "user", "content": "Hi!"}])
    logits = sampling.next_token_logits(fast, tok.encode(text))     # (vocab_size,), to compare precisions
"""

from __future__ import annotations

import functools
import math
import numbers
import statistics
import time
import warnings
from dataclasses import dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.arrays import require_ids, require_int
from course_lib.attention import causal_mask
from course_lib.model import KVCache, check_model_input
from course_lib.sampling import generate
from course_lib.smollm.cache import load as load_readable
from course_lib.smollm.model import SmolLM, SmolLMConfig, rope_angles

__all__ = ["PRECISIONS", "FastSmolLM", "PrecisionError", "compare", "memory_bandwidth_gb_s"]

#: The precisions :class:`FastSmolLM` runs, and what each stores per weight.
PRECISIONS = {
    "float32": "4 bytes per weight: the readable model's numbers and its greedy tokens",
    "float16": "2 bytes per weight, widened to float32 for each product",
    "int8": "1 byte per weight, activations rounded to integers too (on a rotated model)",
}


def _check_precision(precision) -> str:
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}; got {precision!r}")
    return precision


# --------------------------------------------------------------------------- matrix products, one kind per precision


class _Float32Matrix:
    """A weight (out, in) stored transposed, (in, out), so that ``x @ w_t`` streams it in memory order."""

    def __init__(self, weight: torch.Tensor):
        self.w_t = weight.t().contiguous()
        self.nbytes = self.w_t.nbytes

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.w_t

    def add_to(self, residual: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``residual + x @ w_t`` in one call (addmm), with no separate tensor for the product."""
        return torch.addmm(residual, x, self.w_t)


class _Float32Rows:
    """The unembedding in float32: the token embedding itself (vocab, C), no copy. With rows 576 numbers long,
    ``F.linear`` reads it as fast as it would read a transposed copy."""

    def __init__(self, weight: torch.Tensor):
        self.weight = weight
        self.nbytes = 0  # the lookup table is this same tensor, counted there

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight)


class _Float16Matrix:
    """A weight as float16, prepacked for FBGEMM, which widens it to float32 inside the product."""

    def __init__(self, weight: torch.Tensor):
        self.packed = torch.ops.quantized.linear_prepack_fp16(weight.float().contiguous(), None)
        self.nbytes = weight.numel() * 2

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.quantized.linear_dynamic_fp16(x, self.packed)

    def add_to(self, residual: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return residual + self(x)


def _quantize_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row of ``x`` as int8 in -127..127 and its float32 scale (rows, 1), so that ``x ~= q * scale``.

    Symmetric (no zero point): the largest magnitude in the row becomes 127. A row of zeros gets a tiny
    scale instead of zero, so nothing divides by zero.
    """
    scale = x.abs().amax(dim=-1, keepdim=True).clamp_min(1e-12) / 127.0
    return torch.round(x / scale).to(torch.int8), scale


class _Int8Matrix:
    """A weight as int8 with one scale per output row, prepacked for FBGEMM's integer matrix product.

    ``x @ W.T = (x_q * s_x) @ (W_q * s_w).T = (x_q @ W_q.T) * s_x * s_w``: the big product runs on integers,
    the scales are applied to its small result. FBGEMM rounds ``x`` itself, to 7 bits (``reduce_range``):
    with 8, CPUs without AVX-512 VNNI add pairs of products in 16-bit registers, which can overflow, and
    the result would depend on the CPU.
    """

    def __init__(self, weight: torch.Tensor):
        q, scale = _quantize_rows(weight.float())
        with warnings.catch_warnings():  # PyTorch warns that quantized tensors are deprecated (they work in 2.13)
            warnings.simplefilter("ignore", UserWarning)
            quantized = torch._make_per_channel_quantized_tensor(
                q, scale.squeeze(1).double(), torch.zeros(q.shape[0], dtype=torch.long), 0
            )
            self.packed = torch.ops.quantized.linear_prepack(quantized, None)
        self.nbytes = q.nbytes + scale.nbytes

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] == 1:  # one token (every generation step): FBGEMM's range is that token's
            return torch.ops.quantized.linear_dynamic(x, self.packed, True)
        # FBGEMM picks one range for the whole input. Scale every token to a peak of 1 first, so each is rounded
        # as finely as it would be alone, and undo the scaling afterwards (the product is linear in x).
        peak = x.abs().amax(dim=-1, keepdim=True).clamp_min(1e-12)
        return torch.ops.quantized.linear_dynamic(x / peak, self.packed, True) * peak

    def add_to(self, residual: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return residual + self(x)


_MATRIX = {"float32": _Float32Matrix, "float16": _Float16Matrix, "int8": _Int8Matrix}


class _Embedding:
    """The token-embedding rows looked up for the input, stored in the precision's own compact form."""

    def __init__(self, weight: torch.Tensor, precision: str):
        self.scale = None
        if precision == "float32":
            self.table = weight  # the readable model's tensor, not a copy
        elif precision == "float16":
            self.table = weight.to(torch.float16)
        else:
            self.table, self.scale = _quantize_rows(weight)
        self.nbytes = self.table.nbytes + (0 if self.scale is None else self.scale.nbytes)

    def __call__(self, ids: torch.Tensor) -> torch.Tensor:
        rows = self.table[ids].float()
        return rows if self.scale is None else rows * self.scale[ids]


# --------------------------------------------------------------------------- rotating the model, for int8


def _hadamard(n: int) -> torch.Tensor:
    """The n x n Sylvester-Hadamard matrix divided by sqrt(n) (n a power of 2): orthogonal, all entries +-1/sqrt(n)."""
    h = torch.ones(1, 1, dtype=torch.float64)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)])
    return h / math.sqrt(n)


class _Rotation:
    """A fixed orthogonal n x n matrix ``M = diag(signs) (A kron H)``, applicable as ``x @ M`` without forming M.

    H is Hadamard (size p, the largest power of 2 up to 128 dividing n): it spreads even a single spike
    evenly over all p coordinates. A is a random orthogonal m x m matrix (m = n / p) from a fixed seed, and
    the random signs keep any structure of the data from lining up with H's rows.
    """

    def __init__(self, n: int, seed: int):
        generator = torch.Generator().manual_seed(seed)
        self.p = math.gcd(n, 128)
        self.m = n // self.p
        self.signs = torch.randint(0, 2, (n,), generator=generator).double() * 2 - 1
        q, r = torch.linalg.qr(torch.randn(self.m, self.m, generator=generator, dtype=torch.float64))
        self.a = (q * torch.sign(torch.diagonal(r))).contiguous()  # the signs make QR's answer unique
        self.h = _hadamard(self.p)
        self._float = (self.signs.float(), self.a.t().float().contiguous(), self.h.float())

    def matrix(self) -> torch.Tensor:
        """M itself, (n, n) float64 (the tests check that :meth:`__call__` multiplies by it)."""
        return self.signs[:, None] * torch.kron(self.a, self.h)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ M`` for x (..., n), float32 or float64: each row as an (m, p) grid, times A^T and H on either side."""
        signs, a_t, h = self._float if x.dtype == torch.float32 else (self.signs, self.a.t(), self.h)
        grid = (x * signs).reshape(-1, self.m, self.p) @ h
        if self.m == 1:
            return grid.reshape(x.shape)
        if grid.shape[0] <= 16:  # a few rows (generation): A^T broadcast over them
            return (a_t @ grid).reshape(x.shape)
        # Many rows (rotating a weight matrix): one product for all of them, not one tiny product per row.
        mixed = a_t @ grid.transpose(0, 1).reshape(self.m, -1)
        return mixed.view(self.m, -1, self.p).transpose(0, 1).reshape(x.shape)

    def rotate_rows(self, weight: torch.Tensor, gain: torch.Tensor | None = None, chunk: int = 4096) -> torch.Tensor:
        """``(weight diag(gain)) @ M`` for a float32 matrix (rows, n), computed in float64, returned in float32.

        The same products as :meth:`__call__`, arranged for a big matrix: a few thousand rows at a time are
        widened to float64, multiplied by the gain and the signs (exact: the signs are +-1) and laid out as
        (m, rows, p) in a single pass, so that both products are one large matrix product each and no
        intermediate is copied to be reordered; the result is narrowed to float32 in the last pass.
        """
        rows, n = weight.shape
        scale = self.signs if gain is None else gain.double() * self.signs
        out = torch.empty(rows, n)
        a_t = self.a.t()
        for first in range(0, rows, chunk):
            part = weight[first : first + chunk].unflatten(1, (self.m, self.p))  # (k, m, p), a view
            k = part.shape[0]
            grid = torch.empty(self.m, k, self.p, dtype=torch.float64)
            torch.mul(part.transpose(0, 1), scale.view(self.m, 1, self.p), out=grid)
            grid = grid.view(self.m * k, self.p) @ self.h  # every row's p-blocks times H
            if self.m > 1:
                grid = a_t @ grid.view(self.m, k * self.p)  # and the m blocks of each row mixed by A^T
            out[first : first + k].unflatten(1, (self.m, self.p)).copy_(grid.view(self.m, k, self.p).transpose(0, 1))
        return out


@dataclass
class _Weights:
    """A model's float32 weights in the fast layout, before they are converted to a precision.

    Gains set to None mean an RMSNorm without a gain (a rotated model has folded its gains into the weights).
    """

    lookup: torch.Tensor  # (vocab, C), rows for the input tokens
    unembed: torch.Tensor  # (vocab, C), for the logits
    norm_f: torch.Tensor | None
    attn_norm: list[torch.Tensor | None]
    qkv: list[torch.Tensor]  # q, k and v stacked: ((H + 2 Hkv) hs, C)
    o: list[torch.Tensor]
    mlp_norm: list[torch.Tensor | None]
    gate_up: list[torch.Tensor]  # gate and up stacked: (2 F, C)
    down: list[torch.Tensor]
    hidden_rotation: _Rotation | None = None  # applied to the MLP's hidden vector before the down projection

    @classmethod
    def of(cls, model: SmolLM) -> _Weights:
        blocks = list(model.blocks)
        stacked = lambda *linears: torch.cat([linear.weight for linear in linears])  # noqa: E731
        return cls(
            lookup=model.tok_emb.weight,
            unembed=model.tok_emb.weight,  # tied: the same tensor
            norm_f=model.norm_f.weight,
            attn_norm=[b.attn_norm.weight for b in blocks],
            qkv=[stacked(b.attn.q, b.attn.k, b.attn.v) for b in blocks],
            o=[b.attn.o.weight for b in blocks],
            mlp_norm=[b.mlp_norm.weight for b in blocks],
            gate_up=[stacked(b.mlp.gate, b.mlp.up) for b in blocks],
            down=[b.mlp.down.weight for b in blocks],
        )


def _rotated(w: _Weights, config: SmolLMConfig) -> _Weights:
    """The same model with its residual stream rotated (by Q), its values per head (R) and its MLP's hidden layer (M).

    With the residual stream x replaced by x Q: RMSNorm does not change under a rotation (it divides by
    the vector's length) once its gain g is folded into the matrix that reads it, W -> W diag(g) Q; a
    matrix that writes into the stream becomes Q^T W. Values become v R (W_v -> R^T W_v for each key/value
    head) and the output projection undoes it (W_o -> W_o R for each query head). The hidden vector of the
    MLP cannot be rotated by folding (SiLU is not linear), so it is rotated on the fly, a small cost, and
    W_down -> W_down M. Every product ``W @ M`` is computed as ``rotation(W)``, without forming M, and in float64,
    so that the float32 results, hence the int8 weights, do not depend on the CPU's order of additions.
    """
    residual = _Rotation(config.n_embd, seed=0)
    head = _Rotation(config.head_size, seed=1)
    hidden = _Rotation(config.n_hidden, seed=2)
    c, hs, n_kv = config.n_embd, config.head_size, config.n_kv_head

    def rows(rotation, weight, gain=None):  # (W diag(g)) @ rotation
        return rotation.rotate_rows(weight, gain)

    def reading(weight, gain):  # W diag(g) Q: a matrix that reads the normalised residual stream
        return rows(residual, weight, gain)

    def writing(weight):  # Q^T W = (W^T Q)^T: a matrix that adds to the residual stream
        return rows(residual, weight.t()).t()

    qkv, o = [], []
    for w_qkv, w_o, gain in zip(w.qkv, w.o, w.attn_norm, strict=True):
        w_v = w_qkv[-n_kv * hs :].view(n_kv, hs, c).transpose(1, 2).reshape(-1, hs)
        values = rows(head, w_v).view(n_kv, c, hs).transpose(1, 2).reshape(n_kv * hs, c)  # R^T W_v per head
        qkv.append(reading(torch.cat([w_qkv[: -n_kv * hs], values]), gain))
        o.append(writing(rows(head, w_o.reshape(-1, hs)).view(c, -1)))  # W_o R per head, then Q^T
    return _Weights(
        lookup=rows(residual, w.lookup),
        unembed=reading(w.unembed, w.norm_f),
        norm_f=None,
        attn_norm=[None] * config.n_layer,
        qkv=qkv,
        o=o,
        mlp_norm=[None] * config.n_layer,
        gate_up=[reading(gate_up, gain) for gate_up, gain in zip(w.gate_up, w.mlp_norm, strict=True)],
        down=[writing(rows(hidden, down)) for down in w.down],
        hidden_rotation=hidden,
    )


# --------------------------------------------------------------------------- the model


@dataclass
class _Layer:
    attn_norm: torch.Tensor | None
    qkv: object  # one of the matrix kinds above
    o: object
    mlp_norm: torch.Tensor | None
    gate_up: object
    down: object


class FastSmolLM(nn.Module):
    """SmolLM2 for fast generation, one sequence at a time. Build it with :meth:`from_model` or :meth:`load`.

    It holds its own copy of the weights in ``precision`` (see :data:`PRECISIONS`) and has no ``capture``: to
    look inside the model, use the readable :class:`course_lib.smollm.SmolLM`. Generate with
    ``course_lib.sampling.generate`` (``smollm.generate``) and chat with ``smollm.chat``, as for the readable model.
    """

    def __init__(self, config: SmolLMConfig, weights: _Weights, precision: str):
        super().__init__()
        self.config = config
        self.precision = _check_precision(precision)
        matrix = _MATRIX[precision]
        with torch.no_grad():
            self._layers = [
                _Layer(w_attn_norm, matrix(w_qkv), matrix(w_o), w_mlp_norm, matrix(w_gate_up), matrix(w_down))
                for w_attn_norm, w_qkv, w_o, w_mlp_norm, w_gate_up, w_down in zip(
                    weights.attn_norm,
                    weights.qkv,
                    weights.o,
                    weights.mlp_norm,
                    weights.gate_up,
                    weights.down,
                    strict=True,
                )
            ]
            self._lookup = _Embedding(weights.lookup, precision)
            self._unembed = _Float32Rows(weights.unembed) if precision == "float32" else matrix(weights.unembed)
        # The lookup table as a (frozen) parameter: the course's generation loop asks a model's parameters
        # which device it is on. The packed matrices are FBGEMM objects, not tensors, so they cannot be.
        self.token_table = nn.Parameter(self._lookup.table, requires_grad=False)
        self._norm_f = weights.norm_f
        self._hidden_rotation = weights.hidden_rotation
        # The rotation of every position, computed once with the readable model's own function, as complex
        # numbers cos + i sin: turning an adjacent pair (x, y) by the angle is one complex multiplication.
        cos, sin = rope_angles(torch.arange(config.block_size), config.head_size, config.rope_base)
        self._rope = torch.complex(cos, sin)[:, None, :]  # (block_size, 1, head_size // 2)

    @classmethod
    def from_model(cls, model: SmolLM, precision: str = "float32") -> FastSmolLM:
        """The fast model with the weights of ``model`` (a :class:`course_lib.smollm.SmolLM`) in ``precision``.

        float32 shares the token embedding with ``model`` and copies the rest (540 MB); the others hold only
        their compact copy. Building takes a few seconds (int8 most: it rotates and rounds every matrix).
        """
        if not isinstance(model, SmolLM):
            raise TypeError(f"model must be a course_lib.smollm.SmolLM, got {type(model).__name__}")
        _check_precision(precision)
        with torch.no_grad():
            weights = _Weights.of(model)
            if precision == "int8":
                weights = _rotated(weights, model.config)
        return cls(model.config, weights, precision)

    @classmethod
    @functools.cache
    def load(cls, precision: str = "float32") -> FastSmolLM:
        """The course's SmolLM2-135M-Instruct (:func:`course_lib.smollm.load`) in ``precision``, built once."""
        _check_precision(precision)
        model, _ = load_readable()
        return cls.from_model(model, precision)

    def extra_repr(self) -> str:
        return f"precision={self.precision!r}, {self.weight_bytes() / 1e6:.0f} MB of weights"

    def weight_bytes(self) -> int:
        """Bytes of weights this model holds (in float32 the lookup table is the unembedding: counted once)."""
        return self.bytes_per_token() + (0 if self.precision == "float32" else self._lookup.nbytes)

    def bytes_per_token(self) -> int:
        """Bytes of weights one new token reads: every matrix once, the whole unembedding for the logits.

        Divided by the memory bandwidth (bytes/s), it gives the shortest time a token can possibly take. (The
        lookup of the token's own embedding row adds a few hundred bytes; in float32 the unembedding is
        the lookup table itself.)
        """
        total = self._lookup.nbytes if self.precision == "float32" else self._unembed.nbytes
        for layer in self._layers:
            total += layer.qkv.nbytes + layer.o.nbytes + layer.gate_up.nbytes + layer.down.nbytes
        return total

    # ----------------------------------------------------------------------- the forward pass

    def new_cache(self, max_tokens: int) -> KVCache:
        """An empty KV cache for ``max_tokens`` positions: the readable model's kind (``SmolLM.new_cache``)."""
        return KVCache(replace(self.config, block_size=min(max_tokens, self.config.block_size)))

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None, *, kv_cache: KVCache | None = None
    ) -> tuple[torch.Tensor, None]:
        """Logits (1, 1, vocab_size) of the LAST position of ``idx`` (1, T): the one that predicts the next token.

        ``kv_cache``: ``idx`` continues the tokens already in the cache (without one, a cache for ``idx``
        alone is used and dropped). Only one sequence at a time, and no loss: training and looking inside
        are the readable model's job.
        """
        if targets is not None:
            raise TypeError("FastSmolLM computes no loss (targets): use the readable course_lib.smollm.SmolLM")
        past = kv_cache.length if kv_cache is not None else 0
        check_model_input(self.config, idx, None, past)
        if idx.shape[0] != 1:
            raise ValueError(f"FastSmolLM runs one sequence at a time, got a batch of {idx.shape[0]}")
        if kv_cache is not None and past + idx.shape[1] > kv_cache.config.block_size:
            raise ValueError(
                f"the KV cache has room for {kv_cache.config.block_size} positions and holds {past}: "
                f"{idx.shape[1]} more do not fit; make it with new_cache(max_tokens) large enough"
            )
        cache = kv_cache if kv_cache is not None else self.new_cache(idx.shape[1])
        with torch.no_grad():
            logits = self._forward(idx[0], cache)
        return logits.view(1, 1, -1), None

    def _forward(self, ids: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Logits (vocab_size,) after ``ids`` (1-D), which follow the tokens already in ``cache``.

        No checks here: :meth:`forward` checked its input. Activations are (T, C): one sequence, no batch.
        """
        c = self.config
        start, new = cache.length, ids.shape[0]
        end = start + new
        hs, n_head, n_kv, group = c.head_size, c.n_head, c.n_kv_head, c.group_size
        qk_width = (n_head + n_kv) * hs
        rope = self._rope[start:end]
        # Query rows are (head in group, position): each group of `new` rows sees keys 0 .. start + i. A single
        # new token sees every cached key, so it needs no mask (and SDPA runs faster without one).
        mask = causal_mask(new, past=start, like=ids).repeat(group, 1) if new > 1 else None
        x = self._lookup(ids)  # (T, C)
        for layer, w in enumerate(self._layers):
            # F.rms_norm: one fused kernel for smollm.rms_norm's four operations (61 norms per token).
            h = F.rms_norm(x, (c.n_embd,), w.attn_norm, c.norm_eps)
            qkv = w.qkv(h)  # (T, (H + 2 Hkv) hs)
            # Queries and keys turn together: (T, H + Hkv, hs/2) complex numbers times their position's rotation.
            qk = torch.view_as_complex(qkv[:, :qk_width].unflatten(1, (n_head + n_kv, hs // 2, 2))) * rope
            qk = torch.view_as_real(qk).flatten(2)  # (T, H + Hkv, hs)
            keys, values = cache.append(
                layer,
                qk[:, n_head:].transpose(0, 1)[None],
                qkv[:, qk_width:].unflatten(1, (n_kv, hs)).transpose(0, 1)[None],
            )  # (1, Hkv, end, hs): every position so far
            # Grouped-query attention without repeating the cache: the `group` query heads that share a key/value
            # head are stacked as extra query rows, (1, Hkv, group * T, hs), and read that head's keys once.
            q = qk[:, :n_head].unflatten(1, (n_kv, group)).permute(1, 2, 0, 3).reshape(1, n_kv, group * new, hs)
            y = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)
            y = y.view(n_kv, group, new, hs).permute(2, 0, 1, 3).reshape(new, c.n_embd)  # heads side by side
            x = w.o.add_to(x, y)
            h = F.rms_norm(x, (c.n_embd,), w.mlp_norm, c.norm_eps)
            gate, up = w.gate_up(h).chunk(2, dim=-1)
            hidden = F.silu(gate) * up
            if self._hidden_rotation is not None:
                hidden = self._hidden_rotation(hidden)
            x = w.down.add_to(x, hidden)
        cache.length = end
        # Only the last position predicts the next token: normalise and unembed that one row.
        x = F.rms_norm(x[-1:], (c.n_embd,), self._norm_f, c.norm_eps)
        return self._unembed(x)[0]

    # ----------------------------------------------------------------------- scores along a continuation

    @torch.no_grad()
    def logits_along(self, prompt, continuation) -> torch.Tensor:
        """Scores (len(continuation), vocab_size): row i is the prediction after prompt + continuation[:i].

        Computed the way generation computes them (the prompt at once, then one token at a time through
        the KV cache), so they are the scores it would have chosen from had it produced ``continuation``.
        Two precisions run along the same tokens can be compared step by step.
        """
        ids = _ids("prompt", prompt, self.config)
        follow = _ids("continuation", continuation, self.config, allow_empty=True)
        if len(ids) + len(follow) > self.config.block_size:
            raise ValueError(
                f"prompt plus continuation is {len(ids) + len(follow)} tokens, longer than the context of "
                f"{self.config.block_size} tokens; shorten them"
            )
        if not follow:
            return torch.empty(0, self.config.vocab_size)
        cache = self.new_cache(len(ids) + len(follow))
        rows = [self._forward(torch.tensor(ids), cache)]
        for token in follow[:-1]:
            rows.append(self._forward(torch.tensor([token]), cache))
        return torch.stack(rows)


def _ids(name: str, ids, config: SmolLMConfig, allow_empty: bool = False) -> list[int]:
    """One sequence of token ids as a list, checked (the messages of ``arrays.require_ids``)."""
    checked = require_ids(name, ids, config.vocab_size)
    if checked.ndim != 1:
        raise ValueError(f"{name} must be one sequence of token ids (1-D), got shape {tuple(checked.shape)}")
    if len(checked) == 0 and not allow_empty:
        raise ValueError(f"{name} is empty: give at least one token")
    return [int(i) for i in checked.tolist()]


# --------------------------------------------------------------------------- what a precision costs


@dataclass(frozen=True)
class PrecisionError:
    """How far one model's scores are from a reference's along the same tokens (see :func:`compare`)."""

    max_logit_diff: float  # the largest |difference| of any score at any step
    mean_logit_diff: float  # the mean |difference| over all scores and steps
    agreement: float  # the share of steps at which both pick the same greedy token
    steps: int  # how many next-token predictions were compared

    def __str__(self) -> str:
        return (
            f"max |logit diff| {self.max_logit_diff:.3f}, mean {self.mean_logit_diff:.3f}, "
            f"same greedy token at {self.agreement:.1%} of {self.steps} steps"
        )

    @classmethod
    def between(cls, pairs) -> PrecisionError:
        """The error over ``pairs`` of scores (expected, got), each (steps, vocab_size) along the same tokens.

        What :func:`compare` computes once it has both models' scores; given the reference's scores, several
        models can be measured against them without running the reference again (lesson 09 does).
        """
        largest, total, count, same, steps = 0.0, 0.0, 0, 0, 0
        for expected, got in pairs:
            diff = (got - expected).abs()
            largest = max(largest, float(diff.max()))
            total, count = total + float(diff.sum()), count + diff.numel()
            same += int((got.argmax(-1) == expected.argmax(-1)).sum())
            steps += expected.shape[0]
        return cls(largest, total / count, same / steps, steps)


@torch.no_grad()
def compare(reference: FastSmolLM, other: FastSmolLM, prompts, new_tokens: int = 32, stop_ids=()) -> PrecisionError:
    """The error of ``other`` against ``reference`` over ``prompts`` (a list of prompts, each a list of token ids).

    The reference continues each prompt greedily by up to ``new_tokens`` tokens (stopping at ``stop_ids``);
    both models then score every step of that same continuation (teacher forcing), so that one early
    disagreement does not leave every later step incomparable.
    """
    for name, value in (("reference", reference), ("other", other)):
        if not isinstance(value, FastSmolLM):
            raise TypeError(f"{name} must be a FastSmolLM, got {type(value).__name__}")
    if isinstance(prompts, str | torch.Tensor) or not isinstance(prompts, list | tuple) or not prompts:
        raise ValueError("prompts must be a non-empty list of prompts, each a list of token ids")
    if isinstance(new_tokens, bool) or not isinstance(new_tokens, numbers.Integral) or new_tokens < 1:
        raise ValueError(f"new_tokens must be an int >= 1, got {new_tokens!r}")
    pairs = []
    for i, prompt in enumerate(prompts):
        ids = _ids(f"prompts[{i}]", prompt, reference.config)
        continuation = generate(reference, ids, new_tokens, greedy=True, stop_ids=stop_ids)[len(ids) :].tolist()
        pairs.append((reference.logits_along(ids, continuation), other.logits_along(ids, continuation)))
    return PrecisionError.between(pairs)


# --------------------------------------------------------------------------- the machine's side of the bound


def memory_bandwidth_gb_s(megabytes: int = 256, repeats: int = 5) -> float:
    """GB/s one thread reads from memory: the median time to sum a float32 tensor far larger than the caches.

    Summing does one addition per 4 bytes read, far less arithmetic than a core can do, so the time is the
    time to stream the tensor: the same limit a decoding step meets when it reads every weight once.
    The answer depends on the machine and on what else runs on it.
    """
    megabytes = require_int("megabytes", megabytes, minimum=1)
    repeats = require_int("repeats", repeats, minimum=1)
    x = torch.ones(megabytes * 2**20 // 4)
    x.sum()  # the first pass also touches the pages for the first time
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        x.sum()
        times.append(time.perf_counter() - start)
    return x.nbytes / statistics.median(times) / 1e9
