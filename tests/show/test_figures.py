"""The Matplotlib figures (course_lib.show.figures): labelled, readable, colour-blind safe."""

import re
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from course_lib.lessons import lesson04, lesson06
from course_lib.show import figures, style


def test_bar_chart_labels_and_values():
    ax = figures.bar_chart([3, 1200], ["a", "b"], "Sizes", "item", "count")
    assert ax.get_title() == "Sizes" and ax.get_xlabel() == "item" and ax.get_ylabel() == "count"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert [t.get_text() for t in ax.texts] == ["3", "1,200"]
    horizontal = figures.bar_chart([1, 2], ["x", "y"], "T", "value", "name", horizontal=True, annotate=False)
    assert [t.get_text() for t in horizontal.get_yticklabels()] == ["x", "y"]
    with pytest.raises(ValueError, match="same length"):
        figures.bar_chart([1, 2], ["a"], "T", "x", "y")
    with pytest.raises(ValueError, match="title must be a non-empty string"):
        figures.bar_chart([1], ["a"], "", "x", "y")


def test_heatmap_labels_colorbar_and_annotations():
    matrix = np.array([[0.0, 0.5], [1.0, 0.25], [0.1, 0.9]])
    ax = figures.heatmap(
        matrix, ["r0", "r1", "r2"], ["c0", "c1"], "Scores", xlabel="key", ylabel="query", annotate=True
    )
    assert ax.get_title() == "Scores" and ax.get_xlabel() == "key" and ax.get_ylabel() == "query"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["r0", "r1", "r2"]
    assert len(ax.texts) == 6 and ax.texts[1].get_text() == "0.50"
    assert ax.images[0].get_cmap().name == "viridis"
    assert len(ax.figure.axes) == 2  # the plot and its colour bar
    with pytest.raises(ValueError, match="row_labels has 2 entries but the matrix has 3"):
        figures.heatmap(matrix, ["a", "b"], None, "T")
    with pytest.raises(ValueError, match="not in the colour-blind-safe list"):
        figures.heatmap(matrix, title="T", cmap="jet")
    with pytest.raises(ValueError, match="must be 2-D"):
        figures.heatmap(np.zeros(3), title="T")


def test_line_plot_series_and_legend():
    ax = figures.line_chart([0, 1, 2], {"a": [3, 2, 1], "b": [1, 2, 3]}, "Lines", "step", "value", logy=True)
    assert len(ax.lines) == 2 and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    with pytest.raises(ValueError, match="series 'a' has 2 values but x has 3"):
        figures.line_chart([0, 1, 2], {"a": [1, 2]}, "T", "x", "y")


def test_course_style_sets_readable_fonts():
    with plt.rc_context():  # leave the global style as it was for other tests
        figures.use_course_style()
        assert plt.rcParams["axes.labelsize"] == style.FONT_SIZES["label"]
        assert plt.rcParams["axes.prop_cycle"].by_key()["color"] == style.COLORS


def test_horizontal_bars_on_shared_axes_keep_the_first_label_on_top():
    _, (left, right) = plt.subplots(1, 2, sharey=True)
    for ax in (left, right):
        figures.bar_chart([1, 2], ["first", "second"], "T", "value", "name", horizontal=True, ax=ax)
    assert left.yaxis_inverted() and right.yaxis_inverted()


def test_top_probabilities_sorted_labelled_and_visible_whitespace():
    ax = figures.top_probabilities([0.1, 0.6, 0.3], [" ", "a", "\n"], k=2, title="Next")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["'a'", "newline '↵'"]  # most likely on top, newline made visible, only k bars
    assert ax.get_title() == "Next" and ax.get_xlabel() == "probability" and ax.get_ylabel() == "next token"
    assert [t.get_text() for t in ax.texts] == ["0.600", "0.300"]


def test_top_probabilities_rejects_bad_input():
    with pytest.raises(ValueError, match="one entry per label"):
        figures.top_probabilities([0.5, 0.5], ["a"])
    with pytest.raises(ValueError, match="k must be a positive int"):
        figures.top_probabilities([0.5, 0.5], ["a", "b"], k=0)


