"""The course GPT: shapes, capture, KV cache, parameter counts, input errors, and the numpy twin."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from bad_input_support import Bad, assert_refused, table

from course_lib import model_numpy
from course_lib.model import CAPTURE_KEYS, GPT, GPT2_SMALL, GPT3_175B, GPTConfig, KVCache
from course_lib.sizes import count_parameters

SMALL = GPTConfig(vocab_size=37, block_size=16, n_layer=2, n_head=3, n_embd=24)


def make_model(config: GPTConfig = SMALL, seed: int = 0, scale: float = 0.0) -> GPT:
    """A model in eval mode. ``scale`` > 0 redraws every parameter with that std, so that the layer
    norms, biases and residual paths all matter (GPT-2's init leaves biases at 0 and LN at 1)."""
    torch.manual_seed(seed)
    model = GPT(config).eval()
    if scale:
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, scale)
    return model


def random_ids(config: GPTConfig, batch: int, length: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, config.vocab_size, (batch, length), generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- forward


def test_logits_shape_and_loss_matches_cross_entropy():
    model = make_model()
    idx, targets = random_ids(SMALL, 2, 10), random_ids(SMALL, 2, 10, seed=2)
    logits, loss = model(idx, targets)
    assert logits.shape == (2, 10, SMALL.vocab_size)
    expected = torch.nn.functional.cross_entropy(logits.reshape(-1, SMALL.vocab_size), targets.reshape(-1))
    torch.testing.assert_close(loss, expected)
    assert model(idx)[1] is None


def test_fresh_model_loss_is_near_uniform_guess():
    # With small random weights every token is about equally likely: loss ~ ln(vocab_size).
    model = make_model()
    _, loss = model(random_ids(SMALL, 4, 16), random_ids(SMALL, 4, 16, seed=3))
    assert abs(loss.item() - math.log(SMALL.vocab_size)) < 0.1


def test_causal_future_tokens_do_not_change_past_logits():
    model = make_model(scale=0.3)
    idx = random_ids(SMALL, 1, 12)
    changed = idx.clone()
    changed[0, 8:] = (changed[0, 8:] + 1) % SMALL.vocab_size
    torch.testing.assert_close(model(idx)[0][:, :8], model(changed)[0][:, :8])
    assert not torch.allclose(model(idx)[0][:, 8:], model(changed)[0][:, 8:])


def test_position_embedding_makes_order_matter():
    # "Hi world" vs "world Hi": same tokens, different positions -> different last-position outputs.
    model = make_model(scale=0.3)
    a = torch.tensor([[3, 5, 7]])
    b = torch.tensor([[7, 5, 3]])
    assert not torch.allclose(model(a)[0][0, 1], model(b)[0][0, 1])


def test_unembedding_is_tied_to_token_embedding():
    model = make_model()
    assert "lm_head.weight" not in model.state_dict()
    capture = {}
    logits, _ = model(random_ids(SMALL, 1, 5), capture=capture)
    torch.testing.assert_close(logits, capture["ln_f"] @ model.tok_emb.weight.T)


def test_gelu_is_tanh_approximation():
    model = make_model(scale=0.3)
    capture = {}
    model(random_ids(SMALL, 1, 6), capture=capture)
    pre, post = capture["blocks.0.mlp.pre"], capture["blocks.0.mlp.post"]
    torch.testing.assert_close(post, torch.nn.functional.gelu(pre, approximate="tanh"))


def test_dropout_only_in_training_mode():
    config = GPTConfig(**{**SMALL.to_dict(), "dropout": 0.5})
    model = make_model(config)
    idx = random_ids(config, 1, 8)
    torch.testing.assert_close(model(idx)[0], model(idx)[0])
    model.train()
    assert not torch.allclose(model(idx)[0], model(idx)[0])


# --------------------------------------------------------------------------- capture


def test_capture_records_every_documented_intermediate_without_changing_logits():
    model = make_model(scale=0.3)
    idx = random_ids(SMALL, 2, 9)
    capture = {}
    logits, _ = model(idx, capture=capture)
    torch.testing.assert_close(logits, model(idx)[0], rtol=0, atol=0)
    expected = set()
    for key in CAPTURE_KEYS:
        expected |= {key.format(i=i) for i in range(SMALL.n_layer)} if "{i}" in key else {key}
    assert set(capture) == expected
    b, t, c, h = 2, 9, SMALL.n_embd, SMALL.n_head
    assert capture["blocks.1.attn.q"].shape == (b, h, t, c // h)
    assert capture["blocks.1.attn.pattern"].shape == (b, h, t, t)
    assert capture["blocks.0.mlp.pre"].shape == (b, t, 4 * c)
    assert not any(tensor.requires_grad for tensor in capture.values())


def test_captured_pieces_add_up():
    model = make_model(scale=0.3)
    capture = {}
    model(random_ids(SMALL, 1, 7), capture=capture)
    torch.testing.assert_close(capture["embed"], capture["tok_emb"] + capture["pos_emb"])
    torch.testing.assert_close(capture["blocks.0.resid_mid"], capture["embed"] + capture["blocks.0.attn.out"])
    torch.testing.assert_close(
        capture["blocks.1.resid_post"], capture["blocks.1.resid_mid"] + capture["blocks.1.mlp.out"]
    )


def test_attention_pattern_is_causal_softmax_and_reproduces_head_output():
    model = make_model(scale=0.3)
    capture = {}
    model(random_ids(SMALL, 1, 8), capture=capture)
    pattern = capture["blocks.0.attn.pattern"]
    torch.testing.assert_close(pattern.sum(-1), torch.ones(pattern.shape[:-1]))
    assert torch.all(pattern.triu(diagonal=1) == 0)
    # pattern @ V is exactly what the fused attention produced
    torch.testing.assert_close(pattern @ capture["blocks.0.attn.v"], capture["blocks.0.attn.head_out"])
    q, k = capture["blocks.0.attn.q"], capture["blocks.0.attn.k"]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    manual = scores.masked_fill(torch.ones(8, 8, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
    torch.testing.assert_close(pattern, manual)


def test_captured_layer_norms_and_scores_are_what_the_sublayers_read():
    model = make_model(scale=0.3)
    capture = {}
    model(random_ids(SMALL, 1, 8), capture=capture)
    for i, block in enumerate(model.blocks):
        stream_in = capture["embed"] if i == 0 else capture[f"blocks.{i - 1}.resid_post"]
        with torch.no_grad():
            torch.testing.assert_close(capture[f"blocks.{i}.ln1"], block.ln1(stream_in), rtol=0, atol=0)
            torch.testing.assert_close(capture[f"blocks.{i}.ln2"], block.ln2(capture[f"blocks.{i}.resid_mid"]))
            # Q, K and V are the attention's own Linear applied to the recorded LayerNorm output.
            q = block.attn.qkv(capture[f"blocks.{i}.ln1"])[..., : SMALL.n_embd]
        torch.testing.assert_close(capture[f"blocks.{i}.attn.q"], q.view(1, 8, 3, 8).transpose(1, 2))
        q, k = capture[f"blocks.{i}.attn.q"], capture[f"blocks.{i}.attn.k"]
        scores, masked = capture[f"blocks.{i}.attn.scores"], capture[f"blocks.{i}.attn.masked_scores"]
        torch.testing.assert_close(scores, q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]))
        future = torch.ones(8, 8, dtype=torch.bool).triu(1)
        assert torch.isneginf(masked[..., future]).all() and torch.equal(masked[..., ~future], scores[..., ~future])
        assert torch.isfinite(scores).all()  # the scores before the mask hold every pair
        torch.testing.assert_close(masked.softmax(-1), capture[f"blocks.{i}.attn.pattern"], rtol=0, atol=0)


def test_without_a_capture_nothing_is_recorded_or_computed_for_it(monkeypatch):
    import course_lib.model as model_module

    model = make_model(scale=0.3)
    idx = random_ids(SMALL, 1, 8)
    calls = []
    original = model_module._attention_pattern
    monkeypatch.setattr(model_module, "_attention_pattern", lambda *a: calls.append(1) or original(*a))
    recorded = []
    monkeypatch.setattr(model_module, "record_tensor", lambda c, k, t: recorded.append(k) if c is not None else None)
    plain, _ = model(idx)
    assert calls == [] and recorded == []
    captured, _ = model(idx, capture={})
    assert len(calls) == SMALL.n_layer and "blocks.1.ln2" in recorded
    torch.testing.assert_close(plain, captured, rtol=0, atol=0)


def test_capture_in_training_mode_keeps_gradients_flowing():
    model = make_model()
    model.train()
    idx = random_ids(SMALL, 2, 6)
    _, loss = model(idx, idx, capture={})
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


# --------------------------------------------------------------------------- KV cache


@pytest.mark.parametrize("chunks", [[16], [1] * 16, [5, 1, 1, 4, 5], [7, 9]])
def test_kv_cache_gives_the_same_logits_as_one_full_pass(chunks):
    model = make_model(scale=0.3)
    idx = random_ids(SMALL, 2, 16)
    full, _ = model(idx)
    cache, pieces, start = KVCache(SMALL), [], 0
    for size in chunks:
        pieces.append(model(idx[:, start : start + size], kv_cache=cache)[0])
        start += size
    assert len(cache) == 16
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, atol=1e-5, rtol=1e-5)


def test_kv_cache_capture_pattern_covers_cached_keys():
    model = make_model(scale=0.3)
    idx = random_ids(SMALL, 1, 10)
    cache = KVCache(SMALL)
    model(idx[:, :6], kv_cache=cache)
    capture = {}
    model(idx[:, 6:], kv_cache=cache, capture=capture)
    full = {}
    model(idx, capture=full)
    torch.testing.assert_close(
        capture["blocks.1.attn.pattern"], full["blocks.1.attn.pattern"][:, :, 6:], atol=1e-5, rtol=1e-5
    )


def test_kv_cache_refuses_to_overflow_block_size():
    model = make_model()
    cache = KVCache(SMALL)
    model(random_ids(SMALL, 1, 12), kv_cache=cache)
    with pytest.raises(ValueError, match="after 12 cached tokens is longer than block_size=16"):
        model(random_ids(SMALL, 1, 5), kv_cache=cache)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("idx", "error", "message"),
    [
        ([[1, 2, 3]], TypeError, "must be a torch.Tensor"),
        (torch.tensor([[1.0, 2.0]]), TypeError, "integer token ids"),
        (torch.tensor([1, 2, 3]), ValueError, r"shape \(batch, time\).*unsqueeze\(0\)"),
        (torch.zeros(1, 0, dtype=torch.long), ValueError, "at least one token"),
        (
            torch.tensor([[1, 37]]),
            ValueError,
            r"token id 37 is out of range at idx\[0, 1\]: valid values go from 0 to 36",
        ),
        (torch.tensor([[-1, 3]]), ValueError, "token id -1 is out of range"),
        (torch.zeros(1, 17, dtype=torch.long), ValueError, "17 tokens is longer than block_size=16"),
    ],
)
def test_bad_input_gives_clear_errors(idx, error, message):
    with pytest.raises(error, match=message):
        make_model()(idx)


