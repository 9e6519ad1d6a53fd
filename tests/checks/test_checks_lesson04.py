"""Lesson 04's checkers accept the reference, call a stub "not solved", and explain plausible mistakes."""

import math

import numpy as np
import pytest
import torch
from checker_support import (
    accepts_and_reports_stub,
    function_checkers,
    memorised_answer_fails,
    mutating_answer_corrupts_nothing,
    verdict,
    wrong_kinds_are_not_yet,
)

from course_lib import attention as A
from course_lib.checks import lesson04 as check
from course_lib.sampling import softmax
from course_lib.teaching import your_work

# --------------------------------------------------------------------------- references a learner might write


def scores_ok(q, k):
    return q @ k.T / math.sqrt(k.shape[1])


def causal_softmax_ok(scores):
    t = scores.shape[0]
    masked = np.where(np.tril(np.ones((t, t))) == 1, scores, -np.inf)
    e = np.exp(masked - masked.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def attention_ok(q, k, v):
    return causal_softmax_ok(scores_ok(q, k)) @ v


def tril(s):
    return np.tril(np.ones(s.shape, dtype=bool))


# --------------------------------------------------------------------------- function checkers


@pytest.mark.parametrize(
    ("checker", "right"),
    [(check.scaled_scores, scores_ok), (check.causal_softmax, causal_softmax_ok), (check.attention, attention_ok)],
)
def test_accepts_a_right_answer_and_reports_a_stub(checker, right, capsys):
    accepts_and_reports_stub(checker, right, capsys)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda q, k: q @ k.T, "did you divide by sqrt(d_k)?"),
        (lambda q, k: q @ k.T / k.shape[1], "not by d_k itself"),
        (lambda q, k: q @ k.T / math.sqrt(len(q)), "not the number of tokens"),
        (lambda q, k: k @ q.T / math.sqrt(k.shape[1]), "compute Q K^T"),
    ],
)
def test_scaled_scores_mistakes(wrong, hint):
    result = check.scaled_scores(wrong)
    assert not result.passed and hint in result.message


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda s: softmax(s), "did you apply the causal mask?"),
        (lambda s: np.where(tril(s), softmax(s), 0.0), "is your mask applied before the softmax?"),
        (lambda s: softmax(np.where(tril(s), s, -np.inf).T).T, "softmax over the wrong axis?"),
        (lambda s: softmax(np.where(tril(s), s, 0.0)), "must be -inf, not 0"),
        (lambda s: softmax(np.where(tril(s).T, s, -np.inf)), "keeps the future"),
    ],
)
def test_causal_softmax_mistakes(wrong, hint):
    result = check.causal_softmax(wrong)
    assert not result.passed and hint in result.message


def test_masking_after_softmax_then_renormalising_is_right():
    def renormalised(s):
        p = np.where(tril(s), softmax(s), 0.0)
        return p / p.sum(axis=-1, keepdims=True)

    assert check.causal_softmax(renormalised).passed


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda q, k, v: causal_softmax_ok(q @ k.T) @ v, "did you divide by sqrt(d_k)?"),
        (lambda q, k, v: softmax(scores_ok(q, k)) @ v, "did you apply the causal mask"),
        (lambda q, k, v: np.where(tril(q @ k.T), softmax(scores_ok(q, k)), 0) @ v, "mask applied before the softmax"),
        (lambda q, k, v: causal_softmax_ok(scores_ok(q, k)).T @ v, "not its transpose"),
        (lambda q, k, v: scores_ok(q, k) @ v, "softmax first"),
    ],
)
def test_attention_mistakes(wrong, hint):
    result = check.attention(wrong)
    assert not result.passed and hint in result.message


def test_a_crash_is_reported_not_raised():
    result = check.attention(lambda q, k, v: q @ k @ v)
    assert not result.passed and "raised ValueError" in result.message


# --------------------------------------------------------------------------- multi-head attention


def mha_ok(x, w_q, w_k, w_v, w_o, n_heads, *, b_q=None, b_k=None, b_v=None, b_o=None, causal=True):
    """A learner's answer written with a loop over the heads (another way than the checker's references)."""
    t, c = x.shape[-2:]
    dh = c // n_heads

    def linear(y, w, b):
        return y @ w.T + (0 if b is None else b)

    q, k, v = linear(x, w_q, b_q), linear(x, w_k, b_k), linear(x, w_v, b_v)
    heads = []
    for h in range(n_heads):
        part = slice(h * dh, (h + 1) * dh)
        scores = q[..., part] @ k[..., part].transpose(-2, -1) / math.sqrt(dh)
        if causal:
            scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        heads.append(torch.softmax(scores, dim=-1) @ v[..., part])
    return linear(torch.cat(heads, dim=-1), w_o, b_o)


