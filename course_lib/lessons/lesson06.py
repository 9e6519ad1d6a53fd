"""Lesson 06's views: neurons of one layer answering a vector, and a trained model's neurons along a text.

The block is :mod:`course_lib.mlp` and the search for what neurons detect :mod:`course_lib.neurons`;
here they are drawn.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from course_lib.arrays import Array, require_array, require_int, to_numpy
from course_lib.mlp import ACTIVATIONS, linear
from course_lib.neurons import auc, char_features, record_neurons
from course_lib.show import figures, svg
from course_lib.show import widgets as show
from course_lib.tokenizers import show_piece


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
    values, highlight, title = _neuron_along_text(activations, text, neuron, feature, title)
    fig, ax = plt.subplots(figsize=(min(16, 2 + 0.16 * len(text)), 3.6))
    figures.values_along_text(
        values, text, title=title, ylabel="activation (after GELU)", highlight=highlight, highlight_label=feature, ax=ax
    )
    fig.tight_layout()
    return fig


def neuron_view(activations: Array, text: str, neuron: int, *, feature: str | None = None, title: str | None = None):
    """What :func:`neuron_figure` draws, as SVG (lesson 06's widget, which redraws as the learner types)."""
    values, highlight, title = _neuron_along_text(activations, text, neuron, feature, title)
    return svg.line_chart(
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
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    before = to_numpy(linear(x, w, b), float)
    if before.shape != (len(neuron_names),):
        raise ValueError(f"neuron_names must name each of the {before.size} outputs, got {len(neuron_names)} names")
    after = to_numpy(ACTIVATIONS[activation](before), float)
    low, high = min(0.0, before.min(), after.min()), max(0.0, before.max(), after.max())
    room = 0.2 * ((high - low) or 1.0)
    limits = (low - room if low < 0 else 0.0, high + room)
    panels = svg.row(
        svg.bar_chart(before, neuron_names, "Before the nonlinearity: w · x + b", "neuron", "value", limits=limits),
        svg.bar_chart(
            after, neuron_names, f"After {activation}: the neuron's activation", "neuron", "value", limits=limits
        ),
    )
    heading = f'<div style="font-weight:bold; font-size:18px">{html.escape(title)}</div>' if title else ""
    return heading + panels


def neuron_playground(
    w: Any,
    b: Any,
    feature_names: Sequence[str],
    neuron_names: Sequence[str],
    x: Sequence[float],
    activation: str = "relu",
):
    """Lesson 06: one slider per input feature; bars show each neuron's answer before and after the nonlinearity."""
    if len(feature_names) != len(x):
        raise ValueError(f"feature_names and x must have the same length, got {len(feature_names)} and {len(x)}")
    controls = {
        f"f{i}": show.slider(float(v), -1.0, 2.0, 0.1, name, integer=False)
        for i, (name, v) in enumerate(zip(feature_names, x, strict=True))
    }

    def render(**values):
        vector = np.array([values[f"f{i}"] for i in range(len(feature_names))])
        return neuron_responses_view(vector, w, b, list(neuron_names), activation=activation)

    return show.live_view(render, controls)


def neuron_explorer(model: Any, tokenizer: Any, text: str, neurons: Mapping[str, tuple[int, int, str | None]]):
    """Lesson 06: pick one of the trained model's neurons (``neurons`` maps a label to
    ``(layer, neuron, feature)``) and see its activation along the learner's text, the positions
    with ``feature`` shaded."""
    if not neurons:
        raise ValueError("neurons must name at least one (layer, neuron, feature), got an empty mapping")
    labels = list(neurons)
    controls = {"choice": show.dropdown(labels, labels[0], "Neuron"), "text": show.text_area(text, "Your text")}

    def render(choice: str, text: str):
        layer, neuron, feature = neurons[choice]
        show.require_typed_text(text)
        acts = record_neurons(model, tokenizer, text, layer)
        view = neuron_view(acts[:, neuron], text, neuron, feature=feature, title=f"Layer {layer}, neuron {neuron}")
        window = model.config.block_size
        if len(acts) > window:  # say so: each window starts without the text before it
            note = f"this text is {len(acts):,} tokens, longer than the model's context: read {window} at a time"
            view = show.text_html(note) + view
        return view

    return show.live_view(render, controls)