def test_loss_curves_one_solid_and_one_dashed_line_per_run():
    history = [{"iter": 10, "train_loss": 3.0, "val_loss": 3.1}, {"iter": 20, "train_loss": 2.5, "val_loss": 2.7}]
    ax = figures.loss_curves({"a": history, "b": history[:1]})
    assert [line.get_linestyle() for line in ax.get_lines()] == ["-", "--", "-", "--"]
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["a: training", "a: validation"]
    assert ax.get_xlabel() == "training step" and ax.get_title()
    single = figures.loss_curves({"only": history})
    assert [t.get_text() for t in single.get_legend().get_texts()] == ["training", "validation"]
    with pytest.raises(ValueError, match="empty history"):
        figures.loss_curves({"a": []})
    with pytest.raises(ValueError, match="at least one"):
        figures.loss_curves({})


def test_pipeline_diagram_boxes_arrows_and_loop():
    stages = [("text", "a prompt"), ("tokens", "ids"), ("sample", "one token")]
    ax = figures.pipeline_diagram(stages, "Pipeline", loop_label="append and repeat")
    texts = [t.get_text() for t in ax.texts]
    assert texts[:2] == ["text", "a prompt"] and "append and repeat" in texts
    assert ax.get_title() == "Pipeline" and not ax.axison
    assert len(ax.patches) == 3 + 2 + 1  # boxes, arrows between them, the loop
    assert len(figures.pipeline_diagram(stages, "No loop").patches) == 5
    with pytest.raises(ValueError, match="at least one"):
        figures.pipeline_diagram([], "Empty")


ROOT = Path(__file__).resolve().parents[2]


HISTORY = [{"iter": 0, "train_loss": 4.2, "val_loss": 4.25}, {"iter": 100, "train_loss": 1.5, "val_loss": 1.75}]


@pytest.fixture
def course_style():
    """The course style for one test, then Matplotlib's settings as they were."""
    with plt.rc_context():
        figures.use_course_style()
        yield


def test_use_course_style_outside_ipython_only_sets_the_style(monkeypatch):
    monkeypatch.setattr("IPython.get_ipython", lambda: None)
    with plt.rc_context():
        figures.use_course_style()
        assert plt.rcParams["xtick.labelsize"] == style.FONT_SIZES["tick"]


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
    assert not UNSAFE & set(style.SAFE_CMAPS)
    assert all(name in matplotlib.colormaps for name in style.SAFE_CMAPS)
    sources = course_sources()
    assert len(sources) > 10 and any("cmap" in s for s in sources.values())  # the scan sees the lessons
    unsafe = {
        f"{where}: {name}"
        for where, source in sources.items()
        for name in colour_maps_named(source)
        if name.removesuffix("_r") not in style.SAFE_CMAPS
    }
    assert not unsafe, f"colour maps outside style.SAFE_CMAPS: {sorted(unsafe)}"


def test_lines_differ_by_more_than_colour():
    ax = figures.line_chart([0, 1], {"a": [0, 1], "b": [1, 0], "c": [1, 1]}, "T", "x", "y")
    assert len({line.get_linestyle() for line in ax.lines}) == 3
    ax = figures.loss_curves({"run": HISTORY})
    assert [(line.get_linestyle(), line.get_marker()) for line in ax.lines] == [("-", "o"), ("--", "s")]


def small_texts(fig: Figure) -> list[str]:
    """Every visible, non-empty text of ``fig`` smaller than style.MIN_FONT_SIZE, as 'text (size)'."""
    fig.canvas.draw()  # tick labels exist once drawn
    hidden = {t for ax in fig.axes if not ax.axison for axis in (ax.xaxis, ax.yaxis) for t in axis.findobj(Text)}
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and t not in hidden]
    return [f"{t.get_text()!r} ({t.get_fontsize():g} pt)" for t in texts if t.get_fontsize() < style.MIN_FONT_SIZE]


