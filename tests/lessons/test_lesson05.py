"""Lesson 05's views (course_lib.lessons.lesson05): what its widgets and figures show."""

import math

import numpy as np
import pytest

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
