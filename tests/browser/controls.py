"""Finding a lesson's controls the way a learner does, and driving them with the keyboard.

Widgets are found by their visible description (the label left of an ipywidgets control) and, to tell
apart two similar controls, by what their cell shows (``near=".course-token"``: the cell whose output
contains that element). Each finder returns the element a keyboard user works with (a slider's handle,
a ``<select>``, a check box's ``<input>``, a text box).

Controls are driven with the keyboard, as a keyboard-only learner would (``move_slider``/``step_slider``,
``step_dropdown``, ``toggle_checkbox``, ``press_button``, ``type_text``); ``accessibility_problems``
says when one cannot be reached with Tab or has no accessible name.
"""

from __future__ import annotations

import contextlib
import re

from . import ACTION_TIMEOUT_MS, BrowserTestError

CELLS = ".jp-NotebookPanel .jp-CodeCell"  # CSS of a notebook's code cells, in page order


def _label_pattern(description: str):
    """Match an ipywidgets description, with or without a trailing colon, ignoring case and spaces."""
    return re.compile(rf"^\s*{re.escape(description.strip().rstrip(':').strip())}\s*:?\s*$", re.IGNORECASE)


def cell_of(element):
    """The code cell containing ``element`` (a locator), pinned by position like :func:`find_cell`."""
    index = element.evaluate("(el, sel) => Array.from(document.querySelectorAll(sel)).indexOf(el.closest(sel))", CELLS)
    if index < 0:
        raise BrowserTestError("the element is not inside a notebook code cell")
    return element.page.locator(CELLS).nth(index)


def find_cell(page, *has: str, timeout_ms: float = ACTION_TIMEOUT_MS):
    """The first code cell whose output contains an element matching each CSS selector in ``has``.

    The returned locator is pinned to that cell by its position, so it keeps pointing at the same
    cell while the output changes (a token view that is empty for a moment must not lose its cell).
    """
    matching = page.locator(CELLS)
    for selector in has:
        matching = matching.filter(has=page.locator(f".jp-Cell-outputArea {selector}"))
    try:
        matching.first.wait_for(state="attached", timeout=timeout_ms)
    except Exception as exc:
        raise BrowserTestError(f"No code cell has an output containing all of {list(has)}") from exc
    return cell_of(matching.first)


def _control(page, kind: str, description: str | None, near: str | None, label: str | None = ".widget-label"):
    """The first ipywidgets control box of ``kind`` (CSS), labelled ``description``, in a cell ``near``.

    With ``near``, the cell must show both that control and an element matching ``near``: an earlier
    cell with only one of them (a static token view, another box with the same label) is passed over.
    ``label`` is the CSS of the element inside the box that shows the description (a check box shows it
    beside the box, in ``.widget-label-basic``); None means the box's own text (a button's caption).
    """
    boxes = page.locator(f".jp-Cell-outputArea {kind}")
    if description is not None:
        pattern = _label_pattern(description)
        boxes = boxes.filter(has=page.locator(label, has_text=pattern)) if label else boxes.filter(has_text=pattern)
    cells = page.locator(CELLS).filter(has=boxes)
    if near:
        cells = cells.filter(has=page.locator(f".jp-Cell-outputArea {near}"))
    try:
        cells.first.wait_for(state="attached")
        box = cell_of(cells.first).locator(boxes).first
        box.wait_for(state="visible")
    except Exception as exc:
        found = [t for t in page.locator(".jp-Cell-outputArea .widget-label").all_inner_texts() if t.strip()]
        raise BrowserTestError(
            f"No {kind} widget described {description!r}"
            + (f" in a cell whose output also has {near!r}" if near else "")
            + f". Widget labels on the page: {found}"
        ) from exc
    return box


def find_text_box(page, description: str | None = None, *, near: str | None = None):
    """The ``<textarea>``/``<input>`` of the first ipywidgets Textarea or Text labelled ``description``.

    ``near`` narrows the search to the cell whose output contains that CSS selector, for instance
    ``near=".course-token"`` for the box that drives a token view.
    """
    box = _control(page, ":is(.widget-textarea, .widget-text)", description, near)
    return box.locator("textarea, input").first


def find_slider(page, description: str | None = None, *, near: str | None = None):
    """The handle (``role=slider``) of the first ipywidgets slider labelled ``description``.

    Move it by keyboard with :func:`move_slider`; read it with :func:`slider_value`.
    """
    box = _control(page, ".widget-slider", description, near)
    return box.locator("[role=slider]").first


