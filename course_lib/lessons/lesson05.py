"""Lesson 05's views: what a temperature does to a distribution, and to the text sampled from it."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from course_lib.sampling import entropy, generate_at_temperatures, softmax
from course_lib.show import svg
from course_lib.show import widgets as show
from course_lib.tokenizers import show_piece


def temperature_report(logits: Any, labels: Sequence[str], temperature: float, k: int = 5) -> str:
    """What temperature ``temperature`` does to a distribution: its entropy and the ``k`` likeliest entries.

    ``logits`` are the raw scores (one per label). The entropy is in nats: 0 means one entry is
    certain, log(N) means all N entries are equally likely.
    """
    probs = softmax(np.asarray(logits, dtype=float), temperature)
    order = np.argsort(-probs, kind="stable")[:k]
    likeliest = ", ".join(f"{show_piece(labels[i])!r} {probs[i]:.3f}" for i in order)
    return (
        f"temperature T = {temperature:.2f}\n"
        f"entropy = {float(entropy(probs)):.2f} nats (0 = one certain choice, {math.log(len(probs)):.2f} = all equal)\n"
        f"likeliest: {likeliest}"
    )


TEMPERATURE_SLIDER = (0.05, 3.0, 0.05)  # the temperature slider's lowest, highest value and step


def temperature_steps() -> list[float]:
    """Every value the temperature slider of :func:`temperature_explorer` can take (0.05, 0.1, ..., 3.0)."""
    low, high, step = TEMPERATURE_SLIDER
    return [round(low + i * step, 2) for i in range(round((high - low) / step) + 1)]


def samples_by_temperature(
    model: Any, tokenizer: Any, prompt: str, n_chars: int, seed: int = 0
) -> Callable[[float], str]:
    """``sample(T)`` for :func:`temperature_explorer`: text continuing ``prompt`` at each slider temperature,
    all drawn now in one batch with the same random numbers (:func:`course_lib.sampling.generate_at_temperatures`),
    so moving the slider only looks a sample up: no model runs while the learner drags."""
    temperatures = temperature_steps()
    rows = generate_at_temperatures(model, tokenizer.encode(prompt), n_chars, temperatures, seed=seed)
    samples = {t: tokenizer.decode(row.tolist()) for t, row in zip(temperatures, rows, strict=True)}

    def sample(temperature: float) -> str:
        key = round(float(temperature), 2)
        if key not in samples:
            raise ValueError(f"no sample was drawn for T = {temperature}: the slider's values are {temperatures}")
        return samples[key]

    return sample


def temperature_explorer(
    logits: Any,
    labels: Sequence[str],
    sample: Callable[[float], str] | None = None,
    temperature: float = 1.0,
    k: int = 10,
    title: str = "Next-token probabilities",
):
    """A slider "Temperature" (0.05 to 3); below, the ``k`` likeliest entries of softmax(logits / T) as bars,
    the entropy, and, if ``sample`` is given, ``sample(T)``: text generated at that temperature."""
    controls = {"temperature": show.slider(temperature, *TEMPERATURE_SLIDER, "Temperature", integer=False)}

    def render(temperature: float):
        probs = softmax(np.asarray(logits, dtype=float), temperature)
        # One scale for every T (0 to 1.1), so the bars can be compared as the slider moves.
        bars = svg.top_probabilities(probs, labels, min(k, len(probs)), f"{title} at T = {temperature:.2f}")
        text = temperature_report(logits, labels, temperature)
        if sample is not None:
            text += "\n\ngenerated at this temperature:\n" + sample(temperature)
        return bars, show.text_html(text)

    return show.live_view(render, controls)
