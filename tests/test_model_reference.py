"""Our GPT computes exactly what Hugging Face's GPT-2 computes, given the same weights.

A randomly initialised ``transformers.GPT2LMHeadModel`` (built from a config: nothing is
downloaded) has its weights copied into our model; the logits must agree to float32 rounding
(atol 1e-4 on logits of size ~1) and greedy generation must produce the same tokens.

``transformers`` is a test-only dependency; the test is skipped with a reason when it is missing.
"""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
transformers = pytest.importorskip("transformers", reason="transformers (test-only dependency) is not installed")

from course_lib.model import GPT, GPTConfig
from course_lib.sampling import generate  # noqa: E402

CONFIGS = [
    GPTConfig(vocab_size=97, block_size=24, n_layer=1, n_head=3, n_embd=48),  # odd sizes
    GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=4, n_embd=64),
    GPTConfig(vocab_size=211, block_size=20, n_layer=3, n_head=5, n_embd=40),
]
LOGIT_ATOL = 1e-4


def hf_gpt2(config: GPTConfig, seed: int):
    torch.manual_seed(seed)
    hf_config = transformers.GPT2Config(
        vocab_size=config.vocab_size,
        n_positions=config.block_size,
        n_embd=config.n_embd,
        n_layer=config.n_layer,
        n_head=config.n_head,
        activation_function="gelu_new",  # GPT-2's tanh-approximated GELU
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
        tie_word_embeddings=True,
    )
    model = transformers.GPT2LMHeadModel(hf_config).eval()
    with torch.no_grad():  # GPT-2's init leaves biases 0 and LayerNorms 1: randomise them so they are tested too
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.add_(torch.randn_like(p) * 0.1)
    return model


def copy_weights(hf_model, config: GPTConfig) -> GPT:
    """Hugging Face's GPT-2 stores its Linear layers as Conv1D, with weights (in, out): transpose them."""
    hf = hf_model.state_dict()
    ours = {
        "tok_emb.weight": hf["transformer.wte.weight"],
        "pos_emb.weight": hf["transformer.wpe.weight"],
        "ln_f.weight": hf["transformer.ln_f.weight"],
        "ln_f.bias": hf["transformer.ln_f.bias"],
    }
    conv1d = {"attn.qkv": "attn.c_attn", "attn.proj": "attn.c_proj", "mlp.fc": "mlp.c_fc", "mlp.proj": "mlp.c_proj"}
    for i in range(config.n_layer):
        src, dst = f"transformer.h.{i}", f"blocks.{i}"
        for ln_ours, ln_hf in (("ln1", "ln_1"), ("ln2", "ln_2")):
            ours[f"{dst}.{ln_ours}.weight"] = hf[f"{src}.{ln_hf}.weight"]
            ours[f"{dst}.{ln_ours}.bias"] = hf[f"{src}.{ln_hf}.bias"]
        for ours_name, hf_name in conv1d.items():
            ours[f"{dst}.{ours_name}.weight"] = hf[f"{src}.{hf_name}.weight"].T
            ours[f"{dst}.{ours_name}.bias"] = hf[f"{src}.{hf_name}.bias"]
    model = GPT(config).eval()
    model.load_state_dict(ours, strict=True)
    return model


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"L{c.n_layer}-H{c.n_head}-C{c.n_embd}-V{c.vocab_size}")
def test_same_logits_and_greedy_generation_as_transformers_gpt2(config):
    hf_model = hf_gpt2(config, seed=config.n_embd)
    model = copy_weights(hf_model, config)
    idx = torch.randint(0, config.vocab_size, (3, config.block_size), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = hf_model(idx).logits
    ours, _ = model(idx)
    torch.testing.assert_close(ours, expected, atol=LOGIT_ATOL, rtol=1e-4)

    # Greedy decoding from a short prompt, staying within the context window.
    prompt = idx[:1, :4]
    new = config.block_size - 4
    with torch.no_grad():
        hf_tokens = hf_model.generate(
            prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new, min_new_tokens=new, do_sample=False
        )
    assert generate(model, prompt, new, greedy=True).tolist() == hf_tokens.tolist()
    assert generate(model, prompt, new, greedy=True, use_cache=False).tolist() == hf_tokens.tolist()
