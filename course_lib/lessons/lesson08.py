"""Lesson 08's views: a training playground (pick a size, train, see the curves), live loss curves, keeping
the model the learner trained for lessons 04 to 07, and the race of the plain recipe against the fast one."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import ipywidgets
import matplotlib.pyplot as plt
from IPython.display import display

from course_lib import seed_everything
from course_lib.data import shown_path
from course_lib.model import GPT, GPTConfig
from course_lib.sampling import generate_text
from course_lib.show import svg
from course_lib.show import widgets as show
from course_lib.show.style import COLORS, FONT_SIZES, LINE_STYLES
from course_lib.sizes import count_parameters
from course_lib.speedrun import Change, RaceResult
from course_lib.teaching import your_work
from course_lib.training import TrainConfig, TrainResult, train

_log = logging.getLogger(__name__)


def _playground_config(vocab_size: int, n_layer: int, n_embd: int, block_size: int):
    return GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_head=4, n_embd=n_embd)


def training_plan_html(
    vocab_size: int,
    n_layer: int,
    n_embd: int,
    learning_rate: float,
    steps: int,
    block_size: int = 64,
    batch_size: int = 32,
) -> str:
    """What pressing Train will do: the model's size and the amount of training, before anything runs."""
    config = _playground_config(vocab_size, n_layer, n_embd, block_size)
    params = count_parameters(config)["total"]
    tokens = steps * batch_size * block_size
    return show.text_html(
        f"model: {n_layer} layer{'s' if n_layer != 1 else ''} of width {n_embd}, 4 heads, context {block_size}: "
        f"{params:,} parameters\n"
        f"training: {steps} steps of {batch_size} x {block_size} tokens ({tokens:,} tokens) "
        f"at learning rate {learning_rate:g}\n"
        "press Train to run it (larger models and more steps take longer)"
    )


