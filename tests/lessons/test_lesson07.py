"""Lesson 07's views (course_lib.lessons.lesson07): what its widgets and figures show."""

import torch
from widget_support import shown

from course_lib.lessons import lesson07


def test_forward_pass_report_shapes_and_choice(tiny):
    model, tokenizer = tiny
    text = lesson07.forward_pass_report(model, tokenizer, "What will be", continue_chars=5)
    assert "prompt: 'What will be' -> 12 tokens" in text
    for expected in ["(1, 12, 8)", "(12, 8)", "(1, 2, 12, 12)", "(1, 12, 32)", f"(1, 12, {tokenizer.vocab_size})"]:
        assert expected in text
    assert text.count("block ") >= 2 and "sum = 1.000" in text and "chosen (greedy):" in text
    continuation = text.split("more tokens:\n", 1)[1]
    assert continuation.startswith("What will be") and len(continuation) == len("What will be") + 5


def test_forward_pass_report_explains_bad_prompts_and_crops_long_ones(tiny):
    model, tokenizer = tiny
    assert "cannot encode this prompt" in lesson07.forward_pass_report(model, tokenizer, "Zebra")
    assert "type at least one character" in lesson07.forward_pass_report(model, tokenizer, "")
    long = lesson07.forward_pass_report(model, tokenizer, "What will be the answer? " * 3, continue_chars=2)
    assert "-> 16 tokens" in long  # block_size


def test_forward_pass_report_runs_the_model_on_one_thread(tiny):
    model, tokenizer = tiny
    threads = []
    hook = model.register_forward_pre_hook(lambda _module, _args: threads.append(torch.get_num_threads()))
    torch.set_num_threads(2)
    try:
        lesson07.forward_pass_report(model, tokenizer, "What will be", continue_chars=3)
        assert threads == [1] * 4 and torch.get_num_threads() == 2  # the capture and 3 tokens; the count restored
    finally:
        hook.remove()
        torch.set_num_threads(1)


def test_forward_pass_explorer_first_render(tiny):
    model, tokenizer = tiny
    box = lesson07.forward_pass_explorer(model, tokenizer, "What will be")
    text_box = box.children[0].children[0]
    assert text_box.description == "Your prompt" and text_box.continuous_update is False
    assert "12 tokens" in box.children[1].value
    text_box.value = "the answer"
    assert "10 tokens" in box.children[1].value


# What a learner may type into any lesson's text box. The course model reads 84 characters and 128 at a time.
UNKNOWN = "café ☃"  # é and ☃ are not among the Shakespeare model's characters


TOO_LONG = "ROMEO. But soft, what light through yonder window breaks?\n" * 40  # 2,320 characters


def test_forward_pass_boxes_of_lessons_00_and_07_explain_bad_prompts(course_model):
    model, tokenizer = course_model
    box = lesson07.forward_pass_explorer(model, tokenizer, "HAMLET.\n")
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


def test_every_view_works_on_a_model_of_another_shape(course_model):
    """choose_model("yours") may open a model of another shape: 3 layers of 3 heads, 24 wide, 20 characters."""
    import torch

    from course_lib.model import GPT, GPTConfig

    _, tokenizer = course_model
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=20, n_layer=3, n_head=3, n_embd=24)).eval()
    report = lesson07.forward_pass_report(model, tokenizer, "ROMEO.\nBut soft, what light", continue_chars=4)
    assert "-> 20 tokens" in report and "block 2:" in report and "block 3:" not in report  # the last 20 characters
    for shape in ["(1, 20, 24)", "(20, 24)", "(1, 3, 20, 20)", "(1, 20, 96)", f"(1, 20, {tokenizer.vocab_size})"]:
        assert shape in report
    box = lesson07.forward_pass_explorer(model, tokenizer, "To be")
    assert "-&gt; 5 tokens" in box.children[1].value
