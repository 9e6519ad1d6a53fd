"""The walkthrough of :mod:`course_lib.walkthrough`, drawn (lessons 07 and 00): the whole model, one step lit.

* :func:`machine_svg` draws the model as its parts in order, one row for the embedding, one per block
  and one for the output, each part with the real shape of what it computes for the current prompt
  (a small glyph and the numbers), the current step highlighted and the steps already taken shaded.
* :func:`step_detail_html` shows the current step: its one-line equation, the lesson that explains it,
  and its input and output tensors as heatmaps (bars for the probabilities), with their shapes and the
  last position's values written out.
* :func:`walkthrough_widget` puts both under step controls: Back, Forward, Play, a step slider, a list
  of the steps, and "Append and repeat", which walks the next token.
* :func:`storyboard_html` draws every step as a small panel, for a page without a kernel.

The figures are SVG text, drawn in a few milliseconds in the kernel (the course's 150 ms rule), with
the conventions of :mod:`course_lib.show.svg`: text of at least 16 px, colour-blind-safe colour maps,
a text description on every figure. The widget sends the drawing of the model once per walk and, per
step, the step's detail with a small style that highlights the step in the drawing; each step's view is
cached, so a step seen once comes back at once. Values are read from the walk's tensors, never
recomputed here.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import io
import itertools
import json
import math
import re

import ipywidgets as widgets
import matplotlib  # the colour maps only
import numpy as np
from PIL import Image

from course_lib.show.style import COLORS
from course_lib.show.svg import HIGHLIGHT, SIZES, _e, _n, _rect, _text, figure, top_probabilities
from course_lib.show.widgets import one_thread
from course_lib.walkthrough import Shown, Step, Walkthrough, walk

__all__ = [
    "PART_LABELS",
    "MachineDrawing",
    "machine_svg",
    "shape_text",
    "step_detail_html",
    "step_view_html",
    "Storyboard",
    "storyboard_html",
    "tensor_figure",
    "walkthrough_storyboard",
    "walkthrough_widget",
]

#: The short name of each kind of part in the drawing of the model (the step's title says it in full).
PART_LABELS = {
    "tokens": "token ids",
    "embedding": "lookup",
    "positions": "+ position",
    "ln1": "LN₁",
    "qkv": "Q K V",
    "scores": "scores",
    "mask": "mask",
    "pattern": "softmax",
    "weighted": "× V",
    "proj": "W_O",
    "resid_mid": "+ attn",
    "ln2": "LN₂",
    "mlp_up": "up",
    "gelu": "GELU",
    "mlp_down": "down",
    "resid_post": "+ MLP",
    "ln_f": "LN_f",
    "unembed": "unembed",
    "probs": "softmax",
    "choice": "choose",
}

CELL_W, CELL_H, GAP, LABEL_W, ROW_H = 86, 66, 4, 96, 72
DONE_FILL, TODO_FILL, CURRENT_FILL = "#DCE9F5", "#FFFFFF", "#FCE3B0"
MASKED = (217, 217, 217, 255)  # the colour of a cell set to -inf by the causal mask
MONO_CHAR = 0.6  # a monospace glyph's width, in ems
_DRAWINGS = itertools.count(1)


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape as the drawing writes it: ``(4, 12, 32)`` -> ``4×12×32``."""
    return "×".join(str(n) for n in shape) if shape else "scalar"


def _fitted_text(x: float, y: float, text: str, room: float, size: str = "tick", mono: bool = False, **extra) -> str:
    """Text centred at x; when it would be wider than ``room`` px it is squeezed sideways to fit (its
    height, the font size, stays)."""
    width = len(text) * SIZES[size] * (MONO_CHAR if mono else 0.56)
    if mono:
        extra["font_family"] = "monospace"
    if width > room:
        extra.update(textLength=_n(room), lengthAdjust="spacingAndGlyphs")
    return _text(x, y, text, size, **extra)


def _glyph(
    shape: tuple[int, ...],
    x: float,
    y: float,
    largest: int,
    box: tuple[float, float] = (44, 24),
    color: str = COLORS[0],
) -> list[str]:
    """A small picture of a tensor's shape inside a ``box`` (width, height) at (x, y): a bar for 1-D, a
    rectangle for 2-D, a stack of rectangles, one per head (at most 4 drawn), for 3-D. Sides grow with
    the logarithm of the size, relative to ``largest``, the largest size in the drawing."""

    def side(n: int, room: float) -> float:
        return 3 + (room - 3) * math.log2(n + 1) / math.log2(largest + 1)

    box_w, box_h = box
    if len(shape) == 1:
        width = side(shape[0], box_w)
        return [_rect(x + (box_w - width) / 2, y + box_h / 2 - 2, width, 4, color)]
    *stack, rows, cols = shape
    layers = min(stack[0], 4) if stack else 1
    shift = 3
    width = side(cols, box_w - shift * (layers - 1))
    height = side(rows, box_h - shift * (layers - 1))
    left = x + (box_w - width - shift * (layers - 1)) / 2
    top = y + (box_h - height - shift * (layers - 1)) / 2
    return [
        _rect(left + shift * i, top + shift * (layers - 1 - i), width, height, color, stroke="#fff", stroke_width="1")
        for i in range(layers)
    ]