def slider_value(handle) -> str:
    """What the slider's readout shows (falls back to the handle's aria value when there is no readout)."""
    box = handle.locator("xpath=ancestor::*[contains(@class, 'widget-slider')][1]")
    readout = box.locator(".widget-readout")
    if readout.count() and readout.first.is_visible():
        return readout.first.inner_text().strip()
    return (handle.get_attribute("aria-valuetext") or handle.get_attribute("aria-valuenow") or "").strip()


def move_slider(handle, key: str = "ArrowRight", presses: int = 1) -> str:
    """Focus the slider handle and press ``key`` (ArrowRight/ArrowLeft/Home/End/PageUp...) ``presses`` times.

    Returns the new readout. Keyboard moves go through noUiSlider's own handlers, so the widget sees
    exactly what a learner's key press sends (including ``continuous_update=False`` "change" events).
    """
    handle.focus()
    for _ in range(presses):
        handle.press(key)
    return slider_value(handle)


def find_checkbox(page, description: str | None = None, *, near: str | None = None):
    """The ``<input type=checkbox>`` of the first ipywidgets Checkbox labelled ``description``."""
    box = _control(page, ".widget-checkbox", description, near, label=".widget-label-basic")
    return box.locator("input[type=checkbox]").first


def find_dropdown(page, description: str | None = None, *, near: str | None = None):
    """The ``<select>`` of the first ipywidgets Dropdown labelled ``description``."""
    box = _control(page, ".widget-dropdown", description, near)
    return box.locator("select").first


def find_button(page, description: str | None = None, *, near: str | None = None):
    """The first ipywidgets Button whose caption is ``description``."""
    return _control(page, ".widget-button", description, near, label=None)


# What a lesson spec calls each kind of control, and how to find it.
CONTROL_FINDERS = {
    "slider": find_slider,
    "checkbox": find_checkbox,
    "dropdown": find_dropdown,
    "text": find_text_box,
    "button": find_button,
}


def find_control(page, kind: str, description: str, *, near: str | None = None):
    """The control of ``kind`` (a key of :data:`CONTROL_FINDERS`) labelled ``description``."""
    if kind not in CONTROL_FINDERS:
        raise ValueError(f"kind must be one of {sorted(CONTROL_FINDERS)}, got {kind!r}")
    return CONTROL_FINDERS[kind](page, description, near=near)


_OPPOSITE_KEYS = {
    "ArrowRight": "ArrowLeft",
    "ArrowLeft": "ArrowRight",
    "ArrowUp": "ArrowDown",
    "ArrowDown": "ArrowUp",
    "PageUp": "PageDown",
    "PageDown": "PageUp",
    "Home": "End",
    "End": "Home",
}


def opposite_key(key: str) -> str:
    """The key that undoes ``key`` on a slider or a dropdown (ArrowRight -> ArrowLeft, Home -> End...)."""
    if key not in _OPPOSITE_KEYS:
        raise ValueError(f"key must be one of {sorted(_OPPOSITE_KEYS)}, got {key!r}")
    return _OPPOSITE_KEYS[key]


def _key_that_moves(at_start: bool, at_end: bool, key: str) -> str:
    """``key``, or its opposite when ``key`` would push against the end it is already at."""
    towards_end = key in {"ArrowRight", "ArrowUp", "PageUp", "End"}
    if (towards_end and at_end) or (not towards_end and at_start):
        return opposite_key(key)
    return key


def step_slider(handle, key: str = "ArrowRight") -> str:
    """Press ``key`` once on a slider handle; at the end ``key`` points to, press the opposite key.

    Returns the new readout. Use it when the starting value is not known (a lesson may start a slider
    at its maximum); :func:`move_slider` presses exactly what it is told.
    """
    low, high, now = (float(handle.get_attribute(a)) for a in ("aria-valuemin", "aria-valuemax", "aria-valuenow"))
    return move_slider(handle, _key_that_moves(now <= low, now >= high, key))


