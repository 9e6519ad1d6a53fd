"""The widget framework (course_lib.show.widgets): views follow their controls, and a failed update says why."""

import pytest
import torch
from widget_support import shown

from course_lib.show import widgets


def test_html_slider_renders_on_change():
    view_box = widgets.html_slider(lambda n: f"<p>{n} merges</p>", "Merges", 0, 10, value=3)
    slider, view, message = view_box.children
    assert not slider.continuous_update
    assert view.value == "<p>3 merges</p>"
    slider.value = 7
    assert view.value == "<p>7 merges</p>"
    with pytest.raises(ValueError, match="value must lie between min=0 and max=10, got 11"):
        widgets.html_slider(str, "x", 0, 10, value=11)


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
    with caplog.at_level("WARNING", logger="course_lib.show.widgets"):
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


def test_one_thread_runs_the_block_on_one_thread_and_restores_the_count_after_an_error():
    torch.set_num_threads(2)
    try:
        with widgets.one_thread():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with pytest.raises(ValueError, match="bad prompt"), widgets.one_thread():
            raise ValueError("bad prompt")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
