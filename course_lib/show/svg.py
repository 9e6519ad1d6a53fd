"""Figures written as SVG text, for widgets that redraw while a learner moves a control.

A Matplotlib figure takes 0.2-1 s to lay out, draw and encode as PNG in the kernel, too slow for a
slider that should answer at once (the course aims at 150 ms). The same picture written as SVG text
takes a millisecond or two; the browser draws it. So the lessons' widgets show these figures, while
the static figures of the lessons stay Matplotlib (:mod:`course_lib.show.figures`).

The figures follow the same rules as :mod:`course_lib.show.figures`, and a picture drawn both ways has the
same name and the same arguments in both, checked by the same functions (:mod:`course_lib.show.style`):

- every figure has a title and labelled axes;
- text is at least 16 px (12 pt, :data:`course_lib.show.style.MIN_FONT_SIZE`), readable on a projector;
- colours come from the colour-blind-safe palette and colour maps, and lines also differ by dash;
- each figure carries a text description (``role="img"``, ``aria-label`` and ``<title>``) for screen
  readers, in the words :func:`course_lib.show.alt_text.describe_figure` uses for Matplotlib figures.

Each function returns one ``<svg>`` as a string (``row`` puts several side by side). Each ``<svg>``
has a ``data-digest``: a hash of what it draws, so a test can tell which picture a page shows.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib  # the colour maps only: this module never loads matplotlib.pyplot
import numpy as np
from PIL import Image

from course_lib.show.style import (
    COLORS,
    MIN_FONT_SIZE,
    bar_values,
    likeliest,
    require_cmap,
    require_history,
    require_labels,
    signed,
    two_vectors,
)

# Pixels (an SVG's unit): a point is 4/3 px, so the smallest text is 16 px.
PX_PER_PT = 4 / 3
SIZES = {"title": 20, "label": 18, "tick": round(MIN_FONT_SIZE * PX_PER_PT), "annotation": 16}
DASHES = ["", "7 4", "9 3 2 3", "2 3"]  # solid, dashed, dash-dot, dotted: plots.LINE_STYLES as SVG dashes
HIGHLIGHT = COLORS[1]  # an outlined row, shaded positions: orange, apart from the blue data
GRID = "#DDDDDD"
CHAR_WIDTH = 0.6  # a monospace glyph's width, in ems; ordinary text is narrower, so this bounds both


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _n(value: float) -> str:
    """A coordinate with one decimal: short text, and the same text for the same picture."""
    return f"{value:.1f}"


def _text(x: float, y: float, text: str, size: str = "tick", anchor: str = "middle", **extra: str) -> str:
    """A line of text at (x, y); ``extra`` become attributes (``rotate=-45`` rotates it about (x, y))."""
    rotate = extra.pop("rotate", None)
    attrs = "".join(f' {k.replace("_", "-")}="{_e(v)}"' for k, v in extra.items())
    turn = f' transform="rotate({rotate} {_n(x)} {_n(y)})"' if rotate is not None else ""
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{SIZES[size]}" text-anchor="{anchor}" style="white-space:pre"'
        f"{turn}{attrs}>{_e(text)}</text>"
    )


def _rect(x: float, y: float, width: float, height: float, fill: str, **extra: str) -> str:
    attrs = "".join(f' {k.replace("_", "-")}="{_e(v)}"' for k, v in extra.items())
    return f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="{_n(height)}" fill="{fill}"{attrs}/>'


def _fits(title: str) -> float:
    """The width a figure needs so that its bold title fits, with margins."""
    return len(title) * 0.62 * SIZES["title"] + 120


def _line(x1: float, y1: float, x2: float, y2: float, color: str = "#000", width: float = 1, dash: str = "") -> str:
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{color}" '
        f'stroke-width="{width}"{dashes}/>'
    )


def _listed(items: Sequence[str], max_items: int = 8) -> str:
    shown = ", ".join(items[:max_items])
    return shown + (f" and {len(items) - max_items} more" if len(items) > max_items else "")


def figure(width: float, height: float, body: Sequence[str], description: str) -> str:
    """An ``<svg>`` of ``width`` x ``height`` px holding ``body``, described by ``description``.

    It shrinks to fit a narrow page (never grows), and reads as one image to a screen reader.
    """
    if not description.strip():
        raise ValueError("description must say in words what the figure shows")
    content = "".join(body)
    digest = hashlib.sha256(content.encode()).hexdigest()[:16]
    return (
        f'<svg class="course-figure" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'width="{_n(width)}" height="{_n(height)}" role="img" aria-label="{_e(description)}" '
        f'data-digest="{digest}" style="max-width:100%; height:auto; font-family:sans-serif; background:#fff">'
        f"<title>{_e(description)}</title>{content}</svg>"
    )


def row(*figures: str) -> str:
    """Figures side by side, wrapping onto the next line when the page is narrow."""
    return f'<div class="course-figures" style="display:flex; flex-wrap:wrap; gap:8px">{"".join(figures)}</div>'


# --------------------------------------------------------------------------- a panel: data to pixels


@dataclass(frozen=True)
class Panel:
    """The plotting area of a figure: where data coordinates land in pixels."""

    left: float
    top: float
    width: float
    height: float
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def x(self, value: float) -> float:
        low, high = self.xlim
        return self.left + (value - low) / (high - low) * self.width

    def y(self, value: float) -> float:  # up is larger, as in a plot
        low, high = self.ylim
        return self.top + (high - value) / (high - low) * self.height

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round numbers between ``low`` and ``high`` (inclusive), for tick marks."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        raise ValueError(f"need finite limits with low < high, got {low}, {high}")
    raw = (high - low) / max(count, 1)
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if step * m >= raw)
    decimals = max(0, 3 - math.floor(math.log10(step)))  # enough to write any multiple of the step exactly
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    return [round(k * step, decimals) + 0.0 for k in range(first, last + 1)]  # + 0.0 turns -0.0 into 0.0


def _tick_text(value: float) -> str:
    return f"{value:g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.0e}"


def _frame(panel: Panel, title: str, xlabel: str, ylabel: str, *, yticks: bool = True, grid: bool = True) -> list[str]:
    """Title, axis labels, the y ticks with grid lines, and the box around the panel."""
    require_labels(title, xlabel, ylabel)
    parts = []
    if yticks:
        for tick in nice_ticks(*panel.ylim):
            y = panel.y(tick)
            if grid:
                parts.append(_line(panel.left, y, panel.right, y, GRID))
            parts.append(_text(panel.left - 6, y + 5, _tick_text(tick), anchor="end"))
    parts.append(
        f'<rect x="{_n(panel.left)}" y="{_n(panel.top)}" width="{_n(panel.width)}" height="{_n(panel.height)}" '
        'fill="none" stroke="#444"/>'
    )
    parts.append(_text(panel.left + panel.width / 2, panel.top - 12, title, "title", font_weight="bold"))
    parts.append(_text(panel.left + panel.width / 2, panel.bottom + 58, xlabel, "label"))
    middle = panel.top + panel.height / 2
    parts.append(_text(18, middle, ylabel, "label", rotate=-90))
    return parts


def _limits(values: np.ndarray, limits: tuple[float, float] | None, pad: float = 0.1) -> tuple[float, float]:
    """``limits`` if given, else the data's range with some room, always including 0 (bars start there)."""
    if limits is not None:
        low, high = (float(v) for v in limits)
        if not low < high:
            raise ValueError(f"limits must be (low, high) with low < high, got {limits}")
        return low, high
    low, high = min(0.0, float(values.min())), max(0.0, float(values.max()))
    if low == high == 0.0:  # all zero: show 0 to 1 rather than an empty range
        return 0.0, 1.0
    span = high - low
    return (low - pad * span if low < 0 else 0.0), (high + pad * span if high > 0 else 0.0)


