"""Lesson 09's views (course_lib.lessons.lesson09): the precision explorer, on a tiny random SmolLM (no GGUF file)."""

import functools

import pytest
import torch

from course_lib import smollm
from course_lib.lessons import lesson09
from course_lib.smollm import FastSmolLM, SmolLMConfig
from course_lib.smollm.fast import PrecisionError, compare

TINY = SmolLMConfig(vocab_size=32, block_size=40, n_layer=2, n_head=4, n_kv_head=2, n_embd=16, n_hidden=32)
PROMPT = [1, 5, 7, 3]


class LetterTokenizer:
    """Decodes id i as the letter chr(65 + i): all the views need of a tokenizer."""

    def decode(self, ids):
        return "".join(chr(65 + i) for i in ids)


@functools.cache
def tiny_model() -> smollm.SmolLM:
    model = smollm.SmolLM(TINY).to_empty(device="cpu")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.3)
    return model.eval()


@functools.cache
def tiny_runs():
    return lesson09.measure_precisions(tiny_model(), LetterTokenizer(), PROMPT, new_tokens=6)


def test_every_precision_is_measured_against_float32(one_torch_thread):
    runs = tiny_runs()
    assert list(runs) == list(smollm.PRECISIONS)
    assert runs["float32"].error is None
    for precision in ("float16", "int8"):
        assert isinstance(runs[precision].error, PrecisionError) and runs[precision].error.steps == 6
    for run in runs.values():
        assert len(run.reply_ids) == 6 and run.reply == LetterTokenizer().decode(run.reply_ids)
        assert run.tokens_per_s > 0
    assert runs["int8"].bytes_per_token < runs["float16"].bytes_per_token < runs["float32"].bytes_per_token


def test_the_report_shows_bound_error_and_reply(one_torch_thread):
    runs = tiny_runs()
    text, chart = lesson09.precision_report(runs, "int8", bandwidth_gb_s=10.0)
    bound = 10e9 / runs["int8"].bytes_per_token
    assert f"at 10.0 GB/s that allows at most {bound:.0f} tokens/s" in text
    assert "scores against float32: max |logit diff|" in text and "same greedy reply as float32 for" in text
    assert repr(runs["int8"].reply).replace("'", "&#x27;") in text
    assert chart.startswith("<svg") and "int8 (chosen)" in chart
    reference, _ = lesson09.precision_report(runs, "float32", bandwidth_gb_s=10.0)
    assert "the reference" in reference and "(1.0 x float32)" in reference
    with pytest.raises(ValueError, match="precision must be one of 'float32', 'float16', 'int8'; got 'int4'"):
        lesson09.precision_report(runs, "int4", 10.0)


def test_the_explorer_switches_precision(one_torch_thread):
    box = lesson09.precision_explorer(tiny_runs(), 10.0, value="int8")
    dropdown = box.children[0].children[0]
    text = box.children[1]
    assert "int8: 1 byte per weight" in text.value
    dropdown.value = "float16"
    assert "float16: 2 bytes per weight" in text.value


def test_a_given_float32_model_is_the_reference(one_torch_thread):
    float32 = FastSmolLM.from_model(tiny_model(), "float32")
    runs = lesson09.measure_precisions(tiny_model(), LetterTokenizer(), PROMPT, new_tokens=6, float32=float32)
    assert runs["float32"].reply_ids == tiny_runs()["float32"].reply_ids


def test_the_errors_are_compares_and_float32_is_scored_once(one_torch_thread, monkeypatch):
    float32 = FastSmolLM.from_model(tiny_model(), "float32")
    calls = []
    original = FastSmolLM.logits_along

    def counted(self, prompt, continuation):
        calls.append(self.precision)
        return original(self, prompt, continuation)

    monkeypatch.setattr(FastSmolLM, "logits_along", counted)
    runs = lesson09.measure_precisions(tiny_model(), LetterTokenizer(), PROMPT, new_tokens=6, float32=float32)
    assert sorted(calls) == ["float16", "float32", "int8"]  # float32's scores serve both lower precisions
    for precision in ("float16", "int8"):
        other = FastSmolLM.from_model(tiny_model(), precision)
        assert runs[precision].error == compare(float32, other, [PROMPT], new_tokens=6)


def test_measure_precisions_refuses_models_it_cannot_compare():
    with pytest.raises(TypeError, match="model must be a course_lib.smollm.SmolLM, got FastSmolLM"):
        lesson09.measure_precisions(FastSmolLM.from_model(tiny_model(), "float32"), LetterTokenizer(), PROMPT)
    int8 = FastSmolLM.from_model(tiny_model(), "int8")
    with pytest.raises(ValueError, match="float32 must be a FastSmolLM in float32"):
        lesson09.measure_precisions(tiny_model(), LetterTokenizer(), PROMPT, float32=int8)
