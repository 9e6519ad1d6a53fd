"""Lesson 00's checkers: each accepts the reference, calls a stub unsolved, and names the likely bug."""

import numpy as np
import pytest
from checker_support import (
    robustness_tests,
    stub,
    verdict,
)

from course_lib.checks import lesson00 as check

REFERENCE_NAMES = {"most_likely", "greedy_continue", "chat_prompt"}


# --------------------------------------------------------------------------- most_likely


def test_most_likely():
    verdict(
        check.most_likely(lambda probs, vocab: vocab[int(np.argmax(probs))]),
        True,
        "correct on all 4 test cases (1 drawn at random).",
    )
    verdict(check.most_likely(lambda probs, vocab: max(zip(probs, vocab, strict=True))[1]), True)
    verdict(check.most_likely(stub), False, "not solved yet")
    verdict(check.most_likely(lambda probs, vocab: int(np.argmax(probs))), False, "returned the position")
    verdict(check.most_likely(lambda probs, vocab: probs.max()), False, "returned the highest probability")
    verdict(check.most_likely(lambda probs, vocab: vocab[int(np.argmin(probs))]), False, "least likely")
    verdict(check.most_likely(lambda probs, vocab: max(vocab)), False, "largest character")


# --------------------------------------------------------------------------- greedy_continue


def greedy_continue(next_probs, text, n):
    for _ in range(n):
        probs = next_probs(text)
        text = text + max(probs, key=probs.get)
    return text


def test_toy_model():
    assert check.toy_next_probs("xa") == {"b": 0.6, "a": 0.1, "c": 0.3}
    assert greedy_continue(check.toy_next_probs, "a", 5) == "abcabc"
    with pytest.raises(ValueError, match="ending in 'a', 'b' or 'c'"):
        check.toy_next_probs("")


def test_greedy_continue_accepts_reference():
    verdict(check.greedy_continue(greedy_continue), True, "correct on all 5 test cases (1 drawn at random).")


def test_greedy_continue_stub_and_mistakes():
    verdict(check.greedy_continue(stub), False, "not solved yet")
    verdict(check.greedy_continue(lambda f, text, n: greedy_continue(f, text, n)[len(text) :]), False, "whole text")

    def never_appends(next_probs, text, n):
        out = text
        for _ in range(n):
            probs = next_probs(text)  # the bug: asks about the original text every time
            out += max(probs, key=probs.get)
        return out

    verdict(check.greedy_continue(never_appends), False, "BEFORE asking for the next one")
    verdict(check.greedy_continue(lambda f, text, n: greedy_continue(f, text, n + 1)), False, "one character too many")

    def off_by_one(next_probs, text, n):
        for _ in range(1, n):
            probs = next_probs(text)
            text += max(probs, key=probs.get)
        return text

    verdict(check.greedy_continue(off_by_one), False, "one character too few")

    def least(next_probs, text, n):
        for _ in range(n):
            probs = next_probs(text)
            text += min(probs, key=probs.get)
        return text

    verdict(check.greedy_continue(least), False, "least likely")


# --------------------------------------------------------------------------- chat_prompt


def test_chat_prompt():
    reference = lambda s, u: s + "\n\nUser: " + u + "\n\nAI Assistant:"
    verdict(check.chat_prompt(reference), True, "correct on all 4 test cases (1 drawn at random).")
    verdict(check.chat_prompt(stub), False, "not solved yet")
    verdict(check.chat_prompt(lambda s, u: f"{s}\n\nUser: {u}"), False, "assistant's cue")
    verdict(check.chat_prompt(lambda s, u: f"{s}\n\nUser: {u}\n\nAI Assistant: "), False, "no space after")
    verdict(check.chat_prompt(lambda s, u: f"User: {u}\n\n{s}\n\nAI Assistant:"), False, "system prompt comes first")
    verdict(check.chat_prompt(lambda s, u: f"{s}\nUser: {u}\nAI Assistant:"), False, "blank line")
    verdict(check.chat_prompt(lambda s, u: f"{s}\n\n{u}\n\nAI Assistant:"), False, "label the user's message")
    verdict(check.chat_prompt(lambda s, u: f"{s}\n\nUser: {u}\n\nAssistant:"), False, "expected")


def test_model_next_probs_wraps_a_model():
    import torch

    from course_lib.model import GPT, GPTConfig
    from course_lib.sampling import generate
    from course_lib.tokenizers import CharTokenizer

    tokenizer = CharTokenizer.from_text("abc \n")
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=8, n_layer=1, n_head=1, n_embd=8)).eval()
    next_probs = check.model_next_probs(model, tokenizer)
    probs = next_probs("abc ab")
    assert set(probs) == set("abc \n") and abs(sum(probs.values()) - 1) < 1e-9
    assert greedy_continue(next_probs, "ab", 12) == tokenizer.decode(
        generate(model, tokenizer.encode("ab"), 12, greedy=True).tolist()
    )


def test_reference_stands_in_for_every_function_exercise():
    for name in [n for n in check.__all__ if n in REFERENCE_NAMES]:
        verdict(getattr(check, name)(check.reference(name)), True)
    with pytest.raises(ValueError, match="exercise must be one of"):
        check.reference("no_such_exercise")


# --------------------------------------------------------------------------- hard to fool, impossible to crash

ROBUSTNESS = [
    (
        check.most_likely,
        lambda probs, vocab: vocab[int(np.argmax(probs))],
        lambda probs, vocab: int(np.argmax(probs)),
        "returned the position",
    ),
    (
        check.greedy_continue,
        greedy_continue,
        lambda f, text, n: greedy_continue(f, text, n + 1),
        "one character too many",
    ),
    (
        check.chat_prompt,
        lambda s, u: s + "\n\nUser: " + u + "\n\nAI Assistant:",
        lambda s, u: f"{s}\n\nUser: {u}",
        "assistant's cue",
    ),
]
globals().update(robustness_tests(check, ROBUSTNESS))  # the tests every lesson's checkers pass
