"""Lesson 02's views (course_lib.lessons.lesson02): what its widgets and figures show."""

from __future__ import annotations

import re

import numpy as np
import pytest
from svg_support import ENCODINGS, MATRIX, SVG, assert_proportional, description, points, rects, svgs

from course_lib import embeddings as emb
from course_lib.lessons import lesson02
from course_lib.show import style, svg


def bar(values, labels=None, **options) -> str:
    labels = labels if labels is not None else [f"w{i}" for i in range(len(values))]
    return svg.bar_chart(values, labels, "Votes", "word", "count", **options)


def lines(series, x=None, **options) -> str:
    x = x if x is not None else list(range(len(next(iter(series.values())))))
    return svg.line_chart(x, series, "Growth", "step", "size", **options)


def heat(matrix=MATRIX, **options) -> str:
    rows, cols = np.shape(matrix)
    return svg.heatmap(
        matrix, [f"q{r}" for r in range(rows)], [f"k{c}" for c in range(cols)], "Pattern", "key", "query", **options
    )


def test_position_profile_shows_the_row_and_its_similarity_to_every_position():
    values, others = svgs(lesson02.position_profile(ENCODINGS, 1))
    assert "position 1" in values.find(f"{SVG}title").text
    assert_proportional([r["height"] for r in rects(values, style.COLORS[0])], ENCODINGS[1])
    table = np.array(ENCODINGS)
    similarity = table @ table[1] / (np.linalg.norm(table, axis=1) * np.linalg.norm(table[1]))
    assert f"cosine similarity (from {similarity[0]:.3g} to {similarity[-1]:.3g})" in description(others)
    (mark,) = [n for n in others.iter(f"{SVG}line") if n.get("stroke-dasharray") == "2 3"]
    assert float(mark.get("x1")) == pytest.approx(points(next(others.iter(f"{SVG}polyline")))[1, 0])


