"""Embeddings: one vector per token, and what the directions between those vectors mean.

An embedding table is a matrix with one row per vocabulary entry. Looking a token up is
picking its row, which is the same as multiplying the token's one-hot vector by the matrix.
The rows start random and are learned; after training, similar tokens sit close together
and some directions carry meaning (``king - man + woman`` lands near ``queen``).

The pieces here:

* :func:`one_hot`, :func:`cosine_similarity`, :func:`cosine_matrix`, :func:`pca_2d`
  small tested building blocks.
* :class:`EmbeddingTable` a vocabulary plus a matrix: row lookup by id or by word, one-hot
  lookup, nearest neighbours, analogies, a 2-D projection of chosen words, and a random
  table of the same shape (what a model starts from).
* :func:`load_pretrained` the real, trained table of the MiniLM sentence model
  (``all-MiniLM-L6-v2``: 30,522 lower-cased word-pieces, 384 dimensions), read offline
  from the files ``python -m course_lib.data setup`` fetched and verified.
* :func:`sinusoidal_positions` the fixed position vectors of "Attention Is All You Need",
  :class:`LearnedPositions` a trainable position table (random at first, like
  ``torch.nn.Embedding``), and :func:`load_pretrained_positions` MiniLM's learned ones.
* :func:`character_class`, :func:`nearest_other`, :func:`same_class_neighbour_rate` and
  :func:`chance_same_class_rate` measure whether tokens of one kind (digits, upper-case
  letters...) sit together in a table: lesson 02 uses them on the course model's characters.

Words and word-pieces
---------------------
MiniLM's vocabulary holds whole words ("tower") and word-pieces that continue a word
("##s" in "tower" + "##s" = "towers"). A word that is one entry is looked up directly. A
word the tokenizer splits into several pieces has no single row: by default the table
*refuses* and says how it was split (``MultiPieceWordError``); pass ``multi_piece="mean"``
to use the average of the pieces' vectors instead (a rough stand-in that is fine for
playing, not what the model itself does). Text the vocabulary cannot spell at all raises
``UnknownWordError`` with close vocabulary entries as suggestions.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from course_lib import data
from course_lib.arrays import require_array, require_ids, require_positive_int, require_real, to_numpy

__all__ = [
    "CHARACTER_CLASSES",
    "AnalogyResult",
    "EmbeddingError",
    "EmbeddingTable",
    "LearnedPositions",
    "MultiPieceWordError",
    "UnknownWordError",
    "add_positions",
    "chance_same_class_rate",
    "character_class",
    "cosine_matrix",
    "cosine_similarity",
    "load_pretrained",
    "load_pretrained_positions",
    "nearest_other",
    "one_hot",
    "pca_2d",
    "same_class_neighbour_rate",
    "sinusoidal_positions",
]

PRETRAINED_NAME = "MiniLM (all-MiniLM-L6-v2) word-piece embeddings"
_SPECIAL = re.compile(r"^\[[^\]]+\]$")  # [PAD], [CLS], [unused12], ...


class EmbeddingError(ValueError):
    """A request an embedding table cannot answer, with a message that says why."""


class UnknownWordError(EmbeddingError):
    """The word is not in the vocabulary and cannot be spelled with its word-pieces."""

    def __init__(self, message: str, word: str, suggestions: Sequence[str] = ()):
        super().__init__(message)
        self.word = word
        self.suggestions = list(suggestions)


class MultiPieceWordError(EmbeddingError):
    """The word exists only as several word-pieces, so it has no single row."""

    def __init__(self, message: str, word: str, pieces: Sequence[str]):
        super().__init__(message)
        self.word = word
        self.pieces = list(pieces)


# --------------------------------------------------------------------------- building blocks


def one_hot(ids: Iterable[int] | int, vocab_size: int) -> np.ndarray:
    """One row per id, all zeros except a 1 in the id's column: shape ``(len(ids), vocab_size)``."""
    vocab_size = require_positive_int("vocab_size", vocab_size)
    index = np.atleast_1d(to_numpy(require_ids("ids", ids, vocab_size, ndim=(0, 1))))
    out = np.zeros((len(index), vocab_size), dtype=np.float32)
    out[np.arange(len(index)), index] = 1.0
    return out


