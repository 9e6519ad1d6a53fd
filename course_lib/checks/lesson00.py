"""Checkers for lesson 00 (start here): each runs the learner's answer and names the likely bug.

In the notebook::

    from course_lib.checks import lesson00 as check
    check.most_likely(most_likely)
"""

from __future__ import annotations

import numpy as np

from course_lib.checks import Case, CheckResult, Mistake, check_function, pick_reference

__all__ = ["most_likely", "greedy_continue", "chat_prompt", "model_next_probs", "reference", "toy_next_probs"]


# --------------------------------------------------------------------------- the likeliest next character


def _most_likely_reference(probs, vocab):
    return vocab[int(np.argmax(probs))]


MOST_LIKELY_CASES = [
    Case((np.array([0.1, 0.6, 0.3]), "abc")),
    Case(
        (np.array([0.05, 0.05, 0.2, 0.7]), " e\nt"),
        label="probabilities [0.05, 0.05, 0.2, 0.7] for ' ', 'e', '\\n', 't'",
    ),
    Case((np.array([0.5, 0.2, 0.3]), "xyz")),
]
MOST_LIKELY_MISTAKES = [
    Mistake(
        lambda probs, vocab: int(np.argmax(probs)),
        "you returned the position of the likeliest entry; return the character at that position, vocab[i]",
    ),
    Mistake(lambda probs, vocab: float(np.max(probs)), "you returned the highest probability; return its character"),
    Mistake(
        lambda probs, vocab: vocab[int(np.argmin(probs))],
        "that is the least likely character: use argmax, not argmin",
    ),
    Mistake(lambda probs, vocab: max(vocab), "you took the largest character of the vocabulary; look at probs instead"),
]


_LETTERS = list("abcdefghijklmnopqrstuvwxyz .,\n")


def _fresh_most_likely(rng: np.random.Generator) -> Case:
    """Probabilities (rounded, no ties for the top) over 3 to 8 distinct characters in a random order."""
    n = int(rng.integers(3, 9))
    vocab = "".join(rng.choice(_LETTERS, size=n, replace=False))
    probs = rng.dirichlet(np.ones(n)).round(3)
    while np.sum(probs == probs.max()) > 1:
        probs = rng.dirichlet(np.ones(n)).round(3)
    return Case((probs, vocab))


def most_likely(learner) -> CheckResult:
    """``most_likely(probs, vocab)``: the character of ``vocab`` whose probability in ``probs`` is highest."""
    return check_function(
        "most_likely",
        learner,
        _most_likely_reference,
        MOST_LIKELY_CASES,
        MOST_LIKELY_MISTAKES,
        fresh=_fresh_most_likely,
    )


# --------------------------------------------------------------------------- append and repeat

# A toy "model": the next character depends only on the last one (a bigram table).
_TABLE = {
    "a": {"b": 0.6, "a": 0.1, "c": 0.3},
    "b": {"c": 0.5, "a": 0.4, "b": 0.1},
    "c": {"a": 0.7, "b": 0.2, "c": 0.1},
}


def toy_next_probs(text: str) -> dict[str, float]:
    """A pretend model over the characters 'a', 'b', 'c': the probabilities of the next character.

    It only looks at the last character of ``text`` (a real model looks at all of it).
    """
    if not isinstance(text, str) or not text or text[-1] not in _TABLE:
        raise ValueError(f"the toy model needs a non-empty text ending in 'a', 'b' or 'c', got {text!r}")
    return dict(_TABLE[text[-1]])


def model_next_probs(model, tokenizer):
    """Wrap a trained model in the exercise's interface: a function from a text to {character: probability}.

    It runs the model on the text's last ``block_size`` characters and applies softmax to the last position's
    logits (lesson 07 shows every step of that).
    """
    # Deferred on purpose: this checker loads torch (through sampling) only when the lesson wraps a model,
    # so its exercises on plain dictionaries are checked before PyTorch has loaded.
    from course_lib.sampling import next_token_logits, softmax

    def next_probs(text: str) -> dict[str, float]:
        probs = softmax(next_token_logits(model, tokenizer.encode(text)).double().numpy())
        return {tokenizer.decode([i]): float(p) for i, p in enumerate(probs)}

    return next_probs


def _greedy_reference(next_probs, text, n):
    for _ in range(n):
        probs = next_probs(text)
        text += max(probs, key=probs.get)
    return text


def _greedy_new_only(next_probs, text, n):
    return _greedy_reference(next_probs, text, n)[len(text) :]


def _greedy_never_appends(next_probs, text, n):
    probs = next_probs(text)
    return text + max(probs, key=probs.get) * n


def _least_likely(next_probs, text, n):
    for _ in range(n):
        probs = next_probs(text)
        text += min(probs, key=probs.get)
    return text