def test_bad_targets_give_clear_errors():
    model = make_model()
    idx = random_ids(SMALL, 2, 4)
    with pytest.raises(ValueError, match=r"targets must have idx's shape \(2, 4\)"):
        model(idx, idx[:, :3])
    with pytest.raises(TypeError, match="targets must be a torch.long tensor"):
        model(idx, idx.float())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_embd": 25}, "divisible by n_head"),
        ({"n_layer": 0}, "n_layer must be a positive int"),
        ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
    ],
)
def test_bad_config_gives_clear_errors(changes, message):
    with pytest.raises(ValueError, match=message):
        GPTConfig(**{**SMALL.to_dict(), **changes})


def test_config_round_trips_and_refuses_unknown_keys():
    assert GPTConfig.from_dict(SMALL.to_dict()) == SMALL
    with pytest.raises(ValueError, match=r"unknown keys \['n_embed'\]"):
        GPTConfig.from_dict({**SMALL.to_dict(), "n_embed": 3})


# --------------------------------------------------------------------------- parameter counts


@pytest.mark.parametrize("bias", [True, False])
def test_parameter_counts_formula_matches_real_tensors(bias):
    config = GPTConfig(**{**SMALL.to_dict(), "bias": bias})
    model = GPT(config)
    counts = model.parameter_counts()
    assert counts == count_parameters(config)
    assert counts["total"] == model.num_parameters() == sum(p.numel() for p in model.parameters())


