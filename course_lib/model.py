"""A small GPT (decoder-only transformer), written to be read and opened up.

The architecture is GPT-2's, in the same order as the lessons tell it::

    token ids -> token embedding + learned position embedding
              -> n_layer x [ LayerNorm -> causal multi-head self-attention -> add to the residual stream
                             LayerNorm -> MLP (Linear, GELU, Linear)        -> add to the residual stream ]
              -> final LayerNorm -> unembedding (the token embedding matrix, transposed) -> logits

Two things make it a teaching model rather than only a training one:

* **Capture.** ``model(idx, capture={})`` fills the dict with every intermediate tensor (embeddings,
  each block's LayerNorm outputs, per-head Q/K/V, attention scores and patterns, MLP activations, the
  residual stream after each sublayer, logits). The computation is the one used in training; capturing
  only *records* tensors, and computes the explicit scores and pattern for the record (training uses
  torch's fused ``scaled_dot_product_attention``, which never materialises them). Without a capture
  dict nothing is recorded or computed for it. See :data:`CAPTURE_KEYS`.
* **Counting.** :meth:`GPT.parameter_counts` counts the parameters by component, and
  ``course_lib.sizes.count_parameters`` applies the formula to any configuration (GPT-2 small, GPT-3...).

Incremental decoding uses a :class:`KVCache`: pass one to ``forward`` and each call only processes
the new tokens, reusing the keys and values of the earlier ones (see ``course_lib.sampling``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.arrays import require_ids, require_positive_int, require_real
from course_lib.attention import causal_mask

__all__ = [
    "CAPTURE_KEYS",
    "GPT",
    "GPTConfig",
    "GPT2_SMALL",
    "GPT3_175B",
    "KVCache",
    "check_model_input",
    "record_tensor",
    "residual_block",
]


# --------------------------------------------------------------------------- configuration


@dataclass
class GPTConfig:
    """The shape of a GPT. The defaults are the course's small character-level model."""

    vocab_size: int = 65
    block_size: int = 128  # the context length: the most tokens the model can look at
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True  # biases in Linear layers and LayerNorms, as GPT-2

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            setattr(self, name, require_positive_int(f"GPTConfig.{name}", getattr(self, name)))  # numpy ints -> int
        if self.n_embd % self.n_head != 0:
            raise ValueError(
                f"GPTConfig.n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}): "
                "each head gets n_embd // n_head dimensions"
            )
        require_real("GPTConfig.dropout", self.dropout, low=0, high=1, high_open=True)
        if not isinstance(self.bias, bool):
            raise TypeError(f"GPTConfig.bias must be True or False, got {type(self.bias).__name__} {self.bias!r}")

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> GPTConfig:
        """Build a config from a dict, refusing unknown or missing keys (a typo should not pass silently)."""
        if not isinstance(data, dict):
            raise TypeError(f"a GPTConfig dict was expected, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        unknown, missing = set(data) - names, names - set(data)
        if unknown or missing:
            raise ValueError(f"GPTConfig dict has unknown keys {sorted(unknown)} and lacks keys {sorted(missing)}")
        return cls(**data)


GPT2_SMALL = GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768)
GPT3_175B = GPTConfig(vocab_size=50257, block_size=2048, n_layer=96, n_head=96, n_embd=12288)


# --------------------------------------------------------------------------- KV cache


class KVCache:
    """The keys and values of every layer for the tokens seen so far, for incremental decoding.

    Buffers are allocated once for ``block_size`` positions; each forward writes its new keys and
    values after the old ones. Learned position embeddings stop at ``block_size``, so a full cache
    cannot slide: the caller starts a new cache on the cropped context (``course_lib.sampling`` does).
    """

    def __init__(self, config: GPTConfig):
        self.config = config
        self.length = 0  # positions already cached
        self._keys: list[torch.Tensor | None] = [None] * config.n_layer
        self._values: list[torch.Tensor | None] = [None] * config.n_layer

    def __len__(self) -> int:
        return self.length

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store this layer's new keys/values (B, H, T_new, hs) and return all of them so far."""
        batch, heads, new, head_size = k.shape
        if self._keys[layer] is None:
            shape = (batch, heads, self.config.block_size, head_size)
            self._keys[layer] = k.new_empty(shape)
            self._values[layer] = v.new_empty(shape)
        keys, values = self._keys[layer], self._values[layer]
        if keys.shape[0] != batch:
            raise ValueError(f"this KVCache holds a batch of {keys.shape[0]} sequences, got a batch of {batch}")
        end = self.length + new
        keys[:, :, self.length : end] = k
        values[:, :, self.length : end] = v
        return keys[:, :, :end], values[:, :, :end]


