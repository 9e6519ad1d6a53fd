"""course_lib.gpt_functional: the course GPT as functions on a dict of weights computes what the model computes,
with or without a KV cache, generates what sampling.generate generates, and predicts every captured shape."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from course_lib import gpt_functional as G
from course_lib import sampling
from course_lib.model import CAPTURE_KEYS, GPT, GPTConfig

SHAPES = [
    GPTConfig(vocab_size=20, block_size=16, n_layer=2, n_head=2, n_embd=8),
    GPTConfig(vocab_size=11, block_size=12, n_layer=3, n_head=3, n_embd=12, bias=False),
    GPTConfig(vocab_size=30, block_size=10, n_layer=1, n_head=1, n_embd=4),
]


def random_model(config: GPTConfig, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    model = GPT(config).eval()
    with torch.no_grad():  # biases and gains away from 0 and 1, so a piece left out shows
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln" in name or name.startswith("ln"):
                p.add_(0.1 * torch.randn_like(p))
    return model


def ids(config: GPTConfig, batch: int, n: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, config.vocab_size, (batch, n), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("config", SHAPES, ids=str)
def test_forward_equals_the_model_on_models_of_several_shapes(config):
    model = random_model(config)
    idx = ids(config, 2, config.block_size)
    with torch.no_grad():
        expected = model(idx)[0]
    got = G.gpt_forward(idx, G.trained_weights(model), config)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_forward_equals_the_course_model(course_model):
    model, tokenizer = course_model
    idx = torch.tensor([tokenizer.encode("ROMEO.\nBut soft, what light through yonder window breaks?\n")])
    with torch.no_grad():
        expected = model(idx)[0]
    got = G.gpt_forward(idx, G.trained_weights(model), model.config)
    assert (got - expected).abs().max().item() < 1e-4


@pytest.mark.parametrize("config", SHAPES, ids=str)
def test_cached_forward_fed_in_pieces_equals_the_whole_sequence(config):
    model = random_model(config, seed=3)
    weights = G.trained_weights(model)
    idx = ids(config, 2, 9)
    cache: dict = {}
    pieces = [G.gpt_forward_cached(idx[:, a:b], weights, config, cache) for a, b in ((0, 4), (4, 5), (5, 8), (8, 9))]
    assert G.cache_length(cache) == 9 and cache[0][0].shape == (2, config.n_head, 9, config.head_size)
    torch.testing.assert_close(torch.cat(pieces, dim=1), G.gpt_forward(idx, weights, config), rtol=1e-5, atol=1e-5)


def test_trained_weights_are_copies_under_the_state_dict_names(tiny_model):
    model, _ = tiny_model
    weights = G.trained_weights(model)
    assert list(weights) == list(model.state_dict())
    weights["tok_emb.weight"].zero_()
    assert model.tok_emb.weight.abs().sum() > 0
    with pytest.raises(TypeError, match="course GPT"):
        G.trained_weights({"tok_emb.weight": torch.zeros(2, 2)})


def test_attention_weights_split_qkv_in_three(tiny_model):
    model, _ = tiny_model
    w = G.attention_weights(G.trained_weights(model), 1)
    qkv = model.blocks[1].attn.qkv
    assert torch.equal(torch.cat([w["w_q"], w["w_k"], w["w_v"]]), qkv.weight.detach())
    assert torch.equal(torch.cat([w["b_q"], w["b_k"], w["b_v"]]), qkv.bias.detach())
    assert torch.equal(w["w_o"], model.blocks[1].attn.proj.weight.detach())
    no_bias = G.attention_weights(G.trained_weights(random_model(SHAPES[1])), 0)
    assert no_bias["b_q"] is None and no_bias["b_o"] is None


def test_bad_input_is_refused_with_a_clear_error(tiny_model):
    model, _ = tiny_model
    config, weights = model.config, G.trained_weights(model)
    with pytest.raises(ValueError, match="batch, time"):
        G.gpt_forward(torch.tensor([1, 2]), weights, config)
    with pytest.raises(ValueError, match="more than block_size=16"):
        G.gpt_forward(torch.zeros(1, 17, dtype=torch.long), weights, config)
    cache: dict = {}
    G.gpt_forward_cached(torch.zeros(1, 10, dtype=torch.long), weights, config, cache)
    with pytest.raises(ValueError, match="10 cached"):
        G.gpt_forward_cached(torch.zeros(1, 7, dtype=torch.long), weights, config, cache)
    with pytest.raises(ValueError, match="idx"):
        G.gpt_forward(torch.tensor([[0, config.vocab_size]]), weights, config)
    with pytest.raises(KeyError, match="trained_weights"):
        G.gpt_forward(torch.tensor([[0]]), {"tok_emb.weight": weights["tok_emb.weight"]}, config)
    with pytest.raises(ValueError, match="prompt is empty"):
        G.generate(G.gpt_forward, weights, config, [], 3)
    with pytest.raises(ValueError, match="temperature"):
        G.generate(G.gpt_forward, weights, config, [1], 3, temperature=0)
    with pytest.raises(TypeError, match="forward"):
        G.generate(None, weights, config, [1], 3)


@pytest.mark.parametrize("cached", [False, True])
def test_generate_repeats_sampling_generate_past_the_context(tiny_model, cached):
    model, _ = tiny_model
    config, weights = model.config, G.trained_weights(model)
    forward = G.gpt_forward_cached if cached else G.gpt_forward
    prompt = [1, 2, 3]
    n = 2 * config.block_size  # the context fills up and is cropped
    greedy = G.generate(forward, weights, config, prompt, n, cached=cached, greedy=True)
    assert greedy == sampling.generate(model, prompt, n, greedy=True).tolist()
    settings = {"temperature": 0.9, "top_k": 5, "top_p": 0.9, "seed": 4}
    drawn = G.generate(forward, weights, config, prompt, n, cached=cached, **settings)
    assert drawn == sampling.generate(model, prompt, n, **settings).tolist()
    assert len(drawn) == 3 + n and drawn != greedy


def test_generate_uses_the_filters_it_is_given(tiny_model):
    model, _ = tiny_model
    config, weights = model.config, G.trained_weights(model)
    seen = []

    def keep_one(logits, k):
        seen.append(k)
        return sampling.top_k_filter(logits, 1)

    drawn = G.generate(G.gpt_forward, weights, config, [1], 6, top_k=3, top_k_filter=keep_one, seed=0)
    assert seen == [3] * 6 and drawn == G.generate(G.gpt_forward, weights, config, [1], 6, greedy=True)


def test_multiply_adds_count_the_matrix_products(tiny_model):
    a, b = torch.ones(3, 4), torch.ones(4, 5)
    product, count = G.multiply_adds(torch.matmul, a, b)
    assert count == 3 * 4 * 5 and torch.equal(product, a @ b)
    model, _ = tiny_model
    config, weights = model.config, G.trained_weights(model)
    plain, work_plain = G.multiply_adds(G.generate, G.gpt_forward, weights, config, [1, 2], 10, greedy=True)
    fast, work_cached = G.multiply_adds(
        G.generate, G.gpt_forward_cached, weights, config, [1, 2], 10, cached=True, greedy=True
    )
    assert plain == fast and work_cached < work_plain / 3


def _torch_count(fn, *args, **kwargs) -> int:
    """What torch's own FlopCounterMode counts, in multiply-adds: what multiply_adds must agree with."""
    counter = FlopCounterMode(display=False)
    with counter:
        fn(*args, **kwargs)
    return counter.get_total_flops() // 2


