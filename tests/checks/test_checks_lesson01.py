"""Lesson 01's checkers: each accepts the reference, calls a stub unsolved, and names the likely bug."""

from collections import Counter

import pytest
from checker_support import (
    function_checkers,
    robustness_tests,
    stub,
    verdict,
)

from course_lib import tokenizers
from course_lib.checks import lesson01 as check

# --------------------------------------------------------------------------- encode_chars


def encode_chars(text, vocab):
    return [vocab.index(c) for c in text]


def test_encode_chars_accepts_reference_and_variants(capsys):
    verdict(check.encode_chars(encode_chars), True, "correct on all 5 test cases (1 drawn at random).")
    assert "[PASSED] encode_chars" in capsys.readouterr().out
    lookup = lambda text, vocab: [{c: i for i, c in enumerate(vocab)}[c] for c in text]
    verdict(check.encode_chars(lookup), True)


def test_encode_chars_stub_and_mistakes():
    verdict(check.encode_chars(stub), False, "not solved yet")
    verdict(check.encode_chars(lambda text, vocab: [ord(c) for c in text]), False, "Unicode code points (ord)")
    verdict(check.encode_chars(lambda text, vocab: [vocab.index(c) + 1 for c in text]), False, "every id is 1 too big")
    distinct = lambda text, vocab: [vocab.index(c) for c in sorted(set(text))]
    verdict(check.encode_chars(distinct), False, "each distinct character once")
    verdict(
        check.encode_chars(lambda text, vocab: [text.index(c) for c in text]),
        False,
        "looked each character up in the text",
    )
    verdict(check.encode_chars(lambda text, vocab: [vocab.find(c) for c in text[:-1]]), False, "expected shape")


# --------------------------------------------------------------------------- most_frequent_pair


def most_frequent_pair(ids):
    counts = {}
    for pair in zip(ids, ids[1:], strict=False):
        counts[pair] = counts.get(pair, 0) + 1
    return max(counts, key=counts.get)


def test_most_frequent_pair_accepts_reference():
    verdict(check.most_frequent_pair(most_frequent_pair), True, "correct")
    verdict(check.most_frequent_pair(tokenizers.most_frequent_pair), True)
    verdict(check.most_frequent_pair(lambda ids: list(most_frequent_pair(ids))), True)  # a list is fine too


def test_most_frequent_pair_stub_and_mistakes():
    verdict(check.most_frequent_pair(stub), False, "not solved yet")
    count_only = lambda ids: Counter(zip(ids, ids[1:], strict=False)).most_common(1)[0][1]
    verdict(check.most_frequent_pair(count_only), False, "you returned how often the pair occurs")

    def misses_last(ids):
        counts = Counter((ids[i], ids[i + 1]) for i in range(len(ids) - 2))
        return max(counts, key=counts.get)

    verdict(check.most_frequent_pair(misses_last), False, "misses the last pair")
    reversed_pair = lambda ids: most_frequent_pair(ids)[::-1]
    verdict(check.most_frequent_pair(reversed_pair), False, "wrong way round")
    verdict(check.most_frequent_pair(lambda ids: Counter(ids).most_common(1)[0][0]), False, "most frequent single id")
    least = lambda ids: min(Counter(zip(ids, ids[1:], strict=False)).items(), key=lambda kv: kv[1])[0]
    verdict(check.most_frequent_pair(least), False, "least frequent pair")


# --------------------------------------------------------------------------- merge


def merge(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i < len(ids) - 1 and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def test_merge_accepts_reference_even_if_it_edits_its_input():
    verdict(check.merge(merge), True, "correct on all 6 test cases (1 drawn at random).")

    def in_place(ids, pair, new_id):
        i = 0
        while i < len(ids) - 1:
            if (ids[i], ids[i + 1]) == tuple(pair):
                ids[i : i + 2] = [new_id]
            i += 1
        return ids

    verdict(check.merge(in_place), True)
    assert check.MERGE_CASES[0].args[0] == [1, 2, 3, 1, 2]  # the cases were not modified


def test_merge_stub_and_mistakes():
    verdict(check.merge(stub), False, "not solved yet")

    def first_only(ids, pair, new_id):
        for i in range(len(ids) - 1):
            if ids[i] == pair[0] and ids[i + 1] == pair[1]:
                return ids[:i] + [new_id] + ids[i + 2 :]
        return ids

    verdict(check.merge(first_only), False, "only the first occurrence")

    def keeps_right(ids, pair, new_id):
        out = []
        for i, x in enumerate(ids):
            out.append(new_id if i + 1 < len(ids) and (x, ids[i + 1]) == tuple(pair) else x)
        return out

    verdict(check.merge(keeps_right), False, "skip both ids of the pair")

    def drops_last(ids, pair, new_id):
        out, i = [], 0
        while i < len(ids) - 1:
            if (ids[i], ids[i + 1]) == tuple(pair):
                out.append(new_id)
                i += 2
            else:
                out.append(ids[i])
                i += 1
        return out

    verdict(check.merge(drops_last), False, "the last id went missing")
    singles = lambda ids, pair, new_id: [new_id if x in pair else x for x in ids]
    verdict(check.merge(singles), False, "you replaced single ids")
    verdict(check.merge("not a function"), False, "expected a function")


# --------------------------------------------------------------------------- characters_per_token


def characters_per_token(tokenizer, text):
    return len(text) / len(tokenizer.encode(text))


def test_characters_per_token():
    verdict(check.characters_per_token(characters_per_token), True, "correct on all")
    verdict(check.characters_per_token(lambda tok, text: stub()), False, "not solved yet")
    upside_down = lambda tok, text: len(tok.encode(text)) / len(text)
    verdict(check.characters_per_token(upside_down), False, "upside down: that is tokens per character")
    bytes_ = lambda tok, text: len(text.encode()) / len(tok.encode(text))
    verdict(check.characters_per_token(bytes_), False, "counts UTF-8 bytes")
    words = lambda tok, text: len(text.split()) / len(tok.encode(text))
    verdict(check.characters_per_token(words), False, "counts words")
    per_word = lambda tok, text: len(text) / len(text.split())
    verdict(check.characters_per_token(per_word), False, "characters per word")
    floor = lambda tok, text: len(text) // len(tok.encode(text))
    verdict(check.characters_per_token(floor), False, "not //")
    always_gpt2 = lambda tok, text: len(text) / len(tokenizers.gpt2().encode(text))  # ignores its tokenizer
    verdict(check.characters_per_token(always_gpt2), False, "o200k on")


@pytest.mark.parametrize("name", ["encode_chars", "most_frequent_pair", "merge", "characters_per_token"])
def test_every_checker_is_documented(name):
    assert getattr(check, name).__doc__


# --------------------------------------------------------------------------- hard to fool, impossible to crash

ROBUSTNESS = [
    (
        check.encode_chars,
        encode_chars,
        lambda text, vocab: [ord(c) for c in text],
        "Unicode code points (ord)",
    ),
    (check.most_frequent_pair, most_frequent_pair, lambda ids: most_frequent_pair(ids)[::-1], "wrong way round"),
    (check.merge, merge, lambda ids, pair, new_id: [new_id if x in pair else x for x in ids], "replaced single ids"),
    (
        check.characters_per_token,
        characters_per_token,
        lambda tok, text: len(tok.encode(text)) / len(text),
        "upside down",
    ),
]
globals().update(robustness_tests(check, ROBUSTNESS))  # the tests every lesson's checkers pass


def test_the_reference_passes_every_function_checker():
    for name in function_checkers(check):
        verdict(getattr(check, name)(check.reference(name)), True)