# --------------------------------------------------------------------------- layers


def check_model_input(config, idx: torch.Tensor, targets: torch.Tensor | None = None, past: int = 0) -> None:
    """Refuse what a model's ``forward`` cannot run on, with a message that says what to change.

    ``idx``: a (batch, time) torch.long (or int32) tensor of ids in ``0 .. vocab_size - 1``, at most
    ``block_size`` tokens once added to the ``past`` ones already in a KV cache. ``targets``: a
    torch.long tensor of idx's shape holding ids, or -1 where a position is not scored. ``config``
    is the model's (it needs ``vocab_size`` and ``block_size``). Shared by the course GPT and SmolLM;
    cheap (one reduction over the ids), because widgets run a forward pass on every keystroke.
    """
    if not isinstance(idx, torch.Tensor):
        raise TypeError(
            f"idx must be a torch.Tensor of token ids, got {type(idx).__name__}; e.g. torch.tensor([ids]) for one list"
        )
    if idx.dtype not in (torch.long, torch.int32):
        raise TypeError(f"idx must hold integer token ids (torch.long), got dtype {idx.dtype}: convert with idx.long()")
    if idx.dim() != 2:
        raise ValueError(
            f"idx must have shape (batch, time), got shape {tuple(idx.shape)}; "
            "for a single sequence use idx.unsqueeze(0)"
        )
    if idx.shape[1] == 0:
        raise ValueError(f"idx must hold at least one token per sequence, got shape {tuple(idx.shape)}")
    if past + idx.shape[1] > config.block_size:
        where = f" after {past} cached tokens" if past else ""
        raise ValueError(
            f"sequence of {idx.shape[1]} tokens{where} is longer than block_size={config.block_size}, the model's "
            f"context; crop it to the last block_size tokens (course_lib.sampling.generate does)"
        )
    require_ids("idx", idx, config.vocab_size)
    if targets is None:
        return
    if not isinstance(targets, torch.Tensor) or targets.dtype != torch.long:
        raise TypeError(f"targets must be a torch.long tensor, got {getattr(targets, 'dtype', type(targets).__name__)}")
    if targets.shape != idx.shape:
        raise ValueError(f"targets must have idx's shape {tuple(idx.shape)}, got {tuple(targets.shape)}")
    low, high = (int(v) for v in torch.aminmax(targets))
    if low < -1 or high >= config.vocab_size:
        bad = (targets < -1) | (targets >= config.vocab_size)
        index = tuple(int(i) for i in bad.nonzero()[0])
        raise ValueError(
            f"target {int(targets[index])} is out of range at targets{list(index)}: a target is a token id "
            f"0..{config.vocab_size - 1}, or -1 for a position that is not scored"
        )


def record_tensor(capture: dict | None, key: str, tensor: torch.Tensor) -> None:
    """Keep ``tensor`` under ``key`` when the caller asked for a capture; costs nothing otherwise.

    Detached, so a lesson inspecting it never holds on to the autograd graph. Also used by
    ``course_lib.smollm``, so both models' captures behave the same.
    """
    if capture is not None:
        capture[key] = tensor.detach()


