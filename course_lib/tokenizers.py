"""Tokenizers: turning text into a list of integer ids and back.

Two kinds live here:

* :class:`CharTokenizer`, one id per distinct character. Tiny vocabulary, long sequences;
  the course's own small GPT is trained with it.
* :class:`BPETokenizer`, byte-level byte-pair encoding (the family GPT-2, GPT-4o and later
  use). It starts from the 256 possible bytes and repeatedly merges the most frequent
  adjacent pair into a new token.

Both share the small :class:`Tokenizer` interface: ``encode(text) -> list[int]``,
``decode(ids) -> str``, ``vocab_size`` and ``pieces(text)`` for display.

**Special tokens are never read from typed text by default.** A control token such as GPT-2's
``<|endoftext|>`` or SmolLM2's ``<|im_start|>`` is one id that ordinary text can never produce. If
``encode`` turned the *characters* ``<|endoftext|>`` into that id, anyone who can type into a prompt box
could end a document or forge a chat turn. So every course tokenizer's ``encode(text)`` treats such
characters as plain text, and gives control ids only when asked by name: ``allowed_special={"<|endoftext|>"}``
or ``allowed_special="all"`` (the keyword tiktoken uses, accepted by every course tokenizer). Typed text
never raises for containing them. tiktoken's own ``Encoding.encode`` instead *raises* on such text by
default; the course only calls its ``encode_ordinary`` (plain text, the same as our default), and uses
tiktoken only as the reference our encoders are tested against.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import heapq
import json
import numbers
import warnings
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

import regex
import tiktoken
from tiktoken.load import load_tiktoken_bpe
from tiktoken_ext.openai_public import r50k_pat_str

from course_lib.data import ASSETS, DataError, asset_path, require_file


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


def allowed_special_tokens(
    allowed_special: str | Iterable[str], special_tokens: Iterable[str], owner: str
) -> frozenset[str]:
    """The special-token strings ``encode`` may turn into control ids: none by default, ``"all"`` or a named few.

    ``special_tokens`` are the tokenizer's own; naming one it does not have is an error, so a typo in
    ``allowed_special`` cannot silently leave a marker as plain text.
    """
    known = frozenset(special_tokens)
    if isinstance(allowed_special, str):
        if allowed_special == "all":
            return known
        raise ValueError(
            f"allowed_special must be 'all' or a collection of special-token strings, got the string "
            f"{allowed_special!r}; to allow one token write allowed_special={{{allowed_special!r}}}"
        )
    if not isinstance(allowed_special, Iterable):
        raise TypeError(
            "allowed_special must be 'all' or a collection of special-token strings, "
            f"got {type(allowed_special).__name__}"
        )
    allowed = frozenset(allowed_special)
    unknown = allowed - known
    if unknown:
        has = f"its special tokens are {sorted(known)}" if known else "it has none"
        raise ValueError(f"allowed_special lists {sorted(unknown)}, which are not special tokens of {owner} ({has})")
    return allowed


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


class Tokenizer(ABC):
    """What every course tokenizer offers. Subclasses implement the four abstract members;
    ``pieces`` and ``display_pieces`` (used by the lessons' token views) come for free."""

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """How many ids there are: valid ids run from 0 to vocab_size - 1."""

    @abstractmethod
    def encode(self, text: str, allowed_special: str | Iterable[str] = ()) -> list[int]:
        """The token ids of ``text``. Special-token strings in it are plain text unless named in
        ``allowed_special`` (or ``allowed_special="all"``): the safe default for text someone typed."""

    @abstractmethod
    def decode(self, ids: Sequence[int]) -> str:
        """The text that ``ids`` stand for."""

    @abstractmethod
    def token_bytes(self, token_id: int) -> bytes:
        """The raw bytes one id stands for."""

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

    def encode(self, text: str, allowed_special: str | Iterable[str] = ()) -> list[int]:
        """One id per character. There are no special tokens, so ``allowed_special`` can only be empty or "all"."""
        _require_text(text)
        allowed_special_tokens(allowed_special, (), "this CharTokenizer")
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


class BPEFileError(DataError, ValueError):
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

    def __deepcopy__(self, memo: dict) -> BPETokenizer:
        """An independent copy. Every container a tokenizer holds holds only immutable things (bytes, ints,
        strings, tuples), so copying each container one level deep is a deep copy; it takes milliseconds where
        ``copy.deepcopy``'s walk over 200,000 entries took about a second (a checker copies its arguments for
        every case it runs)."""
        twin = object.__new__(type(self))
        memo[id(self)] = twin
        for name, value in self.__dict__.items():
            twin.__dict__[name] = copy.copy(value) if isinstance(value, dict | list | set) else value
        return twin

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
        allowed = allowed_special_tokens(allowed_special, self.special_tokens, self.name)
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
        merges = [m for m in self.merges if m.new_id < limit]
        return BPETokenizer(ranks, self.pattern, name=f"{self.name}[:{n_merges} merges]", merges=merges)

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
            raise ValueError(f"vocab_size must be at least 256 (one token for each possible byte), got {vocab_size}")
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

    # ------------------------------------------------------------------ saving and loading

    def to_dict(self) -> dict:
        """A JSON-serialisable description; tokens are listed by id with their bytes in hex and as text."""
        return {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "name": self.name,
            "pattern": self.pattern,
            "special_tokens": self.special_tokens,
            "token_columns": ["id", "bytes as hex", "as text (for reading only)"],
            "tokens": [
                [rank, token.hex(), show_piece(token)] for token, rank in sorted(self.ranks.items(), key=_by_rank)
            ],
            "merge_columns": ["left (hex)", "right (hex)", "new id", "count"],
            "merges": [[m.left.hex(), m.right.hex(), m.new_id, m.count] for m in self.merges],
            "training_token_counts": self.training_token_counts,
        }

    @classmethod
    def from_dict(cls, data: dict, source: str = "the tokenizer data") -> BPETokenizer:
        if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
            raise BPEFileError(f'{source} is not a saved BPETokenizer (no "format": "{FILE_FORMAT}" field)')
        if data.get("version") != FILE_VERSION:
            raise BPEFileError(f"{source} has format version {data.get('version')!r}; this code reads {FILE_VERSION}")
        try:
            ranks = {}
            for position, entry in enumerate(data["tokens"]):
                try:
                    ranks[bytes.fromhex(entry[1])] = int(entry[0])
                except (TypeError, ValueError, IndexError) as err:
                    raise BPEFileError(
                        f"{source}: token entry {position} ({entry!r:.60}) is malformed: {err}"
                    ) from None
            merges = [Merge(bytes.fromhex(a), bytes.fromhex(b), int(i), int(c)) for a, b, i, c in data["merges"]]
            tokenizer = cls(ranks, data["pattern"], data["special_tokens"], name=data["name"], merges=merges)
            tokenizer.training_token_counts = [int(n) for n in data.get("training_token_counts", [])]
        except KeyError as err:
            raise BPEFileError(f"{source} is missing the field {err.args[0]!r}") from None
        except (TypeError, ValueError, regex.error) as err:
            if isinstance(err, BPEFileError):
                raise
            raise BPEFileError(f"{source} is corrupt: {err}") from None
        return tokenizer

    def save(self, path: str | Path) -> Path:
        """Write the tokenizer as indented JSON (a few MB for GPT-2-sized vocabularies)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        path = require_file(path, "a tokenizer saved by BPETokenizer.save", "Save the tokenizer again.", BPEFileError)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise BPEFileError(
                f"{path.name} is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}); "
                "was it cut short or edited by hand?"
            ) from None
        except UnicodeDecodeError:
            raise BPEFileError(f"{path.name} is not UTF-8 text, so it is not a saved tokenizer") from None
        return cls.from_dict(data, source=path.name)

    @classmethod
    def from_tiktoken_file(
        cls,
        path: str | Path,
        pattern: str = GPT2_PATTERN,
        special_tokens: dict[str, int] | None = None,
        name: str | None = None,
    ) -> BPETokenizer:
        """Read a ``.tiktoken`` rank file: one ``<base64 bytes> <rank>`` line per token."""
        fix = "The course's rank files are fetched by `make setup`."
        path = require_file(path, "a .tiktoken rank file", fix, BPEFileError)
        ranks: dict[bytes, int] = {}
        with open(path, "rb") as f:
            for line_number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    encoded, rank = line.split()
                    ranks[base64.b64decode(encoded, validate=True)] = int(rank)
                except (ValueError, binascii.Error):
                    raise BPEFileError(
                        f"{path.name}, line {line_number}: expected '<base64 bytes> <rank>', got {line[:60]!r}"
                    ) from None
        return cls(ranks, pattern, special_tokens, name=name or path.stem)


def _by_rank(item: tuple[bytes, int]) -> int:
    return item[1]


def _validated_ranks(ranks: dict[bytes, int]) -> dict[bytes, int]:
    """Check a rank table: bytes keys, distinct non-negative ids, and every single byte present."""
    if not isinstance(ranks, dict):
        raise TypeError(f"ranks must be a dict mapping bytes to int ids, got {type(ranks).__name__}")
    for token, rank in ranks.items():
        if not isinstance(token, bytes) or not token:
            raise TypeError(f"ranks keys must be non-empty bytes, got {token!r:.40}")
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 0:
            raise ValueError(f"the rank of {token!r:.40} must be a non-negative integer, got {rank!r}")
    if len(set(ranks.values())) != len(ranks):
        raise ValueError("ranks must give every token its own id; some ids are used twice")
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise ValueError(
            f"a byte-level BPE needs all 256 single bytes as tokens; "
            f"{len(missing)} are missing (first: 0x{missing[0]:02X})"
        )
    return dict(ranks)


def describe_merge(step: int, merge: Merge) -> str:
    """One line describing a training merge, whitespace made visible."""
    left, right = show_piece(merge.left), show_piece(merge.right)
    joined = show_piece(merge.left + merge.right)
    return (
        f"merge {step:4d}: {left!r:>10} + {right!r:<10} -> id {merge.new_id:5d} {joined!r:<14} "
        f"(seen {merge.count:,} times)"
    )


def merge_by_rank(piece: bytes, ranks: dict[bytes, int]) -> list[bytes]:
    """Split one chunk into tokens, exactly as tiktoken does.

    Start from single bytes; repeatedly join the adjacent pair whose concatenation has the
    lowest rank (leftmost on ties) until no adjacent pair is a token. A heap of candidate
    pairs keeps this O(n log n), so a long run of spaces does not take quadratic time.
    """
    if piece in ranks:  # tiktoken's shortcut: a chunk that is itself a token stays whole
        return [piece]
    n = len(piece)
    next_start = list(range(1, n + 1))  # part starting at i ends where the next part starts
    prev_start = list(range(-1, n - 1))
    candidates = [(ranks[piece[i : i + 2]], i, i + 2) for i in range(n - 1) if piece[i : i + 2] in ranks]
    heapq.heapify(candidates)
    while candidates:
        _, start, end = heapq.heappop(candidates)
        middle = next_start[start]
        # Skip stale candidates: the parts start..middle and middle..end must still be adjacent.
        if prev_start[start] == -2 or middle >= n or next_start[middle] != end:
            continue
        next_start[start] = end
        prev_start[middle] = -2  # the right part is now inside the left one
        if end < n:
            prev_start[end] = start
            after = next_start[end]
            if piece[start:after] in ranks:
                heapq.heappush(candidates, (ranks[piece[start:after]], start, after))
        before = prev_start[start]
        if before >= 0 and piece[before:end] in ranks:
            heapq.heappush(candidates, (ranks[piece[before:end]], before, end))
    parts, start = [], 0
    while start < n:
        parts.append(piece[start : next_start[start]])
        start = next_start[start]
    return parts


def merge_pair(ids: Sequence[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every non-overlapping occurrence of ``pair`` in ``ids`` (left to right) with ``new_id``."""
    merged, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged


def pair_counts(ids: Sequence[int]) -> Counter:
    """How often each adjacent pair occurs in ``ids`` (overlapping pairs all count)."""
    return Counter(pairwise(ids))


def most_frequent_pair(ids: Sequence[int]) -> tuple[int, int]:
    """The adjacent pair seen most often in ``ids``: the pair one BPE training step merges.

    Ties go to the smallest pair of ids, the rule :meth:`BPETokenizer.train` uses.
    """
    counts = pair_counts(ids)
    if not counts:
        raise ValueError(f"ids must hold at least two ids to have a pair, got {len(ids)}")
    return min(counts, key=lambda pair: (-counts[pair], pair))


class _PairCounter:
    """Training state: the distinct chunks of the text with their frequencies, and adjacent-pair counts.

    Counting distinct chunks once (Shakespeare has ~30k distinct words for ~1M chunks) and, after
    each merge, updating only the chunks that contain the merged pair is what makes training fast.
    """

    def __init__(self, chunks: Iterable[str]):
        frequencies = Counter(chunks)
        self.words = [list(chunk.encode("utf-8")) for chunk in frequencies]
        self.freqs = list(frequencies.values())
        self.pair_counts: defaultdict[tuple[int, int], int] = defaultdict(int)
        self.words_with_pair: defaultdict[tuple[int, int], set[int]] = defaultdict(set)
        for index, (word, freq) in enumerate(zip(self.words, self.freqs, strict=True)):
            for pair in pairwise(word):
                self.pair_counts[pair] += freq
                self.words_with_pair[pair].add(index)
        # Max-heap of (count, pair) with lazy deletion; on equal counts the smaller pair of ids wins.
        self.heap = [(-count, pair) for pair, count in self.pair_counts.items()]
        heapq.heapify(self.heap)
        self.token_count_history = [sum(len(w) * f for w, f in zip(self.words, self.freqs, strict=True))]

    def most_frequent_pair(self) -> tuple[tuple[int, int], int] | None:
        while self.heap:
            negative_count, pair = self.heap[0]
            if self.pair_counts.get(pair, 0) == -negative_count:
                return pair, -negative_count
            heapq.heappop(self.heap)  # stale: the count changed since this entry was pushed
        return None

    def merge(self, left: int, right: int, new_id: int) -> None:
        pair = (left, right)
        changed: set[tuple[int, int]] = set()
        tokens_saved = 0
        # The index set may hold words that no longer contain the pair; merge_pair leaves them unchanged.
        for index in self.words_with_pair.pop(pair, set()):
            word, freq = self.words[index], self.freqs[index]
            new_word = merge_pair(word, pair, new_id)
            if len(new_word) == len(word):
                continue
            for old in pairwise(word):
                self.pair_counts[old] -= freq
                changed.add(old)
            for new in pairwise(new_word):
                self.pair_counts[new] += freq
                self.words_with_pair[new].add(index)
                changed.add(new)
            tokens_saved += (len(word) - len(new_word)) * freq
            self.words[index] = new_word
        for p in changed:
            count = self.pair_counts[p]
            if count > 0:
                heapq.heappush(self.heap, (-count, p))
            else:
                del self.pair_counts[p]
        self.token_count_history.append(self.token_count_history[-1] - tokens_saved)


# --------------------------------------------------------------------------- real tokenizers


@functools.cache
def gpt2_reference():
    """tiktoken's GPT-2 encoding, built from the verified local rank file (no download)."""
    ranks = load_tiktoken_bpe(str(asset_path("gpt2_ranks")), expected_hash=ASSETS["gpt2_ranks"].sha256)
    return tiktoken.Encoding(
        name="gpt2",
        pat_str=GPT2_PATTERN,
        mergeable_ranks=ranks,
        special_tokens=GPT2_SPECIAL_TOKENS,
        explicit_n_vocab=50257,
    )


@functools.cache
def o200k_reference():
    """tiktoken's o200k_base encoding (GPT-4o and later), built from the verified local rank file."""
    ranks = load_tiktoken_bpe(str(asset_path("o200k_ranks")), expected_hash=ASSETS["o200k_ranks"].sha256)
    return tiktoken.Encoding(
        name="o200k_base", pat_str=O200K_PATTERN, mergeable_ranks=ranks, special_tokens=O200K_SPECIAL_TOKENS
    )


@functools.cache
def gpt2() -> BPETokenizer:
    """Our BPETokenizer loaded with GPT-2's ranks, pattern and ``<|endoftext|>`` (id 50256)."""
    return BPETokenizer.from_tiktoken_file(asset_path("gpt2_ranks"), GPT2_PATTERN, GPT2_SPECIAL_TOKENS, name="gpt2")


@functools.cache
def o200k() -> BPETokenizer:
    """Our BPETokenizer loaded with the o200k_base ranks, pattern and special tokens."""
    return BPETokenizer.from_tiktoken_file(
        asset_path("o200k_ranks"), O200K_PATTERN, O200K_SPECIAL_TOKENS, name="o200k_base"
    )