def _products_of_every_kind(x, w, b):
    """Matrix products written in each way torch allows, between element-wise work that holds none."""
    h = torch.nn.functional.linear(x, w, b).relu() + 1
    h = h @ w.T + torch.matmul(h, w.T)[..., :1]
    h = torch.einsum("btc,dc->btd", h, w) / 2
    scores = torch.bmm(h, h.transpose(1, 2)).softmax(-1)
    h = torch.baddbmm(h, scores, h) + torch.addmm(b, h[0], w.T)
    att = torch.nn.functional.scaled_dot_product_attention(h[:, None], h[:, None], h[:, None], is_causal=True)
    return torch.nn.Linear(w.shape[1], 3)(att.squeeze(1)).sum() + torch.tensordot(h, h, dims=3) + (h[0, 0] @ h[0, 0])


@pytest.mark.parametrize("mode", ["no_grad", "grad", "inference_mode"])
def test_multiply_adds_counts_what_torch_counts(mode, tiny_model):
    torch.manual_seed(0)
    x, w, b = torch.randn(2, 5, 6), torch.randn(6, 6), torch.randn(6)
    context = {"no_grad": torch.no_grad, "grad": torch.enable_grad, "inference_mode": torch.inference_mode}[mode]
    with context():
        expected = _torch_count(_products_of_every_kind, x, w, b)
        _, count = G.multiply_adds(_products_of_every_kind, x, w, b)
    assert count == expected > 0
    model, _ = tiny_model
    config, weights = model.config, G.trained_weights(model)
    for forward, cached in ((G.gpt_forward, False), (G.gpt_forward_cached, True)):
        run = (G.generate, forward, weights, config, [1, 2, 3], 12)
        assert G.multiply_adds(*run, cached=cached, greedy=True)[1] == _torch_count(*run, cached=cached, greedy=True)


def test_multiply_adds_counts_a_product_again_on_shapes_seen_before():
    a, b, c = torch.ones(3, 4), torch.ones(4, 5), torch.ones(4, 2)

    def products():
        return [a @ b, a @ b, a @ c, torch.matmul(a, b)]

    results, count = G.multiply_adds(products)
    assert count == 3 * (3 * 4 * 5) + 3 * 4 * 2 == _torch_count(products)
    assert all(torch.equal(r, e) for r, e in zip(results, products(), strict=True))


@pytest.mark.parametrize(("config", "batch", "n_tokens"), [(SHAPES[0], 2, 7), (SHAPES[1], 1, 12), (SHAPES[2], 3, 1)])
def test_capture_shapes_are_those_of_a_real_capture(config, batch, n_tokens):
    model = random_model(config)
    capture: dict = {}
    with torch.no_grad():
        model(ids(config, batch, n_tokens), capture=capture)
    predicted = G.capture_shapes(config, batch, n_tokens)
    assert list(predicted) == list(CAPTURE_KEYS)
    for name, tensor in capture.items():
        key = "blocks.{i}." + name.split(".", 2)[2] if name.startswith("blocks.") else name
        assert predicted[key] == tuple(tensor.shape), name
