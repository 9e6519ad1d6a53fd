"""Tokenizers: turning text into a list of integer ids and back.

Two kinds live here:

* :class:`CharTokenizer`, one id per distinct character. Tiny vocabulary, long sequences;
  the course's own small GPT is trained with it.
* :class:`BPETokenizer`, byte-level byte-pair encoding (the family GPT-2, GPT-4o and later
  use). It starts from the 256 possible bytes and repeatedly merges the most frequent
  adjacent pair into a new token.

Both share the small :class:`Tokenizer` interface: ``encode(text) -> list[int]``,
``decode(ids) -> str``, ``vocab_size`` and ``pieces(text)`` for display.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence


def _require_text(text: object, argument: str = "text") -> str:
    if not isinstance(text, str):
        raise TypeError(f"{argument} must be a str, got {type(text).__name__}: {text!r:.60}")
    return text


def _require_ids(ids: object) -> list[int]:
    """Accept any sequence of ints (list, tuple, numpy or torch 1-D array) and return a list of ints."""
    if isinstance(ids, str | bytes):
        raise TypeError(f"ids must be a sequence of integers, got {type(ids).__name__}: {ids!r:.60}")
    if hasattr(ids, "tolist"):  # numpy arrays and torch tensors
        ids = ids.tolist()
    if not isinstance(ids, Iterable):
        raise TypeError(f"ids must be a sequence of integers, got {type(ids).__name__}")
    result = []
    for position, token_id in enumerate(ids):
        if isinstance(token_id, bool) or not isinstance(token_id, numbers.Integral):
            raise TypeError(
                f"ids must contain integers; position {position} holds {type(token_id).__name__} {token_id!r:.40}"
            )
        result.append(int(token_id))  # numpy integers become plain ints
    return result


def show_piece(piece: bytes | str) -> str:
    """A piece of text made readable for display: spaces as '·', newlines as '↵', tabs as '→'.

    Bytes that are not complete UTF-8 (a token can hold half of an emoji) are shown as
    ``<0xNN>`` escapes so nothing is silently lost.
    """
    if isinstance(piece, bytes):
        try:
            text = piece.decode("utf-8")
        except UnicodeDecodeError:
            return "".join(chr(b) if 32 <= b < 127 else f"<0x{b:02X}>" for b in piece)
    else:
        text = piece
    return text.replace(" ", "·").replace("\n", "↵").replace("\t", "→").replace("\r", "␍")


class Tokenizer:
    """What every course tokenizer offers. Subclasses implement the four core methods."""

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define vocab_size")

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError(f"{type(self).__name__} must define encode")

    def decode(self, ids: Sequence[int]) -> str:
        raise NotImplementedError(f"{type(self).__name__} must define decode")

    def token_bytes(self, token_id: int) -> bytes:
        """The raw bytes one id stands for."""
        raise NotImplementedError(f"{type(self).__name__} must define token_bytes")

    def pieces(self, text: str) -> list[tuple[int, bytes]]:
        """``text`` as a list of (id, bytes) pairs, for showing where the token boundaries fall."""
        return [(token_id, self.token_bytes(token_id)) for token_id in self.encode(text)]

    def display_pieces(self, text: str) -> list[str]:
        """The tokens of ``text`` as readable strings (whitespace made visible)."""
        return [show_piece(piece) for _, piece in self.pieces(text)]

    def __len__(self) -> int:
        return self.vocab_size


class CharTokenizer(Tokenizer):
    """One token per character; the vocabulary is a string of distinct characters, id = position.

    >>> tok = CharTokenizer.from_text("hello")
    >>> tok.chars, tok.encode("hole")
    ('ehlo', [1, 3, 2, 0])
    """

    def __init__(self, chars: str):
        _require_text(chars, "chars")
        if not chars:
            raise ValueError("chars must contain at least one character, got an empty string")
        if len(set(chars)) != len(chars):
            repeated = sorted({c for c in chars if chars.count(c) > 1})
            raise ValueError(f"chars must not repeat a character; repeated: {repeated!r}")
        self.chars = chars
        self.char_to_id = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """The vocabulary of ``text``: its distinct characters, sorted by code point (so it is deterministic)."""
        _require_text(text)
        if not text:
            raise ValueError("cannot build a character vocabulary from an empty text")
        return cls("".join(sorted(set(text))))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        _require_text(text)
        try:
            return [self.char_to_id[c] for c in text]
        except KeyError:
            position = next(i for i, c in enumerate(text) if c not in self.char_to_id)
            char = text[position]
            raise ValueError(
                f"character {char!r} (U+{ord(char):04X}) at position {position} is not in this tokenizer's "
                f"vocabulary of {self.vocab_size} characters"
            ) from None

    def decode(self, ids: Sequence[int]) -> str:
        ids = _require_ids(ids)
        for position, token_id in enumerate(ids):
            if not 0 <= token_id < self.vocab_size:
                raise ValueError(
                    f"id {token_id} at position {position} is out of range: valid ids are 0..{self.vocab_size - 1}"
                )
        return "".join(self.chars[i] for i in ids)

    def token_bytes(self, token_id: int) -> bytes:
        return self.decode([token_id]).encode("utf-8")

    def to_dict(self) -> dict:
        """A JSON-serialisable description, e.g. to store inside a model checkpoint."""
        return {"type": "char", "chars": self.chars}

    @classmethod
    def from_dict(cls, data: dict) -> CharTokenizer:
        if not isinstance(data, dict) or data.get("type") != "char" or not isinstance(data.get("chars"), str):
            raise ValueError(
                "expected a dict like {'type': 'char', 'chars': '...'} (from CharTokenizer.to_dict()), "
                f"got {data!r:.80}"
            )
        return cls(data["chars"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharTokenizer) and other.chars == self.chars

    def __hash__(self) -> int:
        return hash(self.chars)

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"
