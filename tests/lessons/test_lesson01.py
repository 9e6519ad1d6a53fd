"""Lesson 01's views (course_lib.lessons.lesson01): what its widgets and figures show."""

import re

import pytest

from course_lib.lessons import lesson01
from course_lib.tokenizers import CharTokenizer, gpt2, gpt2_reference

SPAN = re.compile(r'<span class="course-token" title="id (\d+)"[^>]*>(.*?)</span>')


def spans(html_text: str) -> list[tuple[int, str]]:
    return [(int(i), text) for i, text in SPAN.findall(html_text)]


def test_token_html_escapes_and_shows_ids():
    html_text = lesson01.token_html([(7, b"<b>"), (8, " & "), (9, b">")])
    assert spans(html_text) == [(7, "&lt;b&gt;"), (8, "·&amp;·"), (9, "&gt;")]
    assert "<b>" not in html_text


def test_token_html_marks_whitespace_and_breaks_lines():
    html_text = lesson01.token_html([(1, b"a"), (2, b"\n"), (3, b"\tb"), (4, b" c")])
    assert [text for _, text in spans(html_text)] == ["a", "↵", "→b", "·c"]
    assert html_text.count("<br>") == 1


def test_token_html_neighbours_get_different_safe_colours():
    html_text = lesson01.token_html([(i, b"x") for i in range(10)])
    colours = re.findall(r"background:(#[0-9A-F]{6})", html_text)
    assert len(colours) == 10
    assert all(a != b for a, b in zip(colours, colours[1:], strict=False))
    assert set(colours) <= set(lesson01.TOKEN_COLORS)


def test_token_html_shows_partial_utf8_bytes_readably():
    html_text = lesson01.token_html(gpt2().pieces("😀"))
    assert "&lt;0xF0&gt;" in html_text


def test_pieces_of_accepts_all_encoder_kinds():
    text = "Hello world <|endoftext|>"
    ours = lesson01.pieces_of(gpt2(), text)
    assert lesson01.pieces_of(gpt2_reference(), text) == ours
    assert lesson01.pieces_of(lambda t: [(0, t)], "abc") == [(0, "abc")]
    assert b"".join(piece for _, piece in ours) == text.encode()
    with pytest.raises(TypeError, match="encoder must be a course tokenizer"):
        lesson01.pieces_of(42, text)


def test_tokenizer_view_counts_and_ids():
    pieces = CharTokenizer("abc ").pieces("ab c")
    view = lesson01.tokenizer_view_html("chars", pieces)
    assert '<span class="course-token-count">4</span> tokens' in view
    assert "[0, 1, 3, 2]" in view
    assert "1</span> token<" in lesson01.tokenizer_view_html("one", [(5, b"x")])
    long_ids = lesson01.ids_html([(i, b"x") for i in range(250)], limit=200)
    assert "(50 more)" in long_ids


def test_comparison_html_one_view_per_tokenizer():
    views = lesson01.comparison_html({"GPT-2": gpt2(), "chars": CharTokenizer.from_text("Hello world")}, "Hello world")
    assert list(views) == ["GPT-2", "chars"]
    assert 'GPT-2: <span class="course-token-count">2</span>' in views["GPT-2"]
    assert len(spans(views["chars"])) == 11


def test_comparison_html_shows_an_encoding_error_in_place():
    views = lesson01.comparison_html({"chars": CharTokenizer("ab"), "GPT-2": gpt2()}, "a<é")
    assert "cannot encode this text: character &#x27;&lt;&#x27;" in views["chars"]
    assert "course-token-count" in views["GPT-2"]


def test_live_tokenizer_renders_first_and_follows_typing():
    box_and_views = lesson01.live_tokenizer({"GPT-2": gpt2(), "o": gpt2_reference()}, "Hello world")
    box, first, second = box_and_views.children
    assert box.description == "Text" and box.continuous_update
    assert [t for _, t in spans(first.value)] == ["Hello", "·world"]
    box.value = "Tokens <3"
    assert "".join(t for _, t in spans(first.value)).replace("·", " ") == "Tokens &lt;3"
    assert second.value == first.value.replace("GPT-2", "o")
    with pytest.raises(ValueError, match="at least one tokenizer"):
        lesson01.live_tokenizer({})


def test_live_tokenizer_shows_any_tokenizer_failure_in_its_own_view():
    def broken(text):
        raise RuntimeError("rank file unreadable")

    box = lesson01.live_tokenizer({"GPT-2": gpt2(), "broken": broken}, "Hello")
    _, gpt2_view, broken_view = box.children
    assert "cannot encode this text: could not update: RuntimeError: rank file unreadable" in broken_view.value
    assert [t for _, t in spans(gpt2_view.value)] == ["Hello"]


def test_a_pasted_book_shows_its_count_but_only_the_first_tokens():
    text = "To be, or not to be, that is the question. " * 500
    view = lesson01.comparison_html({"GPT-2": gpt2()}, text)["GPT-2"]
    n_tokens = len(gpt2().encode(text))
    assert n_tokens > lesson01.TOKEN_VIEW_LIMIT
    assert f'<span class="course-token-count">{n_tokens}</span> tokens' in view
    assert len(spans(view)) == lesson01.TOKEN_VIEW_LIMIT
    assert f"the first 2,000 of {n_tokens:,} tokens are shown" in view
    assert "more)" in view  # the ids line is cut too


# What a learner may type into any lesson's text box. The course model reads 84 characters and 128 at a time.
UNKNOWN = "café ☃"  # é and ☃ are not among the Shakespeare model's characters


TOO_LONG = "ROMEO. But soft, what light through yonder window breaks?\n" * 40  # 2,320 characters


def test_lesson_01_live_tokenizer_with_unknown_empty_and_long_text(course_model):
    from course_lib.tokenizers import gpt2, o200k

    _, characters = course_model
    box = lesson01.live_tokenizer({"GPT-2": gpt2(), "o200k": o200k(), "characters": characters}, "Hello")
    text_box, *views = box.children
    text_box.value = UNKNOWN
    assert "cannot encode this text: character &#x27;é&#x27;" in views[2].value
    assert "course-token-count" in views[0].value and "course-token-count" in views[1].value
    text_box.value = ""
    assert all('<span class="course-token-count">0</span> tokens' in v.value for v in views)
    text_box.value = TOO_LONG * 2
    assert '<span class="course-token-count">4640</span> tokens' in views[2].value
    assert "the first 2,000 of 4,640 tokens are shown" in views[2].value