def residual_block(x: torch.Tensor, attention, mlp, capture: dict | None, prefix: str) -> torch.Tensor:
    """One transformer block on the residual stream ``x``: add ``attention(x)``, then add ``mlp`` of the result.

    Each sum is recorded in ``capture`` (``{prefix}.attn.out``, ``.resid_mid``, ``.mlp.out``, ``.resid_post``).
    ``attention`` and ``mlp`` include their own normalisation, the one thing in which the course GPT's block
    (LayerNorm) and SmolLM2's (RMSNorm) differ; both build their blocks with this function.
    """
    attn_out = attention(x)
    record_tensor(capture, f"{prefix}.attn.out", attn_out)
    x = x + attn_out
    record_tensor(capture, f"{prefix}.resid_mid", x)
    mlp_out = mlp(x)
    record_tensor(capture, f"{prefix}.mlp.out", mlp_out)
    x = x + mlp_out
    record_tensor(capture, f"{prefix}.resid_post", x)
    return x


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.head_size = config.head_size
        # One Linear computes Q, K and V for every head at once (one matmul instead of 3 * n_head);
        # its output is [Q | K | V], each n_embd wide and split into heads of head_size.
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(
        self, x: torch.Tensor, capture: dict | None, prefix: str, kv_cache: KVCache | None, layer: int
    ) -> torch.Tensor:
        batch, new, channels = x.shape
        q, k, v = self.qkv(x).split(channels, dim=2)
        # (B, T, C) -> (B, n_head, T, head_size): each head attends independently.
        q, k, v = (t.view(batch, new, self.n_head, self.head_size).transpose(1, 2) for t in (q, k, v))
        past = 0
        if kv_cache is not None:
            past = kv_cache.length
            k, v = kv_cache.append(layer, k, v)
        mask = _sdpa_mask(new, past, x)
        dropout = self.dropout if self.training else 0.0
        if mask is None:  # no cache (SDPA builds the causal mask itself), or one new query that sees every key
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=past == 0 and new > 1)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        if capture is not None:
            record_tensor(capture, f"{prefix}.q", q)
            record_tensor(capture, f"{prefix}.k", k)
            record_tensor(capture, f"{prefix}.v", v)
            scores, masked, pattern = _attention_pattern(q, k, new, past)
            record_tensor(capture, f"{prefix}.scores", scores)
            record_tensor(capture, f"{prefix}.masked_scores", masked)
            record_tensor(capture, f"{prefix}.pattern", pattern)
            record_tensor(capture, f"{prefix}.head_out", y)
        y = y.transpose(1, 2).contiguous().view(batch, new, channels)  # heads side by side again
        return self.resid_dropout(self.proj(y))


def _sdpa_mask(new: int, past: int, like: torch.Tensor) -> torch.Tensor | None:
    """The mask SDPA needs for ``new`` queries after ``past`` cached keys, or None when it needs none.

    SDPA's ``is_causal`` aligns its mask to the top-left corner, which is only right without a cache
    (``past == 0``), so then no mask is passed; a single new query may look at everything, so that
    needs no mask either. Otherwise the course's :func:`course_lib.attention.causal_mask`.
    """
    if past == 0 or new == 1:
        return None
    return causal_mask(new, past=past, like=like)


