"""Every count of the course in one place: parameters, FLOPs and memory, for the course GPT and SmolLM2 alike.

One vocabulary names the parts of a decoder (:data:`PARTS`): every count that splits a model by part
uses these keys, and :func:`count_parameters` takes a ``GPTConfig`` or a ``SmolLMConfig``. A model has the
parts its architecture has: a GPT learns position vectors and normalises with LayerNorm, SmolLM2 rotates
its queries and keys (nothing learned) and normalises with RMSNorm. To put two architectures side by side,
:func:`parts_in_common` groups any model's counts into the parts every decoder has (:data:`COMMON_PARTS`),
which is how lesson 09 compares SmolLM2 with GPT-3.

The formulas count from the configuration, no model is built; ``GPT.parameter_counts()`` and
``SmolLM.parameter_counts()`` count the real tensors, and the tests check that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from course_lib.arrays import require_positive_int, require_real
from course_lib.model import GPT3_175B, GPTConfig
from course_lib.smollm.model import SmolLMConfig

__all__ = [
    "COMMON_PARTS",
    "PARTS",
    "AttentionShape",
    "attention_shape",
    "attention_parameter_count",
    "attention_pattern_bytes",
    "block_parameter_counts",
    "count_parameters",
    "flops_per_token",
    "gpt3_attention_numbers",
    "kv_cache_bytes",
    "mlp_parameter_count",
    "mlp_share",
    "parts_in_common",
    "value_map_parameters",
]

#: The parts of a decoder, the keys of every count by part (plus ``"total"``).
PARTS = {
    "token_embedding": "one vector per token (also the unembedding, whose matrix is tied to it)",
    "position_embedding": "one learned vector per position (the GPT's; rotary positions learn nothing)",
    "attention": "the query, key, value and output projections of every layer",
    "mlp": "the feed-forward layers of every layer",
    "layer_norm": "LayerNorm's gains and biases (the GPT's)",
    "norm": "RMSNorm's gains (SmolLM2's)",
}

#: The parts every decoder of the course has, to compare architectures: :func:`parts_in_common`.
COMMON_PARTS = {
    "token_embedding": ("token_embedding", "position_embedding"),  # the tables a token id or position picks from
    "attention": ("attention",),
    "mlp": ("mlp",),
    "norm": ("layer_norm", "norm"),  # LayerNorm or RMSNorm: the normalisations
}


# --------------------------------------------------------------------------- one layer


def attention_parameter_count(n_embd: int, *, bias: bool = True) -> int:
    """Parameters of one multi-head attention layer: W_Q, W_K, W_V and the output projection.

    Each is ``n_embd x n_embd`` however the heads split it (``n_head`` heads of ``n_embd // n_head``
    rows each), so a layer holds ``4 * n_embd**2`` weights, plus ``4 * n_embd`` biases.
    """
    n_embd = require_positive_int("n_embd", n_embd)
    return 4 * n_embd * n_embd + (4 * n_embd if bias else 0)


def mlp_parameter_count(n_embd: int, *, mlp_ratio: int = 4, bias: bool = True) -> int:
    """Parameters of one MLP block: ``2 * ratio * n_embd**2`` weights plus ``(ratio + 1) * n_embd`` biases."""
    n_embd, mlp_ratio = require_positive_int("n_embd", n_embd), require_positive_int("mlp_ratio", mlp_ratio)
    hidden = mlp_ratio * n_embd
    return 2 * hidden * n_embd + ((hidden + n_embd) if bias else 0)


def block_parameter_counts(n_embd: int, *, bias: bool = True) -> dict[str, int]:
    """One transformer block by component: attention ``4 d^2``, MLP ``8 d^2``, two LayerNorms.

    >>> block_parameter_counts(768)
    {'attention': 2362368, 'mlp': 4722432, 'layer_norm': 3072, 'total': 7087872}
    """
    n_embd = require_positive_int("n_embd", n_embd)
    counts = {
        "attention": attention_parameter_count(n_embd, bias=bias),
        "mlp": mlp_parameter_count(n_embd, bias=bias),
        "layer_norm": 2 * (2 if bias else 1) * n_embd,
    }
    counts["total"] = sum(counts.values())
    return counts


# --------------------------------------------------------------------------- a whole model


def count_parameters(config: GPTConfig | SmolLMConfig) -> dict[str, int]:
    """Parameters of a model with this config by part (:data:`PARTS`), and their ``"total"``, from the formula.

    For a ``GPTConfig``: token and position embeddings, attention, MLP, LayerNorms. For a ``SmolLMConfig``:
    token embedding, attention, MLP, RMSNorms; grouped-query attention shows up in the K and V projections,
    which produce ``n_kv_head`` heads, not ``n_head``. Both tie the unembedding to the token embedding, so it
    adds nothing. ``GPT(config).parameter_counts()`` and ``SmolLM.parameter_counts()`` give the same numbers
    by counting real tensors.
    """
    if isinstance(config, GPTConfig):
        c, n = config.n_embd, config.n_layer
        per_layernorm = c * (2 if config.bias else 1)  # scale (and shift)
        counts = {
            "token_embedding": config.vocab_size * c,
            "position_embedding": config.block_size * c,
            "attention": n * attention_parameter_count(c, bias=config.bias),
            "mlp": n * mlp_parameter_count(c, bias=config.bias),
            "layer_norm": (2 * n + 1) * per_layernorm,
        }
    elif isinstance(config, SmolLMConfig):
        c, hs, n = config.n_embd, config.head_size, config.n_layer
        q_and_out = 2 * c * config.n_head * hs
        k_and_v = 2 * c * config.n_kv_head * hs
        counts = {
            "token_embedding": config.vocab_size * c,
            "attention": n * (q_and_out + k_and_v),
            "mlp": n * 3 * c * config.n_hidden,  # gate, up and down
            "norm": (2 * n + 1) * c,  # two RMSNorm gains per block and the final one
        }
    else:
        raise TypeError(f"config must be a GPTConfig or a SmolLMConfig, got {type(config).__name__}")
    counts["total"] = sum(counts.values())
    return counts


def parts_in_common(config: GPTConfig | SmolLMConfig) -> dict[str, int]:
    """:func:`count_parameters` grouped into the parts every decoder has (:data:`COMMON_PARTS`), and the total.

    The embedding tables count together (a GPT's learned positions with its tokens), and so do the
    normalisations (LayerNorm or RMSNorm), so that any two models of the course can be compared part by part.
    """
    counts = count_parameters(config)
    shared = {part: sum(counts.get(key, 0) for key in keys) for part, keys in COMMON_PARTS.items()}
    shared["total"] = counts["total"]
    return shared


def mlp_share(config: GPTConfig | SmolLMConfig) -> dict[str, float]:
    """How the weights of a model split, from :func:`count_parameters`.

    Returns the MLP's share of the blocks' attention + MLP weights (2/3 at ``mlp_ratio`` 4, whatever
    the size) and of all parameters including embeddings (lower for small models, whose embedding
    tables weigh relatively more).
    """
    counts = count_parameters(config)
    return {
        "mlp": counts["mlp"],
        "attention": counts["attention"],
        "total": counts["total"],
        "mlp_share_of_blocks": counts["mlp"] / (counts["mlp"] + counts["attention"]),
        "mlp_share_of_total": counts["mlp"] / counts["total"],
    }


def flops_per_token(config: GPTConfig, context: int | None = None) -> int:
    """Floating-point operations to *train* a GPT on one token (forward + backward).

    Each weight takes part in one multiply-add (2 FLOPs) per token forward and two backward:
    6 FLOPs per weight. Attention adds its score and weighted-sum products, which depend on the
    context length rather than on weights: 2 * 2 * n_layer * context * n_embd forward, x3 for
    training. Position embeddings are a lookup, so they are left out.
    """
    context = config.block_size if context is None else context
    counts = count_parameters(config)
    matmul_weights = counts["total"] - counts["position_embedding"]
    return 6 * matmul_weights + 12 * config.n_layer * context * config.n_embd


def gpt3_attention_numbers() -> dict[str, float]:
    """GPT-3 (175B)'s heads and attention parameters, computed from its configuration.

    Uses ``course_lib.model.GPT3_175B`` (n_embd 12288, n_layer 96, n_head 96) and :func:`count_parameters`
    for the total, so the share is attention / everything.
    """
    c = GPT3_175B
    per_layer_weights = 4 * c.n_embd * c.n_embd
    per_layer = attention_parameter_count(c.n_embd, bias=c.bias)
    total = count_parameters(c)["total"]
    attention = c.n_layer * per_layer
    return {
        "n_embd": c.n_embd,
        "n_layer": c.n_layer,
        "n_head": c.n_head,
        "head_size": c.n_embd // c.n_head,
        "total_heads": c.n_layer * c.n_head,
        "per_head_weights": 4 * c.n_embd * (c.n_embd // c.n_head),  # its slices of W_Q, W_K, W_V and W_O
        "per_layer_weights": per_layer_weights,
        "per_layer": per_layer,
        "attention_weights": c.n_layer * per_layer_weights,
        "attention": attention,
        "total": total,
        "attention_share": attention / total,
    }


# --------------------------------------------------------------------------- attention's other costs


def value_map_parameters(d_model: int, rank: int, d_out: int | None = None) -> dict[str, float]:
    """Parameters of a full ``d_out x d_model`` value matrix versus its ``rank``-``r`` factorisation.

    >>> value_map_parameters(12288, 128)["saving"]
    0.9791666666666666
    """
    d_model, rank = require_positive_int("d_model", d_model), require_positive_int("rank", rank)
    d_out = d_model if d_out is None else require_positive_int("d_out", d_out)
    if rank > min(d_model, d_out):
        raise ValueError(f"rank ({rank}) cannot exceed the smaller side of the matrix ({min(d_model, d_out)})")
    full = d_out * d_model
    low = rank * d_model + d_out * rank
    return {"full": full, "low_rank": low, "ratio": low / full, "saving": 1 - low / full}


def attention_pattern_bytes(
    context_length: int, *, n_heads: int = 1, n_layers: int = 1, batch: int = 1, bytes_per_value: int = 4
) -> int:
    """Memory of the attention patterns: ``batch x n_layers x n_heads x T x T`` numbers."""
    sizes = {
        "context_length": context_length,
        "n_heads": n_heads,
        "n_layers": n_layers,
        "batch": batch,
        "bytes_per_value": bytes_per_value,
    }
    n = {name: require_positive_int(name, value) for name, value in sizes.items()}
    return n["batch"] * n["n_layers"] * n["n_heads"] * n["context_length"] ** 2 * n["bytes_per_value"]


# --------------------------------------------------------------------------- the KV cache


@dataclass(frozen=True)
class AttentionShape:
    """The numbers a KV cache's size depends on, for any decoder: layers, query heads, key/value heads, head width.

    A GPT gives every query head its own keys and values (``n_kv_head == n_head``); SmolLM2's grouped-query
    attention shares each key/value head between ``n_head // n_kv_head`` query heads.
    """

    n_layer: int
    n_head: int
    n_kv_head: int
    head_size: int

    def __post_init__(self) -> None:
        for name in ("n_layer", "n_head", "n_kv_head", "head_size"):
            object.__setattr__(self, name, require_positive_int(f"AttentionShape.{name}", getattr(self, name)))
        if self.n_head % self.n_kv_head:
            raise ValueError(f"n_head ({self.n_head}) must be a multiple of n_kv_head ({self.n_kv_head})")


def attention_shape(config: GPTConfig | SmolLMConfig | AttentionShape) -> AttentionShape:
    """The :class:`AttentionShape` of a ``GPTConfig`` (one key/value head per query head) or a ``SmolLMConfig``."""
    if isinstance(config, AttentionShape):
        return config
    if isinstance(config, GPTConfig):
        return AttentionShape(config.n_layer, config.n_head, config.n_head, config.head_size)
    if isinstance(config, SmolLMConfig):
        return AttentionShape(config.n_layer, config.n_head, config.n_kv_head, config.head_size)
    raise TypeError(f"config must be a GPTConfig, a SmolLMConfig or an AttentionShape, got {type(config).__name__}")


def kv_cache_bytes(
    config: GPTConfig | SmolLMConfig | AttentionShape, n_tokens: int, bytes_per_number: float = 4
) -> int | float:
    """Memory of the KV cache for ``n_tokens`` tokens: a key and a value per key/value head, in every layer.

    ``n_layer x 2 x n_kv_head x head_size x n_tokens x bytes_per_number`` (4 for float32, 2 for float16).

    >>> kv_cache_bytes(SmolLMConfig(), 8192)
    377487360
    """
    shape = attention_shape(config)
    n_tokens = require_positive_int("n_tokens", n_tokens)
    bytes_per_number = require_real("bytes_per_number", bytes_per_number, low=0, low_open=True)
    total = shape.n_layer * 2 * shape.n_kv_head * shape.head_size * n_tokens * bytes_per_number
    return int(total) if total.is_integer() else total  # whole bytes as an int; 4-bit numbers can give halves