def test_gpt2_small_and_gpt3_parameter_counts():
    # GPT-2 small is the famous "124M": 124,439,808 with the unembedding tied to the embedding.
    assert count_parameters(GPT2_SMALL)["total"] == 124_439_808
    gpt3 = count_parameters(GPT3_175B)
    assert 174e9 < gpt3["total"] < 176e9
    # The attention weights: 4 * d^2 per layer (Q, K, V, output) plus biases -> about 58 billion, ~1/3 of the model.
    assert gpt3["attention"] == 96 * (4 * 12288**2 + 4 * 12288)
    assert round(gpt3["attention"] / 1e9) == 58
    assert 0.32 < gpt3["attention"] / gpt3["total"] < 0.34
    assert GPT3_175B.n_layer * GPT3_175B.n_head == 9216


# --------------------------------------------------------------------------- numpy twin


@pytest.mark.parametrize(
    "config",
    [SMALL, GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=1, n_embd=8, bias=False)],
    ids=["small", "no-bias"],
)
def test_numpy_forward_matches_torch(config):
    model = make_model(config, scale=0.3)
    params = model_numpy.params_from_model(model)
    idx = random_ids(config, 1, config.block_size)
    torch_logits = model(idx)[0][0].double().detach().numpy()
    np.testing.assert_allclose(model_numpy.forward(params, config, idx[0].numpy()), torch_logits, atol=1e-4, rtol=1e-4)


