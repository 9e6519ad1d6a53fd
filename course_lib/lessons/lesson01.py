"""Lesson 01's views: text cut into tokens, shown as coloured boxes that follow the learner's typing.

A tokenizer here is anything :func:`pieces_of` accepts: a course tokenizer (:mod:`course_lib.tokenizers`),
a ``tiktoken.Encoding``, or a function from text to ``(id, piece)`` pairs.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets

from course_lib.show import widgets as show
from course_lib.tokenizers import show_piece

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
            if not isinstance(err, show.COURSE_ERRORS):
                _log.warning("tokenizer %r could not encode the text", name, exc_info=err)
            views[name] = (
                f'<div class="course-token-header" style="font-weight:bold; margin-top:6px">{html.escape(name)}: '
                f'<span class="course-token-error" style="color:#B00">cannot encode this text: '
                f"{html.escape(show.update_error_message(err))}</span></div>"
            )
    return views


def live_tokenizer(tokenizers: Mapping[str, Any], initial_text: str = "Hello world!", rows: int = 4):
    """A text box and, below it, the text tokenized by each tokenizer, updating as you type.

    ``tokenizers`` maps a display name to anything :func:`pieces_of` accepts. Each tokenizer
    gets its own HTML view (tokens, their ids and the count), so views can be read separately.
    """
    if not tokenizers:
        raise ValueError("tokenizers must name at least one tokenizer, got an empty mapping")
    box = ipywidgets.Textarea(
        value=initial_text,
        description="Text",
        placeholder="Type anything",
        continuous_update=True,  # tokenizing is fast enough to follow every key press
        rows=rows,
        layout=ipywidgets.Layout(width="95%"),
    )
    views = {name: ipywidgets.HTML() for name in tokenizers}

    def render(text: str) -> None:
        for name, view_html in comparison_html(tokenizers, text).items():
            views[name].value = view_html

    render(initial_text)
    box.observe(lambda change: render(change["new"]), names="value")
    return ipywidgets.VBox([box, *views.values()])
