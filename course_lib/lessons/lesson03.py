"""Lesson 03's views: the dot product of two 2-D vectors, written out and drawn, as sliders turn them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from course_lib.show import svg
from course_lib.show import widgets as show
from course_lib.show.style import signed


def dot_product_html(a: Sequence[float], b: Sequence[float]) -> str:
    """The dot product of two 2-D vectors written out term by term, with the lengths and the cosine."""
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
    return show.text_html("\n".join(lines))


def dot_product_explorer(angle_a: int = 30, length_a: float = 2.0, angle_b: int = 100, length_b: float = 1.5):
    """Sliders for the angle and length of two 2-D vectors; below, the numbers and a drawing.

    The slider "Angle of b" turns b around the origin: watch the dot product change sign at 90°.
    """
    controls = {
        "angle_a": show.slider(angle_a, 0, 360, 5, "Angle of a (°)"),
        "length_a": show.slider(length_a, 0.0, 3.0, 0.1, "Length of a", integer=False),
        "angle_b": show.slider(angle_b, 0, 360, 5, "Angle of b (°)"),
        "length_b": show.slider(length_b, 0.0, 3.0, 0.1, "Length of b", integer=False),
    }

    def polar(angle: float, length: float) -> np.ndarray:
        return length * np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])

    def render(angle_a, length_a, angle_b, length_b):
        a, b = polar(angle_a, length_a), polar(angle_b, length_b)
        return dot_product_html(a, b), svg.dot_product_picture(a, b)

    return show.live_view(render, controls)
