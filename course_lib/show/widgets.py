"""Interactive pieces shared by the lessons, and the pure functions behind them.

Every widget here is a thin shell around a function that returns HTML (or text) and is
tested on its own. Builders render once when called (so a saved notebook shows something even
without a kernel) and then on every change. Figures in widgets are SVG from
:mod:`course_lib.svg_plots`, so that a view follows its control within the course's 150 ms aim.

A view never goes stale silently: when an update raises (text with a character the model does not
know, an empty box, a setting a function refuses), the widget hides its picture and shows, in its own
output, the error's message (:func:`update_error_html`); the next good input brings the view back. Without
this, ipywidgets would keep the old picture on screen and send the traceback to the log, unseen.

Add new helpers at the end, each with a docstring saying what it shows and what it expects.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .data import DataError
from .tokenizers import show_piece

_log = logging.getLogger(__name__)

# Paul Tol's "light" qualitative scheme: distinguishable with the common colour-vision
# deficiencies, and light enough for black text on top.
TOKEN_COLORS = ["#77AADD", "#EE8866", "#EEDD88", "#FFAABB", "#99DDFF", "#44BB99", "#BBCC33", "#DDDDDD"]

_TOKEN_STYLE = (
    "display:inline-block; background:{color}; color:#000; padding:1px 2px; margin:1px 1px; "
    "border-radius:3px; font-family:monospace; font-size:14px; white-space:pre"
)
_VIEW_STYLE = "line-height:1.9; max-height:320px; overflow-y:auto"
# A pasted play is tens of thousands of tokens: drawing a box for each would freeze the page for
# nothing (the view scrolls after ~300). The count and the ids line still describe the whole text.
TOKEN_VIEW_LIMIT = 2000

# --------------------------------------------------------------------------- when an update fails

# The errors course functions raise on purpose, with a message written for the learner: shown as they are.
COURSE_ERRORS = (ValueError, TypeError, DataError)
_ERROR_STYLE = (
    "color:#900; background:#FFF4F4; border-left:4px solid #C00; padding:6px 10px; margin:4px 0; "
    "font-family:monospace; font-size:13px; white-space:pre-wrap"
)


def update_error_message(err: BaseException, limit: int = 400) -> str:
    """What a widget says when its view could not be drawn: a course error's own message, or, for anything
    else (a bug, not bad input), "could not update: " and the error's kind and message. At most ``limit`` characters.
    """
    if isinstance(err, COURSE_ERRORS):
        text = str(err) or type(err).__name__
    else:
        text = f"could not update: {type(err).__name__}: {err}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def update_error_html(err: BaseException) -> str:
    """:func:`update_error_message` as the HTML a widget shows in place of its picture."""
    return (
        f'<div class="course-update-error" role="alert" style="{_ERROR_STYLE}">'
        f"{html.escape(update_error_message(err))}</div>"
    )


class _ErrorSlot:
    """The message line of one widget: empty and hidden while its views draw, in their place when one fails."""

    def __init__(self, views: Sequence[Any]):
        import ipywidgets as widgets

        self.views = list(views)
        self.widget = widgets.HTML("", layout=widgets.Layout(display="none"))
        self.showing = False

    def show(self, err: Exception) -> None:
        if not isinstance(err, COURSE_ERRORS):  # a bug rather than bad input: keep the traceback for whoever debugs
            _log.warning("a course widget could not update its view", exc_info=err)
        self.widget.value = update_error_html(err)
        self.widget.layout.display = None
        for view in self.views:
            view.layout.display = "none"
        self.showing = True

    def clear(self) -> None:
        if self.showing:  # hide the message and show the views again
            self.showing = False
            self.widget.value = ""
            self.widget.layout.display = "none"
            for view in self.views:
                view.layout.display = None


# --------------------------------------------------------------------------- tokens as HTML


def pieces_of(encoder: Any, text: str) -> list[tuple[int, bytes]]:
    """(id, bytes) for each token of ``text``, whatever kind of tokenizer ``encoder`` is.

    Accepts a course tokenizer (it has ``.pieces``), a ``tiktoken.Encoding`` (special-token
    strings are treated as plain text, as a user's text should be), or a function that takes
    the text and returns (id, bytes-or-str) pairs.
    """
    if hasattr(encoder, "pieces"):
        return encoder.pieces(text)
    if hasattr(encoder, "encode_ordinary") and hasattr(encoder, "decode_single_token_bytes"):
        return [(i, encoder.decode_single_token_bytes(i)) for i in encoder.encode_ordinary(text)]
    if callable(encoder):
        return list(encoder(text))
    raise TypeError(
        "encoder must be a course tokenizer, a tiktoken.Encoding, or a function text -> [(id, piece)], "
        f"got {type(encoder).__name__}"
    )


def token_html(
    pieces: Sequence[tuple[int, bytes | str]], colors: Sequence[str] = TOKEN_COLORS, limit: int = TOKEN_VIEW_LIMIT
) -> str:
    """HTML showing each token as a coloured box; hover shows its id.

    Each token is a ``<span class="course-token" title="id N">``; neighbours get different
    colours; spaces show as '·', tabs as '→' and newlines as '↵' followed by a line break.
    Bytes that are only part of a character (one token can hold half an emoji) show as ``<0xNN>``.
    Only the first ``limit`` tokens get a box; a note after them says how many more there are.
    """
    if not colors:
        raise ValueError("colors must list at least one colour")
    spans = []
    for position, (token_id, piece) in enumerate(pieces[:limit]):
        color = colors[position % len(colors)]
        text = html.escape(show_piece(piece))
        spans.append(
            f'<span class="course-token" title="id {int(token_id)}" style="{_TOKEN_STYLE.format(color=color)}">'
            f"{text}</span>"
        )
        if "↵" in text:  # keep the shape of the text: start a new line after a newline token
            spans.append("<br>")
    if len(pieces) > limit:
        spans.append(
            f'<span class="course-token-more"> ... the first {limit:,} of {len(pieces):,} tokens are shown</span>'
        )
    return f'<div class="course-tokens" style="{_VIEW_STYLE}">{"".join(spans)}</div>'


def ids_html(pieces: Sequence[tuple[int, bytes | str]], limit: int = 200) -> str:
    """The ids of ``pieces`` as a small monospace list (the first ``limit`` of them)."""
    ids = [str(int(token_id)) for token_id, _ in pieces]
    shown = ", ".join(ids[:limit]) + (f", ... ({len(ids) - limit} more)" if len(ids) > limit else "")
    return f'<div class="course-token-ids" style="font-family:monospace; font-size:12px; color:#333">[{shown}]</div>'


def tokenizer_view_html(name: str, pieces: Sequence[tuple[int, bytes | str]], show_ids: bool = True) -> str:
    """One tokenizer's result: a header with its name and token count, the coloured tokens, the ids."""
    count = len(pieces)
    header = (
        f'<div class="course-token-header" style="font-weight:bold; margin-top:6px">{html.escape(name)}: '
        f'<span class="course-token-count">{count}</span> token{"s" if count != 1 else ""}</div>'
    )
    return header + token_html(pieces) + (ids_html(pieces) if show_ids else "")


def comparison_html(tokenizers: Mapping[str, Any], text: str, show_ids: bool = True) -> dict[str, str]:
    """For each named tokenizer, the HTML view of ``text`` (name -> HTML), in the given order.

    A tokenizer that cannot encode the text (a character tokenizer meeting a character it has
    never seen) shows its error message instead, so one failure does not hide the others.
    """
    views = {}
    for name, encoder in tokenizers.items():
        try:
            views[name] = tokenizer_view_html(name, pieces_of(encoder, text), show_ids)
        except Exception as err:  # shown in this tokenizer's own view (update_error_message says which kind)
            if not isinstance(err, COURSE_ERRORS):
                _log.warning("tokenizer %r could not encode the text", name, exc_info=err)
            views[name] = (
                f'<div class="course-token-header" style="font-weight:bold; margin-top:6px">{html.escape(name)}: '
                f'<span class="course-token-error" style="color:#B00">cannot encode this text: '
                f"{html.escape(update_error_message(err))}</span></div>"
            )
    return views


# --------------------------------------------------------------------------- widgets


def live_tokenizer(tokenizers: Mapping[str, Any], initial_text: str = "Hello world!", rows: int = 4):
    """A text box and, below it, the text tokenized by each tokenizer, updating as you type.

    ``tokenizers`` maps a display name to anything :func:`pieces_of` accepts. Each tokenizer
    gets its own HTML view (tokens, their ids and the count), so views can be read separately.
    """
    import ipywidgets as widgets

    if not tokenizers:
        raise ValueError("tokenizers must name at least one tokenizer, got an empty mapping")
    box = widgets.Textarea(
        value=initial_text,
        description="Text",
        placeholder="Type anything",
        continuous_update=True,  # tokenizing is fast enough to follow every key press
        rows=rows,
        layout=widgets.Layout(width="95%"),
    )
    views = {name: widgets.HTML() for name in tokenizers}

    def render(text: str) -> None:
        for name, view_html in comparison_html(tokenizers, text).items():
            views[name].value = view_html

    render(initial_text)
    box.observe(lambda change: render(change["new"]), names="value")
    return widgets.VBox([box, *views.values()])


def html_slider(
    render: Callable[[int], str],
    description: str,
    min: int,
    max: int,
    value: int | None = None,
    step: int = 1,
    continuous_update: bool = False,
):
    """An integer slider above an HTML view of ``render(value)``, redrawn when the slider is released.

    Use it for anything where one integer (a number of merges, a layer, a position...) changes
    what is shown. ``render`` must return an HTML string.
    """
    import ipywidgets as widgets

    if min > max:
        raise ValueError(f"min must not exceed max, got min={min}, max={max}")
    value = min if value is None else value
    if not min <= value <= max:
        raise ValueError(f"value must lie between min={min} and max={max}, got {value}")
    slider = widgets.IntSlider(
        value=value,
        min=min,
        max=max,
        step=step,
        description=description,
        continuous_update=continuous_update,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="95%"),
    )
    view = widgets.HTML(render(value))
    error = _ErrorSlot([view])

    def update(change) -> None:
        try:
            view.value = render(change["new"])
        except Exception as err:
            error.show(err)
            return
        error.clear()

    slider.observe(update, names="value")
    return widgets.VBox([slider, view, error.widget])