GREEDY_CASES = [
    Case((toy_next_probs, "a", 5), label="(toy_next_probs, 'a', 5)"),
    Case((toy_next_probs, "cab", 4), label="(toy_next_probs, 'cab', 4)"),
    Case((toy_next_probs, "b", 1), label="(toy_next_probs, 'b', 1)"),
    Case((toy_next_probs, "c", 0), label="(toy_next_probs, 'c', 0): no new characters"),
]
GREEDY_MISTAKES = [
    Mistake(_greedy_new_only, "return the whole text: the prompt followed by the new characters"),
    Mistake(
        _greedy_never_appends,
        "append each chosen character to the text BEFORE asking for the next one: the model must see what it wrote",
    ),
    Mistake(lambda f, text, n: _greedy_reference(f, text, n + 1), "one character too many: add exactly n"),
    Mistake(lambda f, text, n: _greedy_reference(f, text, max(n - 1, 0)), "one character too few: add exactly n"),
    Mistake(_least_likely, "you chose the least likely character each time; greedy takes the most likely"),
]


def _random_bigram_model(rng: np.random.Generator, characters: str):
    """A toy model like :func:`toy_next_probs`, with a random table (no ties) over ``characters``."""
    table = {}
    for c in characters:
        probs = rng.dirichlet(np.ones(len(characters))).round(3)
        while np.sum(probs == probs.max()) > 1:
            probs = rng.dirichlet(np.ones(len(characters))).round(3)
        table[c] = dict(zip(characters, probs.tolist(), strict=True))

    def random_next_probs(text: str) -> dict[str, float]:
        return dict(table[text[-1]])

    return random_next_probs


def _fresh_greedy(rng: np.random.Generator) -> Case:
    characters = "".join(rng.choice(list("abcdefgh"), size=int(rng.integers(3, 6)), replace=False))
    text = "".join(rng.choice(list(characters), size=int(rng.integers(1, 4))))
    n = int(rng.integers(2, 9))
    label = f"(a random toy model over {characters!r}, {text!r}, {n})"
    return Case((_random_bigram_model(rng, characters), text, n), label=label)


def greedy_continue(learner) -> CheckResult:
    """``greedy_continue(next_probs, text, n)``: n times, append the likeliest next character; return the text."""
    return check_function(
        "greedy_continue", learner, _greedy_reference, GREEDY_CASES, GREEDY_MISTAKES, fresh=_fresh_greedy
    )


# --------------------------------------------------------------------------- a chat template


def _chat_reference(system, user):
    return f"{system}\n\nUser: {user}\n\nAI Assistant:"


CHAT_CASES = [
    Case(
        (
            "The following is a conversation between a visitor and a friendly, knowledgeable AI assistant.",
            "How does a language model choose its next word?",
        ),
        label="the example from the lesson",
    ),
    Case(("You are a pirate. Answer briefly.", "Where is the treasure?")),
    Case(("System prompt.", "Hi")),
]
CHAT_MISTAKES = [
    Mistake(
        lambda s, u: f"{s}\n\nUser: {u}",
        "end with the assistant's cue, 'AI Assistant:': that is the line the model continues",
    ),
    Mistake(
        lambda s, u: f"{s}\n\nUser: {u}\n\nAI Assistant: ",
        "no space after the final 'AI Assistant:': the model writes the space itself as its first token",
    ),
    Mistake(
        lambda s, u: f"User: {u}\n\n{s}\n\nAI Assistant:",
        "the system prompt comes first: it sets the scene before the user speaks",
    ),
    Mistake(
        lambda s, u: f"{s}\nUser: {u}\nAI Assistant:",
        "separate the three parts with a blank line: two newlines, '\\n\\n'",
    ),
    Mistake(lambda s, u: f"{s}\n\n{u}\n\nAI Assistant:", "label the user's message: 'User: ' before it"),
]


_WORDS = "you are a helpful tutor who answers briefly why is the sky blue what does a token mean tell me".split()


def _sentence(rng: np.random.Generator) -> str:
    words = rng.choice(_WORDS, size=int(rng.integers(2, 9)))
    return " ".join(words).capitalize() + str(rng.choice([".", "?", "!"]))


def _fresh_chat(rng: np.random.Generator) -> Case:
    return Case((_sentence(rng), _sentence(rng)))


def chat_prompt(learner) -> CheckResult:
    """``chat_prompt(system, user)``: system prompt, blank line, 'User: ...', blank line, 'AI Assistant:'."""
    return check_function("chat_prompt", learner, _chat_reference, CHAT_CASES, CHAT_MISTAKES, fresh=_fresh_chat)


REFERENCES = {
    "most_likely": _most_likely_reference,
    "greedy_continue": _greedy_reference,
    "chat_prompt": _chat_reference,
}


def reference(exercise: str):
    """The course's version of an exercise's function, for the cells after an exercise that is not solved yet."""
    return pick_reference(REFERENCES, exercise)
