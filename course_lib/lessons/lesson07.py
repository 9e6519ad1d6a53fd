"""Lesson 07's views: the whole forward pass on the learner's prompt, stage by stage, with every shape."""

from __future__ import annotations

from typing import Any

import torch

from course_lib.sampling import generate, softmax
from course_lib.show import widgets as show
from course_lib.tokenizers import show_piece


def forward_pass_report(model: Any, tokenizer: Any, text: str, k: int = 5, continue_chars: int = 60) -> str:
    """Every stage of ``model``'s forward pass on ``text``, with the shape of its tensor, then the ``k``
    likeliest next tokens and a greedy continuation. Text the tokenizer cannot encode is explained, not raised.

    Shapes follow ``course_lib.model.CAPTURE_KEYS``: (batch, tokens, width). Only the last ``block_size``
    tokens are used (the model's context).
    """
    try:
        ids = tokenizer.encode(text)
    except ValueError as err:
        return f"cannot encode this prompt: {err}"
    if not ids:
        return "type at least one character: the model needs something to continue"
    ids = ids[-model.config.block_size :]
    with show.one_thread():  # small tensors, one token at a time: a second thread would only wait
        return _report(model, tokenizer, text, ids, k, continue_chars)


def _report(model: Any, tokenizer: Any, text: str, ids: list[int], k: int, continue_chars: int) -> str:
    capture: dict = {}
    with torch.no_grad():
        model(torch.tensor([ids]), capture=capture)

    def shape(key: str) -> str:
        return str(tuple(capture[key].shape))

    lines = [
        f"prompt: {text[-len(ids) :]!r} -> {len(ids)} tokens",
        f"{'token ids':<44}{str((1, len(ids))):<18}{ids[:12]}{' ...' if len(ids) > 12 else ''}",
        f"{'token embeddings (rows of tok_emb)':<44}{shape('tok_emb')}",
        f"{'+ position embeddings (rows of pos_emb)':<44}{shape('pos_emb')}",
        f"{'= residual stream into block 0':<44}{shape('embed')}",
    ]
    for i in range(model.config.n_layer):
        b = f"blocks.{i}"
        lines += [
            f"block {i}:",
            f"{'  attention patterns (one per head)':<44}{shape(b + '.attn.pattern')}",
            f"{'  attention output, added to stream':<44}{shape(b + '.attn.out')}",
            f"{'  MLP neurons (after GELU)':<44}{shape(b + '.mlp.post')}",
            f"{'  MLP output, added to stream':<44}{shape(b + '.mlp.out')}",
            f"{'  residual stream after the block':<44}{shape(b + '.resid_post')}",
        ]
    last = capture["logits"][0, -1]
    probs = softmax(last.double().numpy())
    top = probs.argsort()[::-1][:k]
    likeliest = ", ".join(f"{show_piece(tokenizer.decode([int(i)]))!r} {probs[i]:.3f}" for i in top)
    continuation = tokenizer.decode(generate(model, ids, continue_chars, greedy=True)[len(ids) :].tolist())
    lines += [
        f"{'final LayerNorm':<44}{shape('ln_f')}",
        f"{'logits (a score per token, per position)':<44}{shape('logits')}",
        f"{'logits at the last position':<44}{str(tuple(last.shape))}",
        f"{'softmax -> probabilities':<44}{str(probs.shape):<18}sum = {probs.sum():.3f}",
        f"likeliest next tokens: {likeliest}",
        f"chosen (greedy): {show_piece(tokenizer.decode([int(top[0])]))!r}",
        "",
        f"append and repeat, greedy, {continue_chars} more tokens:",
        text[-len(ids) :] + continuation,
    ]
    return "\n".join(lines)


def forward_pass_explorer(model: Any, tokenizer: Any, text: str = "What will be"):
    """A text box "Your prompt"; below, :func:`forward_pass_report` for it (runs when the box loses focus)."""
    controls = {"text": show.text_area(text, "Your prompt")}
    return show.live_view(lambda text: show.text_html(forward_pass_report(model, tokenizer, text)), controls)
