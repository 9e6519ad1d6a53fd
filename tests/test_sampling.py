"""Softmax, entropy, top-k / top-p filters, and generation (greedy, sampled, cached == uncached)."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from bad_input_support import Bad, assert_refused, table

from course_lib.model import GPT, GPTConfig
from course_lib.sampling import (
    entropy,
    generate,
    generate_at_temperatures,
    generate_text,
    next_token_logits,
    sample_next,
    softmax,
    top_k_filter,
    top_p_filter,
)
from course_lib.tokenizers import CharTokenizer

CONFIG = GPTConfig(vocab_size=13, block_size=10, n_layer=2, n_head=2, n_embd=16)


@pytest.fixture(scope="module")
def model() -> GPT:
    torch.manual_seed(0)
    model = GPT(CONFIG).eval()
    with torch.no_grad():  # larger weights than GPT-2's init, so the next-token distributions are far from uniform
        for p in model.parameters():
            p.normal_(0.0, 0.5)
    return model


# --------------------------------------------------------------------------- softmax and entropy


def test_softmax_sums_to_one_and_keeps_order():
    probs = softmax([2.0, 1.0, 0.1])
    np.testing.assert_allclose(probs.sum(), 1.0)
    assert list(np.argsort(probs)) == [2, 1, 0]
    np.testing.assert_allclose(probs, np.exp([2.0, 1.0, 0.1]) / np.exp([2.0, 1.0, 0.1]).sum())


def test_softmax_is_stable_for_huge_logits():
    probs = softmax(np.array([1000.0, 999.0, -1000.0]))
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs[:2], [1 / (1 + math.e**-1), math.e**-1 / (1 + math.e**-1)])


def test_temperature_flattens_or_sharpens():
    logits = np.array([3.0, 1.0, 0.0])
    hot, normal, cold = softmax(logits, 2.0), softmax(logits, 1.0), softmax(logits, 0.5)
    assert hot.max() < normal.max() < cold.max()
    assert entropy(hot) > entropy(normal) > entropy(cold)
    np.testing.assert_allclose(softmax(logits, 1e6), np.full(3, 1 / 3), atol=1e-5)


def test_softmax_works_on_torch_and_batches():
    logits = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    probs = softmax(logits, 0.7)
    assert isinstance(probs, torch.Tensor)
    torch.testing.assert_close(probs, torch.softmax(logits / 0.7, dim=-1))
    np.testing.assert_allclose(softmax(logits.numpy(), 0.7), probs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("bad", [0, -1.0, 0.0])
def test_non_positive_temperature_points_to_greedy(bad):
    with pytest.raises(ValueError, match="temperature must be > 0.*greedy"):
        softmax([1.0, 2.0], bad)


def test_entropy_known_values():
    assert entropy([1.0, 0.0, 0.0]) == 0.0
    np.testing.assert_allclose(entropy(np.full(8, 1 / 8)), math.log(8))
    np.testing.assert_allclose(entropy(np.full(8, 1 / 8), base=2), 3.0)
    torch.testing.assert_close(entropy(torch.tensor([[0.5, 0.5, 0.0]])), torch.tensor([math.log(2)]))


# --------------------------------------------------------------------------- filters


def test_top_k_keeps_the_k_largest():
    logits = np.array([1.0, 5.0, 3.0, 4.0, 2.0])
    kept = top_k_filter(logits, 2)
    assert list(np.isfinite(kept)) == [False, True, False, True, False]
    np.testing.assert_array_equal(kept[[1, 3]], [5.0, 4.0])
    np.testing.assert_array_equal(top_k_filter(logits, 10), logits)
    t = top_k_filter(torch.tensor([[1.0, 5.0, 3.0], [9.0, 0.0, 1.0]]), 1)
    assert torch.isfinite(t).tolist() == [[False, True, False], [True, False, False]]


@pytest.mark.parametrize(("k", "error"), [(0, ValueError), (-3, ValueError), (1.5, TypeError)])
def test_top_k_rejects_bad_k(k, error):
    with pytest.raises(error, match="k must be"):
        top_k_filter([1.0, 2.0], k)


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = np.array([0.5, 0.1, 0.3, 0.1])
    logits = np.log(probs)
    assert list(np.isfinite(top_p_filter(logits, 0.5))) == [True, False, False, False]
    assert list(np.isfinite(top_p_filter(logits, 0.6))) == [True, False, True, False]
    assert list(np.isfinite(top_p_filter(logits, 0.75))) == [True, False, True, False]
    assert np.isfinite(top_p_filter(logits, 1.0)).all()
    assert list(np.isfinite(top_p_filter(logits, 1e-9))) == [True, False, False, False]  # top token always kept
    torch_kept = torch.isfinite(top_p_filter(torch.tensor(logits), 0.6))
    assert torch_kept.tolist() == [True, False, True, False]


@pytest.mark.parametrize("p", [0, -0.1, 1.5])
def test_top_p_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match=r"p must be a number in \(0, 1\]"):
        top_p_filter([1.0, 2.0], p)


def test_sample_next_follows_the_distribution():
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]])).repeat(4000, 1)
    draws = sample_next(logits, generator=torch.Generator().manual_seed(0))
    frequencies = torch.bincount(draws[:, 0], minlength=3) / 4000
    torch.testing.assert_close(frequencies, torch.tensor([0.7, 0.2, 0.1]), atol=0.03, rtol=0)
    top1 = sample_next(logits[:50], top_k=1, generator=torch.Generator().manual_seed(0))
    assert torch.all(top1 == 0)


# --------------------------------------------------------------------------- one prediction


def test_next_token_logits_is_the_last_row_of_the_forward_pass(model):
    logits = next_token_logits(model, [4, 1, 7])
    assert logits.shape == (CONFIG.vocab_size,)
    torch.testing.assert_close(logits, model(torch.tensor([[4, 1, 7]]))[0][0, -1])
    torch.testing.assert_close(next_token_logits(model, torch.tensor([4, 1, 7])), logits)
    # a different last token gives different scores: only the prompt's end is read, but it is read
    assert not torch.allclose(next_token_logits(model, [4, 1, 8]), logits)
    assert int(logits.argmax()) == int(generate(model, [4, 1, 7], 1, greedy=True)[-1])


def test_next_token_logits_crops_a_long_prompt_to_the_context_window(model):
    long_prompt = list(range(13)) * 2  # 26 tokens, block_size is 10
    torch.testing.assert_close(next_token_logits(model, long_prompt), next_token_logits(model, long_prompt[-10:]))


def test_next_token_logits_runs_without_dropout_and_restores_training_mode():
    torch.manual_seed(0)
    dropout_model = GPT(GPTConfig(vocab_size=13, block_size=10, n_layer=1, n_head=2, n_embd=16, dropout=0.5)).train()
    first = next_token_logits(dropout_model, [1, 2, 3])
    assert dropout_model.training  # put back as it was
    torch.testing.assert_close(next_token_logits(dropout_model, [1, 2, 3]), first)  # no random dropout masks
    dropout_model.eval()
    torch.testing.assert_close(dropout_model(torch.tensor([[1, 2, 3]]))[0][0, -1], first)


@pytest.mark.parametrize(
    ("model_arg", "prompt", "error", "message"),
    [
        ("gpt", "hello", TypeError, "not a str"),
        ("gpt", [], ValueError, "prompt is empty"),
        ("gpt", torch.tensor([[1, 2], [3, 4]]), ValueError, r"one sequence of token ids .* shape \(2, 2\)"),
        ("gpt", torch.tensor([0.5, 1.0]), TypeError, "integer token ids"),
        ("gpt", [1, 99], ValueError, "token id 99 is out of range"),
        ("module", [1, 2], TypeError, "model must be a course model .* got Linear"),
    ],
)
def test_next_token_logits_bad_arguments(model, model_arg, prompt, error, message):
    chosen = model if model_arg == "gpt" else torch.nn.Linear(2, 2)
    with pytest.raises(error, match=message):
        next_token_logits(chosen, prompt)


# --------------------------------------------------------------------------- generation


def test_greedy_takes_the_argmax_each_step(model):
    out = generate(model, [1, 2, 3], 5, greedy=True)
    assert out.shape == (8,) and out[:3].tolist() == [1, 2, 3]
    ids = torch.tensor([[1, 2, 3]])
    for _ in range(5):
        next_id = model(ids[:, -CONFIG.block_size :])[0][0, -1].argmax()
        ids = torch.cat([ids, next_id.view(1, 1)], dim=1)
    assert out.tolist() == ids[0].tolist()


@pytest.mark.parametrize(
    "settings",
    [
        {"greedy": True},
        {"temperature": 1.0},
        {"temperature": 0.6, "top_k": 4},
        {"temperature": 1.3, "top_p": 0.8},
    ],
    ids=["greedy", "T=1", "top-k", "top-p"],
)
def test_cached_generation_equals_uncached_past_the_context_window(model, settings):
    # 3-token prompt + 25 new tokens with block_size 10: the cache has to be rebuilt as the context slides.
    prompt = torch.tensor([[4, 1, 7], [2, 2, 9]])
    cached = generate(model, prompt, 25, seed=5, use_cache=True, **settings)
    uncached = generate(model, prompt, 25, seed=5, use_cache=False, **settings)
    assert cached.shape == (2, 28)
    assert torch.equal(cached, uncached)


def test_same_seed_same_text_and_different_seed_differs(model):
    a = generate(model, [3], 30, seed=1)
    assert torch.equal(a, generate(model, [3], 30, generator=torch.Generator().manual_seed(1)))
    assert not torch.equal(a, generate(model, [3], 30, seed=2))


def test_long_prompt_is_cropped_to_the_context_window(model):
    long_prompt = list(range(13)) * 2  # 26 tokens, block_size is 10
    out = generate(model, long_prompt, 4, greedy=True)
    assert out[:26].tolist() == long_prompt
    cropped = generate(model, long_prompt[-10:], 4, greedy=True)
    assert out[26:].tolist() == cropped[10:].tolist()


def test_generation_restores_training_mode(model):
    model.train()
    generate(model, [1], 2, greedy=True)
    assert model.training
    model.eval()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"prompt": []}, ValueError, "prompt is empty"),
        ({"prompt": "hello"}, TypeError, "not a str"),
        ({"prompt": torch.tensor([[0.5]])}, TypeError, "integer token ids"),
        ({"prompt": [1, 99]}, ValueError, "token id 99 is out of range"),
        ({"temperature": 0}, ValueError, "use greedy=True"),
        ({"top_k": 0}, ValueError, "k must be a positive int"),
        ({"top_p": 1.2}, ValueError, r"p must be a number in \(0, 1\]"),
        ({"max_new_tokens": -1}, ValueError, "max_new_tokens must be an int >= 0"),
        ({"seed": 1, "generator": torch.Generator()}, ValueError, "either seed or generator"),
    ],
)
def test_generate_bad_arguments(model, kwargs, error, message):
    arguments = {"prompt": [1, 2], "max_new_tokens": 3, **kwargs}
    with pytest.raises(error, match=message):
        generate(model, arguments.pop("prompt"), arguments.pop("max_new_tokens"), **arguments)


def test_generate_text_round_trips_through_the_tokenizer(model):
    tokenizer = CharTokenizer("abcdefghijklm")
    text = generate_text(model, tokenizer, "abc", 6, seed=0)
    assert text.startswith("abc") and len(text) == 9 and set(text) <= set(tokenizer.chars)
    with pytest.raises(ValueError, match="prompt is empty"):
        generate_text(model, tokenizer, "", 3)


# --------------------------------------------------------------------------- many temperatures, one batch


def _inverse_cdf_by_hand(model, prompt, n, temperature, seed):
    """One temperature's row of generate_at_temperatures, step by step: the same uniform numbers, each
    turned into the first token whose cumulative probability is above it."""
    generator = torch.Generator().manual_seed(seed)
    ids = list(prompt)
    for _ in range(n):
        probs = torch.softmax(next_token_logits(model, ids).float() / temperature, dim=-1)
        u = float(torch.rand(1, 1, generator=generator))
        total, choice = 0.0, len(probs) - 1
        for index, p in enumerate(probs.tolist()):
            total += p
            if u < total:
                choice = index
                break
        ids.append(choice)
    return ids


def test_generate_at_temperatures_is_inverse_cdf_sampling_with_shared_random_numbers(model):
    rows = generate_at_temperatures(model, [1, 2], 6, [0.5, 1.0, 2.5], seed=3)
    assert rows.shape == (3, 8) and rows[:, :2].tolist() == [[1, 2]] * 3
    for row, temperature in zip(rows.tolist(), [0.5, 1.0, 2.5], strict=True):
        assert row == _inverse_cdf_by_hand(model, [1, 2], 6, temperature, seed=3)
    assert len({tuple(r) for r in rows.tolist()}) > 1  # the temperatures do change the text


def test_generate_at_temperatures_rows_do_not_depend_on_the_batch(model):
    together = generate_at_temperatures(model, [4], 7, [0.7, 1.3], seed=0)
    assert together[1].tolist() == generate_at_temperatures(model, [4], 7, [1.3], seed=0)[0].tolist()
    twins = generate_at_temperatures(model, [4], 7, [1.0, 1.0], seed=0)
    assert twins[0].tolist() == twins[1].tolist()  # same T, same random numbers: the same text


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"temperatures": []}, ValueError, "at least one temperature"),
        ({"temperatures": [1.0, 0.0]}, ValueError, r"temperatures\[1\] must be > 0"),
        ({"prompt": [[1, 2], [3, 4]]}, ValueError, "one sequence of token ids"),
        ({"max_new_tokens": -1}, ValueError, "max_new_tokens must be an int >= 0"),
        ({"model": "gpt"}, TypeError, r"must be a course model \(course_lib.model.GPT or"),
    ],
)
def test_generate_at_temperatures_bad_arguments(model, kwargs, error, message):
    arguments = {"model": model, "prompt": [1, 2], "max_new_tokens": 3, "temperatures": [1.0], **kwargs}
    with pytest.raises(error, match=message):
        generate_at_temperatures(
            arguments["model"], arguments["prompt"], arguments["max_new_tokens"], arguments["temperatures"]
        )


# --------------------------------------------------------------------------- numbers in, numbers out

NAN, INF = float("nan"), float("inf")
ROW = torch.tensor([[0.5, 1.0, -0.3]])

SCORE_CASES = table(
    Bad("nan", lambda: softmax([NAN, 1.0]), ValueError, "logits", "logits contains NaN at index 0"),
    Bad("nan-in-matrix", lambda: softmax(np.array([[1, 2], [3, NAN]])), ValueError, "logits", "NaN at index (1, 1)"),
    Bad("plus-inf", lambda: softmax([INF, 1.0]), ValueError, "logits", "contains +inf at index 0"),
    Bad("all-masked", lambda: softmax([-INF, -INF]), ValueError, "logits", "every score is -inf in logits"),
    Bad(
        "one-row-masked",
        lambda: softmax(torch.tensor([[0.0, 1.0], [-INF, -INF]])),
        ValueError,
        "logits row 1",
        "the row is fully masked",
    ),
    Bad("empty", lambda: softmax([]), ValueError, "logits", "is empty"),
    Bad("empty-rows", lambda: softmax(np.ones((2, 0))), ValueError, "logits", "is empty"),
    Bad("scalar", lambda: softmax(3.0), ValueError, "logits", "at least 1 dimension"),
    Bad("text", lambda: softmax("abc"), TypeError, "logits", "NumPy array or a torch tensor, got str"),
    Bad("none", lambda: softmax(None), TypeError, "logits", "got NoneType"),
    Bad("list-of-text", lambda: softmax(["a", "b"]), TypeError, "logits", "must hold real numbers"),
    Bad("bool-array", lambda: softmax(np.array([True, False])), TypeError, "logits", "dtype bool"),
    Bad("bool-tensor", lambda: softmax(torch.tensor([True])), TypeError, "logits", "dtype torch.bool"),
    Bad("complex", lambda: softmax(np.array([1 + 2j])), TypeError, "logits", "dtype complex128"),
    Bad("nan-temperature", lambda: softmax([1.0], NAN), ValueError, "temperature", "finite number, got nan"),
    Bad("inf-temperature", lambda: softmax([1.0], INF), ValueError, "temperature", "finite number, got inf"),
    Bad("text-temperature", lambda: softmax([1.0], "1"), TypeError, "temperature", "must be a number, got str"),
    Bad("bool-temperature", lambda: softmax([1.0], True), TypeError, "temperature", "must be a number, got bool"),
    Bad("none-temperature", lambda: softmax([1.0], None), TypeError, "temperature", "got NoneType"),
    Bad("tiny-temperature", lambda: softmax([1.0, 2.0], 1e-320), ValueError, "temperature=1e-320", "too small"),
    Bad("entropy-of-logits", lambda: entropy([2.0, 1.0, 0.1]), ValueError, "probs", "it sums to 3.1"),
    Bad("entropy-negative", lambda: entropy([-0.5, 1.5]), ValueError, "probs[0] = -0.5", "each >= 0"),
    Bad("entropy-nan", lambda: entropy([NAN, 1.0]), ValueError, "probs", "contains NaN at index 0"),
    Bad("entropy-empty", lambda: entropy([]), ValueError, "probs", "is empty"),
    Bad("entropy-row", lambda: entropy(torch.tensor([[0.5, 0.6]])), ValueError, "probs", "sums to 1.1"),
    Bad("entropy-base-1", lambda: entropy([0.5, 0.5], base=1), ValueError, "base", "must not be 1"),
    Bad("entropy-base-0", lambda: entropy([0.5, 0.5], base=0), ValueError, "base", "must be > 0"),
    Bad("entropy-base-text", lambda: entropy([0.5, 0.5], base="2"), TypeError, "base", "must be a number"),
    Bad("top-k-nan", lambda: top_k_filter([NAN, 1.0], 1), ValueError, "logits", "NaN at index 0"),
    Bad("top-k-bool", lambda: top_k_filter([1.0, 2.0], True), TypeError, "k", "must be an int, got bool"),
    Bad("top-k-text", lambda: top_k_filter([1.0, 2.0], "2"), TypeError, "k", "must be an int, got str"),
    Bad("top-k-numpy-float", lambda: top_k_filter([1.0, 2.0], np.float64(2)), TypeError, "k", "got float64"),
    Bad("top-k-empty", lambda: top_k_filter([], 1), ValueError, "logits", "is empty"),
    Bad("top-k-all-masked", lambda: top_k_filter([-INF, -INF], 1), ValueError, "logits", "fully masked"),
    Bad("top-p-nan", lambda: top_p_filter([1.0, 2.0], NAN), ValueError, "p", "finite number, got nan"),
    Bad("top-p-text", lambda: top_p_filter([1.0, 2.0], "0.5"), TypeError, "p", "must be a number, got str"),
    Bad("top-p-bool", lambda: top_p_filter([1.0, 2.0], True), TypeError, "p", "must be a number, got bool"),
    Bad("top-p-nan-logits", lambda: top_p_filter([NAN, 1.0], 0.5), ValueError, "logits", "NaN at index 0"),
    Bad("top-p-inf-logits", lambda: top_p_filter(torch.tensor([INF, 1.0]), 0.5), ValueError, "logits", "+inf"),
    Bad("top-p-all-masked", lambda: top_p_filter([-INF], 0.5), ValueError, "logits", "fully masked"),
    Bad("sample-nan", lambda: sample_next(torch.tensor([[NAN, 1.0]])), ValueError, "logits", "NaN at index (0, 0)"),
    Bad(
        "greedy-nan",
        lambda: sample_next(torch.tensor([[1.0, NAN]]), greedy=True),
        ValueError,
        "logits",
        "NaN at index (0, 1)",
    ),
    Bad("sample-all-masked", lambda: sample_next(torch.full((1, 3), -INF)), ValueError, "logits", "fully masked"),
    Bad("sample-list", lambda: sample_next([[1.0, 2.0]]), TypeError, "logits", "must be a torch tensor"),
    Bad("sample-nan-temperature", lambda: sample_next(ROW, temperature=NAN), ValueError, "temperature", "finite"),
    Bad(
        "sample-tiny-temperature",
        lambda: sample_next(ROW, temperature=1e-40),
        ValueError,
        "temperature=1e-40",
        "overflows torch.float32",
    ),
)


@pytest.mark.parametrize("case", SCORE_CASES)
def test_bad_scores_and_settings_are_refused(case):
    assert_refused(case)


def _with_model(call):
    """A table entry that needs the module's model: built once, when the case runs."""
    return lambda: call(_model_for_tables())