def wrong_mha(**switches):
    def wrong(*args, **kwargs):
        return check._mha(*args, **kwargs, **switches)

    return wrong


def test_multi_head_attention_accepts_a_right_answer_and_reports_a_stub(capsys):
    accepts_and_reports_stub(check.multi_head_attention, mha_ok, capsys)
    assert check.multi_head_attention(A.multi_head_attention, quiet=True).passed  # the course's own version


def test_the_references_agree_with_the_course_library_and_the_model():
    for case in check.MHA_CASES + check._model_cases():
        expected = A.multi_head_attention(*case.args, **case.kwargs)
        assert torch.allclose(check._sdpa_reference(*case.args, **case.kwargs), expected, atol=1e-5)
        assert torch.allclose(check._mha(*case.args, **case.kwargs), expected, atol=1e-5)
    for case in check._model_cases():
        assert torch.allclose(
            check._model_attention(*case.args, **case.kwargs),
            check._sdpa_reference(*case.args, **case.kwargs),
            atol=1e-5,
        )


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (wrong_mha(split="heads then tokens"), "heads split along the wrong axis"),
        (wrong_mha(split="strided"), "head h owns a block of head_size neighbouring columns"),
        (wrong_mha(scale="model"), "you scaled by sqrt(d_model)"),
        (wrong_mha(scale="none"), "did you divide the scores by sqrt(head_size)?"),
        (wrong_mha(mask="after"), "the mask is applied after the softmax"),
        (wrong_mha(mask="none"), "did you apply the causal mask"),
        (wrong_mha(join="no transpose"), "the heads are not joined before the output projection"),
        (wrong_mha(join="mean"), "do not average them"),
        (wrong_mha(project=False), "did you apply the output projection"),
        (wrong_mha(biases=False), "did you add the biases"),
    ],
)
def test_multi_head_attention_mistakes(wrong, hint):
    verdict(check.multi_head_attention(wrong, quiet=True), False, hint)


def test_multi_head_attention_compares_with_the_trained_model():
    """An answer right on random weights but wrong on the model's texts is caught by the second part."""

    def right_only_on_small_widths(x, *args, **kwargs):
        out = mha_ok(x, *args, **kwargs)
        return out if x.shape[-1] < 100 else out + 1e-3

    result = check.multi_head_attention(right_only_on_small_widths, quiet=True)
    verdict(result, False, "the course model's block 0 on 'R'")