# --------------------------------------------------------------------------- views driven by several controls


def figure_png(fig) -> bytes:
    """A Matplotlib figure as PNG bytes (for a ``widgets.Image``); the figure is closed afterwards."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def figure_png_and_description(fig) -> tuple[bytes, str]:
    """PNG bytes of ``fig`` and its text description; the figure is closed afterwards."""
    from .plots import describe_figure

    description = describe_figure(fig)
    return figure_png(fig), description


@functools.cache
def _described_image_class():
    import ipywidgets as widgets
    import traitlets

    class DescribedImage(widgets.Image):
        """An ``Image`` whose ``tooltip`` can be set: ipywidgets 8.1's page code reads a widget's
        ``description`` before it shows a tooltip, and fails to draw an ``Image`` (which has none)."""

        description = traitlets.Unicode("").tag(sync=True)

    return DescribedImage


def text_html(text: str) -> str:
    """Plain text (a report with aligned columns) as escaped, monospace HTML."""
    return f'<pre class="course-text" style="font-size:13px; margin:4px 0">{html.escape(text)}</pre>'


def _view_parts(result: Any) -> list[str | bytes | tuple[bytes, str]]:
    """What a render function returned, as a list of HTML strings, PNG images and (PNG, description) pairs."""
    from matplotlib.figure import Figure

    parts = list(result) if isinstance(result, tuple | list) else [result]
    out: list[str | bytes | tuple[bytes, str]] = []
    for part in parts:
        if isinstance(part, Figure):
            out.append(figure_png_and_description(part))
        elif isinstance(part, str | bytes):
            out.append(part)
        else:
            kind = type(part).__name__
            raise TypeError(f"a render function must return HTML (str) or a Matplotlib Figure, got {kind}")
    return out


def live_view(render: Callable[..., Any], controls: Mapping[str, Any], horizontal: bool = False):
    """Controls (ipywidgets keyed by ``render``'s argument names) above ``render(**values)``.

    ``render`` returns an HTML string, a Matplotlib ``Figure`` (shown as an image), or a tuple
    of them, the same kinds every time. It runs once now (a static first render) and again on
    every change of any control; give heavy views controls with ``continuous_update=False``.
    When a later call raises, the views are hidden and the error's message is shown below the
    controls instead (:func:`update_error_html`), until a call succeeds again.

    Prefer figures from :mod:`course_lib.svg_plots` (HTML strings): they are drawn in a millisecond
    or two, where a Matplotlib figure costs 0.2-1 s per change in the kernel, too slow to feel live.
    """
    import ipywidgets as widgets

    if not controls:
        raise ValueError("controls must name at least one widget, got an empty mapping")

    def current() -> list[str | bytes | tuple[bytes, str]]:
        return _view_parts(render(**{name: control.value for name, control in controls.items()}))

    def view_of(part):
        if isinstance(part, tuple):  # a figure, with its description as tooltip
            return _described_image_class()(value=part[0], format="png", tooltip=part[1])
        return widgets.Image(value=part, format="png") if isinstance(part, bytes) else widgets.HTML(part)

    first = current()  # a failure here is the lesson's own mistake: it raises, in the cell that builds the widget
    views = [view_of(p) for p in first]
    error = _ErrorSlot(views)

    def update(change=None) -> None:
        try:
            parts = current()
            if len(parts) != len(views):
                raise RuntimeError(f"render returned {len(parts)} parts, but {len(views)} the first time")
        except Exception as err:  # bad input: its message replaces the picture until the next good input
            error.show(err)
            return
        for view, part in zip(views, parts, strict=True):
            if isinstance(part, tuple):
                view.value, view.tooltip = part
            else:
                view.value = part
        error.clear()

    for control in controls.values():
        control.observe(update, names="value")
    box = widgets.HBox if horizontal else widgets.VBox
    return widgets.VBox([box(list(controls.values())), *views, error.widget])


# ------------------------------------------------------------------ lessons 02 and 03: embeddings, dot products


def _text_box(value: str, description: str):
    import ipywidgets as widgets

    return widgets.Text(
        value=value,
        description=description,
        continuous_update=False,  # look up when the learner presses Enter or leaves the box
        style={"description_width": "initial"},
        layout=widgets.Layout(width="220px"),
    )


def _slider(value: float, low: float, high: float, step: float, description: str, integer: bool = True):
    import ipywidgets as widgets

    kind = widgets.IntSlider if integer else widgets.FloatSlider
    return kind(
        value=value,
        min=low,
        max=high,
        step=step,
        description=description,
        continuous_update=False,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="420px"),
    )


def neighbour_explorer(table: Any, word: str = "tower", k: int = 10, max_k: int = 30):
    """A word box and a slider "Neighbours (k)"; below, the k entries of ``table`` closest to the word.

    The text comes from :func:`course_lib.embeddings.neighbours_report` (bad words are explained, not raised).
    """
    from .embeddings import neighbours_report

    controls = {"word": _text_box(word, "Word"), "k": _slider(k, 1, max_k, 1, "Neighbours (k)")}
    return live_view(lambda word, k: text_html(neighbours_report(table, word, k)), controls, horizontal=True)


def analogy_box(table: Any, a: str = "king", b: str = "man", c: str = "woman", expected: str = "queen"):
    """Four boxes for ``a - b + c`` (and an optional expected answer); below, the best matches and its rank."""
    from .embeddings import analogy_report

    controls = {
        "a": _text_box(a, "Start from"),
        "b": _text_box(b, "minus"),
        "c": _text_box(c, "plus"),
        "expected": _text_box(expected, "expected (optional)"),
    }
    return live_view(lambda a, b, c, expected: text_html(analogy_report(table, a, b, c, expected)), controls)


def position_explorer(encodings: Any, position: int = 0, title: str = "Sinusoidal position vector"):
    """A slider "Position" over the rows of ``encodings``; below, a line of numbers, that row and its similarities."""
    from .svg_plots import position_profile

    n_positions = len(encodings)
    controls = {"position": _slider(position, 0, n_positions - 1, 1, "Position")}

    def render(position: int):
        return position_summary_html(encodings, position), position_profile(encodings, position, title)

    return live_view(render, controls)


def position_summary_html(encodings: Any, position: int) -> str:
    """One line about a row of a position table: its first numbers and the other row most like it."""
    import numpy as np

    rows = np.asarray(encodings, dtype=float)
    if not 0 <= position < len(rows):
        raise ValueError(f"position must be between 0 and {len(rows) - 1}, got {position}")
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True).clip(1e-12)
    similarity = unit @ unit[position]
    similarity[position] = -np.inf
    closest = int(np.argmax(np.round(similarity, 6)))  # a tie (sinusoidal rows p-1, p+1) goes to the earlier
    first = ", ".join(f"{v:+.2f}" for v in rows[position, :4])
    return text_html(
        f"position {position}: starts [{first}, ...]; most similar other position: {closest} "
        f"(cosine {similarity[closest]:+.2f})"
    )


def dot_product_html(a: Sequence[float], b: Sequence[float]) -> str:
    """The dot product of two 2-D vectors written out term by term, with the lengths and the cosine."""
    import numpy as np

    from .plots import signed

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    dot = float(a @ b)
    length_a, length_b = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    shown = round(dot, 2)  # name the sign the learner reads: 0.004 shows as +0.00, so it is "zero" here
    sign = "positive: they point the same way" if shown > 0 else "negative: they point apart"
    if shown == 0:
        sign = "zero: they are perpendicular"
    (a0, a1), (b0, b1) = [signed(v) for v in a], [signed(v) for v in b]
    lines = [
        f"a = ({a0}, {a1})    b = ({b0}, {b1})",
        f"a · b = ({a0})({b0}) + ({a1})({b1}) = {signed(dot)}   ({sign})",
        f"|a| = {length_a:.2f}    |b| = {length_b:.2f}",
    ]
    if length_a > 0 and length_b > 0:
        lines.append(f"cosine = a · b / (|a| |b|) = {signed(dot / (length_a * length_b))}   (lengths divided out)")
    return text_html("\n".join(lines))


def dot_product_explorer(angle_a: int = 30, length_a: float = 2.0, angle_b: int = 100, length_b: float = 1.5):
    """Sliders for the angle and length of two 2-D vectors; below, the numbers and a drawing.

    The slider "Angle of b" turns b around the origin: watch the dot product change sign at 90°.
    """
    import numpy as np

    from .svg_plots import dot_product_picture

    controls = {
        "angle_a": _slider(angle_a, 0, 360, 5, "Angle of a (°)"),
        "length_a": _slider(length_a, 0.0, 3.0, 0.1, "Length of a", integer=False),
        "angle_b": _slider(angle_b, 0, 360, 5, "Angle of b (°)"),
        "length_b": _slider(length_b, 0.0, 3.0, 0.1, "Length of b", integer=False),
    }

    def polar(angle: float, length: float) -> np.ndarray:
        return length * np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])

    def render(angle_a, length_a, angle_b, length_b):
        a, b = polar(angle_a, length_a), polar(angle_b, length_b)
        return dot_product_html(a, b), dot_product_picture(a, b)

    return live_view(render, controls)


# ------------------------------------------------------------------ lessons 04 and 06: attention heads, MLP neurons


def _checkbox(value: bool, description: str):
    import ipywidgets as widgets

    return widgets.Checkbox(value=value, description=description, indent=False, layout=widgets.Layout(width="200px"))


def _dropdown(options: Sequence[Any], value: Any, description: str):
    import ipywidgets as widgets

    return widgets.Dropdown(
        options=options, value=value, description=description, style={"description_width": "initial"}
    )


def _text_area(value: str, description: str):
    import ipywidgets as widgets

    return widgets.Textarea(
        value=value,
        description=description,
        continuous_update=False,  # the model runs when the learner leaves the box, not on every key
        rows=3,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="95%"),
    )


def _require_typed_text(text: str) -> None:
    """An empty box gets a clear message, not a picture of nothing (or of a space the learner never typed)."""
    if not text:
        raise ValueError("the text box is empty: type some text for the model to read")


def _follow_length(slider, text_box, length: Callable[[str], int]) -> None:
    """Keep an integer slider's maximum at ``length(text) - 1`` as the text changes."""

    def update(change) -> None:
        slider.max = max(0, length(change["new"]) - 1)

    text_box.observe(update, names="value")
    update({"new": text_box.value})


def toy_attention_explorer(sentence: str = "the dog chased the black cat through the garden", query: int = 5):
    """Lesson 04's hand-built head: type a sentence (toy words), pick the query position, toggle the
    causal mask and the division by sqrt(d_k); shows the pattern and where the query looks."""
    from .attention import toy_attention_view

    box = _text_box(sentence, "Sentence")
    box.layout.width = "480px"
    slider = _slider(query, 0, len(sentence.split()) - 1, 1, "Query position")
    _follow_length(slider, box, lambda s: len(s.split()) or 1)
    controls = {
        "sentence": box,
        "query": slider,
        "causal": _checkbox(True, "Causal mask"),
        "scale": _checkbox(True, "Divide by √d_k"),
    }

    def render(sentence: str, query: int, causal: bool, scale: bool):
        words = sentence.split()
        if not words:
            raise ValueError("the sentence is empty: type a few words, e.g. 'the small dog chased the cat'")
        return toy_attention_view(words, min(query, len(words) - 1), causal=causal, scale=scale)

    return live_view(render, controls)


def model_attention_explorer(model: Any, tokenizer: Any, text: str, layer: int = 0, head: int = 0, query: int = 0):
    """Lesson 04: a trained model's attention on the learner's text. Pick layer, head and query
    character; toggle the mask and the scaling (recomputed from the head's own queries and keys)."""
    from .attention import model_head_view

    box = _text_area(text, "Your text")
    limit = model.config.block_size
    slider = _slider(query, 0, max(0, min(len(text), limit) - 1), 1, "Query position")
    _follow_length(slider, box, lambda s: min(len(s), limit) or 1)
    controls = {
        "text": box,
        "layer": _dropdown(list(range(model.config.n_layer)), layer, "Layer"),
        "head": _dropdown(list(range(model.config.n_head)), head, "Head"),
        "query": slider,
        "causal": _checkbox(True, "Causal mask"),
        "scale": _checkbox(True, "Divide by √d_k"),
    }

    def render(text: str, layer: int, head: int, query: int, causal: bool, scale: bool):
        _require_typed_text(text)
        view = model_head_view(model, tokenizer, text, layer, head, query, causal=causal, scale=scale)
        n_tokens = len(tokenizer.encode(text))
        if n_tokens > limit:  # say so: the picture shows only the end of the text
            note = f"this text is {n_tokens:,} tokens, longer than the model's context: it reads the last {limit}"
            view = text_html(note) + view
        return view

    return live_view(render, controls)


def neuron_playground(
    w: Any,
    b: Any,
    feature_names: Sequence[str],
    neuron_names: Sequence[str],
    x: Sequence[float],
    activation: str = "relu",
):
    """Lesson 06: one slider per input feature; bars show each neuron's answer before and after the nonlinearity."""
    import numpy as np

    from .mlp import neuron_responses_view

    if len(feature_names) != len(x):
        raise ValueError(f"feature_names and x must have the same length, got {len(feature_names)} and {len(x)}")
    controls = {
        f"f{i}": _slider(float(v), -1.0, 2.0, 0.1, name, integer=False)
        for i, (name, v) in enumerate(zip(feature_names, x, strict=True))
    }

    def render(**values):
        vector = np.array([values[f"f{i}"] for i in range(len(feature_names))])
        return neuron_responses_view(vector, w, b, list(neuron_names), activation=activation)

    return live_view(render, controls)


def neuron_explorer(model: Any, tokenizer: Any, text: str, neurons: Mapping[str, tuple[int, int, str | None]]):
    """Lesson 06: pick one of the trained model's neurons (``neurons`` maps a label to
    ``(layer, neuron, feature)``) and see its activation along the learner's text, the positions
    with ``feature`` shaded."""
    from .mlp import neuron_view, record_neurons

    if not neurons:
        raise ValueError("neurons must name at least one (layer, neuron, feature), got an empty mapping")
    labels = list(neurons)
    controls = {"choice": _dropdown(labels, labels[0], "Neuron"), "text": _text_area(text, "Your text")}

    def render(choice: str, text: str):
        layer, neuron, feature = neurons[choice]
        _require_typed_text(text)
        acts = record_neurons(model, tokenizer, text, layer)
        view = neuron_view(acts[:, neuron], text, neuron, feature=feature, title=f"Layer {layer}, neuron {neuron}")
        window = model.config.block_size
        if len(acts) > window:  # say so: each window starts without the text before it
            note = f"this text is {len(acts):,} tokens, longer than the model's context: read {window} at a time"
            view = text_html(note) + view
        return view

    return live_view(render, controls)


# ------------------------------------------------------------------ lesson 05: temperature


def temperature_report(logits: Any, labels: Sequence[str], temperature: float, k: int = 5) -> str:
    """What temperature ``temperature`` does to a distribution: its entropy and the ``k`` likeliest entries.

    ``logits`` are the raw scores (one per label). The entropy is in nats: 0 means one entry is
    certain, log(N) means all N entries are equally likely.
    """
    import math

    import numpy as np

    from .sampling import entropy, softmax

    probs = softmax(np.asarray(logits, dtype=float), temperature)
    order = np.argsort(-probs, kind="stable")[:k]
    likeliest = ", ".join(f"{show_piece(labels[i])!r} {probs[i]:.3f}" for i in order)
    return (
        f"temperature T = {temperature:.2f}\n"
        f"entropy = {float(entropy(probs)):.2f} nats (0 = one certain choice, {math.log(len(probs)):.2f} = all equal)\n"
        f"likeliest: {likeliest}"
    )


TEMPERATURE_SLIDER = (0.05, 3.0, 0.05)  # the temperature slider's lowest, highest value and step


def temperature_steps() -> list[float]:
    """Every value the temperature slider of :func:`temperature_explorer` can take (0.05, 0.1, ..., 3.0)."""
    low, high, step = TEMPERATURE_SLIDER
    return [round(low + i * step, 2) for i in range(round((high - low) / step) + 1)]


def samples_by_temperature(
    model: Any, tokenizer: Any, prompt: str, n_chars: int, seed: int = 0
) -> Callable[[float], str]:
    """``sample(T)`` for :func:`temperature_explorer`: text continuing ``prompt`` at each slider temperature,
    all drawn now in one batch with the same random numbers (:func:`course_lib.sampling.generate_at_temperatures`),
    so moving the slider only looks a sample up: no model runs while the learner drags."""
    from .sampling import generate_at_temperatures

    temperatures = temperature_steps()
    rows = generate_at_temperatures(model, tokenizer.encode(prompt), n_chars, temperatures, seed=seed)
    samples = {t: tokenizer.decode(row.tolist()) for t, row in zip(temperatures, rows, strict=True)}

    def sample(temperature: float) -> str:
        key = round(float(temperature), 2)
        if key not in samples:
            raise ValueError(f"no sample was drawn for T = {temperature}: the slider's values are {temperatures}")
        return samples[key]

    return sample


def temperature_explorer(
    logits: Any,
    labels: Sequence[str],
    sample: Callable[[float], str] | None = None,
    temperature: float = 1.0,
    k: int = 10,
    title: str = "Next-token probabilities",
):
    """A slider "Temperature" (0.05 to 3); below, the ``k`` likeliest entries of softmax(logits / T) as bars,
    the entropy, and, if ``sample`` is given, ``sample(T)``: text generated at that temperature."""
    import numpy as np

    from .sampling import softmax
    from .svg_plots import likeliest_bars

    controls = {"temperature": _slider(temperature, *TEMPERATURE_SLIDER, "Temperature", integer=False)}

    def render(temperature: float):
        probs = softmax(np.asarray(logits, dtype=float), temperature)
        # One scale for every T (0 to 1.1), so the bars can be compared as the slider moves.
        bars = likeliest_bars(probs, labels, min(k, len(probs)), f"{title} at T = {temperature:.2f}")
        text = temperature_report(logits, labels, temperature)
        if sample is not None:
            text += "\n\ngenerated at this temperature:\n" + sample(temperature)
        return bars, text_html(text)

    return live_view(render, controls)


# ------------------------------------------------------------------ lesson 07: the forward pass on the learner's prompt


def forward_pass_report(model: Any, tokenizer: Any, text: str, k: int = 5, continue_chars: int = 60) -> str:
    """Every stage of ``model``'s forward pass on ``text``, with the shape of its tensor, then the ``k``
    likeliest next tokens and a greedy continuation. Text the tokenizer cannot encode is explained, not raised.

    Shapes follow ``course_lib.model.CAPTURE_KEYS``: (batch, tokens, width). Only the last ``block_size``
    tokens are used (the model's context).
    """
    import torch

    from .sampling import generate, softmax

    try:
        ids = tokenizer.encode(text)
    except ValueError as err:
        return f"cannot encode this prompt: {err}"
    if not ids:
        return "type at least one character: the model needs something to continue"
    ids = ids[-model.config.block_size :]
    capture: dict = {}
    with torch.no_grad():
        model(torch.tensor([ids]), capture=capture)

    def shape(key: str) -> str:
        return str(tuple(capture[key].shape))

    lines = [
        f"prompt: {text[-len(ids) :]!r} -> {len(ids)} tokens",
        f"{'token ids':<44}{str((1, len(ids))):<18}{ids[:12]}{' ...' if len(ids) > 12 else ''}",
        f"{'token embeddings (rows of tok_emb)':<44}{shape('tok_emb')}",
        f"{'+ position embeddings (rows of pos_emb)':<44}{shape('pos_emb')}",
        f"{'= residual stream into block 0':<44}{shape('embed')}",
    ]
    for i in range(model.config.n_layer):
        b = f"blocks.{i}"
        lines += [
            f"block {i}:",
            f"{'  attention patterns (one per head)':<44}{shape(b + '.attn.pattern')}",
            f"{'  attention output, added to stream':<44}{shape(b + '.attn.out')}",
            f"{'  MLP neurons (after GELU)':<44}{shape(b + '.mlp.post')}",
            f"{'  MLP output, added to stream':<44}{shape(b + '.mlp.out')}",
            f"{'  residual stream after the block':<44}{shape(b + '.resid_post')}",
        ]
    last = capture["logits"][0, -1]
    probs = softmax(last.double().numpy())
    top = probs.argsort()[::-1][:k]
    likeliest = ", ".join(f"{show_piece(tokenizer.decode([int(i)]))!r} {probs[i]:.3f}" for i in top)
    continuation = tokenizer.decode(generate(model, ids, continue_chars, greedy=True)[len(ids) :].tolist())
    lines += [
        f"{'final LayerNorm':<44}{shape('ln_f')}",
        f"{'logits (a score per token, per position)':<44}{shape('logits')}",
        f"{'logits at the last position':<44}{str(tuple(last.shape))}",
        f"{'softmax -> probabilities':<44}{str(probs.shape):<18}sum = {probs.sum():.3f}",
        f"likeliest next tokens: {likeliest}",
        f"chosen (greedy): {show_piece(tokenizer.decode([int(top[0])]))!r}",
        "",
        f"append and repeat, greedy, {continue_chars} more tokens:",
        text[-len(ids) :] + continuation,
    ]
    return "\n".join(lines)


def forward_pass_explorer(model: Any, tokenizer: Any, text: str = "What will be"):
    """A text box "Your prompt"; below, :func:`forward_pass_report` for it (runs when the box loses focus)."""
    controls = {"text": _text_area(text, "Your prompt")}
    return live_view(lambda text: text_html(forward_pass_report(model, tokenizer, text)), controls)


# ------------------------------------------------------------------ lesson 08: a training playground


def _playground_config(vocab_size: int, n_layer: int, n_embd: int, block_size: int):
    from .model import GPTConfig

    return GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_head=4, n_embd=n_embd)