# --------------------------------------------------------------------------- the whole model


def _groups(walk: Walkthrough) -> list[tuple[str, list[Step]]]:
    groups: dict[str, list[Step]] = {}
    for step in walk.steps:
        groups.setdefault(step.group, []).append(step)
    return list(groups.items())


def machine_svg(walk: Walkthrough, current: int) -> str:
    """The whole model as its parts in order, the part of step ``current`` highlighted.

    One row for the embedding, one per block and one for the output; each part shows its short name,
    the shape of what it outputs for this prompt and a glyph of that shape. Steps before ``current``
    are shaded, the current one outlined in orange. Each part is a ``<g class="course-walk-part">``
    with its step's index and key, and a tooltip naming its tensors and their shapes.
    """
    return MachineDrawing(walk).svg(current)


class MachineDrawing:
    """The drawing of one walk's model, laid out once: :meth:`svg` only changes the parts' colours."""

    def __init__(self, walk: Walkthrough):
        if not isinstance(walk, Walkthrough):
            raise TypeError(f"walk must be a course_lib.walkthrough.Walkthrough, got {type(walk).__name__}")
        self.walk = walk
        self.name = _drawing_name(walk)
        groups = _groups(walk)
        columns = max(len(steps) for _, steps in groups)
        self.width = LABEL_W + columns * (CELL_W + GAP) + 10
        self.height = 40 + len(groups) * ROW_H + 4
        config = walk.model.config
        title = (
            f"The model: {config.n_layer} block{'s' if config.n_layer != 1 else ''}, {config.n_head} heads, "
            f"width {config.n_embd}, {len(walk.ids)} tokens in"
        )
        self.background = [_text(10, 24, title, "label", anchor="start", font_weight="bold")]
        self.places: list[tuple[float, float]] = [(0.0, 0.0)] * len(walk.steps)
        for row, (group, steps) in enumerate(groups):
            y = 40 + row * ROW_H
            self.background.append(_text(10, y + CELL_H / 2 + 6, group, "tick", anchor="start", font_weight="bold"))
            if len(steps) > 1:  # the flow through the row, behind the parts
                x0, x1 = LABEL_W + CELL_W / 2, LABEL_W + (len(steps) - 1) * (CELL_W + GAP) + CELL_W / 2
                self.background.append(
                    f'<line x1="{_n(x0)}" y1="{_n(y + 14)}" x2="{_n(x1)}" y2="{_n(y + 14)}" stroke="#999"/>'
                )
            for col, step in enumerate(steps):
                self.places[step.index] = (LABEL_W + col * (CELL_W + GAP), y)
        self.largest = max(max(step.outputs[0].shape) for step in walk.steps)
        self.contents = [self._contents(step) for step in walk.steps]

    def _contents(self, step: Step) -> tuple[str, str]:
        """What the part of ``step`` shows whatever its state: (tooltip, glyph and text)."""
        x, y = self.places[step.index]
        output = step.outputs[0]
        if step.kind == "choice":
            shown = f"→ {self.walk.labels_of([self.walk.chosen_id])[0]}"
        else:
            shown = shape_text(output.shape)
        tooltip = f"step {step.index + 1}: {step.title}; " + ", ".join(
            f"{t.name} {t.symbols} = {t.shape}" for t in step.outputs
        )
        body = "".join(
            [
                *_glyph(output.shape, x + (CELL_W - 44) / 2, y + 3, self.largest),
                _fitted_text(x + CELL_W / 2, y + 44, PART_LABELS[step.kind], CELL_W - 6),
                _fitted_text(x + CELL_W / 2, y + 61, shown, CELL_W - 6, mono=True, fill="#333"),
            ]
        )
        return f"<title>{_e(tooltip)}</title>", body

    def svg(self, current: int | None) -> str:
        """The drawing with step ``current`` highlighted and the steps before it shaded; with None, every
        part plain (the widget then highlights by :meth:`highlight_css`)."""
        if current is not None:
            current = _check_step(self.walk, current)
        parts = list(self.background)
        for step, (tooltip, body) in zip(self.walk.steps, self.contents, strict=True):
            x, y = self.places[step.index]
            if step.index == current:
                state, fill, stroke = "current", CURRENT_FILL, f'stroke="{HIGHLIGHT}" stroke-width="4"'
            else:
                state = "done" if current is not None and step.index < current else "todo"
                fill, stroke = (DONE_FILL if state == "done" else TODO_FILL), 'stroke="#888" stroke-width="1"'
            mark = ' aria-current="step"' if state == "current" else ""
            parts.append(
                f'<g class="course-walk-part course-walk-{state}" data-step="{step.index}" data-key="{step.key}"{mark}>'
                f'{tooltip}<rect class="course-walk-box" x="{_n(x)}" y="{_n(y)}" width="{CELL_W}" height="{CELL_H}" '
                f'rx="6" fill="{fill}" '
                f"{stroke}/>{body}</g>"
            )
        config = self.walk.model.config
        description = (
            f"The model drawn as its {len(self.walk.steps)} steps in rows (embedding, {config.n_layer} blocks, "
            "output); "
        )
        if current is None:
            description += "the current step is outlined in orange and its detail is shown below"
        else:
            step = self.walk.steps[current]
            description += f"step {current + 1}, {step.title}, is highlighted; it outputs " + ", ".join(
                f"{t.name} of shape {t.shape}" for t in step.outputs
            )
        return figure(self.width, self.height, parts, description)

    def html(self) -> str:
        """The plain drawing in a ``<div>`` named after this drawing, for :meth:`highlight_css` to colour."""
        return f'<div class="course-walk-machine" data-walk="{self.name}">{self.svg(None)}</div>'

    def highlight_css(self, current: int) -> str:
        """A ``<style>`` that colours :meth:`html`'s parts as :meth:`svg` would for step ``current``.

        The widget sends this (a kilobyte) with each step's detail instead of the whole drawing again
        (tens of kilobytes, and the page would lay it out anew): the drawing is sent once per walk. Its
        rules only reach the drawing of the same name, so two walkthroughs on one page do not mix.
        """
        current = _check_step(self.walk, current)
        scope = f'.course-walk-machine[data-walk="{self.name}"] g.course-walk-part'
        box = scope + '[data-step="{}"] > rect.course-walk-box'
        rules = [f"{box.format(current)} {{fill:{CURRENT_FILL}; stroke:{HIGHLIGHT}; stroke-width:4px}}"]
        if current:
            done = ", ".join(box.format(i) for i in range(current))
            rules.append(f"{done} {{fill:{DONE_FILL}}}")
        return f'<style class="course-walk-highlight">{" ".join(rules)}</style>'


