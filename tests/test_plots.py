"""Accessibility of the course's figures: text descriptions (alt text), safe colour maps, readable fonts.

The drawing helpers themselves are tested in ``test_plots_widgets.py``.
"""

import re
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
from IPython.core.formatters import DisplayFormatter
from IPython.core.pylabtools import print_figure
from matplotlib.figure import Figure
from matplotlib.text import Text

from course_lib import attention, mlp, plots, widgets

ROOT = Path(__file__).resolve().parents[1]
HISTORY = [{"iter": 0, "train_loss": 4.2, "val_loss": 4.25}, {"iter": 100, "train_loss": 1.5, "val_loss": 1.75}]


@pytest.fixture
def course_style():
    """The course style for one test, then Matplotlib's settings as they were."""
    with plt.rc_context():
        plots.use_course_style()
        yield


# --------------------------------------------------------------------------- text descriptions


def test_line_plot_is_described_by_kind_title_axes_and_lines():
    ax = plots.line_plot(
        [0, 1, 2], {"train": [3, 2, 1], "validation": [3, 2.5, 2]}, "Loss while training", "step", "loss"
    )
    assert plots.describe_figure(ax.figure) == (
        "Line plot 'Loss while training': x = step, y = loss; 2 lines: train (from 3 to 1), validation (from 3 to 2)"
    )


def test_bars_are_described_with_their_names_and_values():
    ax = plots.bar_chart([3, 1200], ["a", "b"], "Sizes", "item", "count")
    assert plots.describe_figure(ax.figure) == "Bar chart 'Sizes': x = item, y = count; 2 bars: a 3, b 1,200"
    ax = plots.top_probabilities(np.array([0.1, 0.6, 0.3]), ["x", " ", "y"], k=2)
    description = plots.describe_figure(ax.figure)
    assert description.startswith("Horizontal bar chart 'The most likely next tokens': x = probability")
    assert description.endswith("2 bars: space '·' 0.6, 'y' 0.3")


def test_heatmap_is_described_with_its_size_colour_scale_and_labels():
    matrix = np.array([[0.0, 0.5], [1.0, 0.25], [0.1, 0.9]])
    ax = plots.heatmap(matrix, ["r0", "r1", "r2"], ["c0", "c1"], "Scores", colorbar_label="weight", annotate=True)
    assert plots.describe_figure(ax.figure) == (
        "Heatmap 'Scores': x = column, y = row; 3 x 2 cells; colour = weight from 0 to 1; "
        "rows: r0, r1, r2; columns: c0, c1"
    )


def test_several_panels_long_lists_and_diagrams():
    fig, (left, right) = plt.subplots(1, 2)
    row = np.eye(12)[2] - 0.25
    left.bar(np.arange(12), row)
    left.set(title="Position vectors: position 2", xlabel="dimension", ylabel="value")
    plots.line_plot(
        np.arange(12), {"cosine": row}, "How similar position 2 is to the others", "position", "cosine", ax=right
    )
    description = plots.describe_figure(fig)
    assert description.startswith("Figure with 2 panels. Panel 1: Bar chart 'Position vectors: position 2'")
    assert "12 bars: -0.25, -0.25, 0.75, -0.25, -0.25, -0.25, -0.25, -0.25 and 4 more." in description
    assert "Panel 2: Line plot 'How similar position 2 is to the others'" in description
    ax = plots.pipeline_diagram([("text", "'Hi'"), ("tokens", "2 ids")], "Flow", loop_label="repeat")
    assert plots.describe_figure(ax.figure) == "Diagram 'Flow'; labels: text, 'Hi', tokens, 2 ids, repeat"
    ax = plots.word_map(np.array([[0, 0], [1, 1]]), ["man", "king"], "Words", "a", "b", arrows=[("man", "king")])
    assert plots.describe_figure(ax.figure).endswith("2 points; 1 arrow; labels: man, king")


def test_stacked_bars_and_histograms_are_described_per_series():
    _, ax = plt.subplots()
    ax.barh(["tiny", "big"], [0.2, 0.3], label="attention")
    ax.barh(["tiny", "big"], [0.5, 0.6], left=[0.2, 0.3], label="MLP")
    ax.set(title="Where\nthe parameters are", xlabel="fraction", ylabel="model")
    assert plots.describe_figure(ax.figure) == (
        "Horizontal bar chart 'Where the parameters are': x = fraction, y = model; "
        "4 bars in 2 series: attention: tiny 0.2, big 0.3; MLP: tiny 0.5, big 0.6"
    )
    _, ax = plt.subplots()
    ax.hist([0.5, 1.5, 1.5, 2.5, 3.5, 4.5], bins=[0, 1, 2, 3, 4, 5], label="activations")
    ax.set(title="Spread", xlabel="activation", ylabel="count")
    assert plots.describe_figure(ax.figure) == (
        "Histogram 'Spread': x = activation, y = count; activations: 5 bins from 0 to 5, highest at 1.5"
    )


