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


# --------------------------------------------------------------------------- byte-pair encoding

# How text is cut into chunks before BPE runs: merges never cross a chunk boundary, so a
# token never glues the end of one word to the start of the next. GPT-2's pattern is taken
# from tiktoken; tiktoken builds o200k's inside a function that downloads the ranks, so it
# is written out here (tests/test_tokenizers.py checks it against tiktoken's source of truth).
GPT2_PATTERN = r50k_pat_str
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
ENDOFTEXT = "<|endoftext|>"
GPT2_SPECIAL_TOKENS = {ENDOFTEXT: 50256}
O200K_SPECIAL_TOKENS = {ENDOFTEXT: 199999, "<|endofprompt|>": 200018}

FILE_FORMAT = "course_lib.BPETokenizer"
FILE_VERSION = 1


class BPEFileError(ValueError):
    """A saved tokenizer or rank file could not be read: says which file and what is wrong in it."""


class Merge(NamedTuple):
    """One training step: the adjacent pair (left, right) that became token ``new_id``, seen ``count`` times."""

    left: bytes
    right: bytes
    new_id: int
    count: int


class BPETokenizer(Tokenizer):
    """Byte-level byte-pair encoding defined, like tiktoken, by *mergeable ranks*.

    ``ranks`` maps every token's bytes to its id; a lower id was merged earlier. Encoding cuts
    the text into chunks with ``pattern``, starts each chunk from single bytes, and keeps
    merging the adjacent pair whose concatenation has the lowest rank until no adjacent pair
    forms a known token. Because the rule only looks at bytes and ranks, GPT-2's file (whose
    single bytes do not have ids 0..255) works unchanged.

    ``special_tokens`` (e.g. ``<|endoftext|>``) are extra ids that never come out of merging;
    ``encode`` only produces them when ``allowed_special`` says so.
    """

    def __init__(
        self,
        ranks: dict[bytes, int],
        pattern: str = GPT2_PATTERN,
        special_tokens: dict[str, int] | None = None,
        name: str = "bpe",
        merges: Sequence[Merge] = (),
    ):
        self.ranks = _validated_ranks(ranks)
        self.pattern = pattern
        self._chunker = regex.compile(pattern)
        self.special_tokens = dict(special_tokens or {})
        self.name = name
        self.merges = list(merges)  # training history (empty for tokenizers loaded from rank files)
        self.training_token_counts: list[int] = []  # filled by train(): tokens in the text after k merges
        self._bytes_of = {rank: token for token, rank in self.ranks.items()}
        for text, token_id in self.special_tokens.items():
            if token_id in self._bytes_of:
                raise ValueError(f"special token {text!r} has id {token_id}, which a regular token already uses")
            self._bytes_of[token_id] = text.encode("utf-8")
        self._special_ids = set(self.special_tokens.values())
        self._cache: dict[bytes, tuple[int, ...]] = {}

    # ------------------------------------------------------------------ basics

    @property
    def vocab_size(self) -> int:
        """One more than the largest id (as tiktoken's ``n_vocab``): ids run 0..vocab_size-1."""
        return max(self._bytes_of) + 1

    @property
    def n_merges(self) -> int:
        return len(self.ranks) - 256

    def token_bytes(self, token_id: int) -> bytes:
        try:
            return self._bytes_of[token_id]
        except (KeyError, TypeError):
            raise ValueError(f"id {token_id!r} is not a token of {self.name} (vocab_size {self.vocab_size})") from None

    def __repr__(self) -> str:
        return (
            f"BPETokenizer(name={self.name!r}, vocab_size={self.vocab_size}, "
            f"merges={self.n_merges}, special_tokens={len(self.special_tokens)})"
        )

    # ------------------------------------------------------------------ encoding

    def chunks(self, text: str) -> list[str]:
        """The pieces the split pattern cuts ``text`` into; BPE then works inside each one."""
        return self._chunker.findall(_require_text(text))

    def encode(self, text: str, allowed_special: str | Iterable[str] = ()) -> list[int]:
        """Token ids of ``text``. Special-token strings count as ordinary text unless listed in
        ``allowed_special`` (or ``allowed_special="all"``), the safe default for untrusted text."""
        _require_text(text)
        ids: list[int] = []
        for segment, special_id in self._split_special(text, allowed_special):
            if special_id is not None:
                ids.append(special_id)
                continue
            for chunk in self._chunker.findall(segment):
                ids.extend(self._encode_chunk(chunk.encode("utf-8")))
        return ids

    def _split_special(self, text: str, allowed_special: str | Iterable[str]) -> list[tuple[str, int | None]]:
        """``text`` as segments: (ordinary text, None) or (special token text, its id)."""
        if isinstance(allowed_special, str):
            if allowed_special != "all":
                raise ValueError(f"allowed_special must be 'all' or a collection of strings, got {allowed_special!r}")
            allowed = set(self.special_tokens)
        else:
            allowed = set(allowed_special)
            unknown = allowed - set(self.special_tokens)
            if unknown:
                raise ValueError(f"allowed_special lists {sorted(unknown)}, which are not special tokens of {self.name}")
        if not allowed:
            return [(text, None)]
        # Longest first so that one special token that is a prefix of another cannot cut it short.
        alternatives = "|".join(regex.escape(s) for s in sorted(allowed, key=len, reverse=True))
        segments: list[tuple[str, int | None]] = []
        start = 0
        for match in regex.finditer(alternatives, text):
            segments.append((text[start : match.start()], None))
            segments.append((match.group(), self.special_tokens[match.group()]))
            start = match.end()
        segments.append((text[start:], None))
        return [(s, i) for s, i in segments if s or i is not None]

    def _encode_chunk(self, chunk: bytes) -> tuple[int, ...]:
        cached = self._cache.get(chunk)
        if cached is None:
            cached = tuple(self.ranks[part] for part in merge_by_rank(chunk, self.ranks))
            if len(self._cache) > 200_000:  # bound memory on huge, varied inputs
                self._cache.clear()
            self._cache[chunk] = cached
        return cached

    # ------------------------------------------------------------------ decoding

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        ids = _require_ids(ids)
        parts = []
        for position, token_id in enumerate(ids):
            piece = self._bytes_of.get(token_id)
            if piece is None:
                raise ValueError(
                    f"id {token_id} at position {position} is not a token of {self.name} "
                    f"(valid ids are 0..{self.vocab_size - 1}{', with gaps' if self._has_gaps() else ''})"
                )
            parts.append(piece)
        return b"".join(parts)

    def decode(self, ids: Sequence[int]) -> str:
        """The text of ``ids``. A token can hold part of a multi-byte character, so a cut sequence
        may end mid-character; such bytes become U+FFFD (the replacement character) instead of failing."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def _has_gaps(self) -> bool:
        return len(self._bytes_of) != self.vocab_size

    # ------------------------------------------------------------------ variants

    def truncated(self, n_merges: int) -> BPETokenizer:
        """The same tokenizer with only its first ``n_merges`` merges (ids below 256 + n_merges).

        Meant for trained tokenizers, whose ids 0..255 are the single bytes; shows how the
        same text tokenizes as the vocabulary grows.
        """
        if not isinstance(n_merges, numbers.Integral) or not 0 <= n_merges <= self.n_merges:
            raise ValueError(f"n_merges must be an integer in 0..{self.n_merges}, got {n_merges!r}")
        limit = 256 + int(n_merges)
        ranks = {token: rank for token, rank in self.ranks.items() if rank < limit}
        if len(ranks) != limit:
            raise ValueError(
                f"{self.name} does not number its tokens 0..{self.vocab_size - 1} in merge order "
                "(true of trained tokenizers, not of GPT-2's file), so it cannot be cut at a merge count"
            )
        return BPETokenizer(ranks, self.pattern, name=f"{self.name}[:{n_merges} merges]", merges=self.merges[:n_merges])

    # ------------------------------------------------------------------ training

    @classmethod
    def train(
        cls,
        text: str,
        vocab_size: int,
        pattern: str = GPT2_PATTERN,
        special_tokens: Sequence[str] = (),
        verbose: bool = False,
        callback: Callable[[Merge], None] | None = None,
        name: str = "trained-bpe",
    ) -> BPETokenizer:
        """Learn ``vocab_size - 256`` merges from ``text``; special tokens get the ids after them.

        Each step merges the most frequent adjacent pair (ties: the smallest pair of ids, so
        training is deterministic). ``verbose`` prints every merge; ``callback(merge)`` is called
        after each one. The history is kept in ``.merges`` and the token count of ``text`` after
        each step in ``.training_token_counts``.
        """
        _require_text(text)
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, numbers.Integral):
            raise TypeError(f"vocab_size must be an integer, got {type(vocab_size).__name__}")
        if vocab_size < 256:
            raise ValueError(
                f"vocab_size must be at least 256 (one token for each possible byte), got {vocab_size}"
            )
        trainer = _PairCounter(regex.compile(pattern).findall(text))
        ranks = {bytes([b]): b for b in range(256)}
        token_bytes = [bytes([b]) for b in range(256)]
        merges: list[Merge] = []
        while len(token_bytes) < vocab_size:
            best = trainer.most_frequent_pair()
            if best is None:
                warnings.warn(
                    f"training stopped after {len(merges)} merges: every chunk of the text is a single token, "
                    f"so the vocabulary has {len(token_bytes)} tokens, not {vocab_size}",
                    stacklevel=2,
                )
                break
            (left, right), count = best
            merged = token_bytes[left] + token_bytes[right]
            # Rarely, a pair spells a token that already exists (a+bc when ab+c was merged before):
            # reuse that id, so every token's bytes stay unique, as the rank table requires.
            new_id = ranks.get(merged, len(token_bytes))
            if new_id == len(token_bytes):
                token_bytes.append(merged)
                ranks[merged] = new_id
            trainer.merge(left, right, new_id)
            merge = Merge(token_bytes[left], token_bytes[right], new_id, count)
            merges.append(merge)
            if verbose:
                print(describe_merge(len(merges), merge))
            if callback is not None:
                callback(merge)
        specials = {s: len(token_bytes) + i for i, s in enumerate(special_tokens)}
        tokenizer = cls(ranks, pattern, specials, name=name, merges=merges)
        tokenizer.training_token_counts = trainer.token_count_history
        return tokenizer