def _drawing_name(walk: Walkthrough) -> str:
    """A name for a drawing, the same on every run: what it draws (the model's sizes, a fingerprint of its
    weights, the token ids, the choice) and a count of the drawings made in this kernel.

    JupyterLab shows every open notebook in one page, so a highlight style reaches the drawings of other
    notebooks' kernels too; a count alone ("walk-1") would be the same in each of them. With what is drawn
    in the name, two kernels' drawings share a name only when they draw the same model on the same text.
    """
    config = walk.model.config
    weights = float(walk.model.tok_emb.weight.detach()[: min(8, config.vocab_size)].double().abs().sum())
    content = repr((config.to_dict(), round(weights, 3), walk.ids, walk.temperature, walk.seed))
    return f"walk-{hashlib.sha1(content.encode()).hexdigest()[:8]}-{next(_DRAWINGS)}"


def _check_step(walk: Walkthrough, current: int) -> int:
    if not isinstance(walk, Walkthrough):
        raise TypeError(f"walk must be a course_lib.walkthrough.Walkthrough, got {type(walk).__name__}")
    if isinstance(current, bool) or not isinstance(current, int | np.integer):
        raise TypeError(f"current must be a step number (int), got {current!r}")
    if not 0 <= current < len(walk.steps):
        raise ValueError(f"current must be a step between 0 and {len(walk.steps) - 1}, got {current}")
    return int(current)


# --------------------------------------------------------------------------- one tensor


@functools.cache
def _lut(cmap: str) -> np.ndarray:
    """The colour map as a (256, 4) table of RGBA bytes, looked up once (Matplotlib rebuilds it per call)."""
    return matplotlib.colormaps[cmap](np.linspace(0, 1, 256), bytes=True)


@functools.cache
def _palette(cmap: str) -> bytes:
    """A PNG palette: the colour map in 255 steps (indices 0-254), then the masked grey (index 255)."""
    steps = matplotlib.colormaps[cmap](np.linspace(0, 1, 255), bytes=True)[:, :3]
    return bytes(np.vstack([steps, np.array(MASKED[:3], dtype=np.uint8)]).reshape(-1))


def _cells_png(matrix: np.ndarray, cmap: str, vmin: float, vmax: float) -> str:
    """``matrix`` coloured by ``cmap`` as a PNG data URL, one pixel per cell; -inf cells grey.

    Like :func:`course_lib.show.svg.heatmap`'s cells, but masked (-inf) scores get a colour of their own,
    and the picture is not enlarged: the page stretches it, with ``image-rendering:pixelated`` keeping
    each cell a sharp rectangle (so cells need not be square, and a big matrix stays a small PNG). A
    palette image, one byte per cell (the colour map in 255 steps and the grey), a quarter of RGBA's size.
    """
    masked = ~np.isfinite(matrix)
    scaled = np.clip((np.where(masked, vmin, matrix) - vmin) / (vmax - vmin), 0, 1)
    index = np.rint(scaled * 254).astype(np.uint8)
    index[masked] = 255
    image = Image.fromarray(np.ascontiguousarray(index), "P")
    image.putpalette(_palette(cmap))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _scale(shown: Shown, values: np.ndarray) -> tuple[str, float, float, str]:
    """Colour map and range: 0 to 1 for weights and probabilities, symmetric around 0 otherwise."""
    if shown.name == "pattern":
        return "viridis", 0.0, 1.0, "attention weight"
    finite = values[np.isfinite(values)]
    reach = float(np.abs(finite).max()) if finite.size else 1.0
    reach = reach if reach > 0 else 1.0
    return "RdBu_r", -reach, reach, "value"