def test_numpy_trace_matches_torch_capture():
    model = make_model(scale=0.3)
    idx = random_ids(SMALL, 1, 6)
    capture, trace = {}, {}
    model(idx, capture=capture)
    model_numpy.forward(model_numpy.params_from_model(model), SMALL, idx[0].numpy(), trace)
    for head in range(SMALL.n_head):
        np.testing.assert_allclose(
            trace[f"blocks.1.attn.head{head}.pattern"], capture["blocks.1.attn.pattern"][0, head].numpy(), atol=1e-5
        )
    np.testing.assert_allclose(trace["blocks.0.mlp.post"], capture["blocks.0.mlp.post"][0].numpy(), atol=1e-5)


def test_numpy_forward_rejects_bad_ids():
    params = model_numpy.params_from_model(make_model())
    with pytest.raises(ValueError, match=r"token id 40 is out of range at ids\[1\]: valid values go from 0 to 36"):
        model_numpy.forward(params, SMALL, [1, 40])
    with pytest.raises(ValueError, match="longer than block_size=16"):
        model_numpy.forward(params, SMALL, [1] * 17)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        model_numpy.forward(params, SMALL, [])


# --------------------------------------------------------------------------- numbers in, numbers out

NAN, INF = float("nan"), float("inf")
IDX = torch.tensor([[1, 2, 3]])


def _forward(idx, targets=None):
    return lambda: make_model()(idx, targets)


def _config(**changes):
    return lambda: GPTConfig(**{**SMALL.to_dict(), **changes})


