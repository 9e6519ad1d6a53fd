"""Lesson 08's views (course_lib.lessons.lesson08): what its widgets and figures show."""

import json
import math

import pytest
import torch

from course_lib import training
from course_lib.checks import lesson08 as check
from course_lib.data import load_text
from course_lib.lessons import lesson08
from course_lib.model import GPT, GPTConfig
from course_lib.speedrun import CHANGES, Change, RaceResult, RaceRun
from course_lib.teaching import your_work
from course_lib.tokenizers import CharTokenizer


def test_training_plan_counts_parameters():
    html_text = lesson08.training_plan_html(84, 2, 64, 0.01, 150)
    assert "109,568 parameters" in html_text and "150 steps of 32 x 64 tokens (307,200 tokens)" in html_text
    assert "learning rate 0.01" in html_text


def test_run_training_is_seeded_and_learns(tiny):
    _, tokenizer = tiny
    data = torch.tensor(tokenizer.encode("What will be the answer?\n" * 30))
    first = lesson08.run_training(data, data, tokenizer, 1, 32, 1e-2, 30, block_size=16, sample_chars=10)
    second = lesson08.run_training(data, data, tokenizer, 1, 32, 1e-2, 30, block_size=16, sample_chars=10)
    history, sample, model = first
    assert [r["val_loss"] for r in history] == [r["val_loss"] for r in second[0]] and sample == second[1]
    assert history[-1]["val_loss"] < history[0]["val_loss"] < math.log(tokenizer.vocab_size) + 0.5
    assert sample.startswith("\n") and len(sample) == 11 and model.config.n_layer == 1
    seen = []
    history, _, _ = lesson08.run_training(
        data, data, tokenizer, 1, 32, 1e-2, 30, block_size=16, sample_chars=1, callback=lambda h: seen.append(len(h))
    )
    assert seen == list(range(1, len(history) + 1)) and len(seen) > 2  # once per evaluation, as the run goes


def test_training_playground_first_render_and_train_button(tiny, monkeypatch):
    _, tokenizer = tiny
    runs = []
    shown_during_run = []

    def fake_run(train_data, val_data, tokenizer, callback, **settings):  # run_training itself is tested above
        runs.append(settings)
        shown_during_run.append(box.children[-1].value)  # what the learner sees while the model trains
        callback([{"iter": 0, "train_loss": 3.5, "val_loss": 3.6}, {"iter": 25, "train_loss": 2.5, "val_loss": 2.7}])
        shown_during_run.append((box.children[-2].value, box.children[-1].value))  # after the first evaluations
        return [{"iter": settings["steps"], "train_loss": 2.0, "val_loss": 2.5}], "sampled text", None

    monkeypatch.setattr(lesson08, "run_training", fake_run)
    data = torch.tensor(tokenizer.encode("What will be the answer?\n" * 30))
    box = lesson08.training_playground(data, data, tokenizer, n_layer=1, n_embd=32, learning_rate=1e-2, steps=50)
    row, steps, button, plan, curves, outcome = box.children
    assert [c.description for c in row.children] == ["Layers", "Width", "Learning rate"]
    assert steps.description == "Steps" and steps.continuous_update is False
    assert button.description == "Train" and "no run yet" in outcome.value  # nothing trained at build time
    assert "1 layer of width 32" in plan.value
    row.children[1].value = 64
    assert "1 layer of width 64" in plan.value and "no run yet" in outcome.value
    assert runs == []
    button.click()
    assert runs == [{"prompt": "\n", "n_layer": 1, "n_embd": 64, "learning_rate": 1e-2, "steps": 50}]
    assert "training a fresh model for 50 steps..." in shown_during_run[0]
    curves_so_far, note = shown_during_run[1]
    assert (
        "training (from 3.5 to 2.5)" in curves_so_far and "training: step 25 of 50, loss on held-out text 2.70" in note
    )
    assert "after 50 steps: training loss 2.00, validation loss 2.50" in outcome.value
    assert "sampled text" in outcome.value and button.description == "Train" and not button.disabled
    assert "Line plot &#x27;Your training run&#x27;" in curves.value and "training (from 2 to 2)" in curves.value
    with pytest.raises(ValueError, match="learning_rate must be one of"):
        lesson08.training_playground(data, data, tokenizer, learning_rate=0.5)