def _legend(x: float, y: float, width: float, vmin: float, vmax: float, cmap: str, label: str, masked: bool) -> list:
    """A horizontal colour scale: ``vmin`` [gradient] ``vmax``, its label, and the masked colour if used."""
    lut = _lut(cmap)
    stops = "".join(
        f'<stop offset="{f:.2f}" stop-color="#{lut[round(f * 255), 0]:02x}{lut[round(f * 255), 1]:02x}'
        f'{lut[round(f * 255), 2]:02x}"/>'
        for f in np.linspace(0, 1, 9)
    )
    key = f"course-walk-{cmap}"
    low, high = f"{vmin:+.2f}" if vmin else "0", f"{vmax:+.2f}" if vmin else f"{vmax:.0f}"
    bar_left = x + len(low) * 9.6 + 8
    bar_width = max(60.0, min(180.0, width - bar_left + x - 200))
    parts = [
        f'<defs><linearGradient id="{key}" x1="0" y1="0" x2="1" y2="0">{stops}</linearGradient></defs>',
        _text(x, y + 14, low, anchor="start", font_family="monospace"),
        _rect(bar_left, y + 1, bar_width, 16, f"url(#{key})", stroke="#444"),
        _text(bar_left + bar_width + 6, y + 14, f"{high}  {label}", anchor="start", font_family="monospace"),
    ]
    if masked:
        right = bar_left + bar_width + 6 + (len(high) + len(label) + 2) * 9.6 + 12
        parts += [
            _rect(right, y + 1, 16, 16, "#D9D9D9", stroke="#444"),
            _text(right + 22, y + 14, "-∞ (masked)", anchor="start"),
        ]
    return parts


def tensor_figure(shown: Shown, walk: Walkthrough, max_width: float = 560, max_height: float = 260) -> str:
    """One tensor of a step as a figure with its name and shape: a heatmap per head for (H, T, X) tensors,
    one heatmap for (T, X), the likeliest entries as bars for probabilities, the token for a choice.

    Rows of a (T, X) panel are the prompt's tokens; the last one (which predicts the next token) is
    outlined. The figure is wrapped in a ``<div class="course-walk-tensor">`` with the tensor's name, its
    shape, its source and the values of its last row, head by head (``data-last``: the last position's
    values, or the token table's last row; at most 64 numbers, rounded to 4 decimals), for tests to read.
    """
    values = shown.values.detach().double().numpy()
    header = f"{shown.name} {shown.symbols} = {shape_text(shown.shape)}"
    if shown.axes == ("vocabulary",):
        k = min(10, len(values))
        labels = [walk.tokenizer.decode([i]) for i in range(len(values))]
        svg = top_probabilities(values, labels, k, f"{shown.name} {shown.symbols} = {shape_text(shown.shape)}: top {k}")
    elif shown.axes == ("chosen",):
        svg = _choice_svg(walk, int(values[0]))
    elif shown.axes == ("position",):
        svg = _ids_svg(walk, values.astype(int), header)
    else:
        svg = _heatmap_svg(shown, values, walk, header, max_width, max_height)
    last = values.reshape(-1) if values.ndim == 1 else values[..., -1, :].reshape(-1)
    data = json.dumps([round(float(v), 4) if np.isfinite(v) else None for v in last[:64]])
    shape = ",".join(map(str, shown.shape))
    return (
        f'<div class="course-walk-tensor" data-name="{_e(shown.name)}" data-shape="{shape}" '
        f'data-source="{_e(shown.source)}" data-last="{_e(data)}">{svg}</div>'
    )


