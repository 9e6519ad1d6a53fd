"""Text descriptions of Matplotlib figures, for readers who cannot see them: the ``alt`` text of their images.

:func:`course_lib.show.figures.use_course_style` makes every figure a notebook shows carry
:func:`describe_figure`'s text; the SVG figures (:mod:`course_lib.show.svg`) describe themselves in the
same words.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.category import StrCategoryLocator
from matplotlib.collections import PathCollection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from matplotlib.ticker import FixedLocator


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
    if not isinstance(axis.get_major_locator(), FixedLocator | StrCategoryLocator):
        return []
    labels = [label.get_text() for label in axis.get_ticklabels()]
    return labels if any(labels) else []


def _describe_axes(ax: Axes, max_items: int) -> str:
    """One panel: '<kind> '<title>': x = ..., y = ...; <details>'."""
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


def _describe_image(ax: Axes, image, max_items: int) -> str:
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


def _describe_bars(ax: Axes, bars, horizontal: bool, max_items: int) -> str:
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