def course_figures() -> dict[str, Figure]:
    """One figure from every drawing helper of plots, and the figures widgets and mlp draw with them."""
    text = "To be, or not to be, that is the question"
    drawn = {
        "bar_chart": figures.bar_chart([3, 1200], ["a", "b"], "Sizes", "item", "count").figure,
        "heatmap": figures.heatmap(np.eye(3), list("abc"), list("xyz"), "M", annotate=True).figure,
        "line_plot": figures.line_chart([0, 1], {"a": [0, 1], "b": [1, 0]}, "T", "x", "y").figure,
        "word_map": figures.word_map(np.eye(2), ["man", "king"], "W", "a", "b", arrows=[("man", "king")]).figure,
        "vectors_2d": figures.vectors_2d({"a": [1, 0], "b": [0, 1]}, "V").figure,
        "dot_product_picture": figures.dot_product_picture([1, 0], [1, 1]).figure,
        "values_along_text": figures.values_along_text(
            np.arange(len(text)), text, "V", "value", highlight=[c == " " for c in text], highlight_label="space"
        ).figure,
        "top_probabilities": figures.top_probabilities(np.array([0.5, 0.3, 0.2]), ["a", " ", "\n"]).figure,
        "loss_curves": figures.loss_curves({"a": HISTORY, "b": HISTORY}).figure,
        "pipeline_diagram": figures.pipeline_diagram([("text", "'Hi'"), ("tokens", "2 ids")], "F", "again").figure,
        "lesson06.neuron_figure": lesson06.neuron_figure(np.arange(len(text)), text, 0, feature="space"),
        "lesson04.draw_attention_pattern": lesson04.draw_attention_pattern(
            np.tril(np.ones((len(text), len(text)))) / np.arange(1, len(text) + 1)[:, None], list(text), query=3
        ).figure,
        "lesson04.all_heads_figure": lesson04.all_heads_figure(list("abcd"), np.full((2, 2, 4, 4), 0.25)),
    }
    return drawn


def test_course_style_sizes_are_large_enough_for_a_projector(course_style):
    assert style.MIN_FONT_SIZE >= 12 and min(style.FONT_SIZES.values()) >= style.MIN_FONT_SIZE
    for key in ("font.size", "xtick.labelsize", "ytick.labelsize", "legend.fontsize", "axes.labelsize"):
        assert plt.rcParams[key] >= style.MIN_FONT_SIZE, key
    assert plt.rcParams["axes.titlesize"] > plt.rcParams["axes.labelsize"]


def test_every_text_in_course_figures_is_at_least_the_minimum_size(course_style):
    small = {name: texts for name, fig in course_figures().items() if (texts := small_texts(fig))}
    assert not small, f"texts below {style.MIN_FONT_SIZE} pt: {small}"


def test_plot_helpers_set_readable_sizes_even_without_the_course_style():
    with plt.rc_context():
        plt.rcdefaults()  # Matplotlib's own 10 pt default
        figures = {name: fig for name, fig in course_figures().items() if not name.startswith(("training", "mlp"))}
        small = {name: texts for name, fig in figures.items() if (texts := small_texts(fig))}
    assert not small, f"texts below {style.MIN_FONT_SIZE} pt: {small}"


def test_text_under_a_plot_is_labelled_at_full_size_without_overlapping():
    for length in (40, 120, 400):
        text = ("To be, or not to be, that is the question: " * 10)[:length]
        fig, ax = plt.subplots(figsize=(min(16, 2 + 0.16 * length), 3.6))
        figures.values_along_text(np.zeros(length), text, "T", "value", ax=ax)
        fig.canvas.draw()
        labels = ax.get_xticklabels()
        assert all(label.get_fontsize() >= style.MIN_FONT_SIZE for label in labels)
        boxes = [label.get_window_extent() for label in labels]
        assert all(left.x1 <= right.x0 for left, right in zip(boxes, boxes[1:], strict=False)), length
        if length <= 120:  # short texts: every character labelled, so the text can be read along the axis
            assert len(labels) == length