def _heatmap_svg(
    shown: Shown, values: np.ndarray, walk: Walkthrough, header: str, max_width: float, max_height: float
) -> str:
    panels = values if values.ndim == 3 else values[None]
    n_panels, rows, cols = panels.shape
    cmap, vmin, vmax, label = _scale(shown, values)
    row_labels = walk.labels if shown.axes[-2] == "position" else walk.vocabulary
    label_room = max(len(s) for s in row_labels) * MONO_CHAR * SIZES["tick"] + 12
    gap = 14
    room = max_width - label_room - 20 - gap * (n_panels - 1)
    cell_w = max(0.25, min(28.0, room / (n_panels * cols)))
    cell_h = max(2.0, min(26.0, max_height / rows))
    panel_w, panel_h = cell_w * cols, cell_h * rows
    widest = max(len(label) for label in walk.labels) * MONO_CHAR * SIZES["tick"]
    by_token = shown.axes[-1] == "key" and cell_w >= widest + 2
    left, top = label_room + 10, 62 if n_panels > 1 else 40
    parts = [_text(10, 22, header, "label", anchor="start", font_weight="bold")]
    row_step = max(1, math.ceil(SIZES["tick"] * 1.1 / cell_h))
    for r in range(0, rows, row_step):
        parts.append(
            _text(left - 6, top + cell_h * (r + 0.5) + 5, row_labels[r], anchor="end", font_family="monospace")
        )
    for p in range(n_panels):
        x = left + p * (panel_w + gap)
        url = _cells_png(panels[p], cmap, vmin, vmax)
        parts.append(
            f'<image x="{_n(x)}" y="{_n(top)}" width="{_n(panel_w)}" height="{_n(panel_h)}" '
            f'preserveAspectRatio="none" style="image-rendering:pixelated" href="{url}"/>'
        )
        parts.append(
            f'<rect x="{_n(x)}" y="{_n(top)}" width="{_n(panel_w)}" height="{_n(panel_h)}" fill="none" stroke="#444"/>'
        )
        if shown.axes[-2] == "position":  # the last position is the one that predicts the next token
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(top + panel_h - cell_h)}" width="{_n(panel_w)}" height="{_n(cell_h)}" '
                f'fill="none" stroke="{HIGHLIGHT}" stroke-width="3"/>'
            )
        if n_panels > 1:
            parts.append(_fitted_text(x + panel_w / 2, top - 8, f"{shown.axes[0]} {p}", max(panel_w, 40)))
        if by_token:  # the keys are the prompt's tokens: name each column
            parts += [
                _text(x + cell_w * (c + 0.5), top + panel_h + 18, walk.labels[c], font_family="monospace")
                for c in range(cols)
            ]
            continue
        parts.append(_text(x, top + panel_h + 18, "0", anchor="start", font_family="monospace"))
        if cols > 1 and panel_w > 40:
            parts.append(_text(x + panel_w, top + panel_h + 18, str(cols - 1), anchor="end", font_family="monospace"))
    axis = f"columns: {shown.axes[-1]} (0 .. {cols - 1}); rows: {shown.axes[-2]}"
    if by_token:
        axis = f"columns: {shown.axes[-1]}s (the tokens looked at); rows: {shown.axes[-2]}s (the tokens looking)"
    bottom = top + panel_h + 40
    parts.append(_text(left, bottom, axis, anchor="start"))
    masked = bool((~np.isfinite(values)).any())
    width = max(left + n_panels * panel_w + gap * (n_panels - 1) + 10, 520 if masked else 440)
    parts += _legend(left, bottom + 10, width - left, vmin, vmax, cmap, label, masked)
    finite = values[np.isfinite(values)]
    description = (
        f"Heatmap of {shown.name}, shape {shown.shape} ({', '.join(shown.axes)}): "
        f"{n_panels} panel{'s' if n_panels > 1 else ''} of {rows} rows x {cols} columns, "
        f"values from {finite.min():.3g} to {finite.max():.3g}" + ("; masked entries shown grey" if masked else "")
    )
    return figure(width, bottom + 36, parts, description)