@functools.cache
def _model_for_tables() -> GPT:
    torch.manual_seed(0)
    return GPT(CONFIG).eval()


GENERATION_CASES = table(
    Bad(
        "nan-temperature",
        _with_model(lambda m: generate(m, [1, 2], 3, temperature=NAN)),
        ValueError,
        "temperature",
        "finite number, got nan",
    ),
    Bad(
        "float-prompt",
        _with_model(lambda m: generate(m, [1.7, 2.2], 3)),
        TypeError,
        "prompt[0] is the float 1.7",
        "ids are integers",
    ),
    Bad(
        "bool-prompt",
        _with_model(lambda m: generate(m, [True, 2], 3)),
        TypeError,
        "prompt[0]",
        "is the bool True",
    ),
    Bad(
        "float-array-prompt",
        _with_model(lambda m: generate(m, np.array([1.5, 2.0]), 3)),
        TypeError,
        "prompt",
        "got dtype float64",
    ),
    Bad(
        "negative-prompt",
        _with_model(lambda m: generate(m, [-1, 2], 3)),
        ValueError,
        "prompt[0]",
        "token id -1 is out of range",
    ),
    Bad(
        "scalar-prompt",
        _with_model(lambda m: generate(m, 5, 3)),
        ValueError,
        "prompt",
        "a sequence of ids or a (batch, time) tensor",
    ),
    Bad(
        "float-max-new-tokens",
        _with_model(lambda m: generate(m, [1], 2.0)),
        TypeError,
        "max_new_tokens",
        "must be an int, got float",
    ),
    Bad(
        "bool-max-new-tokens",
        _with_model(lambda m: generate(m, [1], True)),
        TypeError,
        "max_new_tokens",
        "must be an int, got bool",
    ),
    Bad("text-seed", _with_model(lambda m: generate(m, [1], 2, seed="1")), TypeError, "seed", "must be an int"),
    Bad("float-seed", _with_model(lambda m: generate(m, [1], 2, seed=1.5)), TypeError, "seed", "must be an int"),
    Bad(
        "bad-generator",
        _with_model(lambda m: generate(m, [1], 2, generator=0)),
        TypeError,
        "generator",
        "must be a torch.Generator",
    ),
    Bad("float-top-k", _with_model(lambda m: generate(m, [1], 2, top_k=2.5)), TypeError, "k", "must be an int"),
    Bad("zero-top-p", _with_model(lambda m: generate(m, [1], 2, top_p=0)), ValueError, "p", "in (0, 1]"),
    Bad(
        "nan-in-temperatures",
        _with_model(lambda m: generate_at_temperatures(m, [1], 2, [1.0, NAN])),
        ValueError,
        "temperatures[1]",
        "finite number, got nan",
    ),
    Bad(
        "one-temperature-not-a-list",
        _with_model(lambda m: generate_at_temperatures(m, [1], 2, 1.0)),
        TypeError,
        "temperatures",
        "must be a list of numbers, got float",
    ),
    Bad(
        "float-seed-temperatures",
        _with_model(lambda m: generate_at_temperatures(m, [1], 2, [1.0], seed=0.5)),
        TypeError,
        "seed",
        "must be an int",
    ),
    Bad(
        "float-prompt-next-token",
        _with_model(lambda m: next_token_logits(m, [1.5])),
        TypeError,
        "prompt[0]",
        "is the float 1.5",
    ),
    Bad(
        "out-of-range-next-token",
        _with_model(lambda m: next_token_logits(m, [0, 13])),
        ValueError,
        "prompt[1]",
        "token id 13 is out of range",
    ),
)


