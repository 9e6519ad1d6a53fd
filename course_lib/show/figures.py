"""Plot helpers shared by the lessons: labelled axes, readable fonts, colour-blind-safe colours.

Each helper draws on a Matplotlib ``Axes`` (a new figure unless ``ax`` is given) and returns
it, so a lesson can add to it; the lesson ends the cell with ``plt.show()``.

:func:`use_course_style` also gives every figure a notebook shows a text description (the ``alt``
text of its image, built by :func:`describe_figure`), for readers who cannot see the picture.

Add new helpers at the end, each documented, each labelling its axes and giving a title.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

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
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    if matplotlib.get_backend(auto_select=False) in ("inline", "module://matplotlib_inline.backend_inline"):
        import matplotlib_inline.backend_inline  # noqa: F401  (loading it registers the PNG formatter)
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
    for name, value in (("title", title), ("xlabel", xlabel), ("ylabel", ylabel)):
        if not value:
            raise ValueError(f"{name} must be a non-empty string: every course plot is titled and labelled")
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
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) != len(labels):
        raise ValueError(
            f"values and labels must have the same length, got {values.shape} values and {len(labels)} labels"
        )
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
    if cmap not in SAFE_CMAPS and cmap.removesuffix("_r") not in SAFE_CMAPS:
        raise ValueError(f"cmap {cmap!r} is not in the colour-blind-safe list {SAFE_CMAPS}")
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


def line_plot(
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
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != (2,) or b.shape != (2,):
        raise ValueError(f"a and b must be 2-D vectors (two numbers each), got shapes {a.shape} and {b.shape}")
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
    from .tokenizers import show_piece

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


def likeliest(probs: Sequence[float], labels: Sequence[str], k: int) -> tuple[np.ndarray, list[str]]:
    """The ``k`` largest entries of ``probs``, largest first, and their labels made readable:
    whitespace is shown and named ("space '·'", "newline '↵'"), other labels are quoted."""
    from .tokenizers import show_piece

    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 1 or len(probs) != len(labels):
        raise ValueError(f"probs must be 1-D with one entry per label ({len(labels)}), got shape {probs.shape}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    order = np.argsort(-probs, kind="stable")[:k]
    named = {" ": "space '·'", "\n": "newline '↵'", "\t": "tab '→'"}  # a lone '·' is easily read as '.'
    return probs[order], [named.get(labels[i], repr(show_piece(labels[i]))) for i in order]


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
        if not history:
            raise ValueError(f"run {name!r} has an empty history: nothing to plot")
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
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

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


# --------------------------------------------------------------------------- text descriptions (alt text)


def describe_figure(fig: Figure, max_items: int = 8) -> str:
    """A short text description of ``fig`` for readers who cannot see it: the ``alt`` text of its image.

    Built from what the figure holds, panel by panel: the kind of plot, its title, what the axes
    show, then the lines, bars, cells or points, for example "Line plot 'Loss while training':
    x = training step, y = loss; 2 lines: training (from 4.17 to 1.52), validation (from 4.18 to 1.6)".
    Lists stop after ``max_items`` entries. A colour bar is described with the panel it explains.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a Matplotlib Figure, got {type(fig).__name__}")
    colorbar_axes = {
        mappable.colorbar.ax
        for ax in fig.axes
        for mappable in (*ax.images, *ax.collections)
        if getattr(mappable, "colorbar", None) is not None
    }
    panels = [ax for ax in fig.axes if ax.get_visible() and ax not in colorbar_axes]
    descriptions = [_describe_axes(ax, max_items) for ax in panels]
    suptitle = fig.get_suptitle()
    if len(descriptions) == 1 and not suptitle:
        return descriptions[0]
    if not descriptions:
        return f"Figure '{suptitle}' with nothing drawn" if suptitle else "Empty figure"
    heading = f"Figure with {len(descriptions)} panel{'s' if len(descriptions) > 1 else ''}"
    heading += f", '{suptitle}'" if suptitle else ""
    return heading + ". " + " ".join(f"Panel {i}: {text}." for i, text in enumerate(descriptions, 1))


def _listed(items: Sequence[str], max_items: int) -> str:
    """'a, b, c' with at most ``max_items`` items and 'and N more' for the rest."""
    shown = ", ".join(items[:max_items])
    return shown + (f" and {len(items) - max_items} more" if len(items) > max_items else "")


def _fixed_tick_labels(axis) -> list[str]:
    """The tick labels set by name (``set_xticks(positions, labels)``), or [] for a numeric scale."""
    from matplotlib.category import StrCategoryLocator
    from matplotlib.ticker import FixedLocator

    if not isinstance(axis.get_major_locator(), FixedLocator | StrCategoryLocator):
        return []
    labels = [label.get_text() for label in axis.get_ticklabels()]
    return labels if any(labels) else []