def _ids_svg(walk: Walkthrough, ids: np.ndarray, header: str) -> str:
    """The prompt's tokens as boxes, each with its id under it."""
    labels = walk.labels_of(ids.tolist())
    box_w = max(
        40.0, max(len(s) for s in labels) * MONO_CHAR * SIZES["tick"] + 12, max(len(str(i)) for i in ids) * 10 + 12
    )
    per_row = max(1, int(540 // (box_w + 4)))
    parts = [_text(10, 22, header, "label", anchor="start", font_weight="bold")]
    for n, (token, label) in enumerate(zip(ids.tolist(), labels, strict=True)):
        x, y = 10 + (n % per_row) * (box_w + 4), 36 + (n // per_row) * 58
        color = COLORS[4] if n < len(ids) - 1 else HIGHLIGHT
        parts += [
            _rect(x, y, box_w, 26, color, fill_opacity="0.35", stroke="#444", rx="4"),
            _text(x + box_w / 2, y + 19, label, font_family="monospace"),
            _text(x + box_w / 2, y + 46, str(token), font_family="monospace", fill="#333"),
        ]
    n_rows = math.ceil(len(ids) / per_row)
    width = max(10 + min(len(ids), per_row) * (box_w + 4) + 10, len(header) * 10.5 + 20)
    description = f"The {len(ids)} token ids of the prompt: " + ", ".join(
        f"{label} {token}" for token, label in zip(ids.tolist(), labels, strict=True)
    )
    return figure(width, 36 + n_rows * 58 + 6, parts, description)


def _choice_svg(walk: Walkthrough, chosen: int) -> str:
    label = walk.labels_of([chosen])[0]
    p = float(walk.probs[chosen])
    how = "the most likely token" if walk.temperature is None else f"drawn at temperature {walk.temperature:g}"
    lines = [
        f"next token: {label!r} (id {chosen}), p = {p:.3f}, {how}",
        f"append and repeat: {walk.text!r} + {walk.chosen!r}",
    ]
    width = max(len(line) for line in lines) * MONO_CHAR * SIZES["tick"] + 30
    parts = [_text(10, 22, "chosen token (1)", "label", anchor="start", font_weight="bold")]
    parts += [_text(10, 50 + 24 * i, line, anchor="start", font_family="monospace") for i, line in enumerate(lines)]
    return figure(width, 50 + 24 * len(lines), parts, lines[0] + "; " + lines[1])


# --------------------------------------------------------------------------- one step


def _values_text(shown: Shown, walk: Walkthrough, limit: int = 32) -> str | None:
    """The last position's values of ``shown``, head by head, rounded; at most ``limit`` numbers.

    None for what has no positions' values to write: ids, probabilities (drawn as labelled bars), the
    choice, and the token table (its rows are the vocabulary).
    """
    if len(shown.axes) < 2 or shown.axes[-2] != "position":
        return None
    values = shown.values.detach().double().numpy()
    rows = values[..., -1, :].reshape(-1, values.shape[-1])  # one row per head (a single row for a (T, X) tensor)
    pieces, written = [], 0
    for head, row in enumerate(rows):
        kept = row[: max(0, limit - written)]
        if not len(kept):
            break
        written += len(kept)
        numbers = " ".join("-∞" if not np.isfinite(v) else f"{v:+.2f}" for v in kept)
        pieces.append(f"{shown.axes[0]} {head}: {numbers}" if values.ndim == 3 else numbers)
    text = "  |  ".join(pieces)
    if written < rows.size:
        text += f" ... ({rows.size - written} more)"
    return f"{shown.name} at the last position ({walk.labels[-1]!r}): {text}"


def step_detail_html(walk: Walkthrough, current: int) -> str:
    """The current step: title, lesson, one-line equation, input and output tensors, last position's values."""
    current = _check_step(walk, current)
    step = walk.steps[current]
    crowded = len(step.tensors()) > 2
    width, height = (360, 150) if crowded else (560, 260)
    inputs = "".join(tensor_figure(t, walk, width, height) for t in step.inputs)
    outputs = "".join(tensor_figure(t, walk, width, height) for t in step.outputs)
    if not step.inputs:
        inputs = f'<div class="course-walk-tensor" data-name="prompt">{_prompt_box(walk)}</div>'
    values = [line for t in step.tensors() if (line := _values_text(t, walk))]
    values_html = (
        f'<pre class="course-walk-values" style="font-size:13px; white-space:pre-wrap; margin:4px 0">'
        f"{html.escape(chr(10).join(values))}</pre>"
        if values
        else ""
    )
    return (
        f'<div class="course-walk-step" data-step="{step.index}" data-key="{_e(step.key)}" '
        'style="font-family:sans-serif">'
        f'<div class="course-walk-title" style="font-size:16px; margin:4px 0">'
        f"<b>Step {step.index + 1} of {len(walk.steps)}: {html.escape(step.title)}</b> · explained in lesson "
        f"{html.escape(step.lesson_title)}</div>"
        f'<div class="course-walk-equation" style="font-family:monospace; font-size:16px; margin:4px 0; '
        f'padding:4px 8px; background:#F4F4F4; border-left:4px solid {HIGHLIGHT}">{html.escape(step.equation)}</div>'
        f'<div class="course-walk-tensors" style="display:flex; flex-wrap:wrap; align-items:center; gap:8px">'
        f'<div class="course-walk-inputs" style="display:flex; flex-wrap:wrap; gap:8px">{inputs}</div>'
        f'<div class="course-walk-arrow" style="font-size:32px" aria-label="gives">→</div>'
        f'<div class="course-walk-outputs" style="display:flex; flex-wrap:wrap; gap:8px">{outputs}</div></div>'
        f"{values_html}</div>"
    )


def _prompt_box(walk: Walkthrough) -> str:
    text = repr(walk.text)
    parts = [
        _text(10, 22, "prompt", "label", anchor="start", font_weight="bold"),
        _text(10, 50, text, anchor="start", font_family="monospace"),
    ]
    return figure(max(200, len(text) * 9.6 + 30), 62, parts, f"The prompt: {text}")


def step_view_html(walk: Walkthrough, current: int) -> str:
    """The model with step ``current`` highlighted, above that step's detail (what the widget shows)."""
    return machine_svg(walk, current) + step_detail_html(walk, current)


# --------------------------------------------------------------------------- the storyboard


def storyboard_html(walk: Walkthrough, columns: int = 4, anchor: str = "walk") -> str:
    """Every step of the walk as a still frame (title, equation, a thumbnail of its main output and its
    shape, the lesson that explains it), in order: the walkthrough for a page without a kernel, such as
    the static site or a notebook read without running it.

    Frame ``n`` has the id ``{anchor}-step-{n}`` (counted from 1) and links to the frames before and after
    it, so a reader can step through the pass with links alone: plain HTML and SVG, no script.
    """
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns must be a positive int, got {columns!r}")
    if not isinstance(anchor, str) or not re.fullmatch(r"[A-Za-z][\w-]*", anchor):
        raise ValueError(f"anchor must be a word (letters, digits, '-', '_') that starts with a letter, got {anchor!r}")
    n_steps = len(walk.steps)
    cards = []
    for step in walk.steps:
        number = step.index + 1
        output = step.outputs[-1] if step.kind == "qkv" else step.outputs[0]
        picture = _thumbnail(output, walk)
        links = [
            f'<a class="course-walk-prev" href="#{anchor}-step-{number - 1}">← step {number - 1}</a>'
            if number > 1
            else "",
            f'<a class="course-walk-next" href="#{anchor}-step-{number + 1}">step {number + 1} →</a>'
            if number < n_steps
            else "",
        ]
        cards.append(
            f'<div class="course-walk-card" id="{anchor}-step-{number}" data-step="{step.index}" '
            f'data-key="{_e(step.key)}" style="border:1px solid #BBB; border-radius:6px; padding:6px; font-size:14px">'
            f"<div><b>{number}. {html.escape(step.title)}</b></div>"
            f'<div style="font-family:monospace; font-size:13px">{html.escape(step.equation)}</div>'
            f"{picture}"
            f'<div class="course-walk-card-shape" style="color:#333">'
            f"{html.escape(', '.join(f'{t.name} {shape_text(t.shape)}' for t in step.outputs))}"
            f" · lesson {html.escape(step.lesson_title)}</div>"
            f'<div class="course-walk-card-links" style="display:flex; justify-content:space-between">'
            f"{''.join(links)}</div></div>"
        )
    config = walk.model.config
    header = (
        f'<div class="course-walk-story-title" id="{anchor}-steps" style="font-size:16px; margin:4px 0">'
        f"<b>Every step of one forward pass</b> of a model with {config.n_layer} blocks, {config.n_head} heads and "
        f"width {config.n_embd}, on {html.escape(repr(walk.text))} ({len(walk.ids)} tokens): {n_steps} steps, and "
        f"the model chooses {html.escape(repr(walk.chosen))}</div>"
    )
    grid = (
        f'<div class="course-walk-storyboard" style="display:grid; grid-template-columns:repeat({columns}, '
        f'minmax(0, 1fr)); gap:6px">{"".join(cards)}</div>'
    )
    return f'<div class="course-walk-story">{header}{grid}</div>'


class Storyboard:
    """:func:`storyboard_html` of a walk, shown by Jupyter as HTML: the static render of the walkthrough
    that a saved notebook, and the course site built from it, keep."""

    def __init__(self, walk: Walkthrough, columns: int = 4, anchor: str = "walk"):
        self.walk = walk
        self.html = storyboard_html(walk, columns, anchor)

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<storyboard of {len(self.walk.steps)} steps on {self.walk.text!r}>"


def walkthrough_storyboard(
    model, tokenizer, prompt: str, *, temperature: float | None = None, seed: int = 0, columns: int = 4
) -> Storyboard:
    """The storyboard of ``model``'s walk on ``prompt``, for a notebook cell to show."""
    return Storyboard(_walk(model, tokenizer, prompt, temperature, seed), columns)


def _walk(model, tokenizer, prompt: str, temperature: float | None, seed: int) -> Walkthrough:
    """:func:`walk` on one thread: one small forward pass, which a second thread would only make wait."""
    with one_thread():
        return walk(model, tokenizer, prompt, temperature=temperature, seed=seed)


def _thumbnail(shown: Shown, walk: Walkthrough, width: float = 220, height: float = 90) -> str:
    """A small picture of one tensor, without text (the card says what it is)."""
    values = shown.values.detach().double().numpy()
    description = f"{shown.name}, shape {shown.shape}"
    if shown.axes in (("position",), ("chosen",)):
        labels = walk.labels_of(values.astype(int).tolist())
        text = " ".join(labels) if len(labels) > 1 else f"→ {labels[0]}"
        body = [_text(6, 30, text[:24], anchor="start", font_family="monospace")]
        return figure(width, 44, body, description + ": " + text)
    if shown.axes == ("vocabulary",):
        order = np.argsort(-values, kind="stable")[:5]
        body = []
        for n, i in enumerate(order):
            body.append(_rect(60, 4 + 17 * n, (width - 70) * float(values[i]), 14, COLORS[0]))
            body.append(_text(54, 16 + 17 * n, walk.labels_of([int(i)])[0], anchor="end", font_family="monospace"))
        return figure(width, 90, body, description + ": the 5 likeliest tokens as bars")
    panels = values if values.ndim == 3 else values[None]
    cmap, vmin, vmax, _ = _scale(shown, values)
    n_panels, rows, cols = panels.shape
    gap = 4
    panel_w = (width - gap * (n_panels - 1)) / n_panels
    body = []
    for p in range(n_panels):
        url = _cells_png(panels[p], cmap, vmin, vmax)
        body.append(
            f'<image x="{_n(p * (panel_w + gap))}" y="0" width="{_n(panel_w)}" height="{_n(height)}" '
            f'preserveAspectRatio="none" style="image-rendering:pixelated" href="{url}"/>'
        )
    return figure(width, height, body, description + f": {n_panels} heatmap(s) of {rows} x {cols}")


# --------------------------------------------------------------------------- the widget


class _Views:
    """What the widget shows for one walk: the drawing of the model, sent once, and by step the detail
    with the drawing's highlight; each step's detail is drawn once, then looked up."""

    def __init__(self, walk: Walkthrough):
        self.walk = walk
        self.drawing = MachineDrawing(walk)
        self.machine = self.drawing.html()
        self._detail: dict[int, str] = {}

    def detail(self, current: int) -> str:
        if current not in self._detail:
            self._detail[current] = self.drawing.highlight_css(current) + step_detail_html(self.walk, current)
        return self._detail[current]


def _status_html(walk: Walkthrough, note: str = "") -> str:
    text = (
        f"text so far: {walk.text!r} ({len(walk.ids)} of {walk.model.config.block_size} tokens); "
        f"this pass chooses {walk.chosen!r}"
    )
    extra = f'<div style="color:#B00">{html.escape(note)}</div>' if note else ""
    style = "font-family:monospace; font-size:14px"
    return f'<div class="course-walk-status" style="{style}">{html.escape(text)}{extra}</div>'


def walkthrough_widget(
    model, tokenizer, prompt: str, *, temperature: float | None = None, seed: int = 0, interval_ms: int = 1200
):
    """The walkthrough of ``model`` on ``prompt``: the whole model, the current step's detail, and controls.

    Controls: a "Prompt" box, "◀ Back" and "Forward ▶" buttons, a "Play" control (one step every
    ``interval_ms`` ms), a "Step" slider (arrow keys move it one step), a "Jump to" list of every step,
    and "Append and repeat", which appends the chosen token (named in the status line and the button's
    tooltip) and walks the next forward pass. Steps are
    numbered from 1, as the detail's title counts them. Every control can be reached with Tab and used
    from the keyboard. A prompt the model cannot take is explained in the status line, which also says
    that the views still show the previous prompt.
    """
    state = {"views": _Views(_walk(model, tokenizer, prompt, temperature, seed))}
    n_steps = len(state["views"].walk.steps)
    status = widgets.HTML(_status_html(state["views"].walk))
    diagram = widgets.HTML(state["views"].machine)  # the static first render: step 1, highlighted by detail's style
    detail = widgets.HTML(state["views"].detail(0))
    box = widgets.Text(value=prompt, description="Prompt", continuous_update=False, layout=widgets.Layout(width="60%"))
    back = widgets.Button(description="◀ Back", tooltip="the previous step", layout=widgets.Layout(width="90px"))
    forward = widgets.Button(description="Forward ▶", tooltip="the next step", layout=widgets.Layout(width="100px"))
    play = widgets.Play(value=1, min=1, max=n_steps, interval=interval_ms, description="Play", show_repeat=False)
    slider = widgets.IntSlider(value=1, min=1, max=n_steps, description="Step", continuous_update=False)
    jump = widgets.Dropdown(options=_step_options(state["views"].walk), value=1, description="Jump to")
    again = widgets.Button(
        description="Append and repeat", tooltip=_again_tooltip(state["views"].walk), button_style="primary"
    )
    widgets.jslink((play, "value"), (slider, "value"))  # in the page: Play moves the slider without a round trip

    def show(number: int) -> None:
        views = state["views"]
        diagram.value = views.machine  # unchanged within a walk, so nothing is sent
        detail.value = views.detail(number - 1)
        if jump.value != number:
            jump.value = number
        back.disabled, forward.disabled = number == 1, number == len(views.walk.steps)

    def use(new_walk: Walkthrough) -> None:
        state["views"] = _Views(new_walk)
        play.max = slider.max = len(new_walk.steps)
        with jump.hold_trait_notifications():
            jump.options = _step_options(new_walk)
            jump.value = 1
        again.tooltip = _again_tooltip(new_walk)
        again.disabled = len(new_walk.ids) >= new_walk.model.config.block_size
        status.value = _status_html(new_walk)
        if slider.value == 1:
            show(1)
        else:
            play.value = slider.value = 1  # show() runs through the slider's observer

    def on_prompt(change) -> None:
        try:
            new_walk = _walk(model, tokenizer, change["new"], temperature, seed)
        except ValueError as err:
            note = f"cannot walk this prompt: {err}. Still showing the last one."
            status.value = _status_html(state["views"].walk, note)
            return
        use(new_walk)

    def on_again(_button=None) -> None:
        try:
            with one_thread():
                new_walk = state["views"].walk.next()
        except ValueError as err:
            status.value = _status_html(state["views"].walk, str(err))
            return
        use(new_walk)
        box.unobserve(on_prompt, names="value")  # the box shows the longer text; no need to walk it again
        box.value = new_walk.text
        box.observe(on_prompt, names="value")

    slider.observe(lambda change: show(change["new"]), names="value")
    jump.observe(lambda change: setattr(slider, "value", change["new"]), names="value")
    back.on_click(lambda _button: setattr(slider, "value", max(1, slider.value - 1)))
    forward.on_click(lambda _button: setattr(slider, "value", min(slider.max, slider.value + 1)))
    again.on_click(on_again)
    box.observe(on_prompt, names="value")
    show(1)
    controls = widgets.HBox([back, forward, play, slider])
    return widgets.VBox([box, status, controls, widgets.HBox([jump, again]), diagram, detail])


def _step_options(walk: Walkthrough) -> list[tuple[str, int]]:
    return [(f"{step.index + 1}. {step.title}", step.index + 1) for step in walk.steps]


def _again_tooltip(walk: Walkthrough) -> str:
    return f"append {walk.labels_of([walk.chosen_id])[0]!r} to the text and walk the next token"
