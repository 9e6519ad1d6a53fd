"""Matplotlib figures for the lessons: labelled axes, readable fonts, colour-blind-safe colours.

Each helper draws on a Matplotlib ``Axes`` (a new figure unless ``ax`` is given) and returns
it, so a lesson can add to it; the lesson ends the cell with ``plt.show()``. A picture that a widget
redraws as a control moves is drawn as SVG instead (:mod:`course_lib.show.svg`): the two versions of a
picture share their name, their arguments' names and their input checks (:mod:`course_lib.show.style`).

:func:`use_course_style` also gives every figure a notebook shows a text description (the ``alt``
text of its image, built by :func:`course_lib.show.alt_text.describe_figure`), for readers who cannot
see the picture.

Add new helpers at the end, each documented, each labelling its axes and giving a title.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from IPython import get_ipython
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from course_lib.show.alt_text import describe_figure
from course_lib.show.style import (
    COLORS,
    FONT_SIZES,
    LINE_STYLES,
    bar_values,
    likeliest,
    require_cmap,
    require_history,
    require_labels,
    signed,
    two_vectors,
)
from course_lib.tokenizers import show_piece


def use_course_style() -> None:
    """Readable defaults for every later plot: larger fonts and the colour-blind-safe cycle.

    In a notebook it also makes every figure's image carry a text description as its ``alt``
    text (see :func:`describe_figure`). Call it once, near the top of a lesson.
    """
    _describe_figures_in_notebooks()
    plt.rcParams.update(
        {
            "font.size": FONT_SIZES["tick"],
            "axes.titlesize": FONT_SIZES["title"],
            "axes.labelsize": FONT_SIZES["label"],
            "xtick.labelsize": FONT_SIZES["tick"],
            "ytick.labelsize": FONT_SIZES["tick"],
            "legend.fontsize": FONT_SIZES["tick"],
            "figure.titlesize": FONT_SIZES["title"],
            "axes.prop_cycle": plt.cycler(color=COLORS),
            "figure.dpi": 100,
        }
    )


def _describe_figures_in_notebooks() -> None:
    """Make IPython publish each figure's PNG with ``{"alt": describe_figure(fig)}`` as its metadata.

    IPython turns a figure into PNG with the formatter registered for ``Figure`` (Matplotlib's inline
    backend registers it when the backend loads, which is normally at the first figure: so it is loaded
    here first). We wrap that formatter rather than replace it, to keep its settings (retina, bbox).
    Outside IPython, or with a backend that shows no PNG, there is nothing to do.
    """
    shell = get_ipython()
    if shell is None:
        return
    if matplotlib.get_backend(auto_select=False) in ("inline", "module://matplotlib_inline.backend_inline"):
        # Deferred on purpose: loading it registers the PNG formatter and configures the inline backend,
        # which only a notebook already drawing inline wants.
        import matplotlib_inline.backend_inline  # noqa: F401
    formatter = shell.display_formatter.formatters["image/png"]
    current = formatter.type_printers.get(Figure)
    if current is None:
        return
    to_png = getattr(current, "course_to_png", current)  # never wrap twice when called again

    def png_with_alt(fig: Figure):
        alt = describe_figure(fig)
        result = to_png(fig)
        if result is None:
            return None
        data, metadata = result if isinstance(result, tuple) else (result, None)
        return data, {**(metadata or {}), "alt": alt}

    png_with_alt.course_to_png = to_png
    formatter.for_type(Figure, png_with_alt)


def _axes(ax: plt.Axes | None, figsize: tuple[float, float]) -> plt.Axes:
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize)
    return ax


def _label(ax: plt.Axes, title: str, xlabel: str, ylabel: str) -> None:
    require_labels(title, xlabel, ylabel)
    ax.set_title(title, fontsize=FONT_SIZES["title"])
    ax.set_xlabel(xlabel, fontsize=FONT_SIZES["label"])
    ax.set_ylabel(ylabel, fontsize=FONT_SIZES["label"])
    ax.tick_params(labelsize=FONT_SIZES["tick"])


def bar_chart(
    values: Sequence[float],
    labels: Sequence[str],
    title: str,
    xlabel: str,
    ylabel: str,
    horizontal: bool = False,
    annotate: bool = True,
    value_format: str = "{:,.0f}",
    color: str | Sequence[str] | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Bars with one label each; ``annotate`` writes each value on its bar (``value_format`` formats it)."""
    values = bar_values(values, labels)
    ax = _axes(ax, (7, 0.45 * len(values) + 1.5) if horizontal else (max(5, 0.8 * len(values) + 2), 4))
    colors = color if color is not None else [COLORS[i % len(COLORS)] for i in range(len(values))]
    positions = np.arange(len(values))
    if horizontal:
        bars = ax.barh(positions, values, color=colors)
        ax.set_yticks(positions, labels)
        if not ax.yaxis_inverted():  # first label on top, as it reads (once, even on shared axes)
            ax.invert_yaxis()
    else:
        bars = ax.bar(positions, values, color=colors)
        # Slant the labels when they are long, or wider than the space each bar has (a character of the
        # tick font is about 0.6 of its size wide).
        longest = max(map(len, labels), default=0)
        per_bar = ax.get_position().width * ax.figure.get_figwidth() / max(len(labels), 1)
        rotate = longest > 8 or longest * 0.6 * FONT_SIZES["tick"] / 72 > 0.9 * per_bar
        ax.set_xticks(positions, labels, rotation=30 if rotate else 0, ha="right" if rotate else "center")
    if annotate:
        ax.bar_label(
            bars, labels=[value_format.format(v) for v in values], padding=2, fontsize=FONT_SIZES["annotation"]
        )
        if horizontal:  # room for the value labels at the end of the bars
            ax.margins(x=0.15)
        else:
            ax.margins(y=0.12)
    _label(ax, title, xlabel, ylabel)
    return ax


