"""The SVG figures (course_lib.show.svg): the same rules as the Matplotlib ones, drawn in a millisecond."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import matplotlib
import numpy as np
import pytest
from svg_support import (
    ENCODINGS,
    MATRIX,
    SVG,
    assert_proportional,
    cells_picture,
    description,
    parse,
    points,
    rects,
    svgs,
    texts,
)

from course_lib.lessons import lesson02
from course_lib.show import style
from course_lib.show import svg as svg_figures

MIN_PX = style.MIN_FONT_SIZE * 4 / 3  # 12 pt on a screen: the smallest text a projector shows readably


HISTORY = [
    {"iter": 0, "train_loss": 4.2, "val_loss": 4.25},
    {"iter": 100, "train_loss": 2.0, "val_loss": 2.1},
    {"iter": 200, "train_loss": 1.5, "val_loss": 1.75},
]


def bar(values, labels=None, **options) -> str:
    labels = labels if labels is not None else [f"w{i}" for i in range(len(values))]
    return svg_figures.bar_chart(values, labels, "Votes", "word", "count", **options)


def lines(series, x=None, **options) -> str:
    x = x if x is not None else list(range(len(next(iter(series.values())))))
    return svg_figures.line_chart(x, series, "Growth", "step", "size", **options)


def heat(matrix=MATRIX, **options) -> str:
    rows, cols = np.shape(matrix)
    return svg_figures.heatmap(
        matrix, [f"q{r}" for r in range(rows)], [f"k{c}" for c in range(cols)], "Pattern", "key", "query", **options
    )


def polar(angle: float, length: float) -> np.ndarray:
    """A 2-D vector as lesson 03's sliders make it, from an angle in degrees and a length."""
    return length * np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])


# Every kind of figure, drawn from data that ``change`` (0 or 1) alters.
FIGURES = {
    "bar_chart": lambda change: bar([1.0, 2.0 + change, -0.5]),
    "horizontal bar_chart": lambda change: bar([0.3, 0.2 + change], horizontal=True),
    "line_chart": lambda change: lines({"up": [1, 2, 3 + change], "down": [3, 2, 1]}),
    "heatmap": lambda change: heat(np.array(MATRIX) * (1 - 0.5 * change), outline_row=1),
    "dot_product_picture": lambda change: svg_figures.dot_product_picture([2, 0], [1, 1 + change]),
    "position_profile": lambda change: lesson02.position_profile(ENCODINGS, 1 + change),
    "likeliest_bars": lambda change: svg_figures.top_probabilities(
        [0.1, 0.5, 0.15 + 0.3 * change, 0.25], list("abcd"), 3, "Next"
    ),
    "loss_curves": lambda change: svg_figures.loss_curves({"run": HISTORY[: 3 - change]}),
    "row": lambda change: svg_figures.row(bar([1.0, 2.0]), bar([3.0, 1.0 + change])),
}


@pytest.mark.parametrize("kind", FIGURES)
def test_every_figure_is_xml_an_image_and_described_by_its_title(kind):
    figures = svgs(FIGURES[kind](0))
    assert figures
    for svg in figures:
        assert svg.get("role") == "img"
        assert description(svg).strip()
        assert svg.find(f"{SVG}title").text == description(svg)


@pytest.mark.parametrize("kind", FIGURES)
def test_digest_is_the_same_for_the_same_data_and_changes_with_the_data(kind):
    def digests(change):
        return [svg.get("data-digest") for svg in svgs(FIGURES[kind](change))]

    first, again, changed = digests(0), digests(0), digests(1)
    assert all(re.fullmatch(r"[0-9a-f]{16}", digest) for digest in first)
    assert first == again
    assert first != changed


@pytest.mark.parametrize("kind", FIGURES)
def test_every_text_is_at_least_12_points(kind):
    sizes = [float(node.get("font-size")) for svg in svgs(FIGURES[kind](0)) for node in svg.iter(f"{SVG}text")]
    assert sizes
    assert min(sizes) >= MIN_PX


@pytest.mark.parametrize(
    "draw, words",
    [
        (lambda: bar([1.0, 2.0]), ["Votes", "word", "count"]),
        (lambda: bar([1.0, 2.0], horizontal=True), ["Votes", "word", "count"]),
        (lambda: lines({"up": [1, 2]}), ["Growth", "step", "size"]),
        (lambda: heat(colorbar_label="attention weight"), ["Pattern", "key", "query", "attention weight"]),
    ],
    ids=["bars", "horizontal bars", "lines", "heatmap"],
)
def test_title_and_axis_labels_are_written(draw, words):
    svg = parse(draw())
    (title,) = [node.text for node in svg.iter(f"{SVG}text") if node.get("font-weight") == "bold"]
    assert title == words[0]
    assert set(words) <= set(texts(svg))
    assert f"'{title}'" in description(svg)


