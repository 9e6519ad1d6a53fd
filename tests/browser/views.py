"""What the page shows: a cell's controls and their values, its token view, its output, its widget's view.

:func:`output_snapshot` is a string that changes when an output changes (:func:`wait_for_change` waits
for that); :func:`shown_view` reads every figure's hash and every HTML text of a cell's widget, the form
in which :meth:`.session.LabSession.fresh_view` reports what a new copy of the widget, built in the
kernel with the same :func:`control_settings`, shows. When the two agree, the page displays exactly
what the kernel computes for those settings.
"""

from __future__ import annotations

import time

from . import ACTION_TIMEOUT_MS, BrowserTestError
from .scripts import page_script

# Characters a token view may draw in place of whitespace (GPT-2's byte markers, SentencePiece's
# lower one-eighth block, a middle dot, the open-box and return symbols).
WHITESPACE_MARKERS = "\u0120\u010a\u2581\u00b7\u2423\u23ce\u21b5\u21e5\u2192"


# --------------------------------------------------------------------------- the controls


def control_settings(cell) -> list[tuple[str, str, str | bool]]:
    """Every control in ``cell``'s output as (kind, description, value), in page order.

    Sliders give their readout, dropdowns the chosen option's text, check boxes True/False, text boxes
    their text. :meth:`LabSession.fresh_view` sets a new copy of the widget to exactly these values.
    """
    return [tuple(setting) for setting in cell.evaluate(page_script("controlValues"))]


def control_values(cell) -> dict[str, str | bool]:
    """:func:`control_settings` as a mapping description -> value (a later control wins a shared name)."""
    return {description: value for _, description, value in control_settings(cell)}


# --------------------------------------------------------------------------- the output


def read_tokens(cell) -> list[str]:
    """The texts of the ``.course-token`` spans of the first token view in ``cell``, in order."""
    return cell.evaluate(page_script("tokenTexts"))


def strip_whitespace(text: str) -> str:
    """``text`` without whitespace or the markers token views draw for it (Ġ, ▁, ·, ␣, ⏎...)."""
    return "".join(ch for ch in text if not ch.isspace() and ch not in WHITESPACE_MARKERS)


def output_snapshot(scope) -> str:
    """A string that changes when what ``scope`` (a cell, an output area) shows changes, controls excluded."""
    return scope.evaluate(page_script("outputSnapshot"))


def wait_for_change(
    scope, before: str, *, timeout_ms: float = ACTION_TIMEOUT_MS, settle_ms: float = 300, until: str | None = None
) -> str:
    """Wait until :func:`output_snapshot` of ``scope`` differs from ``before`` and then holds still.

    "Holds still" means unchanged for ``settle_ms``, so an output that is cleared and redrawn (an
    ``Output`` widget, a figure) is returned redrawn, not half-way. With ``until``, also wait for the
    output to contain that text: an action that shows "working..." at once and its result seconds
    later (a training run) is finished only then. Returns the new snapshot.
    """
    page = scope.page
    deadline = time.monotonic() + timeout_ms / 1000
    try:
        page.wait_for_function(
            page_script("outputChanged"),
            arg=[scope.element_handle(), before],
            timeout=timeout_ms,
        )
    except Exception as exc:
        raise BrowserTestError(f"The output did not change within {timeout_ms / 1000:.0f} s") from exc
    current = output_snapshot(scope)
    while time.monotonic() < deadline:
        page.wait_for_timeout(settle_ms)
        latest = output_snapshot(scope)
        if latest == current and (until is None or until in latest):
            return latest
        current = latest
    return current


# --------------------------------------------------------------------------- the widget's view


def shown_view(cell) -> dict[str, list[str]]:
    """What ``cell``'s widget shows, in the form :meth:`LabSession.fresh_view` reports it.

    ``images``: each figure: the SHA-256 of an image's bytes (a Matplotlib figure arrives as PNG
    bytes), or the ``data-digest`` of an SVG figure (:mod:`course_lib.show.svg`, a hash of what it draws);
    ``texts``: the text of each HTML view, whitespace collapsed.
    """
    return cell.evaluate(page_script("shownView"))


# --------------------------------------------------------------------------- the walkthrough


def walkthrough_state(cell) -> dict:
    """What the walkthrough in ``cell`` shows: its current step (``index``, ``key``, ``title``,
    ``equation``), that step's tensor figures (``name``, ``shape``, ``source``, ``last``: the last
    position's values as written in the figure), the ``status`` line, and the ``fills`` the page paints
    on the drawing's parts, in step order (the highlight is a style sent with each step)."""
    return cell.evaluate(page_script("walkthroughState"))
