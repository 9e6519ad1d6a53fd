"""What a trained model's MLP neurons respond to: lesson 06's search for feature detectors.

Given a layer's neuron activations along a text (:func:`record_neurons` runs the course model and
records them), each neuron is scored on how well it separates the positions that have a property
(after a newline, a capital letter, a vowel...: :data:`CHAR_FEATURES`) from those that do not: the
difference of the mean activations, and the AUC (:func:`auc`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from course_lib.arrays import Array, require_array, require_int, require_positive_int, to_numpy

__all__ = [
    "CHAR_FEATURES",
    "NeuronFinding",
    "auc",
    "char_features",
    "find_feature_neurons",
    "neuron_scores",
    "record_neurons",
]


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
