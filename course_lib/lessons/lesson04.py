"""Lesson 04's views: attention patterns, of the hand-built toy head and of the trained model's heads.

The maths is :mod:`course_lib.attention`; here it is drawn: Matplotlib figures for the lesson's static
pictures, SVG for the widgets, which redraw as the learner moves their controls.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from course_lib.arrays import Array, is_torch, require_int
from course_lib.attention import model_attention, single_head_attention, toy_embeddings, toy_head
from course_lib.show import figures, svg
from course_lib.show import widgets as show
from course_lib.show.style import FONT_SIZES
from course_lib.tokenizers import show_piece


def draw_attention_pattern(
    pattern: Array, tokens: list[str], *, query: int | None = None, title: str = "Attention pattern", ax=None
):
    """Heat map of a ``(T, S)`` pattern (rows: queries, columns: keys), with row ``query`` outlined."""
    pattern = pattern.detach().cpu().numpy() if is_torch(pattern) else np.asarray(pattern)
    if pattern.ndim != 2 or pattern.shape[1] != len(tokens):
        raise ValueError(f"pattern must be (queries, {len(tokens)} keys) for {len(tokens)} tokens, got {pattern.shape}")
    labels = [show_piece(t) for t in tokens]
    many = len(tokens) > 30
    ax = figures.heatmap(
        pattern,
        None if many else labels[-pattern.shape[0] :],
        None if many else labels,
        title=title,
        cmap="viridis",
        xlabel="key: the token looked at",
        ylabel="query: the token looking",
        colorbar_label="attention weight",
        annotate=pattern.size <= 100,
        vmin=0.0,
        vmax=1.0,
        ax=ax,
    )
    if many:  # too many to label every one: label a readable subset
        step = max(1, len(tokens) // 20)
        tick = FONT_SIZES["tick"]
        ax.set_xticks(np.arange(0, len(tokens), step), labels[::step], fontsize=tick)
        ax.set_yticks(np.arange(0, pattern.shape[0], step), labels[-pattern.shape[0] :][::step], fontsize=tick)
    if query is not None:
        ax.add_patch(Rectangle((-0.5, query - 0.5), pattern.shape[1], 1, fill=False, edgecolor="#E69F00", lw=3))
    return ax


def _settings(causal: bool, scale: bool) -> str:
    return f"mask {'on' if causal else 'off'}, scaling {'on' if scale else 'off'}"


def toy_attention_view(words: list[str], query: int, *, causal: bool = True, scale: bool = True, asker: str = "noun"):
    """The toy head on ``words`` as HTML (lesson 04's widget): its pattern with ``query``'s row outlined,
    and that row's weights as bars, drawn as SVG so the widget follows its controls at once."""
    query = require_int(
        "query",
        query,
        minimum=0,
        maximum=len(words) - 1,
        hint=f"{len(words)} words have positions 0 to {len(words) - 1}",
    )
    _, steps = single_head_attention(
        toy_embeddings(words), **toy_head(asker), causal=causal, scale=scale, return_steps=True
    )
    pattern = np.asarray(steps.pattern)
    return svg.row(
        svg.heatmap(
            pattern,
            list(words),
            list(words),
            f"Pattern ({_settings(causal, scale)})",
            "key: the token looked at",
            "query: the token looking",
            colorbar_label="attention weight",
            outline_row=query,
        ),
        svg.bar_chart(
            pattern[query],
            list(words),
            f"Where {words[query]!r} (position {query}) looks",
            "key",
            "attention weight",
            limits=(0, 1.1),
        ),
    )


def _one_head(model, tokenizer, text: str, layer: int, head: int, query: int | None, causal: bool, scale: bool):
    """(tokens as shown, the head's pattern as a numpy array, query clipped to the text, a title)."""
    layer = require_int("layer", layer, minimum=0, maximum=model.config.n_layer - 1)
    head = require_int("head", head, minimum=0, maximum=model.config.n_head - 1)
    tokens, patterns = model_attention(model, tokenizer, text, causal=causal, scale=scale)
    if query is not None:
        query = min(max(int(query), 0), len(tokens) - 1)
    title = f"Layer {layer}, head {head} ({_settings(causal, scale)})"
    return [show_piece(t) for t in tokens], patterns[layer, head].numpy(), query, title


def _query_title(pieces: list[str], query: int) -> str:
    return f"Where character {query} ({pieces[query]!r}) looks"


def model_head_figure(
    model,
    tokenizer,
    text: str,
    layer: int,
    head: int,
    query: int | None = None,
    *,
    causal: bool = True,
    scale: bool = True,
):
    """One head's pattern on ``text`` as a Matplotlib figure; with ``query``, that row is outlined and
    drawn as bars too. ``causal`` and ``scale`` as in :func:`model_attention`."""
    pieces, pattern, query, title = _one_head(model, tokenizer, text, layer, head, query, causal, scale)
    side = min(9.0, 3.0 + 0.16 * len(pieces))
    if query is None:
        fig, ax = plt.subplots(figsize=(side + 1.5, side))
        draw_attention_pattern(pattern, pieces, title=title, ax=ax)
    else:
        fig, (ax, bars) = plt.subplots(
            2, 1, figsize=(side + 1.5, side + 3.2), gridspec_kw={"height_ratios": [side, 2.6]}
        )
        draw_attention_pattern(pattern, pieces, query=query, title=title, ax=ax)
        figures.bar_chart(
            pattern[query],
            pieces,
            title=_query_title(pieces, query),
            xlabel="key: the character looked at",
            ylabel="weight",
            annotate=False,
            color="#0072B2",
            ax=bars,
        )
        bars.set_ylim(0, 1)
        bars.set_xlim(-0.5, len(pieces) - 0.5)  # line the bars up under the pattern's columns
        bars.set_xticks(np.arange(len(pieces)), pieces, rotation=0, ha="center", fontsize=FONT_SIZES["tick"])
    fig.tight_layout()
    return fig


def model_head_view(
    model, tokenizer, text: str, layer: int, head: int, query: int, *, causal: bool = True, scale: bool = True
) -> str:
    """What :func:`model_head_figure` draws with a ``query``, as HTML with SVG (lesson 04's widget): the
    pattern with the query's row outlined, and below it that row as bars."""
    pieces, pattern, query, title = _one_head(model, tokenizer, text, layer, head, query, causal, scale)
    heatmap = svg.heatmap(
        pattern,
        pieces,
        pieces,
        title,
        "key: the character looked at",
        "query: the character looking",
        colorbar_label="attention weight",
        outline_row=query,
    )
    bars = svg.bar_chart(
        pattern[query],
        pieces,
        _query_title(pieces, query),
        "key: the character looked at",
        "weight",
        value_format=None,
        limits=(0, 1),
        width=680,  # as wide as the pattern above it, so the two read together
    )
    return f"<div>{heatmap}</div><div>{bars}</div>"


def all_heads_figure(tokens: list[str], patterns: Array):
    """Every head's pattern on one text in a grid (rows: layers, columns: heads)."""
    p = patterns.detach().cpu().numpy() if is_torch(patterns) else np.asarray(patterns)
    n_layer, n_head = p.shape[:2]
    fig, axes = plt.subplots(n_layer, n_head, figsize=(2.6 * n_head + 1, 2.6 * n_layer + 0.6), squeeze=False)
    image = None
    for layer in range(n_layer):
        for head in range(n_head):
            ax = axes[layer, head]
            image = ax.imshow(p[layer, head], cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"layer {layer}, head {head}", fontsize=FONT_SIZES["tick"])
            if head == 0:
                ax.set_ylabel("query", fontsize=FONT_SIZES["label"])
            if layer == n_layer - 1:
                ax.set_xlabel("key", fontsize=FONT_SIZES["label"])
    fig.suptitle(f"Every head's pattern on {len(tokens)} characters", fontsize=FONT_SIZES["title"])
    colorbar = fig.colorbar(image, ax=axes, shrink=0.6)
    colorbar.set_label("attention weight", fontsize=FONT_SIZES["label"])
    colorbar.ax.tick_params(labelsize=FONT_SIZES["tick"])
    return fig


def toy_attention_explorer(sentence: str = "the dog chased the black cat through the garden", query: int = 5):
    """Lesson 04's hand-built head: type a sentence (toy words), pick the query position, toggle the
    causal mask and the division by sqrt(d_k); shows the pattern and where the query looks."""
    box = show.text_box(sentence, "Sentence")
    box.layout.width = "480px"
    slider = show.slider(query, 0, len(sentence.split()) - 1, 1, "Query position")
    show.follow_length(slider, box, lambda s: len(s.split()) or 1)
    controls = {
        "sentence": box,
        "query": slider,
        "causal": show.checkbox(True, "Causal mask"),
        "scale": show.checkbox(True, "Divide by √d_k"),
    }

    def render(sentence: str, query: int, causal: bool, scale: bool):
        words = sentence.split()
        if not words:
            raise ValueError("the sentence is empty: type a few words, e.g. 'the small dog chased the cat'")
        return toy_attention_view(words, min(query, len(words) - 1), causal=causal, scale=scale)

    return show.live_view(render, controls)


def model_attention_explorer(model: Any, tokenizer: Any, text: str, layer: int = 0, head: int = 0, query: int = 0):
    """Lesson 04: a trained model's attention on the learner's text. Pick layer, head and query
    character; toggle the mask and the scaling (recomputed from the head's own queries and keys)."""
    box = show.text_area(text, "Your text")
    limit = model.config.block_size
    slider = show.slider(query, 0, max(0, min(len(text), limit) - 1), 1, "Query position")
    show.follow_length(slider, box, lambda s: min(len(s), limit) or 1)
    controls = {
        "text": box,
        "layer": show.dropdown(list(range(model.config.n_layer)), layer, "Layer"),
        "head": show.dropdown(list(range(model.config.n_head)), head, "Head"),
        "query": slider,
        "causal": show.checkbox(True, "Causal mask"),
        "scale": show.checkbox(True, "Divide by √d_k"),
    }

    def render(text: str, layer: int, head: int, query: int, causal: bool, scale: bool):
        show.require_typed_text(text)
        view = model_head_view(model, tokenizer, text, layer, head, query, causal=causal, scale=scale)
        n_tokens = len(tokenizer.encode(text))
        if n_tokens > limit:  # say so: the picture shows only the end of the text
            note = f"this text is {n_tokens:,} tokens, longer than the model's context: it reads the last {limit}"
            view = show.text_html(note) + view
        return view

    return show.live_view(render, controls)
