"""A real LLM opened up: SmolLM2-135M-Instruct, run by the course's own forward pass (lesson 09).

The package in six parts: :mod:`.model` (the Llama-style decoder: RMSNorm, rotary positions,
grouped-query attention, SwiGLU), :mod:`.fast` (the same model laid out for fast decoding, in float32,
float16 or int8), :mod:`.gguf` (reading its quantised weights from llama.cpp's file
format), :mod:`.cache` (the float32 copy set-up keeps of them, which :func:`load` opens in a fraction of
a second), :mod:`.tokenizer` (its byte-level BPE and chat template), and here what a lesson calls:
:func:`load`, :func:`chat` and :func:`top_next_tokens`. Generation is the course's one loop,
``course_lib.sampling.generate``, which runs this model and the course GPT alike; its parameter counts are
``course_lib.sizes.count_parameters``, with every other count of the course.
"""

from __future__ import annotations

import torch

from course_lib.arrays import require_positive_int
from course_lib.sampling import generate, softmax
from course_lib.smollm.cache import CacheError, load
from course_lib.smollm.fast import PRECISIONS, FastSmolLM
from course_lib.smollm.gguf import GGUFError, load_from_gguf, open_gguf, read_metadata
from course_lib.smollm.model import (
    CAPTURE_KEYS,
    SmolLM,
    SmolLMConfig,
    SwiGLU,
    apply_rope,
    rms_norm,
    rope_angles,
    rotate_pair,
)
from course_lib.smollm.tokenizer import ChatTemplate, SmolLMTokenizer
from course_lib.tokenizers import show_piece

__all__ = [
    "CAPTURE_KEYS",
    "CacheError",
    "ChatTemplate",
    "FastSmolLM",
    "GGUFError",
    "PRECISIONS",
    "SmolLM",
    "SmolLMConfig",
    "SmolLMTokenizer",
    "SwiGLU",
    "apply_rope",
    "chat",
    "generate",
    "load",
    "load_from_gguf",
    "open_gguf",
    "read_metadata",
    "rms_norm",
    "rope_angles",
    "rotate_pair",
    "top_next_tokens",
]


def chat(
    model: SmolLM | FastSmolLM,
    tokenizer: SmolLMTokenizer,
    messages: list[dict],
    max_new_tokens: int = 64,
    **sampling,
) -> str:
    """The assistant's reply to ``messages``: encode the chat template, generate until ``<|im_end|>``, decode.

    A thin wrapper over ``course_lib.sampling.generate`` (``sampling`` takes its settings: ``greedy``,
    ``temperature``, ``seed``...). The prompt comes from :meth:`SmolLMTokenizer.encode_chat`: the template's
    markers are control tokens and the messages are plain text, so a message cannot open a turn of its own
    by typing ``<|im_start|>``. ``model`` is the readable SmolLM2 or its fast path (:mod:`.fast`): the same reply
    in float32.
    """
    if not isinstance(model, SmolLM | FastSmolLM):
        raise TypeError(f"model must be a course_lib.smollm.SmolLM or a FastSmolLM, got {type(model).__name__}")
    if not isinstance(tokenizer, SmolLMTokenizer):
        raise TypeError(f"tokenizer must be a course_lib.smollm.SmolLMTokenizer, got {type(tokenizer).__name__}")
    if isinstance(messages, list | tuple) and not messages:
        raise ValueError("messages is empty: give at least one {'role': 'user', 'content': ...} message to answer")
    prompt = tokenizer.encode_chat(messages, add_generation_prompt=True)
    reply = generate(model, prompt, max_new_tokens, stop_ids=(tokenizer.eos_id,), **sampling)[len(prompt) :].tolist()
    if reply and reply[-1] == tokenizer.eos_id:
        reply = reply[:-1]
    return tokenizer.decode(reply)


def top_next_tokens(
    logits: torch.Tensor, tokenizer: SmolLMTokenizer, temperature: float = 1.0, k: int = 10
) -> list[tuple[str, float]]:
    """The ``k`` most likely next tokens and their probabilities under softmax(logits / temperature).

    ``logits`` is one row of scores (vocab_size,). Tokens are shown with visible whitespace ('·' for a space).
    """
    k = require_positive_int("k", k)
    probs = softmax(logits.double(), temperature)
    top = torch.topk(probs, k)
    return [
        (show_piece(tokenizer.token_bytes(int(i))), float(p))
        for p, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)
    ]