def heatmap(
    matrix: np.ndarray,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    title: str = "",
    cmap: str = "viridis",
    xlabel: str = "column",
    ylabel: str = "row",
    colorbar_label: str = "value",
    annotate: bool = False,
    value_format: str = "{:.2f}",
    vmin: float | None = None,
    vmax: float | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """A matrix as coloured cells with a labelled colour bar; ``annotate`` writes each value in its cell.

    ``title`` is required (its default is empty only so the labels can come first positionally).
    ``cmap`` must be one of :data:`SAFE_CMAPS` (colour-blind safe); labels, if given, must match
    the matrix's shape.
    """
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {matrix.shape}")
    require_cmap(cmap)
    for name, labels, size in (
        ("row_labels", row_labels, matrix.shape[0]),
        ("col_labels", col_labels, matrix.shape[1]),
    ):
        if labels is not None and len(labels) != size:
            raise ValueError(f"{name} has {len(labels)} entries but the matrix has {size} along that axis")
    rows, cols = matrix.shape
    ax = _axes(ax, (min(12, 0.6 * cols + 3), min(10, 0.5 * rows + 2)))
    image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    colorbar = ax.figure.colorbar(image, ax=ax)
    colorbar.set_label(colorbar_label, fontsize=FONT_SIZES["label"])
    colorbar.ax.tick_params(labelsize=FONT_SIZES["tick"])
    if row_labels is not None:
        ax.set_yticks(np.arange(rows), row_labels)
    if col_labels is not None:
        ax.set_xticks(np.arange(cols), col_labels, rotation=45 if max(map(len, col_labels), default=0) > 3 else 0)
    if annotate:
        _annotate_cells(ax, matrix, image, value_format)
    _label(ax, title, xlabel, ylabel)
    return ax


def _annotate_cells(ax: plt.Axes, matrix: np.ndarray, image, value_format: str) -> None:
    """Write each value in its cell, in black on light cells and white on dark ones."""
    for (r, c), value in np.ndenumerate(matrix):
        red, green, blue, _ = image.cmap(image.norm(value))
        brightness = 0.299 * red + 0.587 * green + 0.114 * blue
        ax.text(
            c,
            r,
            value_format.format(value),
            ha="center",
            va="center",
            fontsize=FONT_SIZES["annotation"],
            color="black" if brightness > 0.5 else "white",
        )


def line_chart(
    x: Sequence[float],
    series: Mapping[str, Sequence[float]],
    title: str,
    xlabel: str,
    ylabel: str,
    logy: bool = False,
    markers: bool = False,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """One line per named series against the shared ``x``, with a legend when there are several.

    Each series has its own colour and line style, so the lines can be told apart in grey too.
    """
    ax = _axes(ax, (7, 4))
    for index, (name, ys) in enumerate(series.items()):
        if len(ys) != len(x):
            raise ValueError(f"series {name!r} has {len(ys)} values but x has {len(x)}")
        style = LINE_STYLES[index % len(LINE_STYLES)]  # not told apart by colour alone
        color = COLORS[index % len(COLORS)]
        ax.plot(x, ys, label=name, color=color, ls=style, marker="o" if markers else None, markersize=4)
    if logy:
        ax.set_yscale("log")
    if len(series) > 1:
        ax.legend(fontsize=FONT_SIZES["tick"])
    ax.grid(alpha=0.3)
    _label(ax, title, xlabel, ylabel)
    return ax


def word_map(
    coords: np.ndarray,
    words: Sequence[str],
    title: str,
    xlabel: str,
    ylabel: str,
    arrows: Sequence[tuple[str, str]] = (),
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Words as labelled points at ``coords`` (n x 2), with an arrow for each (from_word, to_word) pair.

    Arrows take the colours of the course palette in turn, so parallel arrows are easy to compare.
    """
    coords = np.asarray(coords, dtype=float)
    if coords.ndim != 2 or coords.shape[1] != 2 or len(coords) != len(words):
        raise ValueError(f"coords must have shape ({len(words)}, 2) (one x, y per word), got {coords.shape}")
    position = {word: coords[i] for i, word in enumerate(words)}
    ax = _axes(ax, (7, 5.5))
    ax.scatter(coords[:, 0], coords[:, 1], s=25, color="#555555", zorder=3)
    for index, (start, end) in enumerate(arrows):
        if start not in position or end not in position:
            raise ValueError(f"arrow ({start!r}, {end!r}) names a word that is not among the points")
        ax.annotate(
            "",
            xy=position[end],
            xytext=position[start],
            arrowprops={"arrowstyle": "->", "color": COLORS[index % len(COLORS)], "lw": 1.8},
            zorder=2,
        )
    for word, (x, y) in position.items():
        ax.annotate(word, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=FONT_SIZES["annotation"] + 1)
    ax.margins(0.12)
    ax.grid(alpha=0.3)
    _label(ax, title, xlabel, ylabel)
    return ax


def vectors_2d(
    vectors: Mapping[str, Sequence[float]],
    title: str,
    xlabel: str = "x",
    ylabel: str = "y",
    limit: float | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Named 2-D vectors as arrows from the origin, on equal axes with a grid (``limit`` fixes the range)."""
    ax = _axes(ax, (5, 5))
    reach = 1.0
    for index, (name, vector) in enumerate(vectors.items()):
        x, y = (float(v) for v in vector)
        color = COLORS[index % len(COLORS)]
        ax.annotate("", xy=(x, y), xytext=(0, 0), arrowprops={"arrowstyle": "-|>", "color": color, "lw": 2.5})
        ax.annotate(
            name,
            (x, y),
            xytext=(6, 6),
            textcoords="offset points",
            color=color,
            fontweight="bold",
            fontsize=FONT_SIZES["label"],
        )
        reach = max(reach, abs(x), abs(y))
    lim = limit if limit is not None else 1.2 * reach
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.axhline(0, color="#999999", lw=0.8)
    ax.axvline(0, color="#999999", lw=0.8)
    ax.grid(alpha=0.3)
    _label(ax, title, xlabel, ylabel)
    return ax


def dot_product_picture(a: Sequence[float], b: Sequence[float], limit: float = 3.2, ax: plt.Axes | None = None):
    """Two 2-D vectors from the origin, the angle between them, and b's shadow on a's line.

    The title gives the dot product and the cosine, so the drawing and the numbers can be read together.
    """
    a, b = two_vectors(a, b)
    ax = vectors_2d({"a": a, "b": b}, "placeholder", "x", "y", limit=limit, ax=ax)
    dot = float(a @ b)
    lengths = float(np.linalg.norm(a) * np.linalg.norm(b))
    if np.linalg.norm(a) > 0:
        shadow = (dot / float(a @ a)) * a  # the point of a's line closest to b's tip
        ax.plot([b[0], shadow[0]], [b[1], shadow[1]], ls=":", color="#555555", lw=1.2)
        ax.plot([0, shadow[0]], [0, shadow[1]], color=COLORS[2], lw=5, alpha=0.45, solid_capstyle="butt")
    if lengths > 0:
        start, end = np.degrees(np.arctan2(a[1], a[0])), np.degrees(np.arctan2(b[1], b[0]))
        sweep = (end - start + 180) % 360 - 180  # the short way round, signed
        theta = np.radians(start + np.linspace(0, sweep, 40))
        radius = 0.22 * limit
        ax.plot(radius * np.cos(theta), radius * np.sin(theta), color="#555555", lw=1)
        cosine = dot / lengths
        title = f"a · b = {signed(dot)}    cos θ = {signed(cosine)}    θ = {abs(sweep):.0f}°"
    else:
        title = f"a · b = {signed(dot)}    (a zero vector has no angle)"
    ax.set_title(title, fontsize=FONT_SIZES["title"])
    return ax


# Inches one character's tick label needs at the tick font size: a monospace glyph is 0.6 em wide,
# so 0.62 em spaces the labels like ordinary monospace text.
_MONOSPACE_PITCH = 0.62 * FONT_SIZES["tick"] / 72


def values_along_text(
    values: Sequence[float],
    text: str,
    title: str,
    ylabel: str,
    highlight: Sequence[bool] | None = None,
    highlight_label: str | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """One value per character of ``text`` (a neuron's activation, a probability...) as a line with
    the characters as x tick labels (space '·', newline '↵'); ``highlight`` shades chosen positions."""
    values = np.asarray(values, dtype=float)
    if values.shape != (len(text),):
        raise ValueError(f"values must have one entry per character of text ({len(text)}), got shape {values.shape}")
    ax = _axes(ax, (min(16, 2 + 0.16 * len(text)), 3.6))
    positions = np.arange(len(text))
    if highlight is not None:
        highlight = np.asarray(highlight, dtype=bool)
        if highlight.shape != values.shape:
            raise ValueError(f"highlight must have one entry per character ({len(text)}), got shape {highlight.shape}")
        for n, i in enumerate(np.flatnonzero(highlight)):
            label = highlight_label if n == 0 else None
            ax.axvspan(i - 0.5, i + 0.5, color=COLORS[1], alpha=0.3, lw=0, label=label)
        if highlight_label and highlight.any():
            ax.legend(loc="upper right", fontsize=FONT_SIZES["tick"])
    ax.plot(positions, values, color=COLORS[0], marker="o", markersize=3, lw=1.2)
    ax.axhline(0, color="black", lw=0.6)
    # Label every character if the labels fit at the tick size, else every step-th one.
    axes_inches = ax.get_position().width * ax.figure.get_figwidth()
    step = max(1, math.ceil(len(text) * _MONOSPACE_PITCH / max(axes_inches, 1e-9)))
    ax.set_xticks(
        positions[::step], [show_piece(c) for c in text[::step]], fontsize=FONT_SIZES["tick"], fontfamily="monospace"
    )
    ax.set_xlim(-0.5, len(text) - 0.5)
    ax.grid(alpha=0.3, axis="y")
    _label(ax, title, "character of the text", ylabel)
    return ax


def top_probabilities(
    probs: Sequence[float],
    labels: Sequence[str],
    k: int = 10,
    title: str = "The most likely next tokens",
    xlabel: str = "probability",
    ylabel: str = "next token",
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """The ``k`` largest entries of a probability distribution as horizontal bars, most likely on top.

    ``labels`` names every entry (a token's text); whitespace is made visible and named ("space '·'",
    "newline '↵'") so that it is not an empty label. Each bar shows its value to 3 decimals.
    """
    values, shown = likeliest(probs, labels, k)
    return bar_chart(
        values, shown, title, xlabel, ylabel, horizontal=True, value_format="{:.3f}", color=COLORS[0], ax=ax
    )


def loss_curves(
    runs: Mapping[str, Sequence[Mapping[str, float]]],
    title: str = "Loss while training",
    xlabel: str = "training step",
    ylabel: str = "cross-entropy loss (nats per token)",
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Training (solid) and validation (dashed) loss of one or more runs, one colour per run.

    ``runs`` maps a run's name to its history: a list of records with keys ``iter``, ``train_loss`` and
    ``val_loss`` (what :func:`course_lib.training.train` returns in ``TrainResult.history``).
    """
    if not runs:
        raise ValueError("runs must name at least one training history, got an empty mapping")
    ax = _axes(ax, (7, 4))
    for index, (name, history) in enumerate(runs.items()):
        require_history(name, history)
        color = COLORS[index % len(COLORS)]
        steps = [record["iter"] for record in history]
        prefix = f"{name}: " if len(runs) > 1 else ""
        ax.plot(steps, [r["train_loss"] for r in history], color=color, marker="o", ms=3, label=prefix + "training")
        ax.plot(
            steps, [r["val_loss"] for r in history], color=color, ls="--", marker="s", ms=3, label=prefix + "validation"
        )
    ax.legend(fontsize=FONT_SIZES["tick"])
    ax.grid(alpha=0.3)
    _label(ax, title, xlabel, ylabel)
    return ax


def pipeline_diagram(
    stages: Sequence[tuple[str, str]],
    title: str,
    loop_label: str | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """A flow chart: one box per ``(name, detail)`` stage, left to right, joined by arrows.

    ``loop_label``, if given, draws an arrow from the last box back to the first with that label
    (generation feeding its output back in). A diagram has no data axes, so they are hidden.
    """
    if not stages:
        raise ValueError("stages must list at least one (name, detail) pair")
    n = len(stages)
    ax = _axes(ax, (max(8.0, 2.0 * n), 3.4))
    width, gap = 1.75, 0.45
    for i, (name, detail) in enumerate(stages):
        x = i * (width + gap)
        color = COLORS[i % 6]
        ax.add_patch(
            FancyBboxPatch((x, 0.0), width, 1.2, boxstyle="round,pad=0.05", fc=color, ec="black", alpha=0.25, lw=1)
        )
        ax.text(
            x + width / 2,
            0.82,
            name,
            ha="center",
            va="center",
            fontsize=FONT_SIZES["annotation"] + 1,
            fontweight="bold",
        )
        ax.text(x + width / 2, 0.36, detail, ha="center", va="center", fontsize=FONT_SIZES["annotation"], wrap=True)
        if i < n - 1:
            ax.add_patch(
                FancyArrowPatch(
                    (x + width + 0.06, 0.6), (x + width + gap - 0.06, 0.6), arrowstyle="-|>", mutation_scale=14
                )
            )
    right = (n - 1) * (width + gap) + width
    if loop_label:
        ax.add_patch(
            FancyArrowPatch(
                (right - width / 2, -0.08),
                (width / 2, -0.08),
                connectionstyle="arc3,rad=-0.12",
                arrowstyle="-|>",
                mutation_scale=14,
                color=COLORS[5],
                lw=1.5,
            )
        )
        ax.text(right / 2, -0.85, loop_label, ha="center", va="center", color=COLORS[5], fontsize=FONT_SIZES["label"])
    ax.set_xlim(-0.2, right + 0.2)
    ax.set_ylim(-1.05 if loop_label else -0.2, 1.4)
    ax.set_axis_off()
    ax.set_title(title, fontsize=FONT_SIZES["title"])
    return ax