@pytest.mark.parametrize("case", GENERATION_CASES)
def test_bad_generation_inputs_are_refused(case):
    assert_refused(case)


def test_valid_edge_inputs_are_accepted(model):
    np.testing.assert_array_equal(softmax([0.0, -INF]), [1.0, 0.0])  # -inf is a masked score
    np.testing.assert_array_equal(top_k_filter([1.0, 3.0, 2.0], np.int64(2)), [-INF, 3.0, 2.0])
    logits = np.array([1.0, 3.0])
    kept = top_k_filter(logits, 100)  # k above the vocabulary keeps everything, as a copy
    np.testing.assert_array_equal(kept, logits)
    assert kept is not logits
    greedy = generate(model, [1, 2], 3, greedy=True)
    for prompt in (np.array([1, 2]), [np.int64(1), np.int64(2)], torch.tensor([1, 2], dtype=torch.int32)):
        assert torch.equal(generate(model, prompt, 3, greedy=True), greedy)
    assert generate(model, [1], 2, top_k=np.int64(3), seed=np.int64(0)).shape == (3,)
    p = torch.softmax(torch.randn(49152, generator=torch.Generator().manual_seed(0)), dim=-1)
    assert 0 < float(entropy(p)) < math.log(49152)  # a float32 distribution: its sum is off by rounding only