def cosine_similarity(a: object, b: object) -> float:
    """Cosine of the angle between two vectors: their dot product divided by both lengths (-1 to 1)."""
    u, v = (
        to_numpy(require_array("a", a, ndim=1, finite=True), np.float64),
        to_numpy(require_array("b", b, ndim=1, finite=True), np.float64),
    )
    if u.shape != v.shape:
        raise ValueError(f"a and b must have the same length, got {u.shape[0]} and {v.shape[0]}")
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        raise ValueError("cosine similarity is undefined for a zero vector (it has no direction)")
    return float(np.dot(u, v) / (nu * nv))


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)  # a zero row stays zero (similarity 0 to everything)


def cosine_matrix(x: object, y: object | None = None) -> np.ndarray:
    """Cosine similarity of every row of ``x`` with every row of ``y`` (default: ``x`` itself)."""
    a = _unit_rows(to_numpy(require_array("x", x, ndim=2, finite=True)).astype(np.float64))
    b = a if y is None else _unit_rows(to_numpy(require_array("y", y, ndim=2, finite=True)).astype(np.float64))
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x and y must have the same number of columns, got {a.shape[1]} and {b.shape[1]}")
    return a @ b.T


def pca_2d(points: object) -> tuple[np.ndarray, np.ndarray]:
    """Project rows onto their two main directions of variation (principal components, via SVD).

    Returns ``(coords, explained)``: the ``(n, 2)`` coordinates and the fraction of the total
    variance each of the two axes keeps. Signs are fixed (each axis points so that its largest
    loading is positive) so the picture does not flip between machines.
    """
    x = to_numpy(require_array("points", points, ndim=2, finite=True)).astype(np.float64)
    if x.shape[0] < 2:
        raise ValueError(f"pca_2d needs at least 2 points, got {x.shape[0]}")
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]
    if axes.shape[0] < 2:  # a single column: pad with a zero axis
        axes = np.vstack([axes, np.zeros((2 - axes.shape[0], x.shape[1]))])
    for row in axes:
        if row.size and row[np.argmax(np.abs(row))] < 0:
            row *= -1
    coords = centred @ axes.T
    total = float((s**2).sum())
    explained = np.zeros(2)
    if total > 0:
        kept = (s[:2] ** 2) / total
        explained[: len(kept)] = kept
    return coords, explained


# --------------------------------------------------------------------------- the table


@dataclass
class AnalogyResult:
    """``a - b + c``: the best matches (token, cosine similarity) and the rank of an expected answer."""

    a: str
    b: str
    c: str
    ranked: list[tuple[str, float]]
    expected: str | None = None
    rank: int | None = None  # 1 = the best match; None when no answer was expected

    def __str__(self) -> str:
        top = ", ".join(f"{token} ({similarity:.3f})" for token, similarity in self.ranked)
        text = f"{self.a} - {self.b} + {self.c} ~ {top}"
        if self.expected is not None:
            text += f"\n  '{self.expected}' is match number {self.rank}"
        return text