def test_training_playground_shows_a_failed_run_in_its_output(tiny, monkeypatch):
    _, tokenizer = tiny

    def failing_run(*args, callback, **settings):
        callback([{"iter": 5, "train_loss": 3.0, "val_loss": 3.1}])
        raise ValueError("data must be a 1-D tensor longer than block_size=64, got shape (50,)")

    monkeypatch.setattr(lesson08, "run_training", failing_run)
    data = torch.tensor(tokenizer.encode("What will be the answer?\n" * 2))
    box = lesson08.training_playground(data, data, tokenizer, n_layer=1, n_embd=32, learning_rate=1e-2, steps=50)
    *_, button, plan, curves, outcome = box.children
    button.click()
    assert "data must be a 1-D tensor longer than block_size=64" in outcome.value
    assert 'class="course-update-error"' in outcome.value and not button.disabled
    assert "training (from 3 to 3)" in curves.value  # this run's curve so far, not an earlier run's


HISTORY = [{"iter": 0, "train_loss": 4.2, "val_loss": 4.25}, {"iter": 100, "train_loss": 1.5, "val_loss": 1.75}]


def test_training_result_html_empty_and_drawn():
    assert "press Train" in lesson08.training_result_html([])
    drawn = lesson08.training_result_html(HISTORY)
    assert "2 lines: training (from 4.2 to 1.5), validation (from 4.25 to 1.75)" in drawn


def _lesson_data():
    """A little of the lesson's text, encoded as the lesson does (its vocabulary is every character of it)."""
    train_text, val_text = load_text("train")[:60_000], load_text("val")[:6_000]
    tokenizer = CharTokenizer.from_text(train_text + val_text)
    return tokenizer, training.encode_corpus(tokenizer, train_text), training.encode_corpus(tokenizer, val_text)


def _lesson_run(tokenizer, train_data, val_data):
    """Lesson 08's code path, smaller: the loop in use, a fresh seeded GPT, run_loop, then keep_your_model."""
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=32)
    train_config = training.TrainConfig(
        batch_size=16,
        max_iters=80,
        learning_rate=1e-2,
        warmup_iters=10,
        eval_interval=40,
        eval_batches=2,
        eval_batch_size=16,
        seed=0,
        device="cpu",
    )
    loop = your_work.use("train_loop", check.reference("train_loop"), lesson="08", check=check.train_loop)
    training.seed_everything(0)
    model = GPT(config)
    run = training.run_loop(loop, model, train_data, val_data, train_config)
    return model, run, train_config, lesson08.keep_your_model(model, tokenizer, run, train_config)


