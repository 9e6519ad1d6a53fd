"""How fast the page follows a learner: from a key press, a click or a choice to the updated output.

Both ends of every measurement are taken in the page's own clock (``performance.now()``), so
Playwright's round trips are not counted. :func:`timed_change` times any control change to its output's
final state (:func:`.views.wait_for_change`); :func:`type_and_wait_for_tokens` times the last key press
of a typed text to the moment the token view spells it. Tests print these times and never assert them:
``benchmarks/widget_latency.py`` measures them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import ACTION_TIMEOUT_MS, BrowserTestError
from .controls import type_text
from .scripts import page_script
from .views import WHITESPACE_MARKERS, output_snapshot, read_tokens, strip_whitespace, wait_for_change


@dataclass
class TimedUpdate:
    """How long the page took from the learner's last key press to showing the expected output."""

    seconds: float
    tokens: list[str]


def type_and_wait_for_tokens(box, cell, text: str, *, timeout_ms: float = ACTION_TIMEOUT_MS) -> TimedUpdate:
    """Type ``text`` into ``box`` and wait until ``cell``'s token view spells it; time the last key press.

    All but the last character go in first (the last 8 of them key by key, so several updates may
    still be on their way). Then the clock starts at the ``keydown`` of the last character, in the
    page's own time, and stops at the first DOM change after which the joined tokens equal ``text``
    (whitespace and its markers ignored).
    """
    if len(text) < 2 or not strip_whitespace(text[-1]):
        raise ValueError(f"text must have 2+ characters and end in a visible one (the timed key), got {text!r}")
    page = box.page
    type_text(box, text[:-1], commit=False, keys=8)  # a burst of key presses, each an update on its way
    # Arm the clock: the last keydown in the box, and the first DOM change after which the tokens spell `text`.
    box.evaluate(page_script("noteLastKey"))
    cell.evaluate(page_script("watchTokens"), [strip_whitespace(text), WHITESPACE_MARKERS])
    box.press_sequentially(text[-1])
    box.evaluate("(el) => el.blur()")  # commits a continuous_update=False box; harmless otherwise
    try:
        page.wait_for_function("() => window.__courseDone !== null", timeout=timeout_ms)
    except Exception as exc:
        raise BrowserTestError(
            f"The token view never spelled {text!r} within {timeout_ms / 1000:.0f} s; it shows {read_tokens(cell)!r}"
        ) from exc
    finally:
        page.evaluate("() => window.__courseObserver && window.__courseObserver.disconnect()")
    done, pressed = page.evaluate("() => [window.__courseDone, window.__courseLastKey]")
    return TimedUpdate(seconds=(done - pressed) / 1000, tokens=read_tokens(cell))


@dataclass
class TimedChange:
    """A control change and its effect: the output before and after, and how long the update took."""

    ms: float  # from the learner's action (key press, click, leaving a box) to the output's final state
    before: str  # output_snapshot before the action
    after: str  # output_snapshot once the output held still
    first_ms: float = 0.0  # from the action to the output's first change (a "working..." note, or the result)
    longest_wait_ms: float = 0.0  # the longest time, from the action to the final state, with no visible change


START_EVENTS = ("keydown", "pointerdown", "mousedown", "input", "change", "focusout", "click")


def timed_change(
    scope,
    act,
    *,
    start_events: Sequence[str] = START_EVENTS,
    timeout_ms: float = ACTION_TIMEOUT_MS,
    settle_ms: float = 300,
    until: str | None = None,
) -> TimedChange:
    """Do ``act()`` (a learner's action on a control), wait for ``scope``'s output to change, and time it.

    The clock starts at the first of ``start_events`` in the page after arming (by default a key press,
    a click, an edit, a ``change`` or a box losing focus; pass ``("change",)`` to start when a dropdown's
    choice is made rather than when its list is opened) and stops at the first change of the page
    after which ``scope`` shows what it finally shows (:func:`wait_for_change`): an update drawn in
    several steps (a text, then a figure) is timed to its last step. Both times are the page's own, so
    Playwright's overhead is not counted. Raises BrowserTestError if the output does not change within ``timeout_ms``.
    """
    page = scope.page
    before = output_snapshot(scope)
    scope.evaluate(page_script("armTiming"), list(start_events))
    try:
        act()
        after = wait_for_change(scope, before, timeout_ms=timeout_ms, settle_ms=settle_ms, until=until)
    finally:
        page.evaluate("() => window.__courseTiming && window.__courseTiming.stop()")
    timing = page.evaluate("() => ({ armed: window.__courseTiming.armed, acted: window.__courseTiming.acted })")
    seen = page.evaluate("() => window.__courseTiming.seen")
    start = timing["acted"] if timing["acted"] is not None else timing["armed"]
    # The last recorded change that produced the final output (the output may pass through it earlier,
    # e.g. a figure cleared and redrawn, but then it differs in between).
    done = next((t for t, shown in reversed(seen) if shown == after), None)
    if done is None:  # the final state was reached between two observations; fall back to the last change
        done = seen[-1][0] if seen else start
    first = next((t for t, _ in seen if t >= start), done)
    moments = [start, *(t for t, _ in seen if start <= t <= done), done]
    longest = max(later - earlier for earlier, later in zip(moments, moments[1:], strict=False))
    return TimedChange(ms=done - start, before=before, after=after, first_ms=first - start, longest_wait_ms=longest)
