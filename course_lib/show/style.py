"""The course's look, shared by its two renderers: Matplotlib figures (:mod:`.figures`) and SVG (:mod:`.svg`).

Colours, line styles, colour maps and font sizes, and the checks every picture makes of its input,
so that the Matplotlib and the SVG version of a picture refuse the same things with the same words.
Nothing here draws, and nothing here loads Matplotlib: the SVG module imports it, and must stay light.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from course_lib.arrays import require_positive_int
from course_lib.tokenizers import show_piece

# Okabe & Ito's palette: distinguishable with the common colour-vision deficiencies.
COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
# Line styles that go with the colours, so that lines differ by more than their colour.
LINE_STYLES = ["-", "--", "-.", ":"]
# Sequential/diverging colour maps that stay readable with colour-vision deficiencies and in grey.
SAFE_CMAPS = ("viridis", "cividis", "magma", "inferno", "plasma", "Greys", "RdBu", "PuOr", "BrBG")

# Points. Nothing smaller than MIN_FONT_SIZE, so a plot stays readable on a projector.
MIN_FONT_SIZE = 12
FONT_SIZES = {"title": 16, "label": 14, "tick": MIN_FONT_SIZE, "annotation": MIN_FONT_SIZE}


def signed(value: float, decimals: int = 2) -> str:
    """``value`` with its sign and ``decimals`` decimals ('+0.50', '-1.25'). A rounding error around zero
    (perpendicular vectors give a · b = -1.5e-16) shows as '+0.00', never as a puzzling '-0.00'."""
    return f"{round(float(value), decimals) + 0.0:+.{decimals}f}"


# --------------------------------------------------------------------------- the checks both renderers make


def require_labels(title: str, xlabel: str, ylabel: str) -> None:
    """Every course plot is titled and has labelled axes."""
    for name, value in (("title", title), ("xlabel", xlabel), ("ylabel", ylabel)):
        if not value:
            raise ValueError(f"{name} must be a non-empty string: every course plot is titled and labelled")


def require_cmap(cmap: str) -> str:
    """A colour map from :data:`SAFE_CMAPS` (or one of them reversed, ``"viridis_r"``)."""
    if cmap not in SAFE_CMAPS and cmap.removesuffix("_r") not in SAFE_CMAPS:
        raise ValueError(f"cmap {cmap!r} is not in the colour-blind-safe list {SAFE_CMAPS}")
    return cmap


def bar_values(values: Sequence[float], labels: Sequence[str]) -> np.ndarray:
    """The values of a bar chart as a 1-D float array with one label each."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or len(array) != len(labels):
        raise ValueError(
            f"values and labels must have the same length, got {array.shape} values and {len(labels)} labels"
        )
    return array


def two_vectors(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Two 2-D vectors (two finite numbers each) as float arrays: the input of a dot-product picture."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != (2,) or b.shape != (2,) or not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError(f"a and b must be 2-D vectors (two finite numbers each), got shapes {a.shape} and {b.shape}")
    return a, b


def require_history(name: str, history: Sequence) -> None:
    """A training run's history (``iter``, ``train_loss``, ``val_loss`` records) with something in it."""
    if not history:
        raise ValueError(f"run {name!r} has an empty history: nothing to plot")


def likeliest(probs: Sequence[float], labels: Sequence[str], k: int) -> tuple[np.ndarray, list[str]]:
    """The ``k`` largest entries of ``probs``, largest first, and their labels made readable:
    whitespace is shown and named ("space '·'", "newline '↵'"), other labels are quoted."""
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 1 or len(probs) != len(labels):
        raise ValueError(f"probs must be 1-D with one entry per label ({len(labels)}), got shape {probs.shape}")
    k = require_positive_int("k", k)
    order = np.argsort(-probs, kind="stable")[:k]
    named = {" ": "space '·'", "\n": "newline '↵'", "\t": "tab '→'"}  # a lone '·' is easily read as '.'
    return probs[order], [named.get(labels[i], repr(show_piece(labels[i]))) for i in order]
