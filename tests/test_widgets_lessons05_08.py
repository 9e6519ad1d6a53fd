"""The plot and widget helpers of lessons 05, 07 and 08: the pure functions, and each widget's first render;
then every lesson's text box fed what learners type by mistake (unknown characters, nothing, a whole play)."""

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from course_lib import plots, widgets
from course_lib.model import GPT, GPTConfig
from course_lib.tokenizers import CharTokenizer


@pytest.fixture
def tiny():
    tokenizer = CharTokenizer.from_text("What will be the answer?\n")
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=8)).eval()
    return model, tokenizer


# --------------------------------------------------------------------------- plots


def test_top_probabilities_sorted_labelled_and_visible_whitespace():
    ax = plots.top_probabilities([0.1, 0.6, 0.3], [" ", "a", "\n"], k=2, title="Next")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["'a'", "newline '↵'"]  # most likely on top, newline made visible, only k bars
    assert ax.get_title() == "Next" and ax.get_xlabel() == "probability" and ax.get_ylabel() == "next token"
    assert [t.get_text() for t in ax.texts] == ["0.600", "0.300"]


def test_top_probabilities_rejects_bad_input():
    with pytest.raises(ValueError, match="one entry per label"):
        plots.top_probabilities([0.5, 0.5], ["a"])
    with pytest.raises(ValueError, match="k must be a positive int"):
        plots.top_probabilities([0.5, 0.5], ["a", "b"], k=0)


def test_loss_curves_one_solid_and_one_dashed_line_per_run():
    history = [{"iter": 10, "train_loss": 3.0, "val_loss": 3.1}, {"iter": 20, "train_loss": 2.5, "val_loss": 2.7}]
    ax = plots.loss_curves({"a": history, "b": history[:1]})
    assert [line.get_linestyle() for line in ax.get_lines()] == ["-", "--", "-", "--"]
    assert [t.get_text() for t in ax.get_legend().get_texts()][:2] == ["a: training", "a: validation"]
    assert ax.get_xlabel() == "training step" and ax.get_title()
    single = plots.loss_curves({"only": history})
    assert [t.get_text() for t in single.get_legend().get_texts()] == ["training", "validation"]
    with pytest.raises(ValueError, match="empty history"):
        plots.loss_curves({"a": []})
    with pytest.raises(ValueError, match="at least one"):
        plots.loss_curves({})


# --------------------------------------------------------------------------- lesson 05: temperature