def training_plan_html(
    vocab_size: int,
    n_layer: int,
    n_embd: int,
    learning_rate: float,
    steps: int,
    block_size: int = 64,
    batch_size: int = 32,
) -> str:
    """What pressing Train will do: the model's size and the amount of training, before anything runs."""
    from .model import count_parameters

    config = _playground_config(vocab_size, n_layer, n_embd, block_size)
    params = count_parameters(config)["total"]
    tokens = steps * batch_size * block_size
    return text_html(
        f"model: {n_layer} layer{'s' if n_layer != 1 else ''} of width {n_embd}, 4 heads, context {block_size}: "
        f"{params:,} parameters\n"
        f"training: {steps} steps of {batch_size} x {block_size} tokens ({tokens:,} tokens) "
        f"at learning rate {learning_rate:g}\n"
        "press Train to run it (larger models and more steps take longer)"
    )


def run_training(
    train_data: Any,
    val_data: Any,
    tokenizer: Any,
    n_layer: int,
    n_embd: int,
    learning_rate: float,
    steps: int,
    block_size: int = 64,
    batch_size: int = 32,
    prompt: str = "\n",
    sample_chars: int = 200,
    seed: int = 0,
    callback: Callable[[list[dict]], None] | None = None,
):
    """Build a fresh seeded GPT, train it for ``steps`` steps, and return (history, sample text, model).

    The same settings and seed give the same run. The sample is drawn at temperature 0.8 with seed 0.
    ``callback(history)`` runs after each of the run's evaluations (about 7), to show progress.
    """
    from .model import GPT
    from .sampling import generate_text
    from .training import TrainConfig, seed_everything, train

    seed_everything(seed)
    model = GPT(_playground_config(tokenizer.vocab_size, n_layer, n_embd, block_size))
    config = TrainConfig(
        batch_size=batch_size,
        max_iters=steps,
        learning_rate=learning_rate,
        warmup_iters=min(50, max(1, steps // 10)),
        eval_interval=max(1, steps // 6),
        eval_batches=4,
        eval_batch_size=32,
        seed=seed,
        device="cpu",
    )
    result = train(model, train_data, val_data, config, callback=callback, progress=False)
    sample = generate_text(model.eval(), tokenizer, prompt, sample_chars, temperature=0.8, seed=0)
    return result.history, sample, model


def training_result_html(history: Sequence[Mapping[str, float]], title: str = "Your training run") -> str:
    """The loss curves of one run as SVG; before any run (``history`` empty), a line saying how to get them."""
    from .svg_plots import loss_curves

    if not history:
        return text_html("press Train to draw the loss curves of a run here")
    return loss_curves(history, title)


def training_playground(
    train_data: Any,
    val_data: Any,
    tokenizer: Any,
    n_layer: int = 2,
    n_embd: int = 64,
    learning_rate: float = 3e-3,
    steps: int = 150,
    prompt: str = "\n",
):
    """Dropdowns "Layers", "Width" and "Learning rate", a slider "Steps" and a button "Train".

    Changing a control only updates the plan (size and amount of training); the button trains a fresh
    seeded model with :func:`run_training` and shows its loss curves and a sample. Nothing trains when
    the widget is built: the first render shows the plan and an empty plot.
    """
    import ipywidgets as widgets

    rates = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
    if learning_rate not in rates:
        raise ValueError(f"learning_rate must be one of {rates}, got {learning_rate}")
    controls = {
        "n_layer": _dropdown([1, 2, 3, 4], n_layer, "Layers"),
        "n_embd": _dropdown([32, 64, 96, 128], n_embd, "Width"),
        "learning_rate": _dropdown([(f"{r:g}", r) for r in rates], learning_rate, "Learning rate"),
        "steps": _slider(steps, 50, 600, 50, "Steps"),
    }
    button = widgets.Button(description="Train", button_style="primary", icon="play")
    plan = widgets.HTML()
    curves = widgets.HTML(training_result_html([]))
    outcome = widgets.HTML(text_html("no run yet"))

    def values() -> dict:
        return {name: control.value for name, control in controls.items()}

    def show_plan(change=None) -> None:
        plan.value = training_plan_html(tokenizer.vocab_size, **values())

    def train_now(_button=None) -> None:
        button.disabled, button.description = True, "Training..."
        settings = values()
        # Shown at once (the page gets it before the run starts): the run itself takes a second or more,
        # so the curves then grow at each evaluation instead of appearing only at the end.
        outcome.value = text_html(f"training a fresh model for {settings['steps']} steps...")

        progress: list[dict] = []

        def show_progress(history: list[dict]) -> None:
            progress[:] = history
            curves.value = training_result_html(history)
            outcome.value = text_html(
                f"training: step {history[-1]['iter']} of {settings['steps']}, "
                f"loss on held-out text {history[-1]['val_loss']:.2f}..."
            )

        try:
            history, sample, _ = run_training(
                train_data, val_data, tokenizer, prompt=prompt, callback=show_progress, **settings
            )
            curves.value = training_result_html(history)
            last = history[-1]
            outcome.value = text_html(
                f"after {last['iter']} steps: training loss {last['train_loss']:.2f}, "
                f"validation loss {last['val_loss']:.2f}\n\nsample (T = 0.8):\n{sample}"
            )
        except Exception as err:  # say so in the widget, and do not leave the last run's curves up as if new
            if not isinstance(err, COURSE_ERRORS):
                _log.warning("the training playground's run failed", exc_info=err)
            curves.value = training_result_html(progress)
            outcome.value = update_error_html(err)
        finally:
            button.disabled, button.description = False, "Train"

    for control in controls.values():
        control.observe(show_plan, names="value")
    button.on_click(train_now)
    show_plan()
    row = widgets.HBox([controls["n_layer"], controls["n_embd"], controls["learning_rate"]])
    return widgets.VBox([row, controls["steps"], button, plan, curves, outcome])
