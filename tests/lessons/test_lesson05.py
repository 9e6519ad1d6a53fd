"""Lesson 05's views (course_lib.lessons.lesson05): what its widgets and figures show."""

import math

import numpy as np
import pytest
import torch

from course_lib.lessons import lesson05


def test_temperature_report_entropy_and_likeliest():
    logits = np.array([2.0, 1.0, 0.0])
    text = lesson05.temperature_report(logits, ["a", " ", "c"], 1.0)
    assert "temperature T = 1.00" in text and f"{math.log(3):.2f} = all equal" in text
    assert "likeliest: 'a' 0.665, '·' 0.245, 'c' 0.090" in text
    assert "entropy = 0.00 nats" in lesson05.temperature_report(logits, ["a", "b", "c"], 0.01)
    assert "entropy = 1.10 nats" in lesson05.temperature_report(logits, ["a", "b", "c"], 1000.0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        lesson05.temperature_report(logits, ["a", "b", "c"], 0.0)


def test_temperature_explorer_renders_first_and_on_change():
    calls = []

    def sample(t):
        calls.append(t)
        return f"sampled at {t}"

    box = lesson05.temperature_explorer(np.array([2.0, 1.0, 0.0]), ["a", "b", "c"], sample=sample, temperature=1.0)
    slider = box.children[0].children[0]
    assert slider.description == "Temperature" and slider.continuous_update is False
    assert slider.min == 0.05 and slider.max == 3.0
    assert calls == [1.0] and "sampled at 1.0" in box.children[2].value  # the static first render
    assert "Bar chart &#x27;Next-token probabilities at T = 1.00&#x27;" in box.children[1].value
    assert "3 bars: &#x27;a&#x27; 0.665, &#x27;b&#x27; 0.245, &#x27;c&#x27; 0.090" in box.children[1].value
    slider.value = 2.0
    assert calls == [1.0, 2.0] and "T = 2.00" in box.children[2].value
    assert "at T = 2.00" in box.children[1].value and "&#x27;a&#x27; 0.506" in box.children[1].value


def test_samples_by_temperature_covers_every_slider_value(tiny):
    model, tokenizer = tiny
    steps = lesson05.temperature_steps()
    assert steps[:3] == [0.05, 0.1, 0.15] and steps[-1] == 3.0 and len(steps) == 60
    sample = lesson05.samples_by_temperature(model, tokenizer, "What", 8)
    texts = {t: sample(t) for t in steps}
    assert all(text.startswith("What") and len(text) == 12 for text in texts.values())
    assert sample(0.1 + 0.05) == texts[0.15]  # a slider's float arithmetic still finds its sample
    assert len(set(texts.values())) > 1
    with pytest.raises(ValueError, match="no sample was drawn for T = 0.07"):
        sample(0.07)


def test_lesson_05_filter_view_shows_what_each_filter_keeps(course_model):
    from course_lib import sampling
    from course_lib.lessons import lesson05

    model, tokenizer = course_model
    charts, text = lesson05.filter_view(model, tokenizer, "What will be", 5, 0.9)
    assert charts.count("<svg") == 3 and "top-k, k = 5 keeps 5" in charts
    logits = sampling.next_token_logits(model, tokenizer.encode("What will be"))
    kept_p = int(torch.isfinite(sampling.top_p_filter(logits, 0.9)).sum())
    assert f"top-p, p = 0.90: keeps {kept_p} of 84 characters" in text and "writes:" in text
    _, everything = lesson05.filter_view(model, tokenizer, "What will be", 84, 1.0)
    assert everything.count("keeps 84 of 84") == 2
    written: dict = {}
    first = lesson05.filter_view(model, tokenizer, "What will be", 5, 0.9, written=written)
    assert first == (charts, text) and len(written) == 2  # the texts do not depend on the cache
    lesson05.filter_view(model, tokenizer, "What will be", 6, 0.9, written=written)
    assert len(written) == 3  # a new k samples top-k's text only; top-p's is looked up


def test_lesson_05_filter_explorer_shows_errors_and_recovers(course_model):
    from widget_support import shown

    from course_lib.lessons import lesson05

    model, tokenizer = course_model
    box = lesson05.filter_explorer(model, tokenizer, "What will be", k=5, p=0.9)
    prompt = box.children[0].children[0]
    good = shown(box)
    prompt.value = "café"
    assert "not in this tokenizer&#x27;s vocabulary" in shown(box)[1]
    prompt.value = ""
    assert "the text box is empty" in shown(box)[1]
    prompt.value = "What will be"
    assert shown(box) == good


def test_lesson_05_filter_view_works_on_a_model_of_another_shape(course_model):
    from widget_support import shown

    from course_lib import sampling
    from course_lib.lessons import lesson05
    from course_lib.model import GPT, GPTConfig

    _, tokenizer = course_model
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16)).eval()
    charts, text = lesson05.filter_view(model, tokenizer, "ROMEO.\nBut soft, what light", 3, 0.5)
    assert charts.count("<svg") == 3 and "top-k, k = 3: keeps 3" in text
    sample = lesson05.samples_by_temperature(model, tokenizer, "ROMEO.\nBut soft, what light", 8)
    assert sample(1.0).startswith("ROMEO.\nBut soft, what light") and len(sample(1.0)) == 27 + 8
    labels = list(tokenizer.chars)
    logits = sampling.next_token_logits(model, tokenizer.encode("ROMEO.")).double().numpy()
    box = lesson05.temperature_explorer(logits, labels, sample=sample)
    assert "generated at this temperature" in shown(box)[0][1]