def test_temperature_report_entropy_and_likeliest():
    logits = np.array([2.0, 1.0, 0.0])
    text = widgets.temperature_report(logits, ["a", " ", "c"], 1.0)
    assert "temperature T = 1.00" in text and f"{math.log(3):.2f} = all equal" in text
    assert "likeliest: 'a' 0.665, '·' 0.245, 'c' 0.090" in text
    assert "entropy = 0.00 nats" in widgets.temperature_report(logits, ["a", "b", "c"], 0.01)
    assert "entropy = 1.10 nats" in widgets.temperature_report(logits, ["a", "b", "c"], 1000.0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        widgets.temperature_report(logits, ["a", "b", "c"], 0.0)


def test_temperature_explorer_renders_first_and_on_change():
    calls = []

    def sample(t):
        calls.append(t)
        return f"sampled at {t}"

    box = widgets.temperature_explorer(np.array([2.0, 1.0, 0.0]), ["a", "b", "c"], sample=sample, temperature=1.0)
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
    steps = widgets.temperature_steps()
    assert steps[:3] == [0.05, 0.1, 0.15] and steps[-1] == 3.0 and len(steps) == 60
    sample = widgets.samples_by_temperature(model, tokenizer, "What", 8)
    texts = {t: sample(t) for t in steps}
    assert all(text.startswith("What") and len(text) == 12 for text in texts.values())
    assert sample(0.1 + 0.05) == texts[0.15]  # a slider's float arithmetic still finds its sample
    assert len(set(texts.values())) > 1
    with pytest.raises(ValueError, match="no sample was drawn for T = 0.07"):
        sample(0.07)


# --------------------------------------------------------------------------- lesson 07: the forward pass


def test_forward_pass_report_shapes_and_choice(tiny):
    model, tokenizer = tiny
    text = widgets.forward_pass_report(model, tokenizer, "What will be", continue_chars=5)
    assert "prompt: 'What will be' -> 12 tokens" in text
    for expected in ["(1, 12, 8)", "(12, 8)", "(1, 2, 12, 12)", "(1, 12, 32)", f"(1, 12, {tokenizer.vocab_size})"]:
        assert expected in text
    assert text.count("block ") >= 2 and "sum = 1.000" in text and "chosen (greedy):" in text
    continuation = text.split("more tokens:\n", 1)[1]
    assert continuation.startswith("What will be") and len(continuation) == len("What will be") + 5


def test_forward_pass_report_explains_bad_prompts_and_crops_long_ones(tiny):
    model, tokenizer = tiny
    assert "cannot encode this prompt" in widgets.forward_pass_report(model, tokenizer, "Zebra")
    assert "type at least one character" in widgets.forward_pass_report(model, tokenizer, "")
    long = widgets.forward_pass_report(model, tokenizer, "What will be the answer? " * 3, continue_chars=2)
    assert "-> 16 tokens" in long  # block_size


def test_forward_pass_explorer_first_render(tiny):
    model, tokenizer = tiny
    box = widgets.forward_pass_explorer(model, tokenizer, "What will be")
    text_box = box.children[0].children[0]
    assert text_box.description == "Your prompt" and text_box.continuous_update is False
    assert "12 tokens" in box.children[1].value
    text_box.value = "the answer"
    assert "10 tokens" in box.children[1].value


# --------------------------------------------------------------------------- lesson 08: the training playground


def test_training_plan_counts_parameters():
    html_text = widgets.training_plan_html(84, 2, 64, 0.01, 150)
    assert "109,568 parameters" in html_text and "150 steps of 32 x 64 tokens (307,200 tokens)" in html_text
    assert "learning rate 0.01" in html_text


def test_run_training_is_seeded_and_learns(tiny):
    _, tokenizer = tiny
    data = torch.tensor(tokenizer.encode("What will be the answer?\n" * 30))
    first = widgets.run_training(data, data, tokenizer, 1, 32, 1e-2, 30, block_size=16, sample_chars=10)
    second = widgets.run_training(data, data, tokenizer, 1, 32, 1e-2, 30, block_size=16, sample_chars=10)
    history, sample, model = first
    assert [r["val_loss"] for r in history] == [r["val_loss"] for r in second[0]] and sample == second[1]
    assert history[-1]["val_loss"] < history[0]["val_loss"] < math.log(tokenizer.vocab_size) + 0.5
    assert sample.startswith("\n") and len(sample) == 11 and model.config.n_layer == 1
    seen = []
    history, _, _ = widgets.run_training(
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

    monkeypatch.setattr(widgets, "run_training", fake_run)
    data = torch.tensor(tokenizer.encode("What will be the answer?\n" * 30))
    box = widgets.training_playground(data, data, tokenizer, n_layer=1, n_embd=32, learning_rate=1e-2, steps=50)
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
        widgets.training_playground(data, data, tokenizer, learning_rate=0.5)


def test_pipeline_diagram_boxes_arrows_and_loop():
    stages = [("text", "a prompt"), ("tokens", "ids"), ("sample", "one token")]
    ax = plots.pipeline_diagram(stages, "Pipeline", loop_label="append and repeat")
    texts = [t.get_text() for t in ax.texts]
    assert texts[:2] == ["text", "a prompt"] and "append and repeat" in texts
    assert ax.get_title() == "Pipeline" and not ax.axison
    assert len(ax.patches) == 3 + 2 + 1  # boxes, arrows between them, the loop
    assert len(plots.pipeline_diagram(stages, "No loop").patches) == 5
    with pytest.raises(ValueError, match="at least one"):
        plots.pipeline_diagram([], "Empty")


# --------------------------------------------------------------------------- bad text in the lessons' boxes

# What a learner may type into any lesson's text box. The course model reads 84 characters and 128 at a time.
UNKNOWN = "café ☃"  # é and ☃ are not among the Shakespeare model's characters
TOO_LONG = "ROMEO. But soft, what light through yonder window breaks?\n" * 40  # 2,320 characters


@pytest.fixture(scope="module")
def course_model(one_torch_thread):  # one thread: two on a busy two-core machine wait on each other
    from course_lib.training import load_course_model

    return load_course_model()


def shown(box):
    """(the views' values, the error message or '') under a live_view widget's controls; never both at once."""
    *views, message = box.children[1:]
    error = message.value if message.layout.display != "none" else ""
    assert all(v.layout.display == "none" for v in views) if error else all(v.layout.display != "none" for v in views)
    return [v.value for v in views], error


def test_forward_pass_boxes_of_lessons_00_and_07_explain_bad_prompts(course_model):
    model, tokenizer = course_model
    box = widgets.forward_pass_explorer(model, tokenizer, "HAMLET.\n")
    prompt = box.children[0].children[0]
    prompt.value = UNKNOWN
    assert "cannot encode this prompt: character &#x27;é&#x27; (U+00E9) at position 3" in shown(box)[0][0]
    prompt.value = ""
    assert "type at least one character" in shown(box)[0][0]
    prompt.value = TOO_LONG
    report = shown(box)[0][0]
    assert "-&gt; 128 tokens" in report and "sum = 1.000" in report  # the last 128 characters, the model's context
    prompt.value = "To be"
    assert "prompt: &#x27;To be&#x27; -&gt; 5 tokens" in shown(box)[0][0]


def test_lesson_04_toy_head_says_the_sentence_is_empty():
    box = widgets.toy_attention_explorer("the dog chased the black cat", query=3)
    sentence = box.children[0].children[0]
    good = shown(box)[0]
    sentence.value = "   "
    assert "the sentence is empty: type a few words, e.g. &#x27;the small dog chased the cat&#x27;" in shown(box)[1]
    sentence.value = "zebra " * 60  # words the toy head has no features for, many of them: still a picture
    assert shown(box)[1] == "" and shown(box)[0][0].count("<svg") == 2
    sentence.value = "the dog chased the black cat"
    box.children[0].children[1].value = 3  # the empty box moved the query slider to 0
    assert shown(box) == (good, "")


@pytest.mark.parametrize("explorer", ["attention", "neuron"])
def test_lesson_04_and_06_model_boxes_show_the_reason_and_recover(course_model, explorer):
    model, tokenizer = course_model
    text = "ROMEO.\nBut soft, what light"
    if explorer == "attention":
        box = widgets.model_attention_explorer(model, tokenizer, text, layer=1, head=2, query=5)
        text_box = box.children[0].children[0]
    else:
        box = widgets.neuron_explorer(model, tokenizer, text, {"L0 n5": (0, 5, "after newline")})
        text_box = box.children[0].children[1]
    good = shown(box)[0]
    text_box.value = UNKNOWN  # the course model's tokenizer refuses é: that message, not the old picture
    views, error = shown(box)
    assert "character &#x27;é&#x27; (U+00E9) at position 3 is not in this tokenizer&#x27;s vocabulary" in error
    text_box.value = ""
    assert "the text box is empty: type some text for the model to read" in shown(box)[1]
    text_box.value = TOO_LONG
    views, error = shown(box)
    assert error == "" and "<svg" in views[0] and "nan" not in views[0].lower()
    assert "this text is 2,320 tokens, longer than the model&#x27;s context" in views[0]
    text_box.value = text
    if explorer == "attention":
        box.children[0].children[3].value = 5  # the empty box moved the query slider to 0
    assert shown(box) == (good, "")


def test_lesson_01_live_tokenizer_with_unknown_empty_and_long_text(course_model):
    from course_lib.tokenizers import gpt2, o200k

    _, characters = course_model
    box = widgets.live_tokenizer({"GPT-2": gpt2(), "o200k": o200k(), "characters": characters}, "Hello")
    text_box, *views = box.children
    text_box.value = UNKNOWN
    assert "cannot encode this text: character &#x27;é&#x27;" in views[2].value
    assert "course-token-count" in views[0].value and "course-token-count" in views[1].value
    text_box.value = ""
    assert all('<span class="course-token-count">0</span> tokens' in v.value for v in views)
    text_box.value = TOO_LONG * 2
    assert '<span class="course-token-count">4640</span> tokens' in views[2].value
    assert "the first 2,000 of 4,640 tokens are shown" in views[2].value


def test_training_playground_shows_a_failed_run_in_its_output(tiny, monkeypatch):
    _, tokenizer = tiny

    def failing_run(*args, callback, **settings):
        callback([{"iter": 5, "train_loss": 3.0, "val_loss": 3.1}])
        raise ValueError("data must be a 1-D tensor longer than block_size=64, got shape (50,)")

    monkeypatch.setattr(widgets, "run_training", failing_run)
    data = torch.tensor(tokenizer.encode("What will be the answer?\n" * 2))
    box = widgets.training_playground(data, data, tokenizer, n_layer=1, n_embd=32, learning_rate=1e-2, steps=50)
    *_, button, plan, curves, outcome = box.children
    button.click()
    assert "data must be a 1-D tensor longer than block_size=64" in outcome.value
    assert 'class="course-update-error"' in outcome.value and not button.disabled
    assert "training (from 3 to 3)" in curves.value  # this run's curve so far, not an earlier run's
