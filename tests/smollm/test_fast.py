"""course_lib.smollm.fast: the fast decode path gives the readable path's tokens in float32, and stays within
measured error bounds in float16 and int8. Behaviour only: benchmarks/smollm_speed.py measures the speed."""

from __future__ import annotations

import pytest
import torch

from course_lib import smollm
from course_lib.sampling import generate, next_token_logits
from course_lib.smollm.fast import (
    PRECISIONS,
    FastSmolLM,
    PrecisionError,
    _rotated,
    _Rotation,
    _Weights,
    compare,
    memory_bandwidth_gb_s,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Measured on the prompts below, 12 greedy tokens each (32 steps), on this machine's AVX-512 code paths and with
# FBGEMM, ATen, oneDNN and MKL limited to AVX2 (what an AMD laptop runs):
#   float16: max |logit diff| 0.029, mean 0.004, same greedy token at 100% of steps (both)
#   int8:    max |logit diff| 3.6 (AVX2: 2.8), mean 0.42 (0.43), same greedy token at 91% of steps (both)
#   int8 without the rotation: max 9.6, mean 2.0-2.1 (the test below checks that the rotation helps)
# int8 logits differ between CPUs by up to ~2 (one rounding that flips changes the next layer's input), so the
# bounds leave room; float32 and float16 differ between CPUs by less than 1e-4.
BOUNDS = {
    "float16": {"max": 0.1, "mean": 0.02, "agreement": 0.95},
    "int8": {"max": 8.0, "mean": 0.8, "agreement": 0.75},
}


@pytest.fixture(scope="module")
def fast(model):
    """One fast model per precision, built once for the module."""
    return {precision: FastSmolLM.from_model(model, precision) for precision in PRECISIONS}


@pytest.fixture(scope="module")
def prompts(tok):
    def chat(text):
        return tok.encode_chat([{"role": "user", "content": text}], add_generation_prompt=True)

    return [
        chat("What is the capital of France?"),
        tok.encode("The history of the printing press begins"),
        chat("Write a haiku about the sea."),
    ]


# --------------------------------------------------------------------------- float32: the readable path's tokens


def test_float32_gives_the_readable_paths_greedy_tokens(model, fast, prompts):
    """The course's one generation loop runs both models: the same 12 tokens for every prompt."""
    for prompt in prompts:
        assert (
            generate(fast["float32"], prompt, 12, greedy=True).tolist()
            == generate(model, prompt, 12, greedy=True).tolist()
        )


def test_float32_logits_equal_the_readable_models(model, fast, prompts):
    for prompt in prompts:
        torch.testing.assert_close(
            next_token_logits(fast["float32"], prompt), next_token_logits(model, prompt), atol=1e-3, rtol=0
        )


def test_the_prompt_at_once_or_token_by_token_gives_the_same_scores(fast, prompts):
    """The causal mask of a many-token step: feeding the prompt in two pieces through the cache changes nothing."""
    prompt = prompts[1]
    model = fast["float32"]
    cache = model.new_cache(len(prompt))
    model(torch.tensor([prompt[:3]]), kv_cache=cache)
    in_pieces, _ = model(torch.tensor([prompt[3:]]), kv_cache=cache)
    assert cache.length == len(prompt)
    torch.testing.assert_close(in_pieces[0, -1], next_token_logits(model, prompt), atol=1e-4, rtol=0)


def test_logits_along_a_continuation_equal_one_full_forward_pass(model, fast, prompts):
    """Prompt at once, then token by token through the cache: the same scores as the readable model's full pass."""
    prompt = prompts[1]
    ids = generate(model, prompt, 6, greedy=True).tolist()
    along = fast["float32"].logits_along(prompt, ids[len(prompt) :])
    with torch.no_grad():
        full, _ = model(torch.tensor([ids[:-1]]))
    torch.testing.assert_close(along, full[0, len(prompt) - 1 :], atol=1e-3, rtol=0)
    assert fast["float32"].logits_along(prompt, []).shape == (0, model.config.vocab_size)


def test_chat_and_sampling_behave_like_the_readable_path(model, tok, fast):
    messages = [{"role": "user", "content": "Name a colour."}]
    assert smollm.chat(fast["float32"], tok, messages, max_new_tokens=12, greedy=True) == smollm.chat(
        model, tok, messages, max_new_tokens=12, greedy=True
    )
    prompt = tok.encode("Once upon a time")
    first = generate(fast["float32"], prompt, 8, temperature=0.8, top_k=20, seed=3).tolist()
    assert first == generate(fast["float32"], prompt, 8, temperature=0.8, top_k=20, seed=3).tolist()
    assert first == generate(model, prompt, 8, temperature=0.8, top_k=20, seed=3).tolist()


# --------------------------------------------------------------------------- lower precisions: measured error bounds


@pytest.mark.parametrize("precision", ["float16", "int8"])
def test_lower_precisions_stay_within_their_measured_error(fast, tok, prompts, precision):
    error = compare(fast["float32"], fast[precision], prompts, new_tokens=12, stop_ids=(tok.eos_id,))
    assert isinstance(error, PrecisionError) and error.steps == 32
    bound = BOUNDS[precision]
    assert error.max_logit_diff < bound["max"], error
    assert error.mean_logit_diff < bound["mean"], error
    assert error.agreement >= bound["agreement"], error
    assert error.max_logit_diff > 0  # a lower precision that changes nothing would not be lower


def test_every_precision_still_knows_the_capital_of_france(fast, tok):
    prompt = tok.encode("The capital of France is")
    for precision, model in fast.items():
        assert tok.decode([int(next_token_logits(model, prompt).argmax())]) == " Paris", precision


def test_load_builds_the_courses_model_once(fast, tok):
    loaded = FastSmolLM.load("float32")
    assert loaded is FastSmolLM.load("float32")
    prompt = tok.encode("The capital of France is")
    torch.testing.assert_close(next_token_logits(loaded, prompt), next_token_logits(fast["float32"], prompt))
    with pytest.raises(ValueError, match="precision must be one of"):
        FastSmolLM.load("fp8")


def test_precisions_store_fewer_bytes(fast):
    sizes = {precision: model.weight_bytes() for precision, model in fast.items()}
    assert sizes["int8"] < sizes["float16"] < sizes["float32"]
    assert sizes["float32"] == pytest.approx(538e6, rel=0.01)  # 134.5 M weights x 4 bytes
    # A token reads every matrix once: in int8 a quarter of float32's bytes, plus the scales.
    assert fast["int8"].bytes_per_token() == pytest.approx(fast["float32"].bytes_per_token() / 4, rel=0.01)
    assert repr(fast["int8"]).startswith("FastSmolLM(precision='int8'")


def test_the_rotation_is_orthogonal_and_applied_without_forming_it():
    for n in (64, 576, 1536):
        rotation = _Rotation(n, seed=0)
        matrix = rotation.matrix()
        torch.testing.assert_close(matrix @ matrix.T, torch.eye(n, dtype=torch.float64))
        x = torch.randn(3, n)
        torch.testing.assert_close(rotation(x), (x.double() @ matrix).float(), atol=1e-5, rtol=0)


def test_rotating_a_whole_matrix_gives_each_rows_rotation_bit_for_bit():
    """rotate_rows (one pass in, two big products, one pass out) computes what rotating the rows in float64 did."""
    generator = torch.Generator().manual_seed(0)
    for n in (64, 576, 1536):
        rotation = _Rotation(n, seed=0)
        gain = torch.rand(n, generator=generator) + 0.5
        for weight in (torch.randn(5000, n, generator=generator), torch.randn(n, 300, generator=generator).t()):
            chunks = [weight[i : i + 4096].double() for i in range(0, weight.shape[0], 4096)]
            expected = torch.cat([rotation(chunk * gain.double()).float() for chunk in chunks])
            assert torch.equal(rotation.rotate_rows(weight, gain), expected)
            plain = torch.cat([rotation(chunk).float() for chunk in chunks])
            assert torch.equal(rotation.rotate_rows(weight), plain)


def test_the_rotated_model_computes_the_same_function(model, fast, prompts):
    """In float32 the rotation changes nothing but rounding: it only helps where numbers are rounded (int8)."""
    with torch.no_grad():
        rotated = FastSmolLM(model.config, _rotated(_Weights.of(model), model.config), "float32")
    for prompt in prompts[:2]:
        torch.testing.assert_close(
            next_token_logits(rotated, prompt), next_token_logits(fast["float32"], prompt), atol=2e-3, rtol=0
        )


def test_the_rotation_makes_int8_more_accurate(model, fast, prompts, tok):
    with torch.no_grad():
        unrotated = FastSmolLM(model.config, _Weights.of(model), "int8")
    plain = compare(fast["float32"], unrotated, prompts[:2], new_tokens=8, stop_ids=(tok.eos_id,))
    rotated = compare(fast["float32"], fast["int8"], prompts[:2], new_tokens=8, stop_ids=(tok.eos_id,))
    assert rotated.mean_logit_diff < 0.5 * plain.mean_logit_diff, (rotated, plain)


# --------------------------------------------------------------------------- bad input


def test_bad_precision_and_model_are_clear_errors(model):
    with pytest.raises(ValueError, match="precision must be one of 'float32', 'float16', 'int8'; got 'int4'"):
        FastSmolLM.from_model(model, "int4")
    with pytest.raises(ValueError, match="precision must be one of"):
        FastSmolLM.from_model(model, torch.float16)
    with pytest.raises(TypeError, match="model must be a course_lib.smollm.SmolLM, got str"):
        FastSmolLM.from_model("SmolLM2", "float32")


def test_bad_input_to_the_fast_model_is_a_clear_error(fast):
    model = fast["float32"]
    with pytest.raises(ValueError, match="one sequence at a time, got a batch of 2"):
        model(torch.tensor([[5, 6], [7, 8]]))
    with pytest.raises(TypeError, match="computes no loss"):
        model(torch.tensor([[5, 6]]), torch.tensor([[6, 7]]))
    with pytest.raises(TypeError, match="idx must hold integer token ids"):
        model(torch.tensor([[5.0, 6.0]]))
    with pytest.raises(ValueError, match="the KV cache has room for 3 positions and holds 0: 4 more do not fit"):
        model(torch.tensor([[5, 6, 7, 8]]), kv_cache=model.new_cache(3))
    with pytest.raises(ValueError, match="prompt is empty"):
        generate(model, [], 3)
    with pytest.raises(ValueError, match="49152"):
        generate(model, [5, 49152], 3)
    with pytest.raises(TypeError, match="not a str"):
        generate(model, "hello", 3)
    with pytest.raises(ValueError, match="temperature"):
        generate(model, [5], 3, temperature=0)
    with pytest.raises(ValueError, match="prompt must be one sequence of token ids"):
        model.logits_along([[5, 6]], [7])
    with pytest.raises(TypeError, match="continuation must be integer token ids, not str"):
        model.logits_along([5], "six")
    with pytest.raises(ValueError, match="continuation"):
        model.logits_along([5], [6, -1])
    with pytest.raises(ValueError, match="prompt plus continuation is 8193 tokens"):
        model.logits_along([5] * 8190, [6, 7, 8])


def test_chat_refuses_a_model_it_cannot_run(tok):
    with pytest.raises(TypeError, match="SmolLM or a FastSmolLM, got str"):
        smollm.chat("SmolLM2", tok, [{"role": "user", "content": "Hi"}])


def test_compare_errors(fast):
    with pytest.raises(TypeError, match="other must be a FastSmolLM"):
        compare(fast["float32"], "int8", [[5, 6]])
    with pytest.raises(ValueError, match="prompts must be a non-empty list"):
        compare(fast["float32"], fast["int8"], [])
    with pytest.raises(ValueError, match="prompts must be a non-empty list"):
        compare(fast["float32"], fast["int8"], "The capital")
    with pytest.raises(ValueError, match="new_tokens must be an int >= 1"):
        compare(fast["float32"], fast["int8"], [[5, 6]], new_tokens=0)


# --------------------------------------------------------------------------- any shape (a tiny random model)


def test_a_tiny_random_model_gives_the_readable_scores_in_float32():
    """The layout does not depend on SmolLM2's sizes: 2 layers, 4 query heads sharing 2 key/value heads of 4."""
    config = smollm.SmolLMConfig(vocab_size=32, block_size=16, n_layer=2, n_head=4, n_kv_head=2, n_embd=16, n_hidden=24)
    model = smollm.SmolLM(config).to_empty(device="cpu")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.3)
    model.eval()
    fast = FastSmolLM.from_model(model, "float32")
    prompt = [3, 1, 4, 1, 5]
    ids = generate(model, prompt, 8, greedy=True).tolist()
    assert generate(fast, prompt, 8, greedy=True).tolist() == ids
    with torch.no_grad():
        full, _ = model(torch.tensor([ids[:-1]]))
    along = fast.logits_along(prompt, ids[len(prompt) :])
    torch.testing.assert_close(along, full[0, len(prompt) - 1 :], atol=1e-5, rtol=0)


def test_memory_bandwidth_is_a_positive_rate_and_refuses_bad_sizes():
    """What the value is depends on the machine and its load: only its kind is checked, never its size."""
    assert memory_bandwidth_gb_s(megabytes=8, repeats=1) > 0
    with pytest.raises(ValueError, match="megabytes"):
        memory_bandwidth_gb_s(megabytes=0)
    with pytest.raises(ValueError, match="repeats"):
        memory_bandwidth_gb_s(repeats=0)