def _finite(values: Sequence[float], name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite numbers, got {array[~np.isfinite(array)][:3]} among them")
    return array


def _label_step(labels: Sequence[str], room: float) -> int:
    """Label every step-th position so that the labels, ``room`` px apart each, do not overlap."""
    widest = max((len(label) for label in labels), default=1) * CHAR_WIDTH * SIZES["tick"] + 4
    return max(1, math.ceil(widest / max(room, 1e-9)))


# --------------------------------------------------------------------------- bars


def bar_chart(
    values: Sequence[float],
    labels: Sequence[str],
    title: str,
    xlabel: str,
    ylabel: str,
    *,
    horizontal: bool = False,
    value_format: str | None = "{:.2f}",
    limits: tuple[float, float] | None = None,
    color: str = COLORS[0],
    width: float | None = None,
) -> str:
    """Bars with one label each, like :func:`course_lib.show.figures.bar_chart`; ``value_format`` (None: no
    numbers) writes each value at its bar's end. ``limits`` fixes the value axis, so that bars can be
    compared while a slider moves; bars may be negative."""
    values = bar_values(_finite(values, "values"), labels)
    low, high = _limits(values, limits, pad=0.18 if value_format else 0.05)
    shown = [value_format.format(v) for v in values] if value_format else []
    n = len(values)
    if horizontal:
        label_room = max(len(label) for label in labels) * CHAR_WIDTH * SIZES["tick"] + 14
        width = max(width or 700, _fits(title) + label_room)
        panel = Panel(60 + label_room, 40, width - 80 - label_room, 30 * n + 10, (low, high), (0, n))
        parts = _frame(panel, title, xlabel, ylabel, yticks=False)  # the value axis is x, ticked below
        for tick in nice_ticks(low, high):
            x = panel.x(tick)
            parts.insert(0, _line(x, panel.top, x, panel.bottom, GRID))
            parts.append(_text(x, panel.bottom + 22, _tick_text(tick)))
        zero = panel.x(min(max(0.0, low), high))
        for i, (value, label) in enumerate(zip(values, labels, strict=True)):
            top = panel.top + 5 + 30 * i
            end = panel.x(min(max(value, low), high))
            parts.append(_rect(min(zero, end), top + 3, abs(end - zero), 22, color))
            parts.append(_text(panel.left - 8, top + 20, label, anchor="end", font_family="monospace"))
            if shown:
                parts.append(
                    _text(
                        end + (5 if value >= 0 else -5),
                        top + 20,
                        shown[i],
                        "annotation",
                        "start" if value >= 0 else "end",
                    )
                )
        height = panel.bottom + 75
    else:
        width = width or max(360, 120 + 56 * n, _fits(title))
        panel = Panel(80, 40, width - 100, 250, (-0.5, n - 0.5), (low, high))
        parts = _frame(panel, title, xlabel, ylabel)
        slot = panel.width / n
        zero = panel.y(min(max(0.0, low), high))
        step = _label_step(labels, slot)
        for i, value in enumerate(values):
            x, end = panel.x(i), panel.y(min(max(value, low), high))
            parts.append(
                f'<rect x="{_n(x - 0.4 * slot)}" y="{_n(min(zero, end))}" width="{_n(0.8 * slot)}" '
                f'height="{_n(abs(end - zero))}" fill="{color}"/>'
            )
            if shown:
                parts.append(_text(x, end - 6 if value >= 0 else end + 18, shown[i], "annotation"))
            if i % step == 0:
                parts.append(_text(x, panel.bottom + 22, labels[i], font_family="monospace"))
        if low < 0 < high:
            parts.append(_line(panel.left, zero, panel.right, zero, "#000", 1.2))
        height = panel.bottom + 75
    items = [f"{label} {shown[i] if shown else f'{values[i]:.3g}'}" for i, label in enumerate(labels)]
    measured, measure = (xlabel, ylabel) if horizontal else (ylabel, xlabel)
    description = f"Bar chart '{title}': {measured} for each {measure}; {n} bars: {_listed(items)}"
    return figure(width, height, parts, description)


# --------------------------------------------------------------------------- lines


def line_chart(
    x: Sequence[float],
    series: Mapping[str, Sequence[float]],
    title: str,
    xlabel: str,
    ylabel: str,
    *,
    limits: tuple[float, float] | None = None,
    x_labels: Sequence[str] | None = None,
    highlight: Sequence[bool] | None = None,
    highlight_label: str | None = None,
    mark_x: float | None = None,
    markers: bool = True,
    width: float = 700,
) -> str:
    """One line per named series against the shared ``x`` (like :func:`course_lib.show.figures.line_chart`).

    Each series has its own colour and dash, with a legend when there are several. ``x_labels`` writes
    a label (a character of a text) under each x, ``highlight`` shades chosen x positions (named
    ``highlight_label`` in the legend), ``mark_x`` draws a dotted vertical line.
    """
    x = _finite(x, "x")
    if not series:
        raise ValueError("series must name at least one line, got an empty mapping")
    lines = {name: _finite(ys, f"series {name!r}") for name, ys in series.items()}
    for name, ys in lines.items():
        if len(ys) != len(x):
            raise ValueError(f"series {name!r} has {len(ys)} values but x has {len(x)}")
    everything = np.concatenate(list(lines.values()))
    if limits is None:
        low, high = float(everything.min()), float(everything.max())
        span = (high - low) or 1.0
        limits = (low - 0.08 * span, high + 0.08 * span)
    low, high = _limits(everything, limits)
    x_low, x_high = float(x.min()) - 0.5, float(x.max()) + 0.5
    legend = len(lines) > 1 or bool(highlight_label)
    width = max(width, _fits(title) + (150 if legend else 0))
    panel = Panel(80, 40, width - 100 - (150 if legend else 0), 240, (x_low, x_high), (low, high))
    parts = _frame(panel, title, xlabel, ylabel)
    if highlight is not None:
        shaded = np.asarray(highlight, dtype=bool)
        if shaded.shape != x.shape:
            raise ValueError(f"highlight must have one entry per x ({len(x)}), got shape {shaded.shape}")
        for i in np.flatnonzero(shaded):
            left = panel.x(x[i] - 0.5)
            parts.insert(
                0, _rect(left, panel.top, panel.x(x[i] + 0.5) - left, panel.height, HIGHLIGHT, fill_opacity="0.3")
            )
    if low < 0 < high:
        parts.append(_line(panel.left, panel.y(0), panel.right, panel.y(0), "#000", 0.8))
    if mark_x is not None:
        parts.append(_line(panel.x(mark_x), panel.top, panel.x(mark_x), panel.bottom, "#555", 1.2, "2 3"))
    for index, ys in enumerate(lines.values()):
        color, dash = COLORS[index % len(COLORS)], DASHES[index % len(DASHES)]
        points = " ".join(f"{_n(panel.x(a))},{_n(panel.y(min(max(b, low), high)))}" for a, b in zip(x, ys, strict=True))
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"{dashes}/>')
        if markers and len(x) <= 200:
            parts += [
                f'<circle cx="{_n(panel.x(a))}" cy="{_n(panel.y(min(max(b, low), high)))}" r="3" fill="{color}"/>'
                for a, b in zip(x, ys, strict=True)
            ]
    if x_labels is not None:
        if len(x_labels) != len(x):
            raise ValueError(f"x_labels must name each of the {len(x)} x values, got {len(x_labels)}")
        step = _label_step(x_labels, panel.width / len(x))
        parts += [
            _text(panel.x(a), panel.bottom + 22, x_labels[i], font_family="monospace")
            for i, a in enumerate(x)
            if i % step == 0
        ]
    else:
        parts += [_text(panel.x(t), panel.bottom + 22, _tick_text(t)) for t in nice_ticks(x_low, x_high)]
    if legend:
        entries = [(name, COLORS[i % len(COLORS)], DASHES[i % len(DASHES)]) for i, name in enumerate(lines)]
        top = panel.top + 10
        for i, (name, color, dash) in enumerate(entries):
            y = top + 24 * i
            parts.append(_line(panel.right + 12, y, panel.right + 42, y, color, 2, dash))
            parts.append(_text(panel.right + 48, y + 5, name, anchor="start"))
        if highlight_label:
            y = top + 24 * len(entries)
            parts.append(_rect(panel.right + 12, y - 8, 30, 16, HIGHLIGHT, fill_opacity="0.3"))
            parts.append(_text(panel.right + 48, y + 5, highlight_label, anchor="start"))
    ends = [f"{name} (from {ys[0]:.3g} to {ys[-1]:.3g})" for name, ys in lines.items()]
    count = f"{len(lines)} line{'s' if len(lines) > 1 else ''}"
    description = f"Line plot '{title}': x = {xlabel}, y = {ylabel}; {count}: {_listed(ends)}"
    if highlight is not None and highlight_label:
        description += f"; {int(np.sum(highlight))} positions shaded: {highlight_label}"
    return figure(width, panel.bottom + 75, parts, description)


# --------------------------------------------------------------------------- a matrix as coloured cells


def _cell_image(matrix: np.ndarray, cmap: str, vmin: float, vmax: float, scale: int) -> tuple[str, np.ndarray]:
    """The matrix coloured by ``cmap`` as a PNG data URL (each cell ``scale`` px square), and the RGBA colours."""
    colours = matplotlib.colormaps[cmap]((matrix - vmin) / (vmax - vmin), bytes=True)
    picture = Image.fromarray(colours, "RGBA").resize(
        (matrix.shape[1] * scale, matrix.shape[0] * scale), Image.Resampling.NEAREST
    )
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"), colours


def heatmap(
    matrix: Sequence[Sequence[float]],
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    title: str,
    xlabel: str,
    ylabel: str,
    *,
    colorbar_label: str = "value",
    vmin: float = 0.0,
    vmax: float = 1.0,
    cmap: str = "viridis",
    outline_row: int | None = None,
    annotate: bool | None = None,
    value_format: str = "{:.2f}",
    size: float = 480,
) -> str:
    """A matrix as coloured cells (like :func:`course_lib.show.figures.heatmap`), with a colour bar.

    Rows and columns are labelled (every few when there are many), ``outline_row`` is outlined in
    orange, and ``annotate`` writes each value in its cell (by default when there are at most 100 cells,
    each big enough to hold its number).
    The cells are one small PNG inside the SVG, so a 128 x 128 matrix is as quick as a 3 x 3 one.
    """
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or 0 in matrix.shape:
        raise ValueError(f"matrix must be 2-D and non-empty, got shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError("matrix must hold finite numbers (is a masked score still -inf? softmax it first)")
    require_cmap(cmap)
    rows, cols = matrix.shape
    if len(row_labels) != rows or len(col_labels) != cols:
        raise ValueError(
            f"need {rows} row labels and {cols} column labels for a {rows} x {cols} matrix, "
            f"got {len(row_labels)} and {len(col_labels)}"
        )
    if not vmin < vmax:
        raise ValueError(f"vmin must be below vmax (the colour scale's ends), got vmin={vmin}, vmax={vmax}")
    if outline_row is not None and not 0 <= outline_row < rows:
        raise ValueError(f"outline_row must be a row between 0 and {rows - 1}, got {outline_row}")
    cell = max(3.0, min(56.0, size / max(rows, cols)))
    label_room = max(len(label) for label in row_labels) * CHAR_WIDTH * SIZES["tick"] + 12
    panel = Panel(40 + label_room, 40, cell * cols, cell * rows, (0, cols), (rows, 0))
    url, colours = _cell_image(matrix, cmap, vmin, vmax, max(1, math.ceil(cell)))
    parts = _frame(panel, title, xlabel, ylabel, yticks=False)
    parts.insert(
        0,
        f'<image x="{_n(panel.left)}" y="{_n(panel.top)}" width="{_n(panel.width)}" height="{_n(panel.height)}" '
        f'preserveAspectRatio="none" href="{url}"/>',
    )
    col_step, row_step = _label_step(col_labels, cell), max(1, math.ceil(SIZES["tick"] * 1.1 / cell))
    parts += [
        _text(panel.left + cell * (c + 0.5), panel.bottom + 22, col_labels[c], font_family="monospace")
        for c in range(0, cols, col_step)
    ]
    parts += [
        _text(panel.left - 6, panel.top + cell * (r + 0.5) + 5, row_labels[r], anchor="end", font_family="monospace")
        for r in range(0, rows, row_step)
    ]
    if annotate is None:
        annotate = matrix.size <= 100 and cell >= 40
    if annotate:
        for (r, c), value in np.ndenumerate(matrix):
            red, green, blue = (int(v) for v in colours[r, c, :3])
            ink = "#000" if 0.299 * red + 0.587 * green + 0.114 * blue > 128 else "#fff"
            parts.append(
                _text(
                    panel.left + cell * (c + 0.5),
                    panel.top + cell * (r + 0.5) + 6,
                    value_format.format(value),
                    "annotation",
                    fill=ink,
                )
            )
    if outline_row is not None:
        parts.append(
            f'<rect x="{_n(panel.left)}" y="{_n(panel.top + cell * outline_row)}" width="{_n(panel.width)}" '
            f'height="{_n(cell)}" fill="none" stroke="{HIGHLIGHT}" stroke-width="4"/>'
        )
    parts += _colorbar(panel.right + 24, panel.top, panel.height, vmin, vmax, cmap, colorbar_label)
    largest = [
        f"row {row_labels[r]} column {col_labels[c]} {matrix[r, c]:.2f}"
        for r, c in zip(*np.unravel_index(np.argsort(-matrix, axis=None)[:3], matrix.shape), strict=True)
    ]
    description = (
        f"Heatmap '{title}': {rows} x {cols} cells, rows = {ylabel}, columns = {xlabel}, "
        f"colour = {colorbar_label} from {vmin:g} to {vmax:g}; largest: {_listed(largest)}"
    )
    if outline_row is not None:
        values = ", ".join(
            f"{col_labels[c]} {matrix[outline_row, c]:.2f}" for c in np.argsort(-matrix[outline_row])[:5]
        )
        description += f"; outlined row {row_labels[outline_row]}: {values}"
    return figure(panel.right + 130, panel.bottom + 75, parts, description)


def _colorbar(left: float, top: float, height: float, vmin: float, vmax: float, cmap: str, label: str) -> list[str]:
    """A vertical colour bar with ticks and ``label``, from ``vmin`` (bottom) to ``vmax`` (top)."""
    stops = "".join(
        f'<stop offset="{f:.2f}" stop-color="{matplotlib.colors.to_hex(matplotlib.colormaps[cmap](1 - f))}"/>'
        for f in np.linspace(0, 1, 11)
    )
    key = f"course-bar-{cmap}"  # the same gradient under the same id: harmless if the page holds several
    parts = [
        f'<defs><linearGradient id="{key}" x1="0" y1="0" x2="0" y2="1">{stops}</linearGradient></defs>',
        f'<rect x="{_n(left)}" y="{_n(top)}" width="18" height="{_n(height)}" fill="url(#{key})" stroke="#444"/>',
    ]
    for tick in nice_ticks(vmin, vmax, 4):
        y = top + (vmax - tick) / (vmax - vmin) * height
        parts += [_line(left + 18, y, left + 23, y, "#444"), _text(left + 26, y + 5, _tick_text(tick), anchor="start")]
    parts.append(_text(left + 84, top + height / 2, label, "label", rotate=-90))
    return parts


# --------------------------------------------------------------------------- two vectors


def dot_product_picture(a: Sequence[float], b: Sequence[float], limit: float = 3.2, size: float = 440) -> str:
    """Two 2-D vectors from the origin, the angle between them and b's shadow on a's line (lesson 03),
    like :func:`course_lib.show.figures.dot_product_picture`; the title gives a · b, cos θ and θ."""
    a, b = two_vectors(a, b)
    dot, lengths = float(a @ b), float(np.linalg.norm(a) * np.linalg.norm(b))
    if lengths > 0:
        start, end = math.degrees(math.atan2(a[1], a[0])), math.degrees(math.atan2(b[1], b[0]))
        sweep = (end - start + 180) % 360 - 180  # the short way round, signed
        title = f"a · b = {signed(dot)}   cos θ = {signed(dot / lengths)}   θ = {abs(sweep):.0f}°"
    else:
        title = f"a · b = {signed(dot)}   (a zero vector has no angle)"
    panel = Panel(80, 40, size - 100, size - 100, (-limit, limit), (-limit, limit))
    parts = _frame(panel, title, "x", "y")
    for tick in nice_ticks(-limit, limit):
        parts.insert(0, _line(panel.x(tick), panel.top, panel.x(tick), panel.bottom, GRID))
        parts.append(_text(panel.x(tick), panel.bottom + 22, _tick_text(tick)))
    parts += [
        _line(panel.x(0), panel.top, panel.x(0), panel.bottom, "#999"),
        _line(panel.left, panel.y(0), panel.right, panel.y(0), "#999"),
    ]
    if float(a @ a) > 0:
        shadow = (dot / float(a @ a)) * a  # the point of a's line closest to b's tip
        parts.append(_line(panel.x(0), panel.y(0), panel.x(shadow[0]), panel.y(shadow[1]), COLORS[2], 7))
        parts.append(_line(panel.x(b[0]), panel.y(b[1]), panel.x(shadow[0]), panel.y(shadow[1]), "#555", 1.5, "2 3"))
    if lengths > 0:
        theta = np.radians(start + np.linspace(0, sweep, 40))
        radius = 0.22 * limit
        arc = " ".join(f"{_n(panel.x(radius * math.cos(t)))},{_n(panel.y(radius * math.sin(t)))}" for t in theta)
        parts.append(f'<polyline points="{arc}" fill="none" stroke="#555" stroke-width="1.2"/>')
    for name, vector, color in (("a", a, COLORS[0]), ("b", b, COLORS[1])):
        parts += _arrow(panel, vector, color)
        parts.append(
            _text(panel.x(vector[0]) + 10, panel.y(vector[1]) - 8, name, "label", fill=color, font_weight="bold")
        )
    description = (
        f"Two arrows from the origin: a to ({a[0]:.2f}, {a[1]:.2f}) and b to ({b[0]:.2f}, {b[1]:.2f}); "
        f"{title}; the green bar is b's shadow on a's line"
    )
    return figure(size, size - 100 + 115, parts, description)


def _arrow(panel: Panel, vector: np.ndarray, color: str) -> list[str]:
    """An arrow from the origin to ``vector``: a line and a triangular head."""
    x0, y0, x1, y1 = panel.x(0), panel.y(0), panel.x(vector[0]), panel.y(vector[1])
    length = math.hypot(x1 - x0, y1 - y0)
    if length < 1e-6:
        return [f'<circle cx="{_n(x0)}" cy="{_n(y0)}" r="4" fill="{color}"/>']
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    head = min(16.0, length)
    base_x, base_y = x1 - head * ux, y1 - head * uy
    corners = [(x1, y1), (base_x - 6 * uy, base_y + 6 * ux), (base_x + 6 * uy, base_y - 6 * ux)]
    points = " ".join(f"{_n(px)},{_n(py)}" for px, py in corners)
    return [_line(x0, y0, base_x, base_y, color, 3), f'<polygon points="{points}" fill="{color}"/>']


# --------------------------------------------------------------------------- composites used by the lessons' widgets


def top_probabilities(
    probs: Sequence[float],
    labels: Sequence[str],
    k: int = 10,
    title: str = "The most likely next tokens",
    xlabel: str = "probability",
    ylabel: str = "next token",
    *,
    limits: tuple[float, float] = (0.0, 1.1),
) -> str:
    """The ``k`` likeliest entries of a distribution as horizontal bars, most likely on top (like
    :func:`course_lib.show.figures.top_probabilities`), on a fixed scale so that they can be compared."""
    values, shown = likeliest(probs, labels, k)
    return bar_chart(values, shown, title, xlabel, ylabel, horizontal=True, value_format="{:.3f}", limits=limits)


def loss_curves(
    runs: Mapping[str, Sequence[Mapping[str, float]]],
    title: str = "Loss while training",
    xlabel: str = "training step",
    ylabel: str = "cross-entropy loss (nats per token)",
) -> str:
    """Training (solid) and validation (dashed) loss of one or more runs, as
    :func:`course_lib.show.figures.loss_curves` draws them: ``runs`` maps a run's name to its history
    (``iter``, ``train_loss``, ``val_loss`` records, as :func:`course_lib.training.train` returns them).
    The runs share one x axis: the first run's steps."""
    if not runs:
        raise ValueError("runs must name at least one training history, got an empty mapping")
    series = {}
    for name, history in runs.items():
        require_history(name, history)
        prefix = f"{name}: " if len(runs) > 1 else ""
        series[prefix + "training"] = [r["train_loss"] for r in history]
        series[prefix + "validation"] = [r["val_loss"] for r in history]
    steps = [record["iter"] for record in next(iter(runs.values()))]
    return line_chart(steps, series, title, xlabel, ylabel)