def step_dropdown(select, key: str = "ArrowDown") -> str:
    """Choose the next (``ArrowDown``) or previous (``ArrowUp``) option of a dropdown with the keyboard.

    At the first or last option the other arrow is used. Returns the chosen option's text. The list is
    opened first (Alt+ArrowDown), the arrow moves within it and Enter chooses: JupyterLab takes a plain
    arrow key pressed on a closed ``<select>`` for its own "select the next cell" shortcut, so the way
    most keyboard users change a dropdown does nothing there (ipywidgets issue #3912).
    """
    if key not in {"ArrowDown", "ArrowUp"}:
        raise ValueError(f"key must be 'ArrowDown' or 'ArrowUp', got {key!r}")
    index, count = select.evaluate("(el) => [el.selectedIndex, el.options.length]")
    if count < 2:
        raise BrowserTestError(f"the dropdown has {count} option(s): there is nothing to choose")
    is_open = "(el) => { try { return el.matches(':open'); } catch (e) { return null; } }"
    if (key == "ArrowDown" and index >= count - 1) or (key == "ArrowUp" and index <= 0):
        key = opposite_key(key)  # in a list, ArrowDown goes towards the end
    page = select.page
    # The list takes a moment to accept keys after it opens (keys sent too early are lost): a person is
    # never that fast, a test can be, so wait a little longer on each try.
    for pause_ms in (100, 400, 1500):
        select.focus()
        select.press("Alt+ArrowDown")
        try:
            page.wait_for_function(f"(el) => ({is_open})(el) !== false", arg=select.element_handle(), timeout=5000)
        except Exception as exc:
            raise BrowserTestError("Alt+ArrowDown did not open the dropdown's list") from exc
        page.wait_for_timeout(pause_ms)
        select.press(key)
        select.press("Enter")
        with contextlib.suppress(Exception):
            page.wait_for_function(
                f"([el, index]) => ({is_open})(el) !== true && el.selectedIndex !== index",
                arg=[select.element_handle(), index],
                timeout=2000,
            )
        if select.evaluate("(el) => el.selectedIndex") != index:
            break
        if select.evaluate(is_open):
            select.press("Escape")
    else:
        raise BrowserTestError(f"the dropdown still shows option {index} after choosing another with the keyboard")
    return dropdown_value(select)


def dropdown_value(select) -> str:
    """The text of the dropdown's chosen option ('' when none is chosen), no-break spaces made plain."""
    chosen = select.evaluate("(el) => (el.selectedIndex < 0 ? '' : el.options[el.selectedIndex].textContent)")
    return chosen.replace("\u00a0", " ")


def toggle_checkbox(checkbox) -> bool:
    """Focus the check box and press Space, as a keyboard user does; returns whether it is now ticked."""
    checkbox.focus()
    checkbox.press("Space")
    return checkbox.is_checked()


def press_button(button) -> None:
    """Focus the button and press Enter, as a keyboard user does."""
    button.focus()
    button.press("Enter")


def accessibility_problems(control) -> list[str]:
    """What keeps a keyboard or screen-reader user from this control (empty when nothing does).

    Checks that the Tab key can reach it (it takes the focus, is not disabled, has no negative tabindex)
    and that it has an accessible name (what a screen reader announces; Playwright computes it the way
    the browser's accessibility tree does).
    """
    problems = []
    reachable = control.evaluate(
        "(el) => { el.focus(); return el.tabIndex >= 0 && !el.disabled && document.activeElement === el; }"
    )
    if not reachable:
        problems.append("cannot be reached with the Tab key")
    lines = control.aria_snapshot().strip().splitlines()
    match = re.match(r'^\s*-\s*([\w-]+)(?:\s+"(.*?)")?', lines[0]) if lines else None
    role = match.group(1) if match else "element"
    if not (match and match.group(2) and match.group(2).strip()):
        problems.append(f"has no accessible name: a screen reader announces it as an unnamed {role}")
    return problems


def type_text(box, text: str, *, commit: bool = True, keys: int | None = None) -> None:
    """Replace the box's text by typing ``text`` key by key, like a learner.

    ``keys`` limits key-by-key typing to the last ``keys`` characters; the rest is pasted in one go
    (one input event, as a learner pasting), which saves a kernel round trip per character.
    With ``commit`` the box then loses focus, which is when a ``continuous_update=False`` text widget
    sends its value to the kernel (with ``continuous_update=True`` every key already did).
    """
    split = 0 if keys is None else max(0, len(text) - keys)
    box.click()
    box.press("ControlOrMeta+a")
    box.press("Delete")
    if split:
        box.fill(text[:split])
    box.press_sequentially(text[split:])
    if commit:
        box.evaluate("(el) => el.blur()")