def run_training(
    train_data: Any,
    val_data: Any,
    tokenizer: Any,
    n_layer: int,
    n_embd: int,
    learning_rate: float,
    steps: int,
    block_size: int = 64,
    batch_size: int = 32,
    prompt: str = "\n",
    sample_chars: int = 200,
    seed: int = 0,
    callback: Callable[[list[dict]], None] | None = None,
):
    """Build a fresh seeded GPT, train it for ``steps`` steps, and return (history, sample text, model).

    The same settings and seed give the same run. The sample is drawn at temperature 0.8 with seed 0.
    ``callback(history)`` runs after each of the run's evaluations (about 7), to show progress.
    """
    seed_everything(seed)
    model = GPT(_playground_config(tokenizer.vocab_size, n_layer, n_embd, block_size))
    config = TrainConfig(
        batch_size=batch_size,
        max_iters=steps,
        learning_rate=learning_rate,
        warmup_iters=min(50, max(1, steps // 10)),
        eval_interval=max(1, steps // 6),
        eval_batches=4,
        eval_batch_size=32,
        seed=seed,  # device "auto": a GPU when there is one, the CPU in the tests (COURSE_DEVICE)
    )
    result = train(model, train_data, val_data, config, callback=callback, progress=False)
    sample = generate_text(model.eval(), tokenizer, prompt, sample_chars, temperature=0.8, seed=0)
    return result.history, sample, model


def training_result_html(history: Sequence[Mapping[str, float]], title: str = "Your training run") -> str:
    """The loss curves of one run as SVG; before any run (``history`` empty), a line saying how to get them."""
    if not history:
        return show.text_html("press Train to draw the loss curves of a run here")
    return svg.loss_curves({"your run": history}, title)


def training_playground(
    train_data: Any,
    val_data: Any,
    tokenizer: Any,
    n_layer: int = 2,
    n_embd: int = 64,
    learning_rate: float = 3e-3,
    steps: int = 150,
    prompt: str = "\n",
):
    """Dropdowns "Layers", "Width" and "Learning rate", a slider "Steps" and a button "Train".

    Changing a control only updates the plan (size and amount of training); the button trains a fresh
    seeded model with :func:`run_training` and shows its loss curves and a sample. Nothing trains when
    the widget is built: the first render shows the plan and an empty plot.
    """
    rates = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
    if learning_rate not in rates:
        raise ValueError(f"learning_rate must be one of {rates}, got {learning_rate}")
    controls = {
        "n_layer": show.dropdown([1, 2, 3, 4], n_layer, "Layers"),
        "n_embd": show.dropdown([32, 64, 96, 128], n_embd, "Width"),
        "learning_rate": show.dropdown([(f"{r:g}", r) for r in rates], learning_rate, "Learning rate"),
        "steps": show.slider(steps, 50, 600, 50, "Steps"),
    }
    button = ipywidgets.Button(description="Train", button_style="primary", icon="play")
    plan = ipywidgets.HTML()
    curves = ipywidgets.HTML(training_result_html([]))
    outcome = ipywidgets.HTML(show.text_html("no run yet"))

    def values() -> dict:
        return {name: control.value for name, control in controls.items()}

    def show_plan(change=None) -> None:
        plan.value = training_plan_html(tokenizer.vocab_size, **values())

    def train_now(_button=None) -> None:
        button.disabled, button.description = True, "Training..."
        settings = values()
        # Shown at once (the page gets it before the run starts): the run itself takes a second or more,
        # so the curves then grow at each evaluation instead of appearing only at the end.
        outcome.value = show.text_html(f"training a fresh model for {settings['steps']} steps...")

        progress: list[dict] = []

        def show_progress(history: list[dict]) -> None:
            progress[:] = history
            curves.value = training_result_html(history)
            outcome.value = show.text_html(
                f"training: step {history[-1]['iter']} of {settings['steps']}, "
                f"loss on held-out text {history[-1]['val_loss']:.2f}..."
            )

        try:
            history, sample, _ = run_training(
                train_data, val_data, tokenizer, prompt=prompt, callback=show_progress, **settings
            )
            curves.value = training_result_html(history)
            last = history[-1]
            outcome.value = show.text_html(
                f"after {last['iter']} steps: training loss {last['train_loss']:.2f}, "
                f"validation loss {last['val_loss']:.2f}\n\nsample (T = 0.8):\n{sample}"
            )
        except Exception as err:  # say so in the widget, and do not leave the last run's curves up as if new
            if not isinstance(err, show.COURSE_ERRORS):
                _log.warning("the training playground's run failed", exc_info=err)
            curves.value = training_result_html(progress)
            outcome.value = show.update_error_html(err)
        finally:
            button.disabled, button.description = False, "Train"

    for control in controls.values():
        control.observe(show_plan, names="value")
    button.on_click(train_now)
    show_plan()
    row = ipywidgets.HBox([controls["n_layer"], controls["n_embd"], controls["learning_rate"]])
    return ipywidgets.VBox([row, controls["steps"], button, plan, curves, outcome])


class LiveLossPlot:
    """A ``train(..., callback=LiveLossPlot())`` callback that redraws the loss curves in a notebook."""

    def __init__(self, title: str = "Loss while training"):
        self.fig, self.ax = plt.subplots(figsize=(7, 4))
        plt.close(self.fig)  # shown through the display handle below, not again when the cell ends
        self.title = title
        self.handle = None

    def __call__(self, history: list[dict]) -> None:
        steps = [r["iter"] for r in history]
        ax = self.ax
        ax.clear()
        ax.plot(steps, [r["train_loss"] for r in history], marker="o", color="#0072B2", label="train")
        ax.plot(steps, [r["val_loss"] for r in history], marker="s", color="#D55E00", label="validation")
        ax.set_xlabel("training step")
        ax.set_ylabel("cross-entropy loss (nats per token)")
        ax.set_title(self.title)
        ax.legend()
        ax.grid(alpha=0.3)
        if self.handle is None:
            self.handle = display(self.fig, display_id=True)
        else:
            self.handle.update(self.fig)


def keep_your_model(model: GPT, tokenizer: Any, run: TrainResult, config: TrainConfig) -> Path | None:
    """Keep the model trained in lesson 08 as ``my_work/model/`` with its log, and say so (or why not).

    The log holds the training settings, the evaluations and the time, as the course model's does.
    Lessons 04 to 07 open the kept model with ``your_work.choose_model("yours")``.
    """
    log = {
        "lesson": "08",
        "training": asdict(config),
        "history": run.history,
        "iterations": run.iterations,
        "tokens": run.tokens,
        "train_seconds": run.seconds,
        "final": {"val_loss": run.val_loss},
    }
    folder = your_work.keep_model(model, tokenizer, train_log=log)
    if folder is None:
        print(
            "Your model is not kept here: COURSE_WORK_DIR=off keeps nothing (the course's saved outputs are made "
            "that way). In your own run it is saved in my_work/model/."
        )
    else:
        print(
            f"Kept your model in {shown_path(folder)} (model.safetensors, config.json, train_log.json): "
            'lessons 04 to 07 open it with your_work.choose_model("yours").'
        )
    return folder


# --------------------------------------------------------------------------- the race (course_lib.speedrun)


def race_chart(result: RaceResult, ax: plt.Axes | None = None) -> plt.Axes:
    """Each run's validation loss against the seconds it had trained, and the target as a dotted line.

    A run's legend entry says how it ended (at the target, out of time, or at the end of its schedule),
    so a curve that stops short of the target is not mistaken for one that was still going.
    """
    if not isinstance(result, RaceResult):
        raise TypeError(f"result must be a RaceResult (speedrun.race returns one), got {type(result).__name__}")
    if not result.runs:
        raise ValueError("result has no runs: race at least one recipe before drawing the race")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for index, (name, (seconds, losses)) in enumerate(result.curves("seconds").items()):
        run = result.runs[name]
        ax.plot(
            seconds,
            losses,
            color=COLORS[index % len(COLORS)],
            ls=LINE_STYLES[index % len(LINE_STYLES)],
            marker="o",
            ms=4,
            label=f"{name}: {run.steps} steps, {run.stopped}",
        )
    ax.axhline(result.target, color=COLORS[5], ls=":", lw=1.5, label=f"target: {result.target:g}")
    ax.set_xlim(left=0)
    ax.set_title("The race: validation loss against time", fontsize=FONT_SIZES["title"])
    ax.set_xlabel("seconds of training on this computer", fontsize=FONT_SIZES["label"])
    ax.set_ylabel("validation loss (nats per token)", fontsize=FONT_SIZES["label"])
    ax.legend(fontsize=FONT_SIZES["tick"])
    ax.grid(alpha=0.3)
    return ax


def race_table(result: RaceResult) -> str:
    """The race's summary as a text table: steps, last validation loss, seconds (wall and CPU), how it ended."""
    if not isinstance(result, RaceResult):
        raise TypeError(f"result must be a RaceResult (speedrun.race returns one), got {type(result).__name__}")
    lines = [f"{'recipe':<11}{'steps':>6}{'val loss':>10}{'seconds':>9}{'CPU s':>7}  ended"]
    for row in result.summary(baseline=next(iter(result.runs), "reference")):
        lines.append(
            f"{row['recipe']:<11}{row['steps']:>6}{row['val_loss']:>10.3f}{row['seconds']:>9.1f}"
            f"{row['cpu_seconds']:>7.1f}  {row['stopped']}"
        )
    return "\n".join(lines)


def changes_text(changes: Sequence[Change], width: int = 100) -> str:
    """What each change of the fast recipe is, why it helps and what it bought, one numbered entry each.

    ``changes`` is :data:`course_lib.speedrun.CHANGES` (measured by ``benchmarks/train_speed.py ablation``).
    """
    if not changes or not all(isinstance(change, Change) for change in changes):
        raise ValueError("changes must be a non-empty list of speedrun.Change (speedrun.CHANGES is one)")
    entries = []
    for number, change in enumerate(changes, 1):
        lines = [f"{number}. {change.name}"]
        for label, text in (("why", change.why), ("bought", change.bought)):
            lines += textwrap.wrap(text, width, initial_indent=f"   {label + ':':<8}", subsequent_indent=" " * 11)
        entries.append("\n".join(lines))
    return "\n\n".join(entries)
