"""Checkers for lesson 01, tokens.

Each function takes the learner's answer (a function or a value), prints a one-line verdict
and returns a :class:`~course_lib.checks.CheckResult`.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from course_lib import tokenizers
from course_lib.checks import Case, CheckResult, Mistake, check_function, pick_reference

__all__ = ["encode_chars", "most_frequent_pair", "merge", "characters_per_token", "reference"]


# --------------------------------------------------------------------------- character-level encoding


def _encode_chars_reference(text: str, vocab: str) -> list[int]:
    return tokenizers.CharTokenizer(vocab).encode(text)


ENCODE_CHARS_CASES = [
    Case(("hello", "ehlo")),
    Case(("to be or not to be", " benort")),
    Case(("abba", "ab")),
    Case(("a", "abc")),
]
ENCODE_CHARS_MISTAKES = [
    Mistake(
        lambda text, vocab: [ord(c) for c in text],
        "those are Unicode code points (ord); a token's id is its character's position in the vocabulary",
    ),
    Mistake(
        lambda text, vocab: [vocab.index(c) + 1 for c in text],
        "every id is 1 too big: positions count from 0, so the vocabulary's first character has id 0",
    ),
    Mistake(
        lambda text, vocab: [vocab.index(c) for c in sorted(set(text))],
        "you encoded each distinct character once; encode every character of the text, in order, repeats included",
    ),
    Mistake(
        lambda text, vocab: [text.index(c) for c in text],
        "you looked each character up in the text; look it up in the vocabulary instead",
    ),
]


def _fresh_encode_chars(rng: np.random.Generator) -> Case:
    """A vocabulary of 3 to 12 distinct characters in a random order, and a text of 4 to 20 of them."""
    vocab = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz ,.!"), size=int(rng.integers(3, 13)), replace=False))
    text = "".join(rng.choice(list(vocab), size=int(rng.integers(4, 21))))
    return Case((text, vocab))


def encode_chars(learner) -> CheckResult:
    """``learner(text, vocab)`` must return the id (position in ``vocab``) of every character of ``text``."""
    return check_function(
        "encode_chars",
        learner,
        _encode_chars_reference,
        ENCODE_CHARS_CASES,
        ENCODE_CHARS_MISTAKES,
        fresh=_fresh_encode_chars,
    )


# --------------------------------------------------------------------------- the core BPE step


def _pairs(ids):
    return list(zip(ids, ids[1:], strict=False))


MOST_FREQUENT_PAIR_CASES = [
    Case(([1, 2, 1, 2, 1, 2, 3],)),  # one most and one least frequent pair, so hints cannot be confused
    Case(([1, 2, 3, 1, 2],)),
    Case(([7, 1, 2, 3, 4, 8, 9, 8, 9],), label="([7, 1, 2, 3, 4, 8, 9, 8, 9],): the answer is the last pair"),
    Case((list(b"banana band"),), label="the bytes of 'banana band'"),
    Case(([5, 5, 5, 1, 6, 1, 6, 1, 6],)),
]
MOST_FREQUENT_PAIR_MISTAKES = [
    Mistake(
        lambda ids: Counter(_pairs(ids)).most_common(1)[0][1],
        "you returned how often the pair occurs; return the pair itself, a tuple like (97, 110)",
    ),
    Mistake(
        lambda ids: Counter(zip(ids[:-2], ids[1:-1], strict=True)).most_common(1)[0][0],
        "your loop misses the last pair: n ids have n - 1 neighbouring pairs (try zip(ids, ids[1:]))",
    ),
    Mistake(
        lambda ids: tuple(reversed(Counter(_pairs(ids)).most_common(1)[0][0])),
        "the pair is the wrong way round: keep the order in which the two ids appear, (left, right)",
    ),
    Mistake(
        lambda ids: Counter(_pairs(ids)).most_common()[-1][0],
        "that is the least frequent pair; BPE merges the most frequent one",
    ),
    Mistake(
        lambda ids: Counter(ids).most_common(1)[0][0],
        "that is the most frequent single id; count pairs of neighbouring ids instead",
    ),
]


def _fresh_pair_ids(rng: np.random.Generator) -> Case:
    """8 to 24 random ids below 10 in which one pair is strictly the most frequent (so no tie rule matters)."""
    while True:
        ids = rng.integers(0, 10, size=int(rng.integers(8, 25))).tolist()
        top = Counter(_pairs(ids)).most_common(2)
        if top[0][1] >= 2 and (len(top) == 1 or top[0][1] > top[1][1]):
            return Case((ids,))


def most_frequent_pair(learner) -> CheckResult:
    """``learner(ids)`` must return the adjacent pair that occurs most often, as a tuple (left, right)."""
    return check_function(
        "most_frequent_pair",
        learner,
        tokenizers.most_frequent_pair,
        MOST_FREQUENT_PAIR_CASES,
        MOST_FREQUENT_PAIR_MISTAKES,
        fresh=_fresh_pair_ids,
    )


def _merge_first_only(ids, pair, new_id):
    for i in range(len(ids) - 1):
        if (ids[i], ids[i + 1]) == tuple(pair):
            return ids[:i] + [new_id] + ids[i + 2 :]
    return list(ids)


def _merge_keeping_right_id(ids, pair, new_id):
    merged, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair):
            merged.append(new_id)
        else:
            merged.append(ids[i])
        i += 1  # the bug: a merged pair should advance by two
    return merged


def _merge_dropping_last(ids, pair, new_id):
    merged, i = [], 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == tuple(pair):
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged  # the bug: a final unpaired id is never copied


MERGE_CASES = [
    Case(([1, 2, 3, 1, 2], (1, 2), 99)),
    Case(([5, 5, 5], (5, 5), 7), label="([5, 5, 5], (5, 5), 7): overlapping pairs merge left to right"),
    Case(([1, 2, 1, 2, 3, 4], (3, 4), 9)),
    Case(([4, 3, 2, 8], (1, 2), 10), label="([4, 3, 2, 8], (1, 2), 10): the pair does not occur"),
    Case(([2, 1, 1, 2, 6], (1, 2), 256)),
]
MERGE_MISTAKES = [
    Mistake(_merge_first_only, "you merged only the first occurrence; a merge replaces every occurrence of the pair"),
    Mistake(
        _merge_keeping_right_id,
        "after writing new_id, skip both ids of the pair (advance by 2); you also kept the right-hand id",
    ),
    Mistake(
        _merge_dropping_last,
        "the last id went missing: when the final id is not part of a merged pair, copy it too",
    ),
    Mistake(
        lambda ids, pair, new_id: [new_id if i in pair else i for i in ids],
        "you replaced single ids; a merge replaces two ids only when they stand next to each other, in order",
    ),
]


def _merge_reference(ids, pair, new_id):
    return tokenizers.merge_pair(ids, pair, new_id)


def _fresh_merge(rng: np.random.Generator) -> Case:
    """6 to 20 ids below 6, one of their neighbouring pairs, and a new id from 256 to 999."""
    ids = rng.integers(0, 6, size=int(rng.integers(6, 21))).tolist()
    i = int(rng.integers(0, len(ids) - 1))
    return Case((ids, (ids[i], ids[i + 1]), int(rng.integers(256, 1000))))


def merge(learner) -> CheckResult:
    """``learner(ids, pair, new_id)`` must return a new list with every occurrence of ``pair`` replaced."""
    return check_function("merge", learner, _merge_reference, MERGE_CASES, MERGE_MISTAKES, fresh=_fresh_merge)


# --------------------------------------------------------------------------- characters per token

TOKEN_COUNT_TEXT = "Tokenizers cut «naïve» text into pieces: 12345 of them, or fewer?"

#: The texts the checker measures: prose, the exercise's text (accents, quotes, digits), indented code,
#: a run of spaces, emoji. The tokenizers differ most on the last three.
CHARACTERS_PER_TOKEN_TEXTS = (
    "The weather is lovely today, so we are going for a walk in the park.",
    TOKEN_COUNT_TEXT,
    "def walk(weather):\n    if weather == 'lovely':\n        return 'park'\n",
    "a" + " " * 12 + "b",
    "Tokens 🙂🙂 and emoji 🌧️",
)

_WORDS = ("the", "model", "reads", "tokens", "and", "writes", "one", "more", "naïve", "42", "—", "🙂", "\n", "    ")


def _characters_per_token_reference(tokenizer, text):
    return len(text) / len(tokenizer.encode(text))


CHARACTERS_PER_TOKEN_MISTAKES = [
    Mistake(
        lambda tok, text: len(tok.encode(text)) / len(text),
        "upside down: that is tokens per character; divide the number of characters by the number of tokens",
    ),
    Mistake(
        lambda tok, text: len(text.encode("utf-8")) / len(tok.encode(text)),
        "that counts UTF-8 bytes, not characters: use len(text)",
    ),
    Mistake(
        lambda tok, text: len(text.split()) / len(tok.encode(text)),
        "that counts words (split on spaces), not characters: use len(text)",
    ),
    Mistake(
        lambda tok, text: len(text) / len(text.split()),
        "that is characters per word; the tokens are the ids tokenizer.encode(text) returns",
    ),
    Mistake(
        lambda tok, text: len(text) // len(tok.encode(text)),
        "use / for the ratio, not //, which rounds it down to a whole number",
    ),
]


def _characters_per_token_cases() -> list[Case]:
    gpt2, o200k = tokenizers.gpt2(), tokenizers.o200k()
    cases = [Case((gpt2, text), label=f"GPT-2 on {text!r}") for text in CHARACTERS_PER_TOKEN_TEXTS]
    cases += [Case((o200k, text), label=f"o200k on {text!r}") for text in CHARACTERS_PER_TOKEN_TEXTS[1:4]]
    return cases


def _fresh_characters_per_token(rng: np.random.Generator) -> Case:
    text = " ".join(rng.choice(_WORDS, size=int(rng.integers(3, 15))).tolist())
    return Case((tokenizers.gpt2(), text), label=f"GPT-2 on {text!r}")


def characters_per_token(learner) -> CheckResult:
    """``learner(tokenizer, text)``: how many characters of ``text`` one token of ``tokenizer`` holds on average."""
    return check_function(
        "characters_per_token",
        learner,
        _characters_per_token_reference,
        _characters_per_token_cases(),
        CHARACTERS_PER_TOKEN_MISTAKES,
        fresh=_fresh_characters_per_token,
    )


REFERENCES = {
    "encode_chars": _encode_chars_reference,
    "most_frequent_pair": tokenizers.most_frequent_pair,
    "merge": _merge_reference,
    "characters_per_token": _characters_per_token_reference,
}


def reference(exercise: str):
    """The course's version of an exercise's function, for the cells after an exercise that is not solved yet."""
    return pick_reference(REFERENCES, exercise)