@pytest.mark.parametrize("kind", ["bar_chart", "horizontal bar_chart", "line_chart", "likeliest_bars", "loss_curves"])
def test_bars_and_lines_take_the_course_palette(kind):
    svg = svgs(FIGURES[kind](0))[0]
    fills = {node.get("fill") for node in svg.iter(f"{SVG}rect")} - {"none"}
    strokes = {node.get("stroke") for node in svg.iter(f"{SVG}polyline")}
    assert fills | strokes
    assert fills | strokes <= set(style.COLORS)


def test_text_with_markup_characters_is_escaped():
    title = 'Is "a" < b & c\'s?'
    svg = parse(svg_figures.bar_chart([1.0], ["<s>"], title, "token", "count"))
    assert title in texts(svg)
    assert "<s>" in texts(svg)
    assert title in description(svg)


def test_figure_needs_a_description():
    assert parse(svg_figures.figure(100, 50, ["<circle cx='5' cy='5' r='2'/>"], "a dot")).get("width") == "100.0"
    with pytest.raises(ValueError, match="description must say in words what the figure shows"):
        svg_figures.figure(100, 50, [], "  ")


def test_row_puts_the_figures_side_by_side_in_order():
    first, second = bar([1.0, 2.0]), lines({"up": [1, 2]})
    div = ET.fromstring(svg_figures.row(first, second))
    assert div.tag == "div" and "flex" in div.get("style")
    assert [svg.get("data-digest") for svg in div] == [
        parse(first).get("data-digest"),
        parse(second).get("data-digest"),
    ]


def test_bar_chart_description_names_each_bar_and_value():
    text = description(parse(bar([1.0, -2.0, 0.5], ["cat", "dog", "eel"])))
    assert text == "Bar chart 'Votes': count for each word; 3 bars: cat 1.00, dog -2.00, eel 0.50"
    unformatted = description(parse(bar([0.123456, 2.0], ["cat", "dog"], value_format=None)))
    assert unformatted.endswith("2 bars: cat 0.123, dog 2")


def test_bar_chart_description_lists_eight_bars_then_counts_the_rest():
    text = description(parse(bar(list(range(1, 11)))))
    assert "10 bars: w0 1.00, " in text
    assert "w7 8.00 and 2 more" in text
    assert "w8" not in text


def test_heatmap_description_names_the_largest_cells_and_the_outlined_row():
    text = description(parse(heat(outline_row=0)))
    assert "2 x 3 cells, rows = query, columns = key, colour = value from 0 to 1" in text
    assert "largest: row q1 column k2 0.90, row q0 column k1 0.70, row q1 column k0 0.50" in text
    assert text.endswith("outlined row q0: k1 0.70, k2 0.20, k0 0.10")
    assert "outlined" not in description(parse(heat()))


def test_line_chart_description_names_each_series_and_its_ends():
    text = description(parse(lines({"up": [1, 2, 3.25], "down": [3, 2, 0.5]})))
    assert text == "Line plot 'Growth': x = step, y = size; 2 lines: up (from 1 to 3.25), down (from 3 to 0.5)"
    shaded = lines({"up": [1, 2, 3]}, highlight=[True, False, True], highlight_label="vowels")
    assert description(parse(shaded)).endswith("1 line: up (from 1 to 3); 2 positions shaded: vowels")


def dot_product_title(a, b) -> str:
    return parse(svg_figures.dot_product_picture(a, b)).find(f"{SVG}text[@font-weight='bold']").text


@pytest.mark.parametrize("a, b", [((2, 0), (1, 1)), ((1, 2), (-2, 1)), ((1, 0), (-1, 0)), ((0.5, -1.5), (2, 0.3))])
def test_dot_product_title_gives_the_dot_product_cosine_and_angle(a, b):
    title = dot_product_title(a, b)
    found = re.fullmatch(r"a · b = ([+-]\d+\.\d\d) {3}cos θ = ([+-]\d\.\d\d) {3}θ = (\d+)°", title)
    assert found, title
    a, b = np.array(a, dtype=float), np.array(b, dtype=float)
    cosine = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    assert float(found[1]) == pytest.approx(a @ b, abs=0.005)
    assert float(found[2]) == pytest.approx(cosine, abs=0.005)
    assert int(found[3]) == pytest.approx(math.degrees(math.acos(cosine)), abs=0.5)
    assert title in description(parse(svg_figures.dot_product_picture(a, b)))


def test_dot_product_of_perpendicular_vectors_is_plus_zero_at_90_degrees():
    assert dot_product_title((1, 2), (-2, 1)) == "a · b = +0.00   cos θ = +0.00   θ = 90°"