def test_the_model_lesson_08_keeps_opens_in_lessons_04_to_07(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_WORK_DIR", str(tmp_path))
    tokenizer, train_data, val_data = _lesson_data()
    trained, run, train_config, folder = _lesson_run(tokenizer, train_data, val_data)
    printed = capsys.readouterr().out
    assert "Using the course's train_loop" in printed  # nothing kept yet: the course's loop, and it says so
    assert folder == tmp_path / "model" and f"Kept your model in {folder}" in printed
    assert 'choose_model("yours")' in printed

    model, opened_tokenizer = your_work.choose_model("yours")
    assert "Using your model from lesson 08" in capsys.readouterr().out
    assert opened_tokenizer.vocab_size == tokenizer.vocab_size and model.config == trained.config
    val_loss = training.evaluate_split(model, val_data)
    training.seed_everything(0)
    untrained_loss = training.evaluate_split(GPT(model.config), val_data)
    assert math.isfinite(val_loss) and val_loss < untrained_loss - 0.5
    assert val_loss == pytest.approx(training.evaluate_split(trained, val_data), rel=1e-5)  # the same weights

    log = json.loads((folder / "train_log.json").read_text())
    assert log["lesson"] == "08" and log["iterations"] == 80 and log["training"]["max_iters"] == 80
    assert [r["iter"] for r in log["history"]] == [40, 80] and log["final"]["val_loss"] == run.val_loss


def test_keep_your_model_says_why_nothing_is_kept_when_keeping_is_off(tiny, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_WORK_DIR", "off")
    model, tokenizer = tiny
    run = training.TrainResult(history=[{"iter": 1, "train_loss": 3.0, "val_loss": 3.1}], iterations=1)
    config = training.TrainConfig(max_iters=1, warmup_iters=0, device="cpu")
    assert lesson08.keep_your_model(model, tokenizer, run, config) is None
    assert "Your model is not kept here: COURSE_WORK_DIR=off keeps nothing" in capsys.readouterr().out


# --------------------------------------------------------------------------- the race (section 8)


def _fake_race() -> RaceResult:
    """A race as speedrun.race returns one, without training: the fast run reached 1.89, the reference ran out
    of time. No model is needed to draw or tabulate it."""

    def history(points):
        return [{"iter": i, "val_loss": loss, "seconds": s, "tokens": i * 1024} for i, loss, s in points]

    fast = RaceRun(
        "fast", "Muon", None, history([(50, 2.5, 1.0), (100, 2.1, 2.0), (150, 1.88, 3.0)]), 3.0, 2.9, 150, 153_600, True
    )
    reference = RaceRun(
        "reference", "AdamW", None, history([(50, 3.0, 1.5), (90, 2.8, 3.1)]), 3.1, 3.0, 90, 69_120, False, True
    )
    return RaceResult(target=1.89, runs={"fast": fast, "reference": reference})


def test_race_chart_draws_each_run_against_seconds_with_the_target():
    ax = lesson08.race_chart(_fake_race())
    fast, reference, target = ax.get_lines()
    assert list(fast.get_xdata()) == [1.0, 2.0, 3.0] and list(fast.get_ydata()) == [2.5, 2.1, 1.88]
    assert list(reference.get_xdata()) == [1.5, 3.1] and list(reference.get_ydata()) == [3.0, 2.8]
    assert list(target.get_ydata()) == [1.89, 1.89]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["fast: 150 steps, at the target", "reference: 90 steps, out of time", "target: 1.89"]
    assert fast.get_linestyle() != reference.get_linestyle()  # told apart without colour too
    assert ax.get_xlim()[0] == 0 and "seconds" in ax.get_xlabel() and "validation loss" in ax.get_ylabel()
    with pytest.raises(TypeError, match="result must be a RaceResult"):
        lesson08.race_chart({"fast": []})
    with pytest.raises(ValueError, match="result has no runs"):
        lesson08.race_chart(RaceResult(target=1.89))


def test_race_table_has_a_row_per_run_saying_how_it_ended():
    lines = lesson08.race_table(_fake_race()).splitlines()
    assert lines[0].split() == ["recipe", "steps", "val", "loss", "seconds", "CPU", "s", "ended"]
    assert lines[1].split() == ["fast", "150", "1.880", "3.0", "2.9", "at", "the", "target"]
    assert lines[2].split() == ["reference", "90", "2.800", "3.1", "3.0", "out", "of", "time"]
    with pytest.raises(TypeError, match="result must be a RaceResult"):
        lesson08.race_table(None)


def test_changes_text_numbers_every_change_with_why_and_what_it_bought():
    changes = [
        Change("Muon", "orthogonal updates " * 12, "525 steps instead of 775"),
        Change("QK-norm", "bounded", "1.94"),
    ]
    text = lesson08.changes_text(changes, width=60)
    assert text.startswith("1. Muon\n   why:    orthogonal updates") and "\n\n2. QK-norm\n" in text
    assert "   bought: 525 steps instead of 775" in text and text.endswith("   bought: 1.94")
    assert all(len(line) <= 60 for line in text.splitlines())
    assert "\n           orthogonal" in text  # a long reason wraps under itself
    shown = lesson08.changes_text(CHANGES)  # the lesson's: every measured change, in order
    assert [line for line in shown.splitlines() if line[:1].isdigit()] == [
        f"{n}. {change.name}" for n, change in enumerate(CHANGES, 1)
    ]
    with pytest.raises(ValueError, match="changes must be a non-empty list of speedrun.Change"):
        lesson08.changes_text([])
    with pytest.raises(ValueError, match="speedrun.Change"):
        lesson08.changes_text(["Muon"])
