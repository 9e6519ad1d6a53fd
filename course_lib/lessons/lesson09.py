"""Lesson 09's views: SmolLM2's fast decode path in each precision, how fast it runs and what it changes.

:func:`measure_precisions` runs every precision once (a reply, its speed, its error against float32) and
:func:`precision_explorer` shows the results behind a dropdown, so switching precision answers at once:
the measuring, seconds of work, happens when the widget is built.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from course_lib.sampling import generate
from course_lib.show import svg
from course_lib.show import widgets as show
from course_lib.smollm import PRECISIONS, FastSmolLM, SmolLM, SmolLMTokenizer
from course_lib.smollm.fast import PrecisionError

__all__ = ["PrecisionRun", "measure_precisions", "precision_explorer", "precision_report"]


@dataclass(frozen=True)
class PrecisionRun:
    """One precision's reply to a prompt, how long it took, and how far its scores are from float32's."""

    precision: str
    reply_ids: list[int]
    reply: str
    tokens_per_s: float  # measured here and now: depends on the machine and on what else runs on it
    bytes_per_token: int
    error: PrecisionError | None  # against float32 (None for float32 itself)


def _measure(runner: FastSmolLM, tokenizer, prompt: list[int], new_tokens: int) -> tuple[list[int], float]:
    """The greedy reply of ``runner`` and its speed in tokens/s, timed after a two-token warm-up."""
    generate(runner, prompt, 2, greedy=True)  # warm-up: the first call allocates and picks kernels
    start = time.perf_counter()
    ids = generate(runner, prompt, new_tokens, greedy=True).tolist()[len(prompt) :]
    return ids, new_tokens / (time.perf_counter() - start)


def measure_precisions(
    model: SmolLM,
    tokenizer: SmolLMTokenizer,
    prompt: Sequence[int],
    new_tokens: int = 24,
    *,
    float32: FastSmolLM | None = None,
) -> dict[str, PrecisionRun]:
    """The fast path of ``model`` (the readable :class:`SmolLM`) in every precision continues ``prompt``.

    The reply is greedy and exactly ``new_tokens`` long (no stop token: every precision does the same
    work), timed after a two-token warm-up. The error is :func:`course_lib.smollm.fast.compare`'s, along
    float32's own reply: float32's scores along it are computed once and serve every precision. ``float32``:
    the float32 fast model if you have one already. The lower precisions are built one at a time and dropped
    once measured, so the kernel never holds them all (each is a few hundred MB).
    """
    if not isinstance(model, SmolLM):
        raise TypeError(f"model must be a course_lib.smollm.SmolLM, got {type(model).__name__}")
    if float32 is None:
        float32 = FastSmolLM.from_model(model, "float32")
    elif not isinstance(float32, FastSmolLM) or float32.precision != "float32":
        raise ValueError(f"float32 must be a FastSmolLM in float32, got {float32!r:.60}")
    prompt = list(prompt)
    reference_ids, speed = _measure(float32, tokenizer, prompt, new_tokens)
    runs = {
        "float32": PrecisionRun(
            "float32", reference_ids, tokenizer.decode(reference_ids), speed, float32.bytes_per_token(), None
        )
    }
    expected = float32.logits_along(prompt, reference_ids)  # the reference's scores, for every precision
    for precision in PRECISIONS:
        if precision == "float32":
            continue
        runner = FastSmolLM.from_model(model, precision)
        ids, speed = _measure(runner, tokenizer, prompt, new_tokens)
        error = PrecisionError.between([(expected, runner.logits_along(prompt, reference_ids))])
        runs[precision] = PrecisionRun(precision, ids, tokenizer.decode(ids), speed, runner.bytes_per_token(), error)
        del runner  # before the next precision is built
    return runs


def precision_report(runs: Mapping[str, PrecisionRun], precision: str, bandwidth_gb_s: float) -> tuple[str, str]:
    """The chosen precision's speed, bound, error and reply (text), and every precision's speed (an SVG chart)."""
    if precision not in runs:
        raise ValueError(f"precision must be one of {', '.join(map(repr, runs))}; got {precision!r}")
    run, reference = runs[precision], runs["float32"]
    bound = bandwidth_gb_s * 1e9 / run.bytes_per_token
    lines = [
        f"{precision}: {PRECISIONS[precision]}",
        f"reads {run.bytes_per_token / 1e6:.0f} MB of weights per token; at {bandwidth_gb_s:.1f} GB/s that allows at "
        f"most {bound:.0f} tokens/s",
        f"measured: {run.tokens_per_s:.1f} tokens/s ({run.tokens_per_s / reference.tokens_per_s:.1f} x float32)",
    ]
    if run.error is None:
        lines.append("scores: the reference (the readable model's greedy tokens)")
    else:
        pairs = zip(run.reply_ids, reference.reply_ids, strict=True)  # both exactly new_tokens long
        first_difference = next((i for i, (a, b) in enumerate(pairs) if a != b), None)
        agree = "the whole reply" if first_difference is None else f"the first {first_difference} tokens"
        lines.append(f"scores against float32: {run.error}")
        lines.append(f"same greedy reply as float32 for {agree} of {len(run.reply_ids)}")
    lines.append(f"reply: {run.reply!r}")
    names = list(runs)
    chart = svg.bar_chart(
        [runs[p].tokens_per_s for p in names],
        [f"{p} (chosen)" if p == precision else p for p in names],
        "Tokens per second, one thread, measured when the widget was built",
        "tokens per second",
        "precision",
        horizontal=True,
        value_format="{:.1f}",
    )
    return show.text_html("\n".join(lines)), chart


def precision_explorer(runs: Mapping[str, PrecisionRun], bandwidth_gb_s: float, value: str = "int8"):
    """A dropdown of precisions above :func:`precision_report`: speed, bound, error and reply of each."""
    return show.live_view(
        lambda precision: precision_report(runs, precision, bandwidth_gb_s),
        {"precision": show.dropdown(list(runs), value, "precision")},
    )
