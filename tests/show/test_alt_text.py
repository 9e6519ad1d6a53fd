"""The figures' text descriptions (course_lib.show.alt_text) and the hook that attaches them in a notebook."""

from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pytest
from IPython.core.formatters import DisplayFormatter
from IPython.core.pylabtools import print_figure
from matplotlib.figure import Figure

from course_lib.show import alt_text, figures, widgets


def test_line_plot_is_described_by_kind_title_axes_and_lines():
    ax = figures.line_chart(
        [0, 1, 2], {"train": [3, 2, 1], "validation": [3, 2.5, 2]}, "Loss while training", "step", "loss"
    )
    assert alt_text.describe_figure(ax.figure) == (
        "Line plot 'Loss while training': x = step, y = loss; 2 lines: train (from 3 to 1), validation (from 3 to 2)"
    )


def test_bars_are_described_with_their_names_and_values():
    ax = figures.bar_chart([3, 1200], ["a", "b"], "Sizes", "item", "count")
    assert alt_text.describe_figure(ax.figure) == "Bar chart 'Sizes': x = item, y = count; 2 bars: a 3, b 1,200"
    ax = figures.top_probabilities(np.array([0.1, 0.6, 0.3]), ["x", " ", "y"], k=2)
    description = alt_text.describe_figure(ax.figure)
    assert description.startswith("Horizontal bar chart 'The most likely next tokens': x = probability")
    assert description.endswith("2 bars: space '·' 0.6, 'y' 0.3")


def test_heatmap_is_described_with_its_size_colour_scale_and_labels():
    matrix = np.array([[0.0, 0.5], [1.0, 0.25], [0.1, 0.9]])
    ax = figures.heatmap(matrix, ["r0", "r1", "r2"], ["c0", "c1"], "Scores", colorbar_label="weight", annotate=True)
    assert alt_text.describe_figure(ax.figure) == (
        "Heatmap 'Scores': x = column, y = row; 3 x 2 cells; colour = weight from 0 to 1; "
        "rows: r0, r1, r2; columns: c0, c1"
    )


def test_several_panels_long_lists_and_diagrams():
    fig, (left, right) = plt.subplots(1, 2)
    row = np.eye(12)[2] - 0.25
    left.bar(np.arange(12), row)
    left.set(title="Position vectors: position 2", xlabel="dimension", ylabel="value")
    figures.line_chart(
        np.arange(12), {"cosine": row}, "How similar position 2 is to the others", "position", "cosine", ax=right
    )
    description = alt_text.describe_figure(fig)
    assert description.startswith("Figure with 2 panels. Panel 1: Bar chart 'Position vectors: position 2'")
    assert "12 bars: -0.25, -0.25, 0.75, -0.25, -0.25, -0.25, -0.25, -0.25 and 4 more." in description
    assert "Panel 2: Line plot 'How similar position 2 is to the others'" in description
    ax = figures.pipeline_diagram([("text", "'Hi'"), ("tokens", "2 ids")], "Flow", loop_label="repeat")
    assert alt_text.describe_figure(ax.figure) == "Diagram 'Flow'; labels: text, 'Hi', tokens, 2 ids, repeat"
    ax = figures.word_map(np.array([[0, 0], [1, 1]]), ["man", "king"], "Words", "a", "b", arrows=[("man", "king")])
    assert alt_text.describe_figure(ax.figure).endswith("2 points; 1 arrow; labels: man, king")


def test_stacked_bars_and_histograms_are_described_per_series():
    _, ax = plt.subplots()
    ax.barh(["tiny", "big"], [0.2, 0.3], label="attention")
    ax.barh(["tiny", "big"], [0.5, 0.6], left=[0.2, 0.3], label="MLP")
    ax.set(title="Where\nthe parameters are", xlabel="fraction", ylabel="model")
    assert alt_text.describe_figure(ax.figure) == (
        "Horizontal bar chart 'Where the parameters are': x = fraction, y = model; "
        "4 bars in 2 series: attention: tiny 0.2, big 0.3; MLP: tiny 0.5, big 0.6"
    )
    _, ax = plt.subplots()
    ax.hist([0.5, 1.5, 1.5, 2.5, 3.5, 4.5], bins=[0, 1, 2, 3, 4, 5], label="activations")
    ax.set(title="Spread", xlabel="activation", ylabel="count")
    assert alt_text.describe_figure(ax.figure) == (
        "Histogram 'Spread': x = activation, y = count; activations: 5 bins from 0 to 5, highest at 1.5"
    )


def test_describe_figure_rejects_what_is_not_a_figure():
    _, ax = plt.subplots()
    with pytest.raises(TypeError, match="fig must be a Matplotlib Figure, got Axes"):
        alt_text.describe_figure(ax)


def test_use_course_style_gives_notebook_figures_alt_text(monkeypatch):
    """In IPython, a figure's PNG comes with {"alt": description}, and the original PNG is kept."""
    display = DisplayFormatter()
    png = display.formatters["image/png"]
    png.for_type(Figure, partial(print_figure, fmt="png", bbox_inches="tight"))  # as the inline backend does
    shell = type("Shell", (), {"display_formatter": display})()
    monkeypatch.setattr("course_lib.show.figures.get_ipython", lambda: shell)
    with plt.rc_context():
        figures.use_course_style()
        figures.use_course_style()  # a second call must not wrap the formatter twice
    ax = figures.line_chart([0, 1], {"loss": [2, 1]}, "Falling", "step", "loss")
    data, metadata = display.format(ax.figure)
    assert data["image/png"][:4] == b"\x89PNG"
    assert metadata["image/png"] == {"alt": alt_text.describe_figure(ax.figure)}
    wrapper = png.lookup_by_type(Figure)
    assert wrapper.course_to_png.func is print_figure  # the original, wrapped once


def test_widget_figures_carry_their_description_as_tooltip():
    import ipywidgets

    slider = ipywidgets.IntSlider(value=2, min=1, max=5)
    box = widgets.live_view(lambda n: figures.bar_chart([1, n], ["a", "b"], "Bars", "x", "y").figure, {"n": slider})
    image = box.children[1]
    assert image.value[:4] == b"\x89PNG" and image.description == ""  # see widgets.DescribedImage
    assert image.tooltip == "Bar chart 'Bars': x = x, y = y; 2 bars: a 1, b 2"
    slider.value = 4
    assert image.tooltip.endswith("b 4")