def test_dot_product_of_perpendicular_slider_vectors_is_not_minus_zero():
    assert dot_product_title(polar(5, 2.0), polar(95, 1.5)).startswith("a · b = +0.00   cos θ = +0.00")


def test_dot_product_with_a_zero_vector_has_no_angle():
    svg = parse(svg_figures.dot_product_picture([0, 0], [1, 2]))
    assert dot_product_title([0, 0], [1, 2]) == "a · b = +0.00   (a zero vector has no angle)"
    assert "θ =" not in description(svg)
    assert [circle.get("fill") for circle in svg.iter(f"{SVG}circle")] == [style.COLORS[0]]  # a as a dot


def test_vertical_bar_heights_are_proportional_to_the_values():
    values = [1.0, 2.0, 3.5, 0.5]
    drawn = rects(parse(bar(values)), style.COLORS[0])
    assert len(drawn) == len(values)
    assert_proportional([r["height"] for r in drawn], values)
    bottoms = {round(r["y"] + r["height"], 1) for r in drawn}
    assert len(bottoms) == 1  # every bar stands on the same zero line
    assert [r["x"] for r in drawn] == sorted(r["x"] for r in drawn)


def test_negative_bars_hang_below_the_zero_line():
    svg = parse(bar([2.0, -1.0], color=style.COLORS[2]))
    up, down = rects(svg, style.COLORS[2])
    zero = up["y"] + up["height"]
    assert down["y"] == pytest.approx(zero, abs=0.1)
    assert down["height"] == pytest.approx(up["height"] / 2, abs=0.1)
    zero_lines = [n for n in svg.iter(f"{SVG}line") if n.get("stroke") == "#000"]
    assert [float(n.get("y1")) for n in zero_lines] == pytest.approx([zero], abs=0.1)


def test_bars_outside_fixed_limits_are_clipped_to_the_panel():
    inside, beyond = rects(parse(bar([0.5, 3.0], limits=(0, 1))), style.COLORS[0])
    assert beyond["height"] == pytest.approx(2 * inside["height"], abs=0.1)


def test_all_negative_bars_fill_the_panel():
    drawn = rects(parse(bar([-0.01, -0.02])), style.COLORS[0])
    assert max(r["height"] for r in drawn) > 0.5 * 250  # the panel is 250 px high


def test_likeliest_bars_are_horizontal_largest_on_top():
    svg = parse(svg_figures.top_probabilities([0.1, 0.5, 0.15, 0.25], ["a", "b", " ", "d"], 3, "Next"))
    drawn = rects(svg, style.COLORS[0])
    assert [r["y"] for r in drawn] == sorted(r["y"] for r in drawn)
    assert_proportional([r["width"] for r in drawn], [0.5, 0.25, 0.15])
    assert len({r["x"] for r in drawn}) == 1  # all start at zero
    assert description(svg).endswith("3 bars: 'b' 0.500, 'd' 0.250, space '·' 0.150")
    labels = [t for t in texts(svg) if t in {"'b'", "'d'", "space '·'"}]
    assert labels == ["'b'", "'d'", "space '·'"]


def test_line_chart_draws_each_series_with_its_own_colour_and_dash():
    svg = parse(lines({"up": [1, 2, 3], "down": [3, 2, 1]}))
    up, down = svg.iter(f"{SVG}polyline")
    assert (up.get("stroke"), down.get("stroke")) == (style.COLORS[0], style.COLORS[1])
    assert up.get("stroke-dasharray") is None and down.get("stroke-dasharray")
    assert np.all(np.diff(points(up)[:, 1]) < 0)  # rising values go up the page
    assert np.allclose(points(up)[:, 0], points(down)[:, 0])
    assert {"up", "down"} <= set(texts(svg))  # the legend


def test_line_chart_shades_highlighted_positions():
    svg = parse(lines({"up": [1, 2, 3, 4]}, highlight=[False, True, False, True], highlight_label="vowels"))
    shaded = sorted(rects(svg, svg_figures.HIGHLIGHT), key=lambda r: r["x"])
    assert len(shaded) == 3  # two positions and, right of the panel, the legend's swatch
    xs = points(next(svg.iter(f"{SVG}polyline")))[:, 0]
    assert shaded[2]["x"] > xs[-1]
    for position, r in zip([1, 3], shaded[:2], strict=True):
        assert r["x"] < xs[position] < r["x"] + r["width"]


