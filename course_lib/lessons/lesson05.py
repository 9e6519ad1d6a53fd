"""Lesson 05's views: what a temperature and the top-k and top-p filters do to a distribution, and to the text
sampled from it."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from course_lib.sampling import (
    entropy,
    generate_at_temperatures,
    generate_text,
    next_token_logits,
    softmax,
    top_k_filter,
    top_p_filter,
)
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


# --------------------------------------------------------------------------- top-k and top-p on a real distribution

FILTER_TEXT_LENGTH = 50  # characters each filter writes: about 50 ms on a laptop CPU, once per setting


def _kept_bars(shown: np.ndarray, pieces: list[str], title: str) -> str:
    return svg.bar_chart(
        shown, pieces, title, "probability", "next character", horizontal=True, value_format="{:.3f}", limits=(0, 1.1)
    )


def filter_view(
    model: Any, tokenizer: Any, prompt: str, k: int, p: float, n_bars: int = 12, *, written: dict | None = None
) -> tuple[str, str]:
    """Which next characters top-k (``k``) and top-p (``p``) keep after ``prompt``, and the text each then writes.

    Three bar charts of the ``n_bars`` likeliest characters, in the same order: the model's distribution,
    and what is left after each filter (the kept ones renormalised, the dropped ones at 0). Below, the
    count each filter keeps and ``FILTER_TEXT_LENGTH`` characters sampled with it (seed 0, T = 1).
    ``written`` (a dict) keeps the texts already sampled, so that moving one slider samples one text only.
    """
    written = {} if written is None else written
    show.require_typed_text(prompt)
    logits = next_token_logits(model, tokenizer.encode(prompt)).double()
    filtered = {f"top-k, k = {k}": top_k_filter(logits, k), f"top-p, p = {p:.2f}": top_p_filter(logits, p)}
    probs = softmax(logits).numpy()
    order = np.argsort(-probs, kind="stable")[: min(n_bars, len(probs))]
    pieces = [show_piece(tokenizer.decode([int(i)])) for i in order]
    charts = [_kept_bars(probs[order], pieces, f"After {prompt[-20:]!r}: the model")]
    lines = []
    for (name, kept_logits), settings in zip(filtered.items(), ({"top_k": k}, {"top_p": p}), strict=True):
        kept = torch.isfinite(kept_logits).numpy()
        charts.append(_kept_bars(softmax(kept_logits).numpy()[order], pieces, f"{name} keeps {kept.sum()}"))
        key = (prompt, *settings.items())
        if key not in written:
            written[key] = generate_text(model, tokenizer, prompt, FILTER_TEXT_LENGTH, seed=0, **settings)
        text = written[key]
        lines.append(
            f"{name}: keeps {kept.sum()} of {len(probs)} characters, which held {probs[kept].sum():.3f} "
            f"of the probability\n  writes: {text!r}"
        )
    return svg.row(*charts), show.text_html("\n".join(lines))


def filter_explorer(model: Any, tokenizer: Any, prompt: str = "What will be", k: int = 5, p: float = 0.9):
    """Lesson 05's filters on the model's real next-character distribution: a prompt box, a k slider and a p
    slider; shows which characters each filter keeps (:func:`filter_view`) and the text it writes."""
    controls = {
        "prompt": show.text_box(prompt, "Prompt"),
        "k": show.slider(k, 1, model.config.vocab_size, 1, "k (top-k)"),
        "p": show.slider(p, 0.05, 1.0, 0.05, "p (top-p)", integer=False),
    }

    written: dict = {}  # the texts sampled so far: moving the k slider samples only top-k's text again

    def render(prompt: str, k: int, p: float):
        return filter_view(model, tokenizer, prompt, int(k), round(float(p), 2), written=written)

    return show.live_view(render, controls)