def test_describe_figure_rejects_what_is_not_a_figure():
    _, ax = plt.subplots()
    with pytest.raises(TypeError, match="fig must be a Matplotlib Figure, got Axes"):
        plots.describe_figure(ax)


def test_use_course_style_gives_notebook_figures_alt_text(monkeypatch):
    """In IPython, a figure's PNG comes with {"alt": description}, and the original PNG is kept."""
    display = DisplayFormatter()
    png = display.formatters["image/png"]
    png.for_type(Figure, partial(print_figure, fmt="png", bbox_inches="tight"))  # as the inline backend does
    shell = type("Shell", (), {"display_formatter": display})()
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    with plt.rc_context():
        plots.use_course_style()
        plots.use_course_style()  # a second call must not wrap the formatter twice
    ax = plots.line_plot([0, 1], {"loss": [2, 1]}, "Falling", "step", "loss")
    data, metadata = display.format(ax.figure)
    assert data["image/png"][:4] == b"\x89PNG"
    assert metadata["image/png"] == {"alt": plots.describe_figure(ax.figure)}
    wrapper = png.lookup_by_type(Figure)
    assert wrapper.course_to_png.func is print_figure  # the original, wrapped once


def test_use_course_style_outside_ipython_only_sets_the_style(monkeypatch):
    monkeypatch.setattr("IPython.get_ipython", lambda: None)
    with plt.rc_context():
        plots.use_course_style()
        assert plt.rcParams["xtick.labelsize"] == plots.FONT_SIZES["tick"]


def test_widget_figures_carry_their_description_as_tooltip():
    import ipywidgets

    slider = ipywidgets.IntSlider(value=2, min=1, max=5)
    box = widgets.live_view(lambda n: plots.bar_chart([1, n], ["a", "b"], "Bars", "x", "y").figure, {"n": slider})
    image = box.children[1]
    assert image.value[:4] == b"\x89PNG" and image.description == ""  # see widgets._described_image_class
    assert image.tooltip == "Bar chart 'Bars': x = x, y = y; 2 bars: a 1, b 2"
    slider.value = 4
    assert image.tooltip.endswith("b 4")


def test_training_result_html_empty_and_drawn():
    assert "press Train" in widgets.training_result_html([])
    drawn = widgets.training_result_html(HISTORY)
    assert "2 lines: training (from 4.2 to 1.5), validation (from 4.25 to 1.75)" in drawn


# --------------------------------------------------------------------------- colour maps


CMAP_PATTERNS = [
    re.compile(r"""cmap\s*(?::\s*str\s*)?=\s*["']([\w.]+)["']"""),  # cmap="viridis", cmap: str = "viridis"
    re.compile(r"""(?:get_cmap|colormaps\.get)\(\s*["']([\w.]+)["']"""),
    re.compile(r"""colormaps\[\s*["']([\w.]+)["']\s*\]"""),
    re.compile(r"""\bcm\.([A-Za-z_]\w*)\b"""),  # plt.cm.jet, matplotlib.cm.viridis
]
UNSAFE = {"jet", "rainbow", "hsv", "gist_rainbow", "nipy_spectral", "gist_ncar", "turbo", "Spectral"}


def colour_maps_named(source: str) -> set[str]:
    """Colour map names in Python source: cmap= arguments and defaults, get_cmap("x"), cm.x, and any
    string literal naming a known unsafe map."""
    names = {m for pattern in CMAP_PATTERNS for m in pattern.findall(source)}
    names = {n for n in names if n in matplotlib.colormaps or n.removesuffix("_r") in UNSAFE}
    names |= {n for n in re.findall(r"""["'](\w+)["']""", source) if n.removesuffix("_r") in UNSAFE}
    return names


def course_sources() -> dict[str, str]:
    """Every Python source of the course: course_lib's modules and the notebooks' code cells."""
    sources = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in (ROOT / "course_lib").rglob("*.py")}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        sources[path.name] = "\n".join(c.source for c in cells if c.cell_type == "code")
    return sources


def test_the_scan_finds_colour_maps_however_they_are_named():
    source = 'imshow(m, cmap="jet")\nplt.cm.rainbow(x)\ndef f(cmap: str = "magma"): ...\nget_cmap("turbo_r")'
    assert colour_maps_named(source) == {"jet", "rainbow", "magma", "turbo_r"}
    assert colour_maps_named("x = 'cmap=not_a_map'; np.cm") == set()


def test_every_colour_map_in_the_course_is_colour_blind_safe():
    assert not UNSAFE & set(plots.SAFE_CMAPS)
    assert all(name in matplotlib.colormaps for name in plots.SAFE_CMAPS)
    sources = course_sources()
    assert len(sources) > 10 and any("cmap" in s for s in sources.values())  # the scan sees the lessons
    unsafe = {
        f"{where}: {name}"
        for where, source in sources.items()
        for name in colour_maps_named(source)
        if name.removesuffix("_r") not in plots.SAFE_CMAPS
    }
    assert not unsafe, f"colour maps outside plots.SAFE_CMAPS: {sorted(unsafe)}"