def test_heatmap_picture_has_the_matrix_colours_at_a_whole_scale():
    matrix = np.array(MATRIX)
    image, picture = cells_picture(parse(heat(matrix, vmin=0.0, vmax=1.0)))
    width, height = picture.size
    scale = width // 3
    assert (width, height) == (3 * scale, 2 * scale) and scale >= 1
    viridis = matplotlib.colormaps["viridis"]
    for r, c in [(0, 0), (0, 2), (1, 1)]:
        pixel = picture.getpixel((c * scale + scale // 2, r * scale + scale // 2))
        assert pixel == viridis(matrix[r, c], bytes=True)
    assert float(image.get("width")) / float(image.get("height")) == pytest.approx(1.5)


def test_heatmap_colours_follow_vmin_and_vmax():
    _, picture = cells_picture(parse(heat([[2.0, 4.0]], vmin=2.0, vmax=4.0, cmap="cividis_r")))
    cividis_r = matplotlib.colormaps["cividis_r"]
    assert picture.getpixel((0, 0)) == cividis_r(0.0, bytes=True)
    assert picture.getpixel((picture.width - 1, 0)) == cividis_r(1.0, bytes=True)


def test_heatmap_outlines_the_chosen_row():
    svg = parse(heat(np.zeros((4, 3)), outline_row=2))
    image, _ = cells_picture(svg)
    (outline,) = [n for n in svg.iter(f"{SVG}rect") if n.get("stroke") == svg_figures.HIGHLIGHT]
    cell = float(image.get("height")) / 4
    assert float(outline.get("y")) == pytest.approx(float(image.get("y")) + 2 * cell, abs=0.1)
    assert float(outline.get("height")) == pytest.approx(cell, abs=0.1)
    assert float(outline.get("x")) == float(image.get("x"))


def test_heatmap_rejects_a_colour_map_that_is_not_colour_blind_safe():
    assert parse(heat(cmap="magma"))
    with pytest.raises(ValueError, match="cmap 'jet' is not in the colour-blind-safe list"):
        heat(cmap="jet")


def test_loss_curves_draw_training_solid_and_validation_dashed():
    svg = parse(svg_figures.loss_curves({"run": HISTORY}))
    training, validation = svg.iter(f"{SVG}polyline")
    assert training.get("stroke-dasharray") is None and validation.get("stroke-dasharray")
    assert np.all(np.diff(points(training)[:, 1]) > 0)  # the loss falls: the line goes down the page
    assert description(svg).endswith("2 lines: training (from 4.2 to 1.5), validation (from 4.25 to 1.75)")
    assert {"0", "100", "200", "training step"} <= set(texts(svg))


def test_loss_curves_of_a_run_with_one_evaluation():
    svg = parse(svg_figures.loss_curves({"run": HISTORY[:1]}))  # one x: its ticks must not need a range of x values
    assert description(svg).endswith("training (from 4.2 to 4.2), validation (from 4.25 to 4.25)")
    assert "0" in texts(svg)


def test_panel_maps_data_to_pixels_with_y_up():
    panel = svg_figures.Panel(10, 20, 100, 50, (0, 10), (-1, 4))
    assert (panel.x(0), panel.x(5), panel.x(10)) == (10, 60, 110)
    assert (panel.y(4), panel.y(-1), panel.y(0)) == (20, 70, 60)
    assert (panel.right, panel.bottom) == (110, 70)


@pytest.mark.parametrize(
    "low, high, expected",
    [(0, 1.1, [0, 0.25, 0.5, 0.75, 1]), (-1.05, 1.05, [-1, -0.5, 0, 0.5, 1]), (0, 4000, [0, 1000, 2000, 3000, 4000])],
)
def test_nice_ticks_known_ranges(low, high, expected):
    assert svg_figures.nice_ticks(low, high) == expected


@pytest.mark.parametrize("low, high", [(-0.5, 63.5), (3, 3.001), (-7.3, -2.1), (0.02, 0.97), (-1e5, 3e5)])
def test_nice_ticks_are_round_evenly_spaced_and_cover_the_range(low, high):
    ticks = svg_figures.nice_ticks(low, high)
    steps = np.diff(ticks)
    step = steps[0]
    assert 2 <= len(ticks) <= 11  # "about 5": a step just above a round one halves the count
    assert np.allclose(steps, step)
    assert round(step / 10 ** math.floor(math.log10(step)), 9) in {1, 2, 2.5, 5}
    assert low <= ticks[0] < low + step and high - step < ticks[-1] <= high + 1e-12
    assert all(abs(t / step - round(t / step)) < 1e-6 for t in ticks)  # multiples of the step
    assert "-0.0" not in map(str, ticks)


def test_nice_ticks_of_a_tiny_range_are_distinct():
    ticks = svg_figures.nice_ticks(0, 1e-12)
    assert len(set(ticks)) == len(ticks) > 1


@pytest.mark.parametrize("low, high", [(1, 1), (2, 1), (float("nan"), 1), (0, float("inf"))])
def test_nice_ticks_reject_an_empty_or_infinite_range(low, high):
    with pytest.raises(ValueError, match="need finite limits with low < high"):
        svg_figures.nice_ticks(low, high)
