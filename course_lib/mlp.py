"""The MLP (feed-forward) block, and tools to find what its neurons respond to: lesson 06.

Conventions are those of ``torch.nn.Linear`` and ``course_lib.model``: a weight matrix has one
**row per output** (each row is a question asked of the input by a dot product), and a sequence
has one row per token. Functions accept NumPy arrays or torch tensors and return the same kind.

The block, for every position on its own::

    hidden = x W_up^T + b_up          (n_embd -> 4 n_embd: 4 n_embd questions)
    neurons = GELU(hidden)            (a neuron is "active" when clearly positive)
    out = neurons W_down^T + b_down   (4 n_embd -> n_embd: back to the residual stream's width)
    x_next = x + out                  (added to the residual stream)

The second half of the module analyses a trained character-level model's neurons: given their
activations along a text, it scores how well each neuron separates the positions that have a
property (after a newline, a capital letter, a vowel...) from those that do not.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

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

__all__ = [
    "MLPSteps",
    "linear",
    "relu",
    "gelu",
    "mlp_block",
    "position_by_position",
    "mlp_parameter_count",
    "block_parameter_counts",
    "mlp_share",
    "CHAR_FEATURES",
    "char_features",
    "auc",
    "neuron_scores",
    "NeuronFinding",
    "find_feature_neurons",
    "record_neurons",
    "neuron_figure",
    "neuron_view",
    "neuron_responses_view",
]


# --------------------------------------------------------------------------- the pieces


def linear(x: Array, w: Array, b: Array | None = None) -> Array:
    """``x W^T + b``: output ``i`` is the dot product of row ``i`` of ``w`` with ``x``, plus ``b[i]``.

    ``x``: ``(..., n_in)``; ``w``: ``(n_out, n_in)``; ``b``: ``(n_out,)`` or None. Same as ``torch.nn.Linear``.
    """
    x = require_array("x", x, 1, finite=True)
    same_kind(x=x, w=w, b=b)
    w = require_weight("w", w, x.shape[-1])
    b = require_bias("b", b, w.shape[0])
    y = x @ w.T
    return y if b is None else y + b


def relu(x: Array) -> Array:
    """max(0, x), element-wise: negative values become 0, positive ones pass unchanged."""
    x = require_array("x", x, finite=True)
    return torch.relu(x) if is_torch(x) else np.maximum(x, 0.0)


_erf = np.vectorize(math.erf, otypes=[float])


def gelu(x: Array, approximate: str = "none") -> Array:
    """GELU: ``x * Phi(x)``, where ``Phi`` is the standard normal's cumulative distribution.

    ``approximate="none"`` uses the exact ``Phi(x) = (1 + erf(x / sqrt 2)) / 2``; ``"tanh"`` uses
    GPT-2's approximation ``(1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2``. Matches
    ``torch.nn.functional.gelu``. Unlike ReLU it is smooth, and slightly negative just below 0.
    """
    x = require_array("x", x, finite=True)
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    if is_torch(x):
        return torch.nn.functional.gelu(x, approximate=approximate)
    x = np.asarray(x, dtype=float)
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "relu": relu,
    "gelu": gelu,
    "gelu_tanh": lambda x: gelu(x, approximate="tanh"),
}


@dataclass
class MLPSteps:
    """The intermediates of :func:`mlp_block` for the positions it was given."""

    x: Array  # (..., n_embd) input
    hidden: Array  # (..., n_hidden) before the nonlinearity: the answers to the questions
    neurons: Array  # (..., n_hidden) after it: the neurons' activations
    out: Array  # (..., n_embd) projected back down
    residual: Array  # x + out: what the next layer sees

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {f.name: tuple(getattr(self, f.name).shape) for f in fields(self)}


def mlp_block(
    x: Array,
    w_up: Array,
    b_up: Array | None,
    w_down: Array,
    b_down: Array | None,
    *,
    activation: str = "gelu",
    return_steps: bool = False,
) -> Array | tuple[Array, MLPSteps]:
    """Up-project, apply the nonlinearity, down-project; returns the block's output (not yet added).

    ``x``: ``(..., n_embd)``; ``w_up``: ``(n_hidden, n_embd)``; ``w_down``: ``(n_embd, n_hidden)``.
    ``activation`` is ``"gelu"`` (exact), ``"gelu_tanh"`` (GPT-2 and the course's model) or ``"relu"``.
    The residual stream after the block is ``x + output`` (``steps.residual``).
    """
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
    x = require_array("x", x, 1, finite=True)
    same_kind(x=x, w_up=w_up, b_up=b_up, w_down=w_down, b_down=b_down)
    w_up = require_weight("w_up", w_up, x.shape[-1])
    w_down = require_array("w_down", w_down, finite=True)
    if w_down.shape != (x.shape[-1], w_up.shape[0]):
        raise ValueError(
            f"w_down must have shape (n_embd, n_hidden) = ({x.shape[-1]}, {w_up.shape[0]}) to bring the "
            f"{w_up.shape[0]} neurons back to the input's width {x.shape[-1]}; got w_up {tuple(w_up.shape)}, "
            f"w_down {tuple(w_down.shape)}"
        )
    b_up, b_down = require_bias("b_up", b_up, w_up.shape[0]), require_bias("b_down", b_down, x.shape[-1])
    hidden = linear(x, w_up, b_up)
    neurons = _ACTIVATIONS[activation](hidden)
    out = linear(neurons, w_down, b_down)
    if not return_steps:
        return out
    return out, MLPSteps(x, hidden, neurons, out, x + out)


def position_by_position(x: Array, block: Callable[[Array], Array]) -> tuple[Array, Array, float]:
    """Run ``block`` on each position's vector alone, and on the whole sequence at once.

    Returns ``(one_at_a_time, all_at_once, largest_difference)``. For an MLP the difference is zero
    (up to rounding): no position ever looks at another, so the block can run on all in parallel.
    ``x``: ``(T, n_embd)``.
    """
    x = require_array("x", x, 2, finite=True)
    if x.ndim != 2:
        raise ValueError(f"x must be (positions, features), got shape {tuple(x.shape)}")
    rows = [block(x[i : i + 1]) for i in range(x.shape[0])]
    looped = torch.cat(rows) if is_torch(x) else np.concatenate(rows)
    batched = block(x)
    diff = (looped - batched).abs().max().item() if is_torch(x) else float(np.max(np.abs(looped - batched)))
    return looped, batched, float(diff)


# --------------------------------------------------------------------------- counting


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
    from course_lib.attention import attention_parameter_count

    n_embd = require_positive_int("n_embd", n_embd)
    counts = {
        "attention": attention_parameter_count(n_embd, bias=bias),
        "mlp": mlp_parameter_count(n_embd, bias=bias),
        "layer_norm": 2 * (2 if bias else 1) * n_embd,
    }
    counts["total"] = sum(counts.values())
    return counts


def mlp_share(config: Any) -> dict[str, float]:
    """How the weights of a GPT (a ``course_lib.model.GPTConfig``) split, from ``model.count_parameters``.

    Returns the MLP's share of the blocks' attention + MLP weights (2/3 at ``mlp_ratio`` 4, whatever
    the size) and of all parameters including embeddings (lower for small models, whose embedding
    tables weigh relatively more).
    """
    from course_lib.model import count_parameters

    counts = count_parameters(config)
    return {
        "mlp": counts["mlp"],
        "attention": counts["attention"],
        "total": counts["total"],
        "mlp_share_of_blocks": counts["mlp"] / (counts["mlp"] + counts["attention"]),
        "mlp_share_of_total": counts["mlp"] / counts["total"],
    }


# --------------------------------------------------------------------------- neurons of a trained model

_VOWELS = set("aeiouAEIOU")
_PUNCTUATION = set(".,;:!?'\"-()[]&")

#: Properties of a character position that a neuron might detect. Each maps (text, i) -> bool,
#: where i is the position whose activation is examined: the model has read text[: i + 1].
CHAR_FEATURES: dict[str, Callable[[str, int], bool]] = {
    "newline": lambda s, i: s[i] == "\n",
    "after newline": lambda s, i: i > 0 and s[i - 1] == "\n",
    "space": lambda s, i: s[i] == " ",
    "after space": lambda s, i: i > 0 and s[i - 1] == " ",
    "capital letter": lambda s, i: s[i].isupper(),
    "lowercase letter": lambda s, i: s[i].islower(),
    "vowel": lambda s, i: s[i] in _VOWELS,
    "consonant": lambda s, i: s[i].isalpha() and s[i] not in _VOWELS,
    "punctuation": lambda s, i: s[i] in _PUNCTUATION,
    "after punctuation": lambda s, i: i > 0 and s[i - 1] in _PUNCTUATION,
    "inside a word": lambda s, i: i > 0 and s[i].isalpha() and s[i - 1].isalpha(),
    "upper-case line": lambda s, i: _line_of(s, i).strip().isupper(),
}


def _line_of(text: str, i: int) -> str:
    start = text.rfind("\n", 0, i) + 1  # a newline belongs to the line it ends
    end = text.find("\n", i)
    return text[start : len(text) if end == -1 else end]


def char_features(text: str, names: list[str] | None = None) -> dict[str, np.ndarray]:
    """For each named feature, a boolean array with one entry per character of ``text``.

    >>> char_features("Hi\\nyo", ["capital letter", "after newline"])["after newline"].tolist()
    [False, False, False, True, False]
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text:
        raise ValueError("text must not be empty")
    names = list(CHAR_FEATURES) if names is None else list(names)
    unknown = [n for n in names if n not in CHAR_FEATURES]
    if unknown:
        raise ValueError(f"unknown feature(s) {unknown}; choose from {list(CHAR_FEATURES)}")
    return {n: np.array([CHAR_FEATURES[n](text, i) for i in range(len(text))], dtype=bool) for n in names}


def auc(scores: Array, labels: Array) -> float:
    """Area under the ROC curve: the chance that a random positive position scores higher than a
    random negative one (ties count half). 1 = perfect detector, 0.5 = unrelated, 0 = fires on the opposite.
    """
    values = to_numpy(require_array("scores", scores, finite=True), float).ravel()
    mask = to_numpy(labels).astype(bool).ravel()
    if values.shape != mask.shape:
        raise ValueError(f"scores and labels must have the same length, got {values.shape[0]} and {mask.shape[0]}")
    n_pos, n_neg = int(mask.sum()), int((~mask).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("labels must contain both positive and negative positions to compute an AUC")
    return float(_auc_columns(values[:, None], mask)[0])


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks (1-based) down each column, tied values given their average rank."""
    n = values.shape[0]
    order = np.argsort(values, axis=0, kind="stable")
    ordered = np.take_along_axis(values, order, axis=0)
    changes = ordered[1:] != ordered[:-1]  # where a run of equal values ends
    edge = np.ones((1, values.shape[1]), dtype=bool)
    index = np.arange(n)[:, None]
    starts = np.maximum.accumulate(np.where(np.vstack([edge, changes]), index, 0), axis=0)
    ends = np.minimum.accumulate(np.where(np.vstack([changes, edge]), index, n)[::-1], axis=0)[::-1]
    ranks = np.empty(values.shape)
    np.put_along_axis(ranks, order, (starts + ends) / 2.0 + 1.0, axis=0)
    return ranks


def _auc_columns(values: np.ndarray, mask: np.ndarray, ranks: np.ndarray | None = None) -> np.ndarray:
    ranks = _ranks(values) if ranks is None else ranks
    n_pos, n_neg = int(mask.sum()), int((~mask).sum())
    return (ranks[mask].sum(axis=0) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def neuron_scores(activations: Array, mask: Array, *, _ranks_cache: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Score every neuron (column of ``activations``, shape ``(positions, neurons)``) against a property.

    ``mask`` is a boolean per position. Returns arrays with one entry per neuron: ``mean_with`` and
    ``mean_without`` (mean activation where the property holds / does not), ``difference`` (their
    difference) and ``auc`` (see :func:`auc`).
    """
    acts = to_numpy(require_array("activations", activations, finite=True), float)
    if acts.ndim != 2:
        raise ValueError(f"activations must be (positions, neurons), got shape {acts.shape}")
    mask = to_numpy(mask).astype(bool)
    if mask.shape != (acts.shape[0],):
        raise ValueError(
            f"mask must have one entry per position ({acts.shape[0]}), got shape {mask.shape}; "
            "was the text the same one the activations were recorded on?"
        )
    if mask.all() or not mask.any():
        raise ValueError("the property must hold at some positions and not at others to compare them")
    with_, without = acts[mask].mean(axis=0), acts[~mask].mean(axis=0)
    return {
        "mean_with": with_,
        "mean_without": without,
        "difference": with_ - without,
        "auc": _auc_columns(acts, mask, _ranks_cache),
    }


@dataclass
class NeuronFinding:
    feature: str
    neuron: int
    auc: float
    mean_with: float
    mean_without: float
    n_positions: int  # how many positions have the feature

    def __str__(self) -> str:
        return (
            f"neuron {self.neuron:4d} ~ {self.feature!r}: AUC {self.auc:.3f}, mean activation "
            f"{self.mean_with:.3f} there vs {self.mean_without:.3f} elsewhere ({self.n_positions} positions)"
        )


def find_feature_neurons(
    activations: Array, text: str, features: list[str] | None = None, *, top_k: int = 1, min_positions: int = 5
) -> list[NeuronFinding]:
    """For each feature, the ``top_k`` neurons that best detect it (highest AUC), with their evidence.

    ``activations`` ``(len(text), neurons)`` are a layer's MLP neurons recorded while the model read
    ``text`` (row ``i`` after reading ``text[: i + 1]``). Features that occur at fewer than
    ``min_positions`` positions (or at all but that many) are skipped. Sorted by AUC, best first.
    """
    acts = to_numpy(require_array("activations", activations, finite=True), float)
    if acts.ndim != 2:
        raise ValueError(f"activations must be (positions, neurons), got shape {acts.shape}")
    if not isinstance(text, str) or len(text) != acts.shape[0]:
        got = len(text) if isinstance(text, str) else type(text).__name__
        raise ValueError(f"text must be a str with one character per row of activations ({acts.shape[0]}), got {got}")
    top_k, min_positions = require_positive_int("top_k", top_k), require_positive_int("min_positions", min_positions)
    findings = []
    ranks = _ranks(acts)  # the same for every feature: rank the activations once
    for name, mask in char_features(text, features).items():
        n = int(mask.sum())
        if n < min_positions or len(mask) - n < min_positions:
            continue
        s = neuron_scores(acts, mask, _ranks_cache=ranks)
        for j in np.argsort(-s["auc"], kind="stable")[:top_k]:
            findings.append(
                NeuronFinding(
                    name, int(j), float(s["auc"][j]), float(s["mean_with"][j]), float(s["mean_without"][j]), n
                )
            )
    return sorted(findings, key=lambda f: -f.auc)


def record_neurons(model, tokenizer, text: str, layer: int | None, *, after_gelu: bool = True) -> np.ndarray:
    """A layer's MLP neurons at every character of ``text``: an array ``(len(tokens), 4 * n_embd)``;
    with ``layer=None``, every layer's: ``(n_layer, len(tokens), 4 * n_embd)``.

    Texts longer than the model's context are read in consecutive windows of ``block_size`` tokens
    (run together as one batch), each starting afresh, so the first characters of each window see
    little context. ``after_gelu=False`` gives the values before the nonlinearity.
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    n_layer = model.config.n_layer
    if layer is not None:
        layer = require_int("layer", layer, minimum=0, maximum=n_layer - 1, hint="Pass None for every layer")
    layers = range(n_layer) if layer is None else [layer]
    keys = [f"blocks.{i}.mlp.{'post' if after_gelu else 'pre'}" for i in layers]
    ids = torch.tensor(tokenizer.encode(text))
    window = model.config.block_size
    n_full = len(ids) // window
    batches = []
    if n_full:
        batches.append(ids[: n_full * window].view(n_full, window))
    if len(ids) % window:
        batches.append(ids[n_full * window :][None])
    parts = []
    with torch.no_grad():
        for batch in batches:
            capture: dict = {}
            model(batch, capture=capture)
            # (windows, T, neurons) per layer -> (layers, windows * T, neurons)
            parts.append(torch.stack([capture[k].reshape(-1, capture[k].shape[-1]) for k in keys]))
    result = torch.cat(parts, dim=1).float().cpu().numpy()
    return result if layer is None else result[0]


def _neuron_along_text(activations: Array, text: str, neuron: int, feature: str | None, title: str | None):
    """(the neuron's values, the positions where ``feature`` holds or None, the title with its AUC)."""
    acts = to_numpy(require_array("activations", activations, finite=True), float)
    if acts.ndim == 2:
        neuron = require_int("neuron", neuron, minimum=0, maximum=acts.shape[1] - 1)
    values = acts[:, neuron] if acts.ndim == 2 else acts
    if values.shape != (len(text),):
        raise ValueError(f"need one activation per character of text ({len(text)}), got shape {values.shape}")
    highlight = char_features(text, [feature])[feature] if feature else None
    if title is None:
        title = f"Neuron {neuron} along the text"
        if highlight is not None and highlight.any() and not highlight.all():
            title += f" (AUC for {feature!r}: {auc(values, highlight):.2f})"
    return values, highlight, title


def neuron_figure(activations: Array, text: str, neuron: int, *, feature: str | None = None, title: str | None = None):
    """One neuron's activation along ``text`` (``activations``: ``(len(text),)`` or ``(len(text), neurons)``),
    with the positions where ``feature`` (a :data:`CHAR_FEATURES` name) holds shaded, and its AUC."""
    import matplotlib.pyplot as plt

    from course_lib import plots

    values, highlight, title = _neuron_along_text(activations, text, neuron, feature, title)
    fig, ax = plt.subplots(figsize=(min(16, 2 + 0.16 * len(text)), 3.6))
    plots.values_along_text(
        values, text, title=title, ylabel="activation (after GELU)", highlight=highlight, highlight_label=feature, ax=ax
    )
    fig.tight_layout()
    return fig


def neuron_view(activations: Array, text: str, neuron: int, *, feature: str | None = None, title: str | None = None):
    """What :func:`neuron_figure` draws, as SVG (lesson 06's widget, which redraws as the learner types)."""
    from course_lib import svg_plots
    from course_lib.tokenizers import show_piece

    values, highlight, title = _neuron_along_text(activations, text, neuron, feature, title)
    return svg_plots.line_chart(
        np.arange(len(text)),
        {f"neuron {neuron}": values},
        title,
        "character of the text",
        "activation (after GELU)",
        x_labels=[show_piece(c) for c in text],
        highlight=highlight,
        highlight_label=feature,
        width=min(1400, max(700, 12 * len(text) + 250)),
    )


def neuron_responses_view(
    x: Array, w: Array, b: Array, neuron_names: list[str], *, activation: str = "relu", title: str | None = None
) -> str:
    """Bars for each neuron of one linear layer on one vector ``x``, as SVG (lesson 06's playground): the
    question's answer (before the nonlinearity) next to the neuron's activation (after it), on one scale."""
    import html

    from course_lib import svg_plots

    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
    before = to_numpy(linear(x, w, b), float)
    if before.shape != (len(neuron_names),):
        raise ValueError(f"neuron_names must name each of the {before.size} outputs, got {len(neuron_names)} names")
    after = to_numpy(_ACTIVATIONS[activation](before), float)
    low, high = min(0.0, before.min(), after.min()), max(0.0, before.max(), after.max())
    room = 0.2 * ((high - low) or 1.0)
    limits = (low - room if low < 0 else 0.0, high + room)
    panels = svg_plots.row(
        svg_plots.bar_chart(
            before, neuron_names, "Before the nonlinearity: w · x + b", "neuron", "value", limits=limits
        ),
        svg_plots.bar_chart(
            after, neuron_names, f"After {activation}: the neuron's activation", "neuron", "value", limits=limits
        ),
    )
    heading = f'<div style="font-weight:bold; font-size:18px">{html.escape(title)}</div>' if title else ""
    return heading + panels