def test_lines_differ_by_more_than_colour():
    ax = plots.line_plot([0, 1], {"a": [0, 1], "b": [1, 0], "c": [1, 1]}, "T", "x", "y")
    assert len({line.get_linestyle() for line in ax.lines}) == 3
    ax = plots.loss_curves({"run": HISTORY})
    assert [(line.get_linestyle(), line.get_marker()) for line in ax.lines] == [("-", "o"), ("--", "s")]


# --------------------------------------------------------------------------- font sizes


def small_texts(fig: Figure) -> list[str]:
    """Every visible, non-empty text of ``fig`` smaller than plots.MIN_FONT_SIZE, as 'text (size)'."""
    fig.canvas.draw()  # tick labels exist once drawn
    hidden = {t for ax in fig.axes if not ax.axison for axis in (ax.xaxis, ax.yaxis) for t in axis.findobj(Text)}
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and t not in hidden]
    return [f"{t.get_text()!r} ({t.get_fontsize():g} pt)" for t in texts if t.get_fontsize() < plots.MIN_FONT_SIZE]


def course_figures() -> dict[str, Figure]:
    """One figure from every drawing helper of plots, and the figures widgets and mlp draw with them."""
    text = "To be, or not to be, that is the question"
    figures = {
        "bar_chart": plots.bar_chart([3, 1200], ["a", "b"], "Sizes", "item", "count").figure,
        "heatmap": plots.heatmap(np.eye(3), list("abc"), list("xyz"), "M", annotate=True).figure,
        "line_plot": plots.line_plot([0, 1], {"a": [0, 1], "b": [1, 0]}, "T", "x", "y").figure,
        "word_map": plots.word_map(np.eye(2), ["man", "king"], "W", "a", "b", arrows=[("man", "king")]).figure,
        "vectors_2d": plots.vectors_2d({"a": [1, 0], "b": [0, 1]}, "V").figure,
        "dot_product_picture": plots.dot_product_picture([1, 0], [1, 1]).figure,
        "values_along_text": plots.values_along_text(
            np.arange(len(text)), text, "V", "value", highlight=[c == " " for c in text], highlight_label="space"
        ).figure,
        "top_probabilities": plots.top_probabilities(np.array([0.5, 0.3, 0.2]), ["a", " ", "\n"]).figure,
        "loss_curves": plots.loss_curves({"a": HISTORY, "b": HISTORY}).figure,
        "pipeline_diagram": plots.pipeline_diagram([("text", "'Hi'"), ("tokens", "2 ids")], "F", "again").figure,
        "mlp.neuron_figure": mlp.neuron_figure(np.arange(len(text)), text, 0, feature="space"),
        "attention.draw_attention_pattern": attention.draw_attention_pattern(
            np.tril(np.ones((len(text), len(text)))) / np.arange(1, len(text) + 1)[:, None], list(text), query=3
        ).figure,
        "attention.all_heads_figure": attention.all_heads_figure(list("abcd"), np.full((2, 2, 4, 4), 0.25)),
    }
    return figures


def test_course_style_sizes_are_large_enough_for_a_projector(course_style):
    assert plots.MIN_FONT_SIZE >= 12 and min(plots.FONT_SIZES.values()) >= plots.MIN_FONT_SIZE
    for key in ("font.size", "xtick.labelsize", "ytick.labelsize", "legend.fontsize", "axes.labelsize"):
        assert plt.rcParams[key] >= plots.MIN_FONT_SIZE, key
    assert plt.rcParams["axes.titlesize"] > plt.rcParams["axes.labelsize"]


def test_every_text_in_course_figures_is_at_least_the_minimum_size(course_style):
    small = {name: texts for name, fig in course_figures().items() if (texts := small_texts(fig))}
    assert not small, f"texts below {plots.MIN_FONT_SIZE} pt: {small}"


def test_plot_helpers_set_readable_sizes_even_without_the_course_style():
    with plt.rc_context():
        plt.rcdefaults()  # Matplotlib's own 10 pt default
        figures = {name: fig for name, fig in course_figures().items() if not name.startswith(("training", "mlp"))}
        small = {name: texts for name, fig in figures.items() if (texts := small_texts(fig))}
    assert not small, f"texts below {plots.MIN_FONT_SIZE} pt: {small}"


def test_text_under_a_plot_is_labelled_at_full_size_without_overlapping():
    for length in (40, 120, 400):
        text = ("To be, or not to be, that is the question: " * 10)[:length]
        fig, ax = plt.subplots(figsize=(min(16, 2 + 0.16 * length), 3.6))
        plots.values_along_text(np.zeros(length), text, "T", "value", ax=ax)
        fig.canvas.draw()
        labels = ax.get_xticklabels()
        assert all(label.get_fontsize() >= plots.MIN_FONT_SIZE for label in labels)
        boxes = [label.get_window_extent() for label in labels]
        assert all(left.x1 <= right.x0 for left, right in zip(boxes, boxes[1:], strict=False)), length
        if length <= 120:  # short texts: every character labelled, so the text can be read along the axis
            assert len(labels) == length