class EmbeddingTable:
    """A vocabulary and a matrix with one row per entry.

    ``lowercase``: fold words to lower case before looking them up (MiniLM's vocabulary is
    lower-cased). ``piece_prefix``: the mark of a word-piece that continues a word (``"##"``
    for MiniLM); with it, words outside the vocabulary are split the way the model's
    tokenizer splits them. ``special``: entries that never appear in search results
    (``[PAD]``, ``[CLS]``...); by default every entry written in square brackets.
    """

    def __init__(
        self,
        vocab: Sequence[str],
        matrix: object,
        *,
        name: str = "embedding table",
        lowercase: bool = False,
        piece_prefix: str | None = None,
        special: Iterable[str] | None = None,
    ):
        if isinstance(vocab, str) or not isinstance(vocab, Sequence):
            raise TypeError(f"vocab must be a list of strings, got {type(vocab).__name__}")
        vocab = list(vocab)
        for position, token in enumerate(vocab):
            if not isinstance(token, str):
                raise TypeError(f"vocab must hold strings; entry {position} is {type(token).__name__} {token!r:.40}")
        array = to_numpy(require_array("matrix", matrix, ndim=2, finite=True))
        if array.shape[0] != len(vocab):
            raise ValueError(
                f"matrix must have one row per vocabulary entry: the vocabulary has {len(vocab)} entries "
                f"but the matrix has shape {array.shape}"
            )
        if len(vocab) == 0:
            raise ValueError("vocab is empty: a table needs at least one entry")
        index: dict[str, int] = {}
        for position, token in enumerate(vocab):
            if token in index:
                raise ValueError(f"vocab lists {token!r} twice (entries {index[token]} and {position})")
            index[token] = position
        self.vocab: list[str] = vocab
        self.matrix: np.ndarray = np.ascontiguousarray(array, dtype=np.float32)
        self.index: dict[str, int] = index
        self.name = name
        self.lowercase = lowercase
        self.piece_prefix = piece_prefix
        specials = {t for t in vocab if _SPECIAL.match(t)} if special is None else set(special)
        self.searchable = np.array([t not in specials for t in vocab], dtype=bool)
        self._unit: np.ndarray | None = None

    # ----------------------------------------------------------------- basics

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def dim(self) -> int:
        return self.matrix.shape[1]

    def __len__(self) -> int:
        return len(self.vocab)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._normalise(word) in self.index

    def __repr__(self) -> str:
        return f"EmbeddingTable({self.name!r}: {self.vocab_size:,} entries x {self.dim} dimensions)"

    @property
    def unit(self) -> np.ndarray:
        """The rows scaled to length 1 (computed once), so a dot product with them is a cosine."""
        if self._unit is None:
            self._unit = _unit_rows(self.matrix)
        return self._unit

    # ----------------------------------------------------------------- words to rows

    def _normalise(self, word: str) -> str:
        if word in self.index:  # an entry written exactly as in the vocabulary, even " " or "\n"
            return word
        word = word.strip()
        if not self.lowercase:
            return word
        # An uncased BERT-style vocabulary also drops accents: "Café" is looked up as "cafe".
        decomposed = unicodedata.normalize("NFD", word.lower())
        return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")

    def _check_word(self, word: object, argument: str = "word") -> str:
        if not isinstance(word, str):
            raise TypeError(f"{argument} must be a str, got {type(word).__name__} {word!r:.40}")
        if not word.strip() and word not in self.index:  # a table of characters has rows for " " and "\n"
            raise EmbeddingError(f"{argument} is empty: type a word to look up")
        return self._normalise(word)

    def suggest(self, word: str, n: int = 5) -> list[str]:
        """Whole-word vocabulary entries that are spelled like ``word`` (closest first)."""
        target = self._normalise(word)
        pool = [
            t
            for t, ok in zip(self.vocab, self.searchable, strict=True)
            if ok and abs(len(t) - len(target)) <= 3 and not (self.piece_prefix and t.startswith(self.piece_prefix))
        ]
        return difflib.get_close_matches(target, pool, n=n, cutoff=0.6)

    def _wordpiece(self, word: str) -> list[str] | None:
        """Greedy longest-match-first split into vocabulary pieces (BERT's rule); None if impossible."""
        pieces: list[str] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while end > start:
                piece = word[start:end] if start == 0 else f"{self.piece_prefix}{word[start:end]}"
                if piece in self.index:
                    found = piece
                    break
                end -= 1
            if found is None:
                return None
            pieces.append(found)
            start = end
        return pieces

    def pieces(self, word: str) -> list[str]:
        """The vocabulary entries ``word`` is made of: ``[word]`` when it is one entry."""
        text = self._check_word(word)
        if text in self.index:
            return [text]
        pieces: list[str] = []
        for part in text.split():
            if part in self.index:
                pieces.append(part)
                continue
            split = self._wordpiece(part) if self.piece_prefix else None
            if split is None:
                suggestions = self.suggest(part)
                hint = f" Close entries: {', '.join(suggestions)}." if suggestions else ""
                how = "nor spelled with its word-pieces" if self.piece_prefix else "(this table has no word-pieces)"
                message = f"{part!r} is not in the vocabulary of {self.name} {how}.{hint}"
                raise UnknownWordError(message, part, suggestions)
            pieces.extend(split)
        return pieces

    def id_of(self, word: str) -> int:
        """The row number of a word that is a single vocabulary entry."""
        return self.index[self._single_piece(word)]

    def _single_piece(self, word: str) -> str:
        pieces = self.pieces(word)
        if len(pieces) == 1:
            return pieces[0]
        suggestions = self.suggest(word)
        hint = f" Close single entries: {', '.join(suggestions)}." if suggestions else ""
        raise MultiPieceWordError(
            f"{word!r} is not one vocabulary entry: the tokenizer splits it into {len(pieces)} pieces {pieces}, "
            f"so it has no row of its own. This table refuses rather than guess; call vector(word, "
            f"multi_piece='mean') to average the pieces' vectors, or pick a single entry.{hint}",
            word,
            pieces,
        )

    def vector(self, word: str, multi_piece: str = "error") -> np.ndarray:
        """The row of ``word``; for a word made of several pieces, refuse (default) or average them (``'mean'``)."""
        if multi_piece not in ("error", "mean"):
            raise ValueError(f"multi_piece must be 'error' or 'mean', got {multi_piece!r}")
        if multi_piece == "error":
            return self.matrix[self.id_of(word)].copy()
        rows = [self.index[p] for p in self.pieces(word)]
        return self.matrix[rows].mean(axis=0)

    def unit_vector(self, word: str, multi_piece: str = "error") -> np.ndarray:
        """The word's vector scaled to length 1 (its direction only)."""
        vector = self.vector(word, multi_piece)
        norm = np.linalg.norm(vector)
        if norm == 0:
            raise EmbeddingError(f"the vector of {word!r} is all zeros, so it has no direction")
        return vector / norm

    def lookup(self, ids: Iterable[int] | int) -> np.ndarray:
        """Rows by id: shape ``(len(ids), dim)``. This is all an embedding layer does."""
        return self.matrix[np.atleast_1d(to_numpy(require_ids("ids", ids, self.vocab_size, ndim=(0, 1))))]

    def one_hot(self, ids: Iterable[int] | int) -> np.ndarray:
        """One-hot rows for ``ids`` in this vocabulary: shape ``(len(ids), vocab_size)``."""
        return one_hot(ids, self.vocab_size)

    def one_hot_lookup(self, ids: Iterable[int] | int) -> np.ndarray:
        """The same rows as :meth:`lookup`, computed the slow way: one-hot matrix times the table."""
        return self.one_hot(ids) @ self.matrix

    # ----------------------------------------------------------------- similarity

    def _query(
        self, query: object, argument: str = "query", multi_piece: str = "error"
    ) -> tuple[np.ndarray, str | None]:
        """A query vector and, when the query was a word, the word's single entry (for exclusion)."""
        if isinstance(query, str):
            if multi_piece == "error":
                entry = self._single_piece(query)
                return self.matrix[self.index[entry]].astype(np.float64), entry
            return self.vector(query, multi_piece).astype(np.float64), None
        vector = to_numpy(require_array(argument, query, ndim=1, finite=True), np.float64)
        if vector.shape[0] != self.dim:
            raise ValueError(f"{argument} must have {self.dim} numbers (the table's width), got {vector.shape[0]}")
        return vector, None

    def similarity(self, a: object, b: object, multi_piece: str = "error") -> float:
        """Cosine similarity of two words (or vectors) in this table."""
        return cosine_similarity(self._query(a, "a", multi_piece)[0], self._query(b, "b", multi_piece)[0])

    def _rank(self, vector: np.ndarray, exclude: Iterable[str]) -> np.ndarray:
        norm = np.linalg.norm(vector)
        if norm == 0:
            raise EmbeddingError("the query vector is all zeros, so it has no direction to compare with")
        scores = self.unit @ (vector / norm).astype(np.float32)
        scores = scores.astype(np.float64)
        scores[~self.searchable] = -np.inf
        for token in exclude:
            if token in self.index:
                scores[self.index[token]] = -np.inf
        return scores

    def _check_k(self, k: object, available: int) -> int:
        k = require_positive_int("k", k)
        if k > available:
            raise EmbeddingError(
                f"k={k} is larger than the vocabulary: {self.name} has {self.vocab_size:,} entries, "
                f"{available:,} of which can be returned here"
            )
        return k

    @staticmethod
    def _top(scores: np.ndarray, k: int) -> np.ndarray:
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        return top[np.lexsort((top, -scores[top]))]  # by score, ties by id: stable everywhere

    def neighbours(
        self,
        query: object,
        k: int = 10,
        exclude_query: bool = True,
        exclude: Iterable[str] = (),
        multi_piece: str = "error",
    ) -> list[tuple[str, float]]:
        """The ``k`` entries most similar to ``query`` (a word or a vector), as (token, cosine) pairs."""
        vector, entry = self._query(query, multi_piece=multi_piece)
        excluded = set(exclude) | ({entry} if exclude_query and entry is not None else set())
        scores = self._rank(vector, excluded)
        k = self._check_k(k, int(np.isfinite(scores).sum()))
        return [(self.vocab[i], float(scores[i])) for i in self._top(scores, k)]

    def analogy(
        self, a: str, b: str, c: str, k: int = 5, expected: str | None = None, multi_piece: str = "error"
    ) -> AnalogyResult:
        """``a - b + c`` (e.g. king - man + woman): the closest entries, leaving out the three inputs.

        Each input is first scaled to length 1 so no word dominates because its vector is long
        (the usual way to solve word analogies). With ``expected``, ``rank`` says where that
        word lands among all entries (1 = the best match).
        """
        words = [self._check_word(w, name) for w, name in ((a, "a"), (b, "b"), (c, "c"))]
        vectors, entries = [], []
        for word in words:
            vector, entry = self._query(word, multi_piece=multi_piece)
            vectors.append(vector / np.linalg.norm(vector))
            if entry is not None:
                entries.append(entry)
        scores = self._rank(vectors[0] - vectors[1] + vectors[2], entries)
        k = self._check_k(k, int(np.isfinite(scores).sum()))
        ranked = [(self.vocab[i], float(scores[i])) for i in self._top(scores, k)]
        rank = None
        if expected is not None:
            target = self.index[self._single_piece(expected)]
            if not np.isfinite(scores[target]):
                raise EmbeddingError(f"expected answer {expected!r} is one of the inputs, so it cannot be ranked")
            # 1 + the number of entries that beat it (ties broken by id, like the ranking itself)
            better = (scores > scores[target]) | ((scores == scores[target]) & (np.arange(len(scores)) < target))
            rank = int(better.sum()) + 1
        return AnalogyResult(words[0], words[1], words[2], ranked, expected, rank)

    def project_2d(self, words: Sequence[str], multi_piece: str = "error") -> tuple[np.ndarray, np.ndarray]:
        """PCA coordinates of the chosen words' vectors (see :func:`pca_2d`)."""
        if isinstance(words, str) or len(words) < 2:
            raise ValueError(f"words must be a list of at least 2 words, got {words!r:.60}")
        return pca_2d(np.stack([self._query(w, "words", multi_piece)[0] for w in words]))

    def direction(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """A unit vector pointing "from a to b", averaged over the pairs, e.g. ``[("man", "woman"), ("he", "she")]``.

        Each word is scaled to length 1 first, so every pair counts equally.
        """
        if isinstance(pairs, str) or len(pairs) == 0:
            raise ValueError(f"pairs must be a non-empty list of (from, to) word pairs, got {pairs!r:.60}")
        steps = []
        for pair in pairs:
            if isinstance(pair, str) or len(pair) != 2:
                raise ValueError(f"each pair must be two words (from, to), got {pair!r:.60}")
            a, b = (self._query(w, "pairs")[0] for w in pair)
            steps.append(b / np.linalg.norm(b) - a / np.linalg.norm(a))
        mean = np.mean(steps, axis=0)
        norm = np.linalg.norm(mean)
        if norm == 0:
            raise EmbeddingError("the pairs cancel out: their average difference is the zero vector")
        return mean / norm

    def coordinates(self, words: Sequence[str], axes: Sequence[object]) -> np.ndarray:
        """How far each word's (unit) vector reaches along each axis: shape ``(len(words), len(axes))``.

        Axes are made perpendicular in the order given (the second loses its part along the
        first...), so each coordinate measures something the earlier axes do not. Each
        coordinate is a dot product with a unit vector.
        """
        if isinstance(words, str) or len(words) == 0:
            raise ValueError(f"words must be a non-empty list of words, got {words!r:.60}")
        basis: list[np.ndarray] = []
        for number, axis in enumerate(axes):
            v = to_numpy(require_array(f"axes[{number}]", axis, ndim=1, finite=True), np.float64)
            if v.shape[0] != self.dim:
                raise ValueError(f"axes[{number}] must have {self.dim} numbers, got {v.shape[0]}")
            for b in basis:
                v = v - (v @ b) * b
            norm = np.linalg.norm(v)
            if norm < 1e-9:
                raise EmbeddingError(f"axes[{number}] points along the earlier axes, so it adds no new direction")
            basis.append(v / norm)
        if not basis:
            raise ValueError("axes is empty: give at least one direction")
        vectors = np.stack([self._query(w, "words")[0] for w in words])
        return _unit_rows(vectors) @ np.stack(basis).T

    # ----------------------------------------------------------------- other tables

    def random_like(self, seed: int = 0) -> EmbeddingTable:
        """A table with the same vocabulary and shape, filled with random numbers of the same spread.

        This is what a model's embedding matrix looks like before training.
        """
        rng = np.random.default_rng(seed)
        std = float(self.matrix.std()) or 1.0
        matrix = rng.normal(0.0, std, size=self.matrix.shape).astype(np.float32)
        special = [t for t, ok in zip(self.vocab, self.searchable, strict=True) if not ok]
        return EmbeddingTable(
            self.vocab,
            matrix,
            name=f"random table (seed {seed})",
            lowercase=self.lowercase,
            piece_prefix=self.piece_prefix,
            special=special,
        )


@functools.cache
def _load_pretrained() -> EmbeddingTable:
    vocab = data.asset_path("minilm_vocab").read_text(encoding="utf-8").split("\n")
    if vocab and vocab[-1] == "":
        vocab.pop()
    matrix = np.load(data.asset_path("minilm_vectors"), allow_pickle=False).astype(np.float32)
    return EmbeddingTable(vocab, matrix, name=PRETRAINED_NAME, lowercase=True, piece_prefix="##")


def load_pretrained() -> EmbeddingTable:
    """MiniLM's trained word-piece embedding table (30,522 x 384), read from the verified local copy.

    Loaded once per session; run ``python -m course_lib.data setup`` first if it is missing.
    """
    return _load_pretrained()


def load_pretrained_positions() -> np.ndarray:
    """MiniLM's learned position vectors, one row per position 0..511 (shape 512 x 384)."""
    return np.load(data.asset_path("minilm_positions"), allow_pickle=False).astype(np.float32)


# --------------------------------------------------------------------------- positions


def sinusoidal_positions(n_positions: int, dim: int, base: float = 10000.0) -> np.ndarray:
    """The fixed position vectors of "Attention Is All You Need": shape ``(n_positions, dim)``.

    Column pair ``(2i, 2i + 1)`` holds ``sin`` and ``cos`` of ``position / base ** (2i / dim)``:
    the first columns wave quickly from one position to the next, the last ones very slowly,
    so every position gets a different pattern. An odd ``dim`` drops the final cosine.
    """
    n_positions, dim = require_positive_int("n_positions", n_positions), require_positive_int("dim", dim)
    base = require_real("base", base, low=0, low_open=True)
    positions = np.arange(n_positions, dtype=np.float64)[:, None]
    pair = np.arange(0, dim, 2, dtype=np.float64)  # 2i for each column pair
    angles = positions / base ** (pair / dim)
    out = np.zeros((n_positions, dim), dtype=np.float64)
    out[:, 0::2] = np.sin(angles)
    out[:, 1::2] = np.cos(angles[:, : dim // 2])
    return out.astype(np.float32)


class LearnedPositions:
    """A trainable table of position vectors, one row per position (a numpy ``nn.Embedding``).

    Rows start as small random numbers (normal, ``std`` 0.02 as in GPT-2) and training would
    adjust them. Unlike sinusoidal encodings, a learned table has a fixed number of rows, so
    a model using it cannot read past ``max_positions`` tokens.
    """

    def __init__(self, max_positions: int, dim: int, seed: int = 0, std: float = 0.02):
        self.max_positions = require_positive_int("max_positions", max_positions)
        self.dim = require_positive_int("dim", dim)
        std = require_real("std", std, low=0)
        rng = np.random.default_rng(seed)
        self.weight = rng.normal(0.0, std, size=(self.max_positions, self.dim)).astype(np.float32)

    def __call__(self, positions: Iterable[int] | int) -> np.ndarray:
        index = np.atleast_1d(to_numpy(require_ids("positions", positions, None, ndim=(0, 1), kind="position")))
        too_far = index[index >= self.max_positions]
        if too_far.size:
            raise EmbeddingError(
                f"position {too_far[0]} is past the end of this table: it has {self.max_positions} rows "
                f"(positions 0 to {self.max_positions - 1}); a learned table cannot encode later positions"
            )
        return self.weight[index]

    def __repr__(self) -> str:
        return f"LearnedPositions({self.max_positions} positions x {self.dim} dimensions)"


def add_positions(vectors: object, positions: object) -> np.ndarray:
    """Token vectors plus position vectors, row by row: what the first transformer layer receives."""
    x, p = (
        to_numpy(require_array("vectors", vectors, ndim=2, finite=True)),
        to_numpy(require_array("positions", positions, ndim=2, finite=True)),
    )
    if p.shape[1] != x.shape[1]:
        raise ValueError(
            f"vectors and positions must have the same width, got {x.shape[1]} and {p.shape[1]} dimensions"
        )
    if p.shape[0] < x.shape[0]:
        raise ValueError(f"need a position vector for each of the {x.shape[0]} tokens, got only {p.shape[0]}")
    return (x + p[: x.shape[0]]).astype(np.float32)


# --------------------------------------------------------------------------- do classes of tokens cluster?

CHARACTER_CLASSES = (
    "lower-case vowel",
    "lower-case consonant",
    "upper-case letter",
    "digit",
    "punctuation",
    "whitespace",
)


def character_class(char: str) -> str:
    """Which of :data:`CHARACTER_CLASSES` a single character belongs to.

    Vowels are a, e, i, o, u (y counts as a consonant); every character that is not a letter,
    a digit or whitespace counts as punctuation (so do symbols such as ``@`` or ``_``). A letter
    with no case (Chinese, Arabic...) fits none of the classes and is refused.
    """
    if not isinstance(char, str):
        raise TypeError(f"char must be a str, got {type(char).__name__} {char!r:.40}")
    if len(char) != 1:
        raise ValueError(f"char must be a single character, got {len(char)} characters: {char!r:.40}")
    if char.isspace():
        return "whitespace"
    if char.isdigit():
        return "digit"
    if char.isupper():
        return "upper-case letter"
    if char.islower():
        return "lower-case vowel" if char in "aeiou" else "lower-case consonant"
    if char.isalpha():
        raise ValueError(f"{char!r} is a letter with no upper or lower case, which none of the classes describes")
    return "punctuation"


def nearest_other(vectors: object) -> np.ndarray:
    """For each row, the index of the *other* row with the highest cosine similarity to it.

    Ties go to the lowest index, so the answer is the same on every machine.
    """
    x = to_numpy(require_array("vectors", vectors, ndim=2, finite=True))
    if x.shape[0] < 2:
        raise ValueError(f"vectors must have at least 2 rows to find a neighbour, got {x.shape[0]}")
    similarity = cosine_matrix(x)
    np.fill_diagonal(similarity, -np.inf)  # a row is not its own neighbour
    return np.argmax(similarity, axis=1)


def _check_labels(labels: object, n_rows: int | None = None) -> list:
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise TypeError(f"labels must be a list with one label per row, got {type(labels).__name__}")
    labels = list(labels)
    if n_rows is not None and len(labels) != n_rows:
        raise ValueError(f"labels must have one label per row: {n_rows} rows but {len(labels)} labels")
    if all(label is None for label in labels):
        raise ValueError("labels are all None: label at least one row to measure anything")
    return labels


def _per_class(hits: Sequence[float], labels: list, by_class: bool) -> dict[str, float] | float:
    """Average ``hits`` over the labelled rows, per class (in order of first appearance) or overall."""
    scored = [i for i, label in enumerate(labels) if label is not None]
    if not by_class:
        return float(np.mean([hits[i] for i in scored]))
    rates: dict[str, float] = {}
    for label in dict.fromkeys(labels[i] for i in scored):
        rates[label] = float(np.mean([hits[i] for i in scored if labels[i] == label]))
    return rates


def same_class_neighbour_rate(
    vectors: object, labels: Sequence[object], by_class: bool = True
) -> dict[str, float] | float:
    """How often a row's nearest other row (by cosine similarity) carries the same label.

    ``labels`` holds one label per row (e.g. :func:`character_class` of each character).
    Returns, for each label, the fraction of its rows whose nearest neighbour shares it, or
    with ``by_class=False`` one fraction over all labelled rows. A row labelled ``None`` is not
    scored and never counts as a match, but can still be another row's nearest neighbour. A
    class with a single row scores 0: it has no partner to find.
    """
    x = to_numpy(require_array("vectors", vectors, ndim=2, finite=True))
    labels = _check_labels(labels, x.shape[0])
    nearest = nearest_other(x)
    hits = [label is not None and labels[j] == label for label, j in zip(labels, nearest, strict=True)]
    return _per_class(hits, labels, by_class)


def chance_same_class_rate(labels: Sequence[object], by_class: bool = True) -> dict[str, float] | float:
    """What :func:`same_class_neighbour_rate` would give on average if each row's neighbour were a random other row.

    A row with ``n`` rows in its class (itself included) among ``N`` rows finds a classmate
    with probability ``(n - 1) / (N - 1)``. The baseline a trained table has to beat.
    """
    labels = _check_labels(labels)
    if len(labels) < 2:
        raise ValueError(f"labels must cover at least 2 rows, got {len(labels)}")
    counts: dict[object, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    odds = [0.0 if label is None else (counts[label] - 1) / (len(labels) - 1) for label in labels]
    return _per_class(odds, labels, by_class)


# --------------------------------------------------------------------------- text reports (behind the widgets)
