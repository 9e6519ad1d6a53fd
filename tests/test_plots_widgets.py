"""Tests for course_lib.plots and course_lib.widgets: the pure functions and the widgets' first render."""

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_lib import plots, widgets
from course_lib.tokenizers import CharTokenizer, gpt2, gpt2_reference

SPAN = re.compile(r'<span class="course-token" title="id (\d+)"[^>]*>(.*?)</span>')


def spans(html_text: str) -> list[tuple[int, str]]:
    return [(int(i), text) for i, text in SPAN.findall(html_text)]


# --------------------------------------------------------------------------- token HTML


def test_token_html_escapes_and_shows_ids():
    html_text = widgets.token_html([(7, b"<b>"), (8, " & "), (9, b">")])
    assert spans(html_text) == [(7, "&lt;b&gt;"), (8, "·&amp;·"), (9, "&gt;")]
    assert "<b>" not in html_text


def test_token_html_marks_whitespace_and_breaks_lines():
    html_text = widgets.token_html([(1, b"a"), (2, b"\n"), (3, b"\tb"), (4, b" c")])
    assert [text for _, text in spans(html_text)] == ["a", "↵", "→b", "·c"]
    assert html_text.count("<br>") == 1


def test_token_html_neighbours_get_different_safe_colours():
    html_text = widgets.token_html([(i, b"x") for i in range(10)])
    colours = re.findall(r"background:(#[0-9A-F]{6})", html_text)
    assert len(colours) == 10
    assert all(a != b for a, b in zip(colours, colours[1:], strict=False))
    assert set(colours) <= set(widgets.TOKEN_COLORS)


def test_token_html_shows_partial_utf8_bytes_readably():
    html_text = widgets.token_html(gpt2().pieces("😀"))
    assert "&lt;0xF0&gt;" in html_text


def test_pieces_of_accepts_all_encoder_kinds():
    text = "Hello world <|endoftext|>"
    ours = widgets.pieces_of(gpt2(), text)
    assert widgets.pieces_of(gpt2_reference(), text) == ours
    assert widgets.pieces_of(lambda t: [(0, t)], "abc") == [(0, "abc")]
    assert b"".join(piece for _, piece in ours) == text.encode()
    with pytest.raises(TypeError, match="encoder must be a course tokenizer"):
        widgets.pieces_of(42, text)


def test_tokenizer_view_counts_and_ids():
    pieces = CharTokenizer("abc ").pieces("ab c")
    view = widgets.tokenizer_view_html("chars", pieces)
    assert '<span class="course-token-count">4</span> tokens' in view
    assert "[0, 1, 3, 2]" in view
    assert "1</span> token<" in widgets.tokenizer_view_html("one", [(5, b"x")])
    long_ids = widgets.ids_html([(i, b"x") for i in range(250)], limit=200)
    assert "(50 more)" in long_ids


def test_comparison_html_one_view_per_tokenizer():
    views = widgets.comparison_html({"GPT-2": gpt2(), "chars": CharTokenizer.from_text("Hello world")}, "Hello world")
    assert list(views) == ["GPT-2", "chars"]
    assert 'GPT-2: <span class="course-token-count">2</span>' in views["GPT-2"]
    assert len(spans(views["chars"])) == 11


def test_comparison_html_shows_an_encoding_error_in_place():
    views = widgets.comparison_html({"chars": CharTokenizer("ab"), "GPT-2": gpt2()}, "a<é")
    assert "cannot encode this text: character &#x27;&lt;&#x27;" in views["chars"]
    assert "course-token-count" in views["GPT-2"]


def test_live_tokenizer_renders_first_and_follows_typing():
    box_and_views = widgets.live_tokenizer({"GPT-2": gpt2(), "o": gpt2_reference()}, "Hello world")
    box, first, second = box_and_views.children
    assert box.description == "Text" and box.continuous_update
    assert [t for _, t in spans(first.value)] == ["Hello", "·world"]
    box.value = "Tokens <3"
    assert "".join(t for _, t in spans(first.value)).replace("·", " ") == "Tokens &lt;3"
    assert second.value == first.value.replace("GPT-2", "o")
    with pytest.raises(ValueError, match="at least one tokenizer"):
        widgets.live_tokenizer({})


