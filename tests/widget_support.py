"""Reading a course widget in tests: what it shows under its controls."""

from __future__ import annotations


def shown(box):
    """What a course widget shows under its controls: (the views' values, hidden or not; the error message or '')."""
    *views, message = box.children[1:]
    visible = [v.layout.display != "none" for v in views]
    error = message.value if message.layout.display != "none" else ""
    assert not any(visible) if error else all(visible), "the message and the views take turns: never both"
    return [v.value for v in views], error
