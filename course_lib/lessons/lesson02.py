"""Lesson 02's views: an embedding table's neighbours and analogies, and position vectors, behind sliders.

The reports are plain text built from :class:`course_lib.embeddings.EmbeddingTable`'s answers; a word the
table cannot look up is explained in the report, not raised, so the widget says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from course_lib.embeddings import EmbeddingError, EmbeddingTable, cosine_matrix
from course_lib.show import svg
from course_lib.show import widgets as show


def neighbours_report(table: EmbeddingTable, word: str, k: int = 10) -> str:
    """The ``k`` nearest entries to ``word`` as printable lines, or the reason there are none.

    Never raises for a bad word or ``k``: a widget shows the explanation instead.
    """
    try:
        found = table.neighbours(word, k)
    except (EmbeddingError, TypeError, ValueError) as err:
        return f"No neighbours: {err}"
    lines = [f"The {len(found)} entries closest to {word.strip()!r} in {table.name}:"]
    lines += [f"{rank:>3}. {token:<16} cosine {similarity:+.3f}" for rank, (token, similarity) in enumerate(found, 1)]
    return "\n".join(lines)


def analogy_report(table: EmbeddingTable, a: str, b: str, c: str, expected: str = "", k: int = 5) -> str:
    """``a - b + c`` as printable text: the best matches and, if given, where ``expected`` ranks.

    ``k`` shrinks to what a tiny table can return (everything but the three inputs).
    """
    try:
        k = max(1, min(k, int(table.searchable.sum()) - 3))
        result = table.analogy(a, b, c, k=k, expected=expected.strip() or None)
    except (EmbeddingError, TypeError, ValueError) as err:
        return f"No answer: {err}"
    return str(result)


def neighbour_explorer(table: Any, word: str = "tower", k: int = 10, max_k: int = 30):
    """A word box and a slider "Neighbours (k)"; below, the k entries of ``table`` closest to the word.

    The text comes from :func:`course_lib.embeddings.neighbours_report` (bad words are explained, not raised).
    """
    controls = {"word": show.text_box(word, "Word"), "k": show.slider(k, 1, max_k, 1, "Neighbours (k)")}
    return show.live_view(lambda word, k: show.text_html(neighbours_report(table, word, k)), controls, horizontal=True)


def analogy_box(table: Any, a: str = "king", b: str = "man", c: str = "woman", expected: str = "queen"):
    """Four boxes for ``a - b + c`` (and an optional expected answer); below, the best matches and its rank."""
    controls = {
        "a": show.text_box(a, "Start from"),
        "b": show.text_box(b, "minus"),
        "c": show.text_box(c, "plus"),
        "expected": show.text_box(expected, "expected (optional)"),
    }
    return show.live_view(lambda a, b, c, expected: show.text_html(analogy_report(table, a, b, c, expected)), controls)


def position_explorer(encodings: Any, position: int = 0, title: str = "Sinusoidal position vector"):
    """A slider "Position" over the rows of ``encodings``; below, a line of numbers, that row and its similarities."""
    n_positions = len(encodings)
    controls = {"position": show.slider(position, 0, n_positions - 1, 1, "Position")}

    def render(position: int):
        return position_summary_html(encodings, position), position_profile(encodings, position, title)

    return show.live_view(render, controls)


def position_summary_html(encodings: Any, position: int) -> str:
    """One line about a row of a position table: its first numbers and the other row most like it."""
    rows = np.asarray(encodings, dtype=float)
    if not 0 <= position < len(rows):
        raise ValueError(f"position must be between 0 and {len(rows) - 1}, got {position}")
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True).clip(1e-12)
    similarity = unit @ unit[position]
    similarity[position] = -np.inf
    closest = int(np.argmax(np.round(similarity, 6)))  # a tie (sinusoidal rows p-1, p+1) goes to the earlier
    first = ", ".join(f"{v:+.2f}" for v in rows[position, :4])
    return show.text_html(
        f"position {position}: starts [{first}, ...]; most similar other position: {closest} "
        f"(cosine {similarity[closest]:+.2f})"
    )


def position_profile(encodings: Sequence[Sequence[float]], position: int, title: str = "Position vectors") -> str:
    """Two panels for one row of a position table (lesson 02): its values, and its cosine similarity to
    every position, with the row's own position marked."""
    encodings = np.asarray(encodings, dtype=float)
    if encodings.ndim != 2:
        raise ValueError(f"encodings must be 2-D (positions x dimensions), got shape {encodings.shape}")
    n_positions, dim = encodings.shape
    if not 0 <= position < n_positions:
        raise ValueError(f"position must be between 0 and {n_positions - 1}, got {position}")
    reach = 1.15 * max(1.0, float(np.abs(encodings).max()))
    values = svg.bar_chart(
        encodings[position],
        [str(i) for i in range(dim)],
        f"{title}: position {position}",
        "dimension",
        "value",
        value_format=None,
        limits=(-reach, reach),
        width=560,
    )
    similarity = cosine_matrix(encodings, encodings[position : position + 1])[:, 0]
    others = svg.line_chart(
        np.arange(n_positions),
        {"cosine similarity": similarity},
        f"How similar position {position} is to the others",
        "other position",
        "cosine similarity",
        limits=(-1.05, 1.05),
        mark_x=position,
        width=560,
    )
    return svg.row(values, others)


def same_rows(a: Any, b: Any, *, atol: float = 1e-9) -> bool:
    """Whether two matrices hold the same rows in any order: the same *set* of vectors, each compared whole.

    Each matrix's rows are put in one order (sorted by their first number, then the second...) and
    compared. Sorting each column on its own (``np.sort(x, axis=0)``) would not do: it tears rows apart,
    so ``[[1, 4], [3, 2]]`` would pass for ``[[1, 2], [3, 4]]``.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"a and b must be matrices (one row per vector), got shapes {a.shape} and {b.shape}")
    if a.shape != b.shape:
        return False
    in_order = [m[np.lexsort(np.round(m, 6).T[::-1])] for m in (a, b)]
    return bool(np.allclose(*in_order, rtol=0.0, atol=atol))