def _describe_axes(ax: plt.Axes, max_items: int) -> str:
    """One panel: '<kind> '<title>': x = ..., y = ...; <details>'."""
    from matplotlib.collections import PathCollection
    from matplotlib.container import BarContainer
    from matplotlib.text import Annotation

    images = [image for image in ax.images if image.get_visible()]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    points = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets())]
    lines = [line for line in ax.lines if line.get_visible() and line.get_transform() is ax.transData]
    arrows = [t for t in ax.texts if isinstance(t, Annotation) and t.arrow_patch is not None]
    words = [" ".join(t.get_text().split()) for t in ax.texts if t.get_text().strip() and not _is_bar_label(t, bars)]
    details, kinds = [], []
    if images:
        kinds.append("Heatmap")
        details.append(_describe_image(ax, images[0], max_items))
    if bars and all(map(_is_histogram, bars)):
        kinds.append("Histogram")
        details.append("; ".join(_describe_histogram(container) for container in bars))
    elif bars:
        horizontal = bars[0].orientation == "horizontal"
        kinds.append("Horizontal bar chart" if horizontal else "Bar chart")
        details.append(_describe_bars(ax, bars, horizontal, max_items))
    if points:
        kinds.append("Scatter plot")
        details.append(f"{sum(len(c.get_offsets()) for c in points)} points")
    if arrows:
        kinds.append("Arrow diagram")
        details.append(f"{len(arrows)} arrow{'s' if len(arrows) > 1 else ''}")
    if lines:
        kinds.append("Line plot")
        details.append(_describe_lines(lines, max_items))
    if words and not images:  # a heatmap's cell values are already summarised
        details.append("labels: " + _listed(words, max_items if ax.axison else len(words)))  # a diagram's in full
    if not kinds:
        kinds.append("Diagram" if not ax.axison else "Empty plot")
    title = " ".join((ax.get_title() or ax.get_title("left") or ax.get_title("right")).split())
    text = kinds[0] + (f" '{title}'" if title else "")
    if ax.axison:
        xlabel, ylabel = (" ".join(label.split()) or "unlabelled" for label in (ax.get_xlabel(), ax.get_ylabel()))
        axes = [f"x = {xlabel}", f"y = {ylabel}"]
        axes += [f"{name} on a log scale" for name in "xy" if getattr(ax, f"get_{name}scale")() == "log"]
        text += ": " + ", ".join(axes)
    return "; ".join([text, *details])


def _is_bar_label(text, bars) -> bool:
    """Whether ``text`` is a number written on a bar (the bars' values are listed already)."""
    if not bars:
        return False
    try:
        float(text.get_text().replace(",", "").replace("%", ""))
    except ValueError:
        return False
    return True


def _describe_image(ax: plt.Axes, image, max_items: int) -> str:
    rows, cols = np.asarray(image.get_array()).shape[:2]
    parts = [f"{rows} x {cols} cells"]
    colorbar = getattr(image, "colorbar", None)
    name = colorbar.ax.get_ylabel() if colorbar is not None else ""
    low, high = image.norm.vmin, image.norm.vmax
    if low is not None and high is not None:
        parts.append(f"colour = {name or 'value'} from {low:,.4g} to {high:,.4g}")
    for which, axis in (("rows", ax.yaxis), ("columns", ax.xaxis)):
        labels = _fixed_tick_labels(axis)
        if labels:
            parts.append(f"{which}: {_listed(labels, max_items)}")
    return "; ".join(parts)


def _describe_bars(ax: plt.Axes, bars, horizontal: bool, max_items: int) -> str:
    """'3 bars: a 1, b 2, c 3', or per named series when there are several (stacked or grouped bars)."""
    names = _fixed_tick_labels(ax.yaxis if horizontal else ax.xaxis)
    groups = []
    for container in bars:
        values = [float(v) for v in container.datavalues]
        if len(names) == len(values):
            items = [f"{name} {value:,.4g}" for name, value in zip(names, values, strict=True)]
        else:
            items = [f"{value:,.4g}" for value in values]
        label = container.get_label() or ""
        named = len(bars) > 1 and not label.startswith("_") and label
        groups.append((f"{label}: " if named else "") + _listed(items, max_items))
    count = sum(len(container) for container in bars)
    heading = f"{count} bar{'s' if count > 1 else ''}" + (f" in {len(bars)} series" if len(bars) > 1 else "")
    return f"{heading}: " + "; ".join(groups)


def _is_histogram(container) -> bool:
    """Whether a ``BarContainer`` looks like a histogram: five or more vertical bars of counts, side by side."""
    if container.orientation != "vertical" or len(container) < 5 or min(container.datavalues) < 0:
        return False
    edges = sorted((bar.get_x(), bar.get_x() + bar.get_width()) for bar in container)
    return all(np.isclose(right, left) for (_, right), (left, _) in zip(edges, edges[1:], strict=False))


def _describe_histogram(container) -> str:
    """'elsewhere: 39 bins from -0.2 to 1.5, highest at 0.01'."""
    bars = sorted(container, key=lambda bar: bar.get_x())
    highest = max(bars, key=lambda bar: bar.get_height())
    label = bars[0].get_label() or ""  # Axes.hist names a histogram's first bar, not its container
    name = f"{label}: " if label and not label.startswith("_") else ""
    low, high = bars[0].get_x(), bars[-1].get_x() + bars[-1].get_width()
    peak = highest.get_x() + highest.get_width() / 2
    return f"{name}{len(bars)} bins from {low:,.4g} to {high:,.4g}, highest at {peak:,.4g}"


def _describe_lines(lines, max_items: int) -> str:
    """'2 lines: training (from 4.2 to 1.5), ...': where each named line starts and ends.

    Unnamed lines (construction lines of a drawing) are only counted, unless a lone line is all there is.
    """

    def ends(line) -> str:
        ys = np.asarray(line.get_ydata(), dtype=float)
        ys = ys[np.isfinite(ys)]
        return f"from {ys[0]:,.4g} to {ys[-1]:,.4g}" if ys.size else "no values"

    count = f"{len(lines)} line{'s' if len(lines) > 1 else ''}"
    named = [line for line in lines if not line.get_label().startswith("_")]
    if not named:
        return f"{count}: {ends(lines[0])}" if len(lines) == 1 else count
    return f"{count}: " + _listed([f"{line.get_label()} ({ends(line)})" for line in named], max_items)