def _numpy_forward(ids):
    return lambda: model_numpy.forward(model_numpy.params_from_model(make_model()), SMALL, ids)


BAD_INPUTS = table(
    Bad("int16-ids", _forward(IDX.short()), TypeError, "idx", "torch.int16: convert with idx.long()"),
    Bad("bool-ids", _forward(IDX.bool()), TypeError, "idx", "torch.bool"),
    Bad("3d-ids", _forward(IDX[None]), ValueError, "idx", "shape (batch, time)"),
    Bad("numpy-ids", _forward(IDX.numpy()), TypeError, "idx", "must be a torch.Tensor of token ids, got ndarray"),
    Bad("negative-id", _forward(torch.tensor([[0, 5], [2, -3]])), ValueError, "idx[1, 1]", "token id -3"),
    Bad("target-too-large", _forward(IDX, torch.tensor([[1, 99, 2]])), ValueError, "targets[0, 1]", "target 99"),
    Bad("target-below-minus-one", _forward(IDX, torch.tensor([[-2, 1, 1]])), ValueError, "targets[0, 0]", "or -1"),
    Bad("target-list", _forward(IDX, [[1, 2, 3]]), TypeError, "targets", "must be a torch.long tensor"),
    Bad("target-int32", _forward(IDX, IDX.int()), TypeError, "targets", "must be a torch.long tensor"),
    Bad("float-vocab-size", _config(vocab_size=3.5), TypeError, "GPTConfig.vocab_size", "must be an int"),
    Bad("bool-layers", _config(n_layer=True), TypeError, "GPTConfig.n_layer", "got bool"),
    Bad("text-heads", _config(n_head="3"), TypeError, "GPTConfig.n_head", "got str"),
    Bad("text-dropout", _config(dropout="0.1"), TypeError, "GPTConfig.dropout", "must be a number, got str"),
    Bad("nan-dropout", _config(dropout=NAN), ValueError, "GPTConfig.dropout", "finite number"),
    Bad("int-bias", _config(bias=1), TypeError, "GPTConfig.bias", "must be True or False"),
    Bad("float-ids-numpy", _numpy_forward([1.5]), TypeError, "ids[0]", "is the float 1.5"),
    Bad("bool-ids-numpy", _numpy_forward([True, 1]), TypeError, "ids[0]", "is the bool True"),
    Bad("2d-ids-numpy", _numpy_forward([[1, 2]]), ValueError, "ids", "must be 1-D"),
    Bad("negative-id-numpy", _numpy_forward([3, -1]), ValueError, "ids[1]", "token id -1 is out of range"),
    Bad(
        "numpy-softmax-masked",
        lambda: model_numpy.softmax(np.array([[0.0, 1.0], [-INF, -INF]])),
        ValueError,
        "x row 1",
        "fully masked",
    ),
    Bad("numpy-softmax-nan", lambda: model_numpy.softmax(np.array([NAN, 1.0])), ValueError, "x", "NaN at index 0"),
)


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_inputs_are_refused(case):
    assert_refused(case)


def test_numpy_integers_and_ignored_targets_are_accepted():
    config = GPTConfig(**{**SMALL.to_dict(), "n_layer": np.int64(2), "vocab_size": np.int32(37)})
    assert config == SMALL and type(config.n_layer) is int  # stored as Python ints: config.json can hold them
    model = make_model()
    logits, _ = model(IDX)
    torch.testing.assert_close(model(IDX.int())[0], logits)
    _, loss = model(IDX, torch.tensor([[-1, 4, -1]]))  # -1: a position that is not scored
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(logits[0, 1:2], torch.tensor([4])))
    params = model_numpy.params_from_model(model)
    uint8_ids = np.array([1, 2, 3], dtype=np.uint8)
    np.testing.assert_allclose(model_numpy.forward(params, SMALL, uint8_ids), logits[0].detach(), rtol=1e-4, atol=1e-5)