@pytest.mark.parametrize(
    "draw, message",
    [
        (lambda: bar([1.0, 2.0], ["a"]), r"same length, got \(2,\) values and 1 labels"),
        (lambda: bar([], []), "values must be a non-empty 1-D sequence"),
        (lambda: bar([1.0, float("nan")], ["a", "b"]), "values must be finite numbers"),
        (lambda: bar([1.0], ["a"], limits=(1, 0)), r"limits must be \(low, high\) with low < high"),
        (lambda: svg.bar_chart([1.0], ["a"], "", "x", "y"), "title must be a non-empty string"),
        (lambda: svg.bar_chart([1.0], ["a"], "t", "", "y"), "xlabel must be a non-empty string"),
        (lambda: svg.line_chart([0], {"a": [1]}, "t", "x", ""), "ylabel must be a non-empty string"),
        (lambda: lines({"a": [1, 2]}, x=[0, 1, 2]), "series 'a' has 2 values but x has 3"),
        (lambda: lines({}, x=[0, 1]), "series must name at least one line"),
        (lambda: lines({"a": [1, float("inf")]}), "series 'a' must be finite numbers"),
        (lambda: lines({"a": [1, 2]}, x_labels=["p"]), "x_labels must name each of the 2 x values, got 1"),
        (lambda: lines({"a": [1, 2]}, highlight=[True]), r"highlight must have one entry per x \(2\)"),
        (lambda: svg.heatmap([1.0, 2.0], ["q"], ["k0", "k1"], "t", "x", "y"), "matrix must be 2-D and non-empty"),
        (lambda: heat([[0.5, float("nan")]]), "matrix must hold finite numbers"),
        (
            lambda: svg.heatmap(MATRIX, ["q0"], ["k0", "k1", "k2"], "t", "x", "y"),
            "need 2 row labels and 3 column labels for a 2 x 3 matrix, got 1 and 3",
        ),
        (lambda: heat(outline_row=2), "outline_row must be a row between 0 and 1, got 2"),
        (lambda: heat(vmin=1.0, vmax=1.0), "vmin must be below vmax"),
        (lambda: svg.dot_product_picture([1, 2, 3], [1, 2]), "a and b must be 2-D vectors"),
        (lambda: svg.dot_product_picture([1, float("nan")], [1, 2]), "a and b must be 2-D vectors"),
        (lambda: lesson02.position_profile(ENCODINGS, 4), "position must be between 0 and 3, got 4"),
        (lambda: lesson02.position_profile([1.0, 2.0], 0), "encodings must be 2-D"),
        (lambda: svg.loss_curves([]), "runs must name at least one training history"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_bad_input_gets_a_specific_error(draw, message):
    with pytest.raises(ValueError, match=message):
        draw()


def test_reports_explain_instead_of_raising(toy):
    text = lesson02.neighbours_report(toy, "a", 2)
    assert text.splitlines()[0] == "The 2 entries closest to 'a' in toy:"
    assert "d" in text.splitlines()[1] and "+0.707" in text.splitlines()[1]
    assert lesson02.neighbours_report(toy, "zzz", 2).startswith("No neighbours: 'zzz' is not in the vocabulary")
    assert lesson02.neighbours_report(toy, "a", 99).startswith("No neighbours: k=99 is larger than the vocabulary")
    assert lesson02.analogy_report(toy, "a", "b", "", "").startswith("No answer: c is empty")


def test_position_profile_two_labelled_panels():

    view = lesson02.position_profile(emb.sinusoidal_positions(10, 8), 3)
    values, similarity = re.findall(r'aria-label="([^"]*)"', view)
    assert "Position vectors: position 3" in values and "8 bars" in values
    assert "How similar position 3 is to the others" in similarity and "cosine similarity" in similarity
    # the similarity line starts at position 0's cosine with position 3 and ends at position 9's
    table = emb.sinusoidal_positions(10, 8)
    cosines = emb.cosine_matrix(table, table[3:4])[:, 0]
    assert f"from {cosines[0]:.3g} to {cosines[-1]:.3g}" in similarity
    with pytest.raises(ValueError, match="between 0 and 9, got 10"):
        lesson02.position_profile(emb.sinusoidal_positions(10, 8), 10)


def test_neighbour_explorer_and_analogy_box(toy, royal):
    box = lesson02.neighbour_explorer(toy, word="a", k=2, max_k=3)
    (word, k), view = box.children[0].children, box.children[1]
    assert (word.description, k.description, k.continuous_update) == ("Word", "Neighbours (k)", False)
    assert "closest to &#x27;a&#x27;" in view.value and "d" in view.value
    word.value = "nope"
    assert "No neighbours: &#x27;nope&#x27; is not in the vocabulary" in view.value
    box = lesson02.analogy_box(royal, "king", "man", "woman", expected="queen")
    assert "match number 1" in box.children[1].value
    box.children[0].children[3].value = "woman"
    assert "No answer" in box.children[1].value


def test_position_explorer_moves(no_open_figures):
    box = lesson02.position_explorer(emb.sinusoidal_positions(12, 64), position=2)
    (slider,), text, picture = box.children[0].children, box.children[1], box.children[2]
    assert slider.description == "Position" and (slider.min, slider.max) == (0, 11) and not slider.continuous_update
    assert "position 2: starts [+0.91, -0.42, +1.00, +0.07, ...]" in text.value
    first = picture.value
    slider.value = 7
    assert picture.value != first and "Sinusoidal position vector: position 7" in picture.value
    assert "position 7:" in text.value and "most similar other position: 6" in text.value
    with pytest.raises(ValueError, match="between 0 and 11, got 12"):
        lesson02.position_summary_html(emb.sinusoidal_positions(12, 64), 12)


NAN, INF = float("nan"), float("inf")


def test_same_rows_compares_whole_rows_not_sorted_columns():
    from course_lib.lessons.lesson02 import same_rows

    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert same_rows(a, a[::-1])
    torn = np.array([[1.0, 4.0], [3.0, 2.0]])  # the same columns once each is sorted, but other rows
    assert np.array_equal(np.sort(a, axis=0), np.sort(torn, axis=0)) and not same_rows(a, torn)
    assert not same_rows(a, a[:1]) and same_rows(a + 1e-12, a[::-1])
    with pytest.raises(ValueError, match="must be matrices"):
        same_rows(a[0], a[0])
