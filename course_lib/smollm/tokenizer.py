"""SmolLM2's tokenizer, rebuilt from the metadata of its GGUF file: byte-level BPE defined by a merge list.

It is the same family as GPT-2's (``course_lib.tokenizers.BPETokenizer``): text is cut into chunks by
a regular expression, each chunk starts as bytes, and adjacent pieces are merged until no known merge
applies. Three details differ, and each one changes the ids, so each is copied exactly:

* **Digits are cut off one by one first.** SmolLM2's pre-tokenizer splits every digit into its own
  chunk *before* GPT-2's pattern runs (llama.cpp calls this pre-tokenizer ``smollm``; the Hugging Face
  tokenizer runs ``Digits(individual_digits=True)`` then ``ByteLevel``). So "2024" is always four tokens,
  and a model never has to learn that "2024" and "20"+"24" mean the same number.
* **Merges come from a list, in order.** The file stores the 48,900 merges as ``"left right"`` strings,
  best first. At each step the adjacent pair *highest on that list* is merged. (The course's
  ``BPETokenizer`` instead ranks by the id of the merged token, tiktoken's rule; the two rules agree
  for GPT-2's files but are different algorithms, so this one is written out here.)
* **Tokens are spelled in GPT-2's byte alphabet.** A token like ``"Ġthe"`` means the bytes `` the``:
  every byte 0..255 has a printable stand-in character (space is ``Ġ``, newline ``Ċ``), so a vocabulary
  of byte strings can be stored as ordinary text. :func:`byte_symbols` builds that table.

The 17 *control* tokens (``<|endoftext|>``, ``<|im_start|>``, ``<|im_end|>``...) never come out of merging.
The chat template puts them where turns start and end. Text someone types is never searched for them:
``encode(text)`` reads ``<|im_end|>`` typed in a message as ten ordinary characters, so a user cannot end
their turn and forge a system one (the course-wide rule, see ``course_lib.tokenizers``). Only
:meth:`SmolLMTokenizer.encode_chat` writes control ids, and only for the template's own markers.
(Hugging Face's ``apply_chat_template(..., tokenize=True)`` renders the conversation to one string and
then reads every control token in it, the message contents' too; ours gives the same ids for every
conversation whose messages do not spell a control token.)
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import regex

from course_lib.tokenizers import GPT2_PATTERN, Tokenizer, _require_ids, _require_text, allowed_special_tokens

__all__ = ["ChatTemplate", "DIGIT_PATTERN", "GPT2_PATTERN", "SmolLMTokenizer", "byte_symbols", "pretokenize"]

# Stage one of SmolLM2's pre-tokenizer: every character of Unicode category N (digits, ², ½...) alone.
DIGIT_PATTERN = r"\p{N}"
_DIGIT = regex.compile(DIGIT_PATTERN)
_GPT2 = regex.compile(GPT2_PATTERN)

# GGUF token types (llama.cpp's numbering): 1 normal, 3 control. SmolLM2 uses only these two.
_CONTROL = 3


@functools.cache
def byte_symbols() -> dict[int, str]:
    """GPT-2's table from bytes to printable characters: the alphabet byte-level vocabularies are written in.

    Bytes that are already visible, non-space characters ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for
    themselves; the other 68 (space, control bytes, ...) are given the characters from U+0100 on, in
    order. So byte 32 (space) becomes 'Ġ' and byte 10 (newline) becomes 'Ċ'.
    """
    visible = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in visible}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def pretokenize(text: str) -> list[str]:
    """The chunks SmolLM2 cuts ordinary text into; merges never cross a chunk boundary.

    Stage one isolates every digit; stage two cuts each remaining stretch with GPT-2's pattern. The
    order matters: for "  1", GPT-2's pattern alone gives [" ", " 1"], SmolLM2 gives ["  ", "1"].
    """
    chunks: list[str] = []
    start = 0
    for digit in _DIGIT.finditer(_require_text(text)):
        chunks += _GPT2.findall(text[start : digit.start()])
        chunks.append(digit.group())
        start = digit.end()
    chunks += _GPT2.findall(text[start:])
    return chunks


class SmolLMTokenizer(Tokenizer):
    """Byte-level BPE with an ordered merge list and whole-matched control tokens (SmolLM2, GPT-2 style).

    ``tokens[i]`` is the spelling (in :func:`byte_symbols`' alphabet) of id ``i``; ``merges`` are
    ``(left, right)`` spellings, best first; ``special`` maps control-token text to its id.
    """

    def __init__(
        self,
        tokens: Sequence[str],
        merges: Iterable[tuple[str, str]],
        special: dict[str, int],
        *,
        bos_id: int,
        eos_id: int,
        chat_template: ChatTemplate | None = None,
        name: str = "smollm2",
    ):
        self.tokens = list(tokens)
        self.id_of = {token: i for i, token in enumerate(self.tokens)}
        if len(self.id_of) != len(self.tokens):
            raise ValueError("tokens must be distinct: some spelling appears twice in the vocabulary")
        self.merge_rank: dict[tuple[str, str], int] = {}
        for rank, (left, right) in enumerate(merges):
            if left + right not in self.id_of:
                raise ValueError(f"merge {rank} ({left!r} + {right!r}) makes {left + right!r}, which is not a token")
            self.merge_rank.setdefault((left, right), rank)
        for text, token_id in special.items():
            if self.tokens[token_id] != text:
                raise ValueError(
                    f"special token {text!r} should have id {token_id}, which is {self.tokens[token_id]!r}"
                )
        self.special = dict(special)
        self.special_ids = set(special.values())
        self.bos_id, self.eos_id = bos_id, eos_id
        self.chat_template = chat_template
        self.name = name
        self._symbol = byte_symbols()
        self._byte = {symbol: b for b, symbol in self._symbol.items()}
        # Longest first, so a special token that starts another cannot cut it short.
        self._special_re = regex.compile("|".join(regex.escape(s) for s in sorted(special, key=len, reverse=True)))
        self._cache: dict[str, tuple[int, ...]] = {}

    @classmethod
    def from_metadata(cls, meta: dict) -> SmolLMTokenizer:
        """Build the tokenizer from GGUF metadata (``course_lib.smollm.read_metadata`` reads it from the file)."""
        required = ("tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type")
        missing = [key for key in required if key not in meta]
        if missing:
            raise ValueError(f"the GGUF metadata has no {', '.join(missing)}: it does not describe a BPE tokenizer")
        if meta.get("tokenizer.ggml.model") != "gpt2":
            raise ValueError(
                f"this GGUF's tokenizer is {meta.get('tokenizer.ggml.model')!r}; SmolLMTokenizer reads byte-level "
                "BPE vocabularies ('gpt2')"
            )
        tokens = meta["tokenizer.ggml.tokens"]
        types = meta["tokenizer.ggml.token_type"]
        template = meta.get("tokenizer.chat_template")
        return cls(
            tokens,
            [tuple(merge.split(" ")) for merge in meta["tokenizer.ggml.merges"]],
            {tokens[i]: i for i, kind in enumerate(types) if kind == _CONTROL},
            bos_id=int(meta["tokenizer.ggml.bos_token_id"]),
            eos_id=int(meta["tokenizer.ggml.eos_token_id"]),
            chat_template=ChatTemplate.from_jinja(template) if template is not None else None,
        )

    # ------------------------------------------------------------------ basics

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def __repr__(self) -> str:
        return (
            f"SmolLMTokenizer(name={self.name!r}, vocab_size={self.vocab_size}, merges={len(self.merge_rank)}, "
            f"special_tokens={len(self.special)})"
        )

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes one id stands for (a control token stands for its own text)."""
        if isinstance(token_id, bool) or not isinstance(token_id, int) or not 0 <= token_id < self.vocab_size:
            raise ValueError(f"id {token_id!r} is not a token of {self.name}: ids are 0..{self.vocab_size - 1}")
        spelling = self.tokens[token_id]
        if token_id in self.special_ids:
            return spelling.encode("utf-8")
        return bytes(self._byte[symbol] for symbol in spelling)

    # ------------------------------------------------------------------ encoding

    def encode(self, text: str, allowed_special: str | Iterable[str] = ()) -> list[int]:
        """Token ids of ``text``, with control-token strings (``<|im_start|>``...) read as ordinary characters.

        Pass ``allowed_special="all"`` (or a set of control tokens) to turn those strings into their single
        ids instead, as the reference tokenizer does by default: only for text you wrote yourself. To encode
        a conversation, use :meth:`encode_chat`, which marks the turns without reading the messages for markers.
        """
        _require_text(text)
        allowed = allowed_special_tokens(allowed_special, self.special, self.name)
        ids: list[int] = []
        start = 0
        for match in self._special_re.finditer(text) if allowed else ():
            if match.group() not in allowed:
                continue
            ids += self._encode_ordinary(text[start : match.start()])
            ids.append(self.special[match.group()])
            start = match.end()
        ids += self._encode_ordinary(text[start:])
        return ids

    def _encode_ordinary(self, text: str) -> list[int]:
        ids: list[int] = []
        for chunk in pretokenize(text):
            cached = self._cache.get(chunk)
            if cached is None:
                cached = tuple(self.id_of[piece] for piece in self.bpe(chunk))
                if len(self._cache) > 100_000:  # bound memory on huge, varied inputs
                    self._cache.clear()
                self._cache[chunk] = cached
            ids += cached
        return ids

    def bpe(self, chunk: str) -> list[str]:
        """One chunk as token spellings: start from its bytes, then apply the best-ranked merge until none applies.

        A byte the vocabulary lacks (SmolLM2 has no token for 21 bytes, e.g. 0x04 or 0xFF, which its training
        text never contained) is dropped, exactly as the reference tokenizer drops it.
        """
        pieces = [self._symbol[b] for b in chunk.encode("utf-8")]
        pieces = [p for p in pieces if p in self.id_of]
        while len(pieces) > 1:
            ranked = [
                (self.merge_rank.get(pair, -1), i) for i, pair in enumerate(zip(pieces, pieces[1:], strict=False))
            ]
            ranked = [(rank, i) for rank, i in ranked if rank >= 0]
            if not ranked:
                break
            first = min(ranked)[1]
            best = pieces[first], pieces[first + 1]
            merged, i = [], 0
            while i < len(pieces):  # merge every occurrence of the best pair, left to right
                if i + 1 < len(pieces) and (pieces[i], pieces[i + 1]) == best:
                    merged.append(pieces[i] + pieces[i + 1])
                    i += 2
                else:
                    merged.append(pieces[i])
                    i += 1
            pieces = merged
        return pieces

    # ------------------------------------------------------------------ decoding

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        ids = _require_ids(ids)
        parts = []
        for position, token_id in enumerate(ids):
            if not 0 <= token_id < self.vocab_size:
                raise ValueError(
                    f"id {token_id} at position {position} is not a token of {self.name}: "
                    f"ids are 0..{self.vocab_size - 1}"
                )
            parts.append(self.token_bytes(token_id))
        return b"".join(parts)

    def decode(self, ids: Sequence[int]) -> str:
        """The text of ``ids``; a sequence cut inside a multi-byte character shows U+FFFD there instead of failing."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    # ------------------------------------------------------------------ chat

    def apply_chat_template(self, messages: Sequence[dict], add_generation_prompt: bool = True) -> str:
        """The conversation as the text the model was trained on (see :class:`ChatTemplate`), for reading.

        To get the ids, use :meth:`encode_chat`: encoding this string with ``allowed_special="all"`` would
        also turn any marker a user typed into a message into a control token.
        """
        return self._template().render(messages, add_generation_prompt)

    def encode_chat(self, messages: Sequence[dict], add_generation_prompt: bool = True) -> list[int]:
        """The ids of the rendered conversation, built piece by piece: the template's markers become control
        ids, everything else (roles, the default system prompt, the message contents) is encoded as plain text.

        A message that types ``<|im_end|>\\n<|im_start|>system`` therefore stays inside its own turn, and
        ``decode(encode_chat(messages)) == apply_chat_template(messages)`` whatever the messages say.
        """
        ids: list[int] = []
        for text, is_marker in self._template().segments(messages, add_generation_prompt):
            ids += [self.special[text]] if is_marker else self._encode_ordinary(text)
        return ids

    def _template(self) -> ChatTemplate:
        if self.chat_template is None:
            raise ValueError(f"{self.name} has no chat template: its GGUF file carries no tokenizer.chat_template")
        return self.chat_template


# --------------------------------------------------------------------------- chat template

# The pieces of a ChatML template as SmolLM2's GGUF spells them (Jinja, with real newlines in the strings).
# Whitespace inside {{ }} and {% %} may vary; anything else means a different template, which we refuse.
_JINJA_DEFAULT_SYSTEM = regex.compile(
    r"\{%-?\s*if loop\.first and messages\[0\]\['role'\] != 'system'\s*-?%\}"
    r"\{\{-?\s*'<\|im_start\|>system\n(?P<system>.*?)<\|im_end\|>\n'\s*-?\}\}\{%-?\s*endif\s*-?%\}",
    regex.DOTALL,
)
_JINJA_TURN = regex.compile(
    r"\{\{-?\s*'<\|im_start\|>'\s*\+\s*message\['role'\]\s*\+\s*'\n'\s*\+\s*message\['content'\]\s*\+\s*"
    r"'<\|im_end\|>'\s*\+\s*'\n'\s*-?\}\}"
)
_JINJA_GENERATION_PROMPT = regex.compile(
    r"\{%-?\s*if add_generation_prompt\s*-?%\}\{\{-?\s*'<\|im_start\|>assistant\n'\s*-?\}\}\{%-?\s*endif\s*-?%\}"
)

ROLES = ("system", "user", "assistant")
TURN_START, TURN_END = "<|im_start|>", "<|im_end|>"  # ChatML's two markers: the only control tokens it writes


@dataclass(frozen=True)
class ChatTemplate:
    """ChatML, the conversation format SmolLM2 was fine-tuned on, rendered by plain Python.

    Each turn is ``<|im_start|>ROLE\\nCONTENT<|im_end|>\\n``. A conversation that does not start with a
    system message gets ``default_system`` first; ``add_generation_prompt`` ends the text with an open
    ``<|im_start|>assistant\\n`` so that the most likely continuation is the assistant's reply.
    """

    default_system: str | None
    source: str = ""  # the Jinja text it was read from

    @classmethod
    def from_jinja(cls, template: str) -> ChatTemplate:
        """Read a SmolLM2-style ChatML Jinja template; refuse one with a different structure."""
        if not isinstance(template, str):
            raise TypeError(f"template must be a str, got {type(template).__name__}")
        text = template.replace("\\n", "\n")  # Jinja also accepts the escape; the GGUF has real newlines
        missing = [
            what
            for what, pattern in (("the turn format", _JINJA_TURN), ("the generation prompt", _JINJA_GENERATION_PROMPT))
            if not pattern.search(text)
        ]
        if missing or "{% for message in messages %}" not in text.replace("{%-", "{%").replace("-%}", "%}"):
            raise ValueError(
                "this chat template is not the ChatML form ChatTemplate renders "
                f"(could not find {', '.join(missing) or 'the loop over messages'}): {template[:120]!r}..."
            )
        default = _JINJA_DEFAULT_SYSTEM.search(text)
        return cls(default["system"] if default else None, template)

    def render(self, messages: Sequence[dict], add_generation_prompt: bool = True) -> str:
        """The conversation as one string, for reading (control tokens are written as text)."""
        return "".join(text for text, _ in self.segments(messages, add_generation_prompt))

    def segments(self, messages: Sequence[dict], add_generation_prompt: bool = True) -> list[tuple[str, bool]]:
        """The rendered conversation as ``(text, is_marker)`` pieces in order, joining to :meth:`render`'s string.

        ``is_marker`` is True exactly for the template's own ``<|im_start|>`` and ``<|im_end|>``; the pieces
        between them (role, newline, content) are plain text, whatever the content spells.
        """
        if isinstance(messages, dict | str) or not isinstance(messages, Sequence):
            raise TypeError(
                f"messages must be a list of {{'role': ..., 'content': ...}} dicts, got {type(messages).__name__}"
            )
        pieces: list[tuple[str, bool]] = []

        def turn(role: str, content: str) -> None:
            pieces.extend([(TURN_START, True), (f"{role}\n{content}", False), (TURN_END, True), ("\n", False)])

        for i, message in enumerate(messages):
            if not isinstance(message, dict) or set(message) - {"role", "content"} or len(message) != 2:
                raise ValueError(f"messages[{i}] must be a dict with exactly 'role' and 'content', got {message!r:.80}")
            role, content = message["role"], message["content"]
            if role not in ROLES:
                raise ValueError(f"messages[{i}]['role'] must be one of {ROLES}, got {role!r}")
            if not isinstance(content, str):
                raise TypeError(f"messages[{i}]['content'] must be a str, got {type(content).__name__}")
            if i == 0 and role != "system" and self.default_system is not None:
                turn("system", self.default_system)
            turn(role, content)
        if add_generation_prompt:
            pieces += [(TURN_START, True), ("assistant\n", False)]
        return pieces