def test_html_slider_renders_on_change():
    view_box = widgets.html_slider(lambda n: f"<p>{n} merges</p>", "Merges", 0, 10, value=3)
    slider, view, message = view_box.children
    assert not slider.continuous_update
    assert view.value == "<p>3 merges</p>"
    slider.value = 7
    assert view.value == "<p>7 merges</p>"
    with pytest.raises(ValueError, match="value must lie between min=0 and max=10, got 11"):
        widgets.html_slider(str, "x", 0, 10, value=11)


# --------------------------------------------------------------------------- a failed update shows, then clears


def shown(box):
    """What a course widget shows under its controls: (the views' values, hidden or not; the error message or '')."""
    *views, message = box.children[1:]
    visible = [v.layout.display != "none" for v in views]
    error = message.value if message.layout.display != "none" else ""
    assert not any(visible) if error else all(visible), "the message and the views take turns: never both"
    return [v.value for v in views], error


def test_live_view_replaces_its_picture_with_the_error_and_recovers():
    import ipywidgets

    n = ipywidgets.IntSlider(value=2, min=-5, description="n")

    def render(n):
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return f"<p>{'x' * n}</p>", "<p>second view</p>"

    box = widgets.live_view(render, {"n": n})
    assert shown(box) == (["<p>xx</p>", "<p>second view</p>"], "")
    n.value = -1  # an ipywidgets observer that raises would leave "<p>xx</p>" up and log the traceback
    _, error = shown(box)
    assert "n must be &gt;= 0, got -1" in error and 'class="course-update-error"' in error
    n.value = 3
    assert shown(box) == (["<p>xxx</p>", "<p>second view</p>"], "")


def test_an_unexpected_failure_says_could_not_update_and_logs_the_traceback(caplog):
    import ipywidgets

    word = ipywidgets.Text(value="ab", description="w")
    box = widgets.live_view(lambda w: f"<p>{ {'ab': 1, 'cd': 2}[w] }</p>", {"w": word})
    with caplog.at_level("WARNING", logger="course_lib.widgets"):
        word.value = "zz"
    assert "could not update: KeyError: &#x27;zz&#x27;" in shown(box)[1]
    assert caplog.records and caplog.records[0].exc_info[0] is KeyError
    word.value = "cd"
    assert shown(box) == (["<p>2</p>"], "")


def test_course_errors_show_their_own_message_and_long_ones_are_cut():
    from course_lib.data import DataError

    assert widgets.update_error_message(DataError("corpus/train.txt is missing. Run `make setup`")) == (
        "corpus/train.txt is missing. Run `make setup`"
    )
    assert widgets.update_error_message(TypeError("text must be a str")) == "text must be a str"
    assert widgets.update_error_message(ZeroDivisionError("division by zero")) == (
        "could not update: ZeroDivisionError: division by zero"
    )
    long = widgets.update_error_message(ValueError("x" * 1000))
    assert len(long) == 400 and long.endswith("...")
    assert "&lt;b&gt;" in widgets.update_error_html(ValueError("<b>"))


def test_html_slider_shows_a_failed_render_and_recovers():
    def render(n):
        return f"<p>{10 // n}</p>"

    box = widgets.html_slider(render, "n", 0, 10, value=5)
    box.children[0].value = 0
    assert "could not update: ZeroDivisionError" in shown(box)[1]
    box.children[0].value = 2
    assert shown(box) == (["<p>5</p>"], "")


def test_live_tokenizer_shows_any_tokenizer_failure_in_its_own_view():
    def broken(text):
        raise RuntimeError("rank file unreadable")

    box = widgets.live_tokenizer({"GPT-2": gpt2(), "broken": broken}, "Hello")
    _, gpt2_view, broken_view = box.children
    assert "cannot encode this text: could not update: RuntimeError: rank file unreadable" in broken_view.value
    assert [t for _, t in spans(gpt2_view.value)] == ["Hello"]


