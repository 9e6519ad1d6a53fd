"""The same GPT forward pass in plain numpy: every step written out, nothing hidden in a library.

It reads the weights of a trained :class:`course_lib.model.GPT` (via :func:`params_from_model`)
and produces the same logits to float tolerance, which ``tests/test_model.py`` checks. It is
the version to read: one sequence at a time, one head at a time, no batching tricks, no cache.

    params = params_from_model(model)
    logits = forward(params, model.config, ids)          # (T, vocab_size)
    trace = {}; forward(params, model.config, ids, trace)  # trace holds every intermediate
"""

from __future__ import annotations

import numpy as np

from course_lib.arrays import require_finite, require_ids, require_not_fully_masked, to_numpy
from course_lib.attention import causal_mask

__all__ = ["attention_head", "forward", "gelu", "layer_norm", "mlp", "params_from_model", "softmax"]


def params_from_model(model_or_state_dict) -> dict[str, np.ndarray]:
    """A GPT's weights (or its ``state_dict()``) as float64 numpy arrays, keyed by the torch names.

    float64 makes the numpy pass the more exact of the two, so any difference is torch's rounding.
    """
    state = model_or_state_dict.state_dict() if hasattr(model_or_state_dict, "state_dict") else model_or_state_dict
    return {name: tensor.detach().cpu().double().numpy() for name, tensor in state.items()}


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis; subtracting the max first keeps exp() from overflowing."""
    require_not_fully_masked("x", require_finite("x", x, allow_neg_inf=True))  # -inf: a masked score
    shifted = x - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, eps: float = 1e-5) -> np.ndarray:
    """Give each vector (row) mean 0 and variance 1, then scale and shift by learned weights."""
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    normed = (x - mean) / np.sqrt(var + eps)
    return normed * weight + (bias if bias is not None else 0.0)


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation (GPT-2's): smooth like ReLU, slightly negative just below 0."""
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """x @ W^T + b. torch stores a Linear weight as (out_features, in_features): each row asks one question."""
    y = x @ weight.T
    return y + bias if bias is not None else y


def attention_head(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One causal attention head. q, k, v: (T, head_size). Returns (output (T, head_size), pattern (T, T))."""
    t = q.shape[0]
    scores = q @ k.T / np.sqrt(q.shape[-1])  # how well each query matches each key
    scores = np.where(causal_mask(t), scores, -np.inf)  # position i must not see positions after i
    pattern = softmax(scores)  # each row sums to 1
    return pattern @ v, pattern


def attention(x: np.ndarray, p: dict, prefix: str, n_head: int, trace: dict | None) -> np.ndarray:
    """Multi-head causal self-attention on x (T, C): every head on its own slice, then one output projection."""
    c = x.shape[-1]
    head_size = c // n_head
    qkv = linear(x, p[f"{prefix}.qkv.weight"], p.get(f"{prefix}.qkv.bias"))
    q_all, k_all, v_all = qkv[:, :c], qkv[:, c : 2 * c], qkv[:, 2 * c :]
    outputs = []
    for h in range(n_head):
        cols = slice(h * head_size, (h + 1) * head_size)
        out, pattern = attention_head(q_all[:, cols], k_all[:, cols], v_all[:, cols])
        outputs.append(out)
        if trace is not None:
            trace[f"{prefix}.head{h}.pattern"] = pattern
    concatenated = np.concatenate(outputs, axis=-1)  # (T, C): the heads side by side
    return linear(concatenated, p[f"{prefix}.proj.weight"], p.get(f"{prefix}.proj.bias"))


def mlp(x: np.ndarray, p: dict, prefix: str, trace: dict | None) -> np.ndarray:
    """Up to 4 * C neurons, GELU, back down to C. Applied to every position independently."""
    pre = linear(x, p[f"{prefix}.fc.weight"], p.get(f"{prefix}.fc.bias"))
    post = gelu(pre)
    if trace is not None:
        trace[f"{prefix}.pre"], trace[f"{prefix}.post"] = pre, post
    return linear(post, p[f"{prefix}.proj.weight"], p.get(f"{prefix}.proj.bias"))


def forward(params: dict[str, np.ndarray], config, ids, trace: dict | None = None) -> np.ndarray:
    """Logits (T, vocab_size) for one sequence of token ids (length 1..block_size)."""
    ids = to_numpy(require_ids("ids", ids, config.vocab_size, ndim=1))
    if ids.size == 0:
        raise ValueError("ids must be a non-empty 1-D sequence of token ids, got none")
    if ids.size > config.block_size:
        raise ValueError(f"{ids.size} tokens is longer than block_size={config.block_size}")
    p = params
    # 1. Look up each token's row and add its position's row.
    x = p["tok_emb.weight"][ids] + p["pos_emb.weight"][: ids.size]
    # 2. The blocks: each sublayer reads a normalised copy of the stream and adds its result back.
    for i in range(config.n_layer):
        b = f"blocks.{i}"
        normed = layer_norm(x, p[f"{b}.ln1.weight"], p.get(f"{b}.ln1.bias"))
        x = x + attention(normed, p, f"{b}.attn", config.n_head, trace)
        normed = layer_norm(x, p[f"{b}.ln2.weight"], p.get(f"{b}.ln2.bias"))
        x = x + mlp(normed, p, f"{b}.mlp", trace)
        if trace is not None:
            trace[f"{b}.resid_post"] = x
    # 3. Normalise once more and score every vocabulary entry: dot product with its embedding row.
    x = layer_norm(x, p["ln_f.weight"], p.get("ln_f.bias"))
    logits = x @ p["tok_emb.weight"].T
    if trace is not None:
        trace["logits"] = logits
    return logits