def _attention_pattern(
    q: torch.Tensor, k: torch.Tensor, new: int, past: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What SDPA computes without showing it, in its three stages, for the capture: the scaled scores
    Q K^T / sqrt(d_k), the same with future positions set to -inf, and their softmax (the pattern)."""
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    allowed = causal_mask(new, past=past, like=q)
    masked = scores.masked_fill(~allowed, float("-inf"))
    return scores, masked, masked.softmax(dim=-1)


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, capture: dict | None, prefix: str) -> torch.Tensor:
        pre = self.fc(x)
        post = F.gelu(pre, approximate="tanh")  # GPT-2's GELU is the tanh approximation
        record_tensor(capture, f"{prefix}.pre", pre)
        record_tensor(capture, f"{prefix}.post", post)
        return self.dropout(self.proj(post))


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, capture: dict | None, layer: int, kv_cache: KVCache | None) -> torch.Tensor:
        prefix = f"blocks.{layer}"
        return residual_block(
            x,
            lambda h: self.attn(
                self._norm(self.ln1, h, capture, f"{prefix}.ln1"), capture, f"{prefix}.attn", kv_cache, layer
            ),
            lambda h: self.mlp(self._norm(self.ln2, h, capture, f"{prefix}.ln2"), capture, f"{prefix}.mlp"),
            capture,
            prefix,
        )

    @staticmethod
    def _norm(norm: nn.LayerNorm, x: torch.Tensor, capture: dict | None, key: str) -> torch.Tensor:
        """``norm(x)``, recorded as ``key`` when capturing: what the sublayer after it reads."""
        out = norm(x)
        record_tensor(capture, key, out)
        return out


#: What ``forward(..., capture=d)`` puts in ``d`` (B = batch, T = new tokens, S = keys attended to,
#: which is T without a cache, H = heads, hs = head size, C = n_embd). ``{i}`` is the layer number.
CAPTURE_KEYS = {
    "tok_emb": "(B, T, C) token embedding rows",
    "pos_emb": "(T, C) position embedding rows",
    "embed": "(B, T, C) their sum: the residual stream entering block 0",
    "blocks.{i}.ln1": "(B, T, C) the first LayerNorm's output: what attention reads",
    "blocks.{i}.attn.q": "(B, H, T, hs) queries, per head",
    "blocks.{i}.attn.k": "(B, H, S, hs) keys, per head",
    "blocks.{i}.attn.v": "(B, H, S, hs) values, per head",
    "blocks.{i}.attn.scores": "(B, H, T, S) scaled scores Q K^T / sqrt(hs), before the mask",
    "blocks.{i}.attn.masked_scores": "(B, H, T, S) the scores with future positions set to -inf",
    "blocks.{i}.attn.pattern": "(B, H, T, S) attention pattern: softmax of masked, scaled Q K^T",
    "blocks.{i}.attn.head_out": "(B, H, T, hs) each head's weighted sum of values",
    "blocks.{i}.attn.out": "(B, T, C) attention output after the output projection",
    "blocks.{i}.resid_mid": "(B, T, C) residual stream after adding attention",
    "blocks.{i}.ln2": "(B, T, C) the second LayerNorm's output: what the MLP reads",
    "blocks.{i}.mlp.pre": "(B, T, 4C) MLP neurons before GELU",
    "blocks.{i}.mlp.post": "(B, T, 4C) MLP neurons after GELU",
    "blocks.{i}.mlp.out": "(B, T, C) MLP output after projecting back down",
    "blocks.{i}.resid_post": "(B, T, C) residual stream after adding the MLP",
    "ln_f": "(B, T, C) the final LayerNorm's output",
    "logits": "(B, T, vocab_size) scores for the next token at every position",
}


# --------------------------------------------------------------------------- the model


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)
        self.pos_emb = nn.Embedding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2's initialisation: N(0, 0.02) weights, zero biases, and the projections that write into
        the residual stream scaled down by sqrt(2 * n_layer), so the stream's variance does not grow with depth."""
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
            if isinstance(module, nn.LayerNorm):
                module.reset_parameters()
        for block in self.blocks:
            for proj in (block.attn.proj, block.mlp.proj):
                nn.init.normal_(proj.weight, mean=0.0, std=0.02 / math.sqrt(2 * self.config.n_layer))

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
        if not torch.compiler.is_compiling():  # data-dependent checks would break the compiled graph
            check_model_input(self.config, idx, targets, past)
        new = idx.shape[1]
        positions = torch.arange(past, past + new, device=idx.device)
        tok, pos = self.tok_emb(idx), self.pos_emb(positions)
        x = self.drop(tok + pos)
        record_tensor(capture, "tok_emb", tok)
        record_tensor(capture, "pos_emb", pos)
        record_tensor(capture, "embed", x)
        for layer, block in enumerate(self.blocks):
            x = block(x, capture, layer, kv_cache)
        x = self.ln_f(x)
        record_tensor(capture, "ln_f", x)
        logits = F.linear(x, self.tok_emb.weight)  # unembedding tied to the token embedding, as GPT-2
        record_tensor(capture, "logits", logits)
        if kv_cache is not None:
            kv_cache.length += new
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]).float(), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    def new_cache(self, max_tokens: int) -> KVCache:
        """An empty KV cache with room for ``max_tokens`` positions (at most ``block_size``)."""
        max_tokens = require_positive_int("max_tokens", max_tokens)
        return KVCache(replace(self.config, block_size=min(max_tokens, self.config.block_size)))

    # ----------------------------------------------------------------------- counting

    def parameter_counts(self) -> dict[str, int]:
        """Parameters by component, counted from the real tensors (the keys of ``sizes.count_parameters``)."""
        counts = dict.fromkeys(("token_embedding", "position_embedding", "attention", "mlp", "layer_norm"), 0)
        for name, param in self.named_parameters():
            counts[_component(name)] += param.numel()
        counts["total"] = sum(counts.values())
        return counts

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def _component(parameter_name: str) -> str:
    if parameter_name.startswith("tok_emb"):
        return "token_embedding"
    if parameter_name.startswith("pos_emb"):
        return "position_embedding"
    if ".attn." in parameter_name:
        return "attention"
    if ".mlp." in parameter_name:
        return "mlp"
    if ".ln" in parameter_name or parameter_name.startswith("ln_f"):
        return "layer_norm"
    raise ValueError(f"parameter {parameter_name!r} belongs to no known component")
