"""A real LLM opened up: SmolLM2-135M-Instruct, run by the course's own forward pass.

SmolLM2 (Hugging Face, 2024) is a *Llama-style* decoder. The pipeline is the one of lesson 07 (tokens ->
vectors -> n_layer x [attention + MLP] -> unembedding -> next-token scores), with four changes that
nearly every model after GPT-2 made::

    token ids -> token embedding                       (no position embedding: see rotary, below)
              -> n_layer x [ RMSNorm -> grouped-query attention with rotary positions -> add to the residual
                             RMSNorm -> SwiGLU MLP                                  -> add to the residual ]
              -> final RMSNorm -> unembedding (the token embedding, transposed) -> logits

* **RMSNorm** instead of LayerNorm: scale each vector to unit root-mean-square, then by a learned
  gain. No mean subtraction and no bias: cheaper, and it trains just as well.
* **Rotary position embeddings (RoPE)**: instead of adding a position vector to the input, rotate
  each query and key, pair of numbers by pair of numbers, by an angle proportional to its position.
  A rotated query and a rotated key then have a dot product that depends on how far apart they are,
  not on where they are, and nothing is learned, so any length up to the context works.
* **Grouped-query attention (GQA)**: 9 query heads but only 3 key/value heads; each key/value head
  is shared by a group of 3 query heads. The KV cache, the memory that grows with the context, is
  three times smaller, at a small cost in quality.
* **SwiGLU MLP**: two up-projections, one passed through SiLU, multiplied element by element (a
  learned "gate" on each neuron), then projected back down.

The weights come from a GGUF file (llama.cpp's format) in which they are quantised: stored as 4-bit
integers plus a scale and an offset per block of 32 numbers (Q4_1), the token embedding as 8-bit
(Q8_0). :func:`load` expands them to float32 with the ``gguf`` package, so everything after loading
is ordinary float arithmetic in PyTorch, no network and no transformers involved.

Like ``course_lib.model.GPT``, ``model(idx, capture={})`` fills the dict with every intermediate
(see :data:`CAPTURE_KEYS`) without changing the computation, and ``kv_cache=`` processes only new
tokens, so ``course_lib.sampling.generate`` runs both models. Reading the weights is
:mod:`course_lib.smollm.gguf`; the tokenizer is :mod:`course_lib.smollm.tokenizer`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.arrays import require_positive_int, require_real
from course_lib.attention import causal_mask
from course_lib.model import KVCache, check_model_input, record_tensor, residual_block

__all__ = [
    "CAPTURE_KEYS",
    "GroupedQueryAttention",
    "RMSNorm",
    "SmolLM",
    "SmolLMConfig",
    "SwiGLU",
    "apply_rope",
    "rms_norm",
    "rope_angles",
    "rotate_pair",
]


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class SmolLMConfig:
    """The shape of a Llama-style model. The defaults are SmolLM2-135M's (the GGUF file says the same)."""

    vocab_size: int = 49152
    block_size: int = 8192  # the context length it was trained for
    n_layer: int = 30
    n_head: int = 9  # query heads
    n_kv_head: int = 3  # key/value heads, each shared by n_head // n_kv_head query heads
    n_embd: int = 576
    n_hidden: int = 1536  # MLP width
    rope_base: float = 100_000.0
    norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_kv_head", "n_embd", "n_hidden"):
            # frozen: set through object.__setattr__, so a numpy int is stored as a Python int
            object.__setattr__(self, name, require_positive_int(f"SmolLMConfig.{name}", getattr(self, name)))
        for name in ("rope_base", "norm_eps"):
            require_real(f"SmolLMConfig.{name}", getattr(self, name), low=0, low_open=True)
        if self.n_embd % self.n_head or (self.n_embd // self.n_head) % 2:
            raise ValueError(
                f"SmolLMConfig.n_embd ({self.n_embd}) must split into n_head ({self.n_head}) heads of even size"
            )
        if self.n_head % self.n_kv_head:
            raise ValueError(f"n_head ({self.n_head}) must be a multiple of n_kv_head ({self.n_kv_head})")

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    @property
    def group_size(self) -> int:
        """How many query heads share one key/value head."""
        return self.n_head // self.n_kv_head

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- the new pieces, as functions


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Divide each vector (last axis) by its root-mean-square, then multiply by a learned gain per dimension.

    LayerNorm would also subtract the mean and add a bias; RMSNorm keeps only the rescaling, which is
    what stabilises training. ``eps`` keeps an all-zero vector from dividing by zero.
    """
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight


def rotate_pair(x: float, y: float, angle: float) -> tuple[float, float]:
    """The 2-D point (x, y) rotated anticlockwise by ``angle`` radians: what RoPE does to each pair."""
    return x * math.cos(angle) - y * math.sin(angle), x * math.sin(angle) + y * math.cos(angle)


def rope_angles(positions: torch.Tensor, head_size: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of every (position, pair) rotation angle, each of shape (len(positions), head_size // 2).

    Pair i turns by ``position * base ** (-2i / head_size)`` radians: the first pairs spin fast (they
    tell neighbouring positions apart), the last ones barely move (they change over thousands of tokens).
    """
    inv_freq = 1.0 / (base ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size))
    angles = positions.to(torch.float32)[:, None] * inv_freq[None, :]
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each adjacent pair (x[2i], x[2i+1]) of every head vector by its position's angle.

    ``x`` is (B, heads, T, head_size); ``cos`` and ``sin`` are (T, head_size // 2) from :func:`rope_angles`.

    Why adjacent pairs: the Hugging Face checkpoint pairs dimension i with i + head_size/2 (its
    ``rotate_half``), but llama.cpp's converter reorders the rows of W_q and W_k inside every head so
    that those partners sit side by side, the layout of the original LLaMA code and of ggml's rope. In
    the GGUF's weights the partners *are* adjacent, so we rotate adjacent pairs. The reordering is the
    same for queries and keys and stays inside a head, so every dot product q . k, hence every
    attention pattern and every logit, is the same as the Hugging Face model's; only the order of the
    64 numbers inside a captured query or key differs (tests/test_smollm.py checks the equivalence).
    """
    pairs = x.unflatten(-1, (-1, 2))  # (..., head_size // 2, 2)
    first, second = pairs[..., 0], pairs[..., 1]
    rotated = torch.stack((first * cos - second * sin, first * sin + second * cos), dim=-1)
    return rotated.flatten(-2)


# --------------------------------------------------------------------------- layers


class RMSNorm(nn.Module):
    def __init__(self, config: SmolLMConfig):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(config.n_embd, device="meta"))
        self.eps = config.norm_eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, self.weight, self.eps)


class GroupedQueryAttention(nn.Module):
    def __init__(self, config: SmolLMConfig):
        super().__init__()
        self.config = config
        hs = config.head_size
        # Built on the "meta" device (shapes only, no memory): the real weights are assigned by load().
        self.q = nn.Linear(config.n_embd, config.n_head * hs, bias=False, device="meta")
        self.k = nn.Linear(config.n_embd, config.n_kv_head * hs, bias=False, device="meta")
        self.v = nn.Linear(config.n_embd, config.n_kv_head * hs, bias=False, device="meta")
        self.o = nn.Linear(config.n_head * hs, config.n_embd, bias=False, device="meta")

    def forward(
        self,
        x: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        capture: dict | None,
        prefix: str,
        kv_cache: KVCache | None,
        layer: int,
    ) -> torch.Tensor:
        config = self.config
        batch, new, _ = x.shape
        # (B, T, heads * hs) -> (B, heads, T, hs)
        q = self.q(x).view(batch, new, config.n_head, config.head_size).transpose(1, 2)
        k = self.k(x).view(batch, new, config.n_kv_head, config.head_size).transpose(1, 2)
        v = self.v(x).view(batch, new, config.n_kv_head, config.head_size).transpose(1, 2)
        # Positions enter here, and only here: queries and keys are rotated, values are not.
        q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        past = 0
        if kv_cache is not None:  # the cache stores rotated keys: a key's rotation never changes
            past = kv_cache.length
            k, v = kv_cache.append(layer, k, v)
        record_tensor(capture, f"{prefix}.q", q)
        record_tensor(capture, f"{prefix}.k", k)
        record_tensor(capture, f"{prefix}.v", v)
        # Grouped-query attention: key/value head j serves query heads j*g .. j*g + g - 1 (g = group size).
        k = k.repeat_interleave(config.group_size, dim=1)
        v = v.repeat_interleave(config.group_size, dim=1)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(config.head_size)
        # Query i (absolute position past + i) may look at keys 0 .. past + i.
        allowed = causal_mask(new, past=past, like=x)
        pattern = scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
        y = pattern @ v
        record_tensor(capture, f"{prefix}.pattern", pattern)
        record_tensor(capture, f"{prefix}.head_out", y)
        y = y.transpose(1, 2).reshape(batch, new, config.n_head * config.head_size)  # heads side by side
        return self.o(y)


class SwiGLU(nn.Module):
    def __init__(self, config: SmolLMConfig):
        super().__init__()
        self.gate = nn.Linear(config.n_embd, config.n_hidden, bias=False, device="meta")
        self.up = nn.Linear(config.n_embd, config.n_hidden, bias=False, device="meta")
        self.down = nn.Linear(config.n_hidden, config.n_embd, bias=False, device="meta")

    def forward(self, x: torch.Tensor, capture: dict | None, prefix: str) -> torch.Tensor:
        gate = self.gate(x)
        # SiLU(g) = g * sigmoid(g) decides how much of each neuron's "up" value passes: a learned, smooth gate.
        act = F.silu(gate) * self.up(x)
        record_tensor(capture, f"{prefix}.gate", gate)
        record_tensor(capture, f"{prefix}.act", act)
        return self.down(act)


class Block(nn.Module):
    def __init__(self, config: SmolLMConfig):
        super().__init__()
        self.attn_norm = RMSNorm(config)
        self.attn = GroupedQueryAttention(config)
        self.mlp_norm = RMSNorm(config)
        self.mlp = SwiGLU(config)

    def forward(self, x, rope, capture: dict | None, layer: int, kv_cache: KVCache | None) -> torch.Tensor:
        prefix = f"blocks.{layer}"
        return residual_block(
            x,
            lambda h: self.attn(self.attn_norm(h), rope, capture, f"{prefix}.attn", kv_cache, layer),
            lambda h: self.mlp(self.mlp_norm(h), capture, f"{prefix}.mlp"),
            capture,
            prefix,
        )


#: What ``forward(..., capture=d)`` puts in ``d`` (B = batch, T = new tokens, S = keys attended to, which
#: is T without a cache, H = query heads, Hkv = key/value heads, hs = head size, C = n_embd, F = n_hidden).
CAPTURE_KEYS = {
    "tok_emb": "(B, T, C) token embedding rows: the residual stream entering block 0",
    "blocks.{i}.attn.q": "(B, H, T, hs) queries, per head, after the rotary rotation",
    "blocks.{i}.attn.k": "(B, Hkv, S, hs) keys, per key/value head, after the rotary rotation",
    "blocks.{i}.attn.v": "(B, Hkv, S, hs) values, per key/value head",
    "blocks.{i}.attn.pattern": "(B, H, T, S) attention pattern: softmax of masked, scaled Q K^T",
    "blocks.{i}.attn.head_out": "(B, H, T, hs) each head's weighted sum of values",
    "blocks.{i}.attn.out": "(B, T, C) attention output after the output projection",
    "blocks.{i}.resid_mid": "(B, T, C) residual stream after adding attention",
    "blocks.{i}.mlp.gate": "(B, T, F) gate neurons before SiLU",
    "blocks.{i}.mlp.act": "(B, T, F) SiLU(gate) * up: the neurons fed to the down projection",
    "blocks.{i}.mlp.out": "(B, T, C) MLP output after projecting back down",
    "blocks.{i}.resid_post": "(B, T, C) residual stream after adding the MLP",
    "norm_f": "(B, T, C) the final RMSNorm's output",
    "logits": "(B, T, vocab_size) scores for the next token at every position",
}


# --------------------------------------------------------------------------- the model


class SmolLM(nn.Module):
    """A Llama-style decoder with SmolLM2's shape. Build it with :func:`load` (weights from the GGUF file)."""

    def __init__(self, config: SmolLMConfig):
        super().__init__()
        if not isinstance(config, SmolLMConfig):
            raise TypeError(f"config must be a SmolLMConfig, got {type(config).__name__}")
        self.config = config
        # A placeholder of the right shape, like every layer's (load() assigns the weights). Given as _weight, it
        # skips nn.Embedding's random initialisation, which on the meta device imports torch._dynamo (2 s).
        placeholder = torch.empty(config.vocab_size, config.n_embd, device="meta")
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd, _weight=placeholder)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.norm_f = RMSNorm(config)

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        *,
        capture: dict | None = None,
        kv_cache: KVCache | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits (B, T, vocab_size) for token ids ``idx`` (B, T), and the mean cross-entropy if ``targets``.

        ``capture``: a dict to fill with intermediates (see :data:`CAPTURE_KEYS`); nothing else changes.
        ``kv_cache``: process ``idx`` as the continuation of the tokens already in the cache.
        """
        past = kv_cache.length if kv_cache is not None else 0
        check_model_input(self.config, idx, targets, past)
        new = idx.shape[1]
        rope = rope_angles(torch.arange(past, past + new), self.config.head_size, self.config.rope_base)
        x = self.tok_emb(idx)
        record_tensor(capture, "tok_emb", x)
        for layer, block in enumerate(self.blocks):
            x = block(x, rope, capture, layer, kv_cache)
        x = self.norm_f(x)
        record_tensor(capture, "norm_f", x)
        logits = F.linear(x, self.tok_emb.weight)  # unembedding tied to the token embedding
        record_tensor(capture, "logits", logits)
        if kv_cache is not None:
            kv_cache.length += new
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    def new_cache(self, max_tokens: int) -> KVCache:
        """An empty KV cache with room for ``max_tokens`` positions (not the full 8,192: it would take 377 MB)."""
        return KVCache(replace(self.config, block_size=min(max_tokens, self.config.block_size)))

    def parameter_counts(self) -> dict[str, int]:
        """Parameters by component, counted from the real tensors (the keys of ``sizes.count_parameters``)."""
        counts = dict.fromkeys(("token_embedding", "attention", "mlp", "norm"), 0)
        for name, param in self.named_parameters():
            if name.startswith("tok_emb"):
                counts["token_embedding"] += param.numel()
            elif ".attn." in name:
                counts["attention"] += param.numel()
            elif ".mlp." in name:
                counts["mlp"] += param.numel()
            else:
                counts["norm"] += param.numel()
        counts["total"] = sum(counts.values())
        return counts
