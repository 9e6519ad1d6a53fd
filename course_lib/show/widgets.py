"""The widget framework every lesson's widgets are built with: views that follow their controls.

A lesson's widget (in :mod:`course_lib.lessons`) is a thin shell around a function that returns HTML
(or text) and is tested on its own; :func:`live_view` shows that function's result below its controls,
and the factories here (:func:`slider`, :func:`text_box`, :func:`text_area`, :func:`dropdown`,
:func:`checkbox`) make those controls look the same in every lesson. Builders render once when called (so
a saved notebook shows something even without a kernel) and then on every change. Figures in widgets
are SVG from :mod:`course_lib.show.svg`, so that a view follows its control within the course's 150 ms aim.

A view never goes stale silently: when an update raises (text with a character the model does not
know, an empty box, a setting a function refuses), the widget hides its picture and shows, in its own
output, the error's message (:func:`update_error_html`); the next good input brings the view back. Without
this, ipywidgets would keep the old picture on screen and send the traceback to the log, unseen.

Add new helpers at the end, each with a docstring saying what it shows and what it expects.
"""

from __future__ import annotations

import contextlib
import html
import io
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import traitlets
from matplotlib.figure import Figure

from course_lib.data import DataError
from course_lib.show.alt_text import describe_figure

_log = logging.getLogger(__name__)


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


# --------------------------------------------------------------------------- one control, one view


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
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def figure_png_and_description(fig) -> tuple[bytes, str]:
    """PNG bytes of ``fig`` and its text description; the figure is closed afterwards."""
    description = describe_figure(fig)
    return figure_png(fig), description


class DescribedImage(widgets.Image):
    """An ``Image`` whose ``tooltip`` can be set: ipywidgets 8.1's page code reads a widget's
    ``description`` before it shows a tooltip, and fails to draw an ``Image`` (which has none)."""

    description = traitlets.Unicode("").tag(sync=True)


def text_html(text: str) -> str:
    """Plain text (a report with aligned columns) as escaped, monospace HTML."""
    return f'<pre class="course-text" style="font-size:13px; margin:4px 0">{html.escape(text)}</pre>'


def _view_parts(result: Any) -> list[str | bytes | tuple[bytes, str]]:
    """What a render function returned, as a list of HTML strings, PNG images and (PNG, description) pairs."""
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

    Prefer figures from :mod:`course_lib.show.svg` (HTML strings): they are drawn in a millisecond
    or two, where a Matplotlib figure costs 0.2-1 s per change in the kernel, too slow to feel live.
    """
    if not controls:
        raise ValueError("controls must name at least one widget, got an empty mapping")

    def current() -> list[str | bytes | tuple[bytes, str]]:
        return _view_parts(render(**{name: control.value for name, control in controls.items()}))

    def view_of(part):
        if isinstance(part, tuple):  # a figure, with its description as tooltip
            return DescribedImage(value=part[0], format="png", tooltip=part[1])
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


# --------------------------------------------------------------------------- controls, the same in every lesson


def text_box(value: str, description: str):
    """A one-line text box, read when the learner presses Enter or leaves it."""
    return widgets.Text(
        value=value,
        description=description,
        continuous_update=False,  # look up when the learner presses Enter or leaves the box
        style={"description_width": "initial"},
        layout=widgets.Layout(width="220px"),
    )


def slider(value: float, low: float, high: float, step: float, description: str, integer: bool = True):
    """An integer (or, with ``integer=False``, a float) slider from ``low`` to ``high``, read when released."""
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


def checkbox(value: bool, description: str):
    """A checkbox with its label on the right."""
    return widgets.Checkbox(value=value, description=description, indent=False, layout=widgets.Layout(width="200px"))


def dropdown(options: Sequence[Any], value: Any, description: str):
    """A dropdown of ``options`` (values, or ``(label, value)`` pairs)."""
    return widgets.Dropdown(
        options=options, value=value, description=description, style={"description_width": "initial"}
    )


def text_area(value: str, description: str):
    """A text box of three lines for text a model reads: read when the learner leaves it."""
    return widgets.Textarea(
        value=value,
        description=description,
        continuous_update=False,  # the model runs when the learner leaves the box, not on every key
        rows=3,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="95%"),
    )


def require_typed_text(text: str) -> None:
    """An empty box gets a clear message, not a picture of nothing (or of a space the learner never typed)."""
    if not text:
        raise ValueError("the text box is empty: type some text for the model to read")


def follow_length(position, box, length: Callable[[str], int]) -> None:
    """Keep the ``position`` slider's maximum at ``length(text) - 1`` as the text of ``box`` changes."""

    def update(change) -> None:
        position.max = max(0, length(change["new"]) - 1)

    box.observe(update, names="value")
    update({"new": box.value})


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """PyTorch's math on one thread inside the block, as before it afterwards: for a view's small model work.

    A view's update runs a small model on a short prompt, often one token at a time: matrices too small
    for a second thread to share, while the browser and JupyterLab use the other core to draw the page.
    Two threads then spend their time waiting for each other: lesson 07's report (a forward pass and 60
    generated tokens) takes about 70 ms on one thread and several times that on two on a busy two-core
    laptop. The numbers are the same either way.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