def test_a_pasted_book_shows_its_count_but_only_the_first_tokens():
    text = "To be, or not to be, that is the question. " * 500
    view = widgets.comparison_html({"GPT-2": gpt2()}, text)["GPT-2"]
    n_tokens = len(gpt2().encode(text))
    assert n_tokens > widgets.TOKEN_VIEW_LIMIT
    assert f'<span class="course-token-count">{n_tokens}</span> tokens' in view
    assert len(spans(view)) == widgets.TOKEN_VIEW_LIMIT
    assert f"the first 2,000 of {n_tokens:,} tokens are shown" in view
    assert "more)" in view  # the ids line is cut too


# --------------------------------------------------------------------------- plots


def test_bar_chart_labels_and_values():
    ax = plots.bar_chart([3, 1200], ["a", "b"], "Sizes", "item", "count")
    assert ax.get_title() == "Sizes" and ax.get_xlabel() == "item" and ax.get_ylabel() == "count"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert [t.get_text() for t in ax.texts] == ["3", "1,200"]
    horizontal = plots.bar_chart([1, 2], ["x", "y"], "T", "value", "name", horizontal=True, annotate=False)
    assert [t.get_text() for t in horizontal.get_yticklabels()] == ["x", "y"]
    with pytest.raises(ValueError, match="same length"):
        plots.bar_chart([1, 2], ["a"], "T", "x", "y")
    with pytest.raises(ValueError, match="title must be a non-empty string"):
        plots.bar_chart([1], ["a"], "", "x", "y")


def test_heatmap_labels_colorbar_and_annotations():
    matrix = np.array([[0.0, 0.5], [1.0, 0.25], [0.1, 0.9]])
    ax = plots.heatmap(matrix, ["r0", "r1", "r2"], ["c0", "c1"], "Scores", xlabel="key", ylabel="query", annotate=True)
    assert ax.get_title() == "Scores" and ax.get_xlabel() == "key" and ax.get_ylabel() == "query"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["r0", "r1", "r2"]
    assert len(ax.texts) == 6 and ax.texts[1].get_text() == "0.50"
    assert ax.images[0].get_cmap().name == "viridis"
    assert len(ax.figure.axes) == 2  # the plot and its colour bar
    with pytest.raises(ValueError, match="row_labels has 2 entries but the matrix has 3"):
        plots.heatmap(matrix, ["a", "b"], None, "T")
    with pytest.raises(ValueError, match="not in the colour-blind-safe list"):
        plots.heatmap(matrix, title="T", cmap="jet")
    with pytest.raises(ValueError, match="must be 2-D"):
        plots.heatmap(np.zeros(3), title="T")


def test_line_plot_series_and_legend():
    ax = plots.line_plot([0, 1, 2], {"a": [3, 2, 1], "b": [1, 2, 3]}, "Lines", "step", "value", logy=True)
    assert len(ax.lines) == 2 and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    with pytest.raises(ValueError, match="series 'a' has 2 values but x has 3"):
        plots.line_plot([0, 1, 2], {"a": [1, 2]}, "T", "x", "y")


def test_course_style_sets_readable_fonts():
    with plt.rc_context():  # leave the global style as it was for other tests
        plots.use_course_style()
        assert plt.rcParams["axes.labelsize"] == plots.FONT_SIZES["label"]
        assert plt.rcParams["axes.prop_cycle"].by_key()["color"] == plots.COLORS


def test_horizontal_bars_on_shared_axes_keep_the_first_label_on_top():
    _, (left, right) = plt.subplots(1, 2, sharey=True)
    for ax in (left, right):
        plots.bar_chart([1, 2], ["first", "second"], "T", "value", "name", horizontal=True, ax=ax)
    assert left.yaxis_inverted() and right.yaxis_inverted()