def test_multi_head_attention_keeps_a_passing_answer_only_when_not_quiet(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_WORK_DIR", str(tmp_path))
    assert check.multi_head_attention(mha_ok, quiet=True).passed
    assert not (tmp_path / "multi_head_attention.py").exists() and capsys.readouterr().out == ""
    assert check.multi_head_attention(mha_ok).passed
    assert "Kept as" in capsys.readouterr().out
    kept = your_work.use("multi_head_attention", A.multi_head_attention, lesson="04", check=check.multi_head_attention)
    assert kept is not A.multi_head_attention and check.multi_head_attention(kept, quiet=True).passed
    verdict(check.multi_head_attention(wrong_mha(scale="model")), False, "sqrt(d_model)")
    assert (tmp_path / "multi_head_attention.py").read_text().count("def mha_ok") == 1  # a failure keeps nothing


# --------------------------------------------------------------------------- counts as functions of a config


def total_heads_ok(config):
    return config.n_layer * config.n_head


def attention_parameters_ok(config):
    return config.n_layer * (4 * config.n_embd**2 + (4 * config.n_embd if config.bias else 0))


def pattern_memory_ok(context_length, n_heads, bytes_per_number):
    return context_length * context_length * n_heads * bytes_per_number


@pytest.mark.parametrize(
    ("checker", "right"),
    [
        (check.total_heads, total_heads_ok),
        (check.attention_parameters, attention_parameters_ok),
        (check.pattern_memory, pattern_memory_ok),
    ],
)
def test_count_functions_accept_a_right_answer_and_report_a_stub(checker, right, capsys):
    accepts_and_reports_stub(checker, right, capsys)


def test_total_heads_mistakes():
    verdict(check.total_heads(lambda c: c.n_layer + c.n_head), False, "multiply")
    verdict(check.total_heads(lambda c: c.n_head), False, "one layer's heads")
    verdict(check.total_heads(lambda c: 9216), False, "expected 16, got 9,216")  # GPT-3's answer typed in


def test_attention_parameters_mistakes():
    verdict(check.attention_parameters(lambda c: c.n_layer * 4 * c.n_embd**2), False, "n_embd biases")
    verdict(check.attention_parameters(lambda c: c.n_layer * 3 * c.n_embd**2), False, "output projection")
    verdict(check.attention_parameters(lambda c: 4 * c.n_embd**2 + 4 * c.n_embd), False, "that is one layer")
    verdict(check.attention_parameters(lambda c: c.n_head * attention_parameters_ok(c)), False, "the heads share out")


def test_pattern_memory_mistakes():
    verdict(check.pattern_memory(lambda t, h, b: t * t * h), False, "multiply by the bytes")
    verdict(check.pattern_memory(lambda t, h, b: t * t * b), False, "multiply by n_heads")
    verdict(check.pattern_memory(lambda t, h, b: t * h * b), False, "T x T per head, not T")
    verdict(check.pattern_memory(lambda t, h, b: t * (t + 1) // 2 * h * b), False, "still stored")
    verdict(check.pattern_memory(lambda t, h, b: 8 * t * t * h * b), False, "not bits")


# --------------------------------------------------------------------------- hard to fool, impossible to crash

ROBUSTNESS = [
    (check.scaled_scores, scores_ok, lambda q, k: q @ k.T, "did you divide by sqrt(d_k)?"),
    (check.causal_softmax, causal_softmax_ok, lambda s: softmax(s), "did you apply the causal mask?"),
    (check.attention, attention_ok, lambda q, k, v: scores_ok(q, k) @ v, "softmax first"),
    (check.total_heads, total_heads_ok, lambda c: c.n_head, "one layer's heads"),
    (check.attention_parameters, attention_parameters_ok, lambda c: 3 * c.n_layer * c.n_embd**2, "W_O"),
    (check.pattern_memory, pattern_memory_ok, lambda t, h, b: t * t * h, "multiply by the bytes"),
]
NAMES = [checker.__name__ for checker, *_ in ROBUSTNESS]
# Checkers with a quiet=False keyword (they keep a passing answer); their answers take keyword arguments,
# which the support's positional memoriser and scribbler do not pass, so they have their own tests below.
KEPT = {"multi_head_attention"}


def test_robustness_covers_every_function_checker():
    assert set(NAMES) | KEPT == function_checkers(check) | KEPT == set(check.REFERENCES)


def test_multi_head_attention_is_hard_to_fool():
    fixed = {id(case.args[0]) for case in check.MHA_CASES}

    def memorised(x, *args, **kwargs):  # right on the fixed cases' inputs only (the checker passes copies)
        if not any(torch.equal(x, case.args[0]) for case in check.MHA_CASES if case.args[0].shape == x.shape):
            raise KeyError("an input it has not seen")
        return mha_ok(x, *args, **kwargs)

    verdict(check.multi_head_attention(memorised, quiet=True), False, "drawn at random")

    def scribbling(x, w_q, *args, **kwargs):
        out = mha_ok(x, w_q, *args, **kwargs)
        x.fill_(7.0)
        w_q.fill_(7.0)
        return out

    verdict(check.multi_head_attention(scribbling, quiet=True), True)
    assert fixed == {id(case.args[0]) for case in check.MHA_CASES}
    for answer in (lambda *a, **k: None, lambda *a, **k: "0.5", lambda x, *a, **k: x.numpy()[..., :2]):
        verdict(check.multi_head_attention(answer, quiet=True), False, "expected")


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_an_answer_that_memorised_the_cases_fails(checker, right, wrong, hint):
    memorised_answer_fails(checker, right)


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_an_answer_that_mutates_its_input_corrupts_nothing(checker, right, wrong, hint):
    mutating_answer_corrupts_nothing(checker, right, wrong, hint)


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_answers_of_the_wrong_kind_are_not_yet(checker, right, wrong, hint):
    wrong_kinds_are_not_yet(checker, right)


def test_the_reference_passes_every_function_checker():
    for name in function_checkers(check) | KEPT:
        verdict(getattr(check, name)(check.reference(name)), True)
