"""A walk through one forward pass of a course GPT, one step at a time, with the tensors it computed.

:func:`walk` runs the model once on a prompt, recording every intermediate tensor (the model's own
``capture``, :data:`course_lib.model.CAPTURE_KEYS`), and returns a :class:`Walkthrough`: the ordered
list of :class:`Step` s of that pass, from the token ids to the chosen next token::

    token ids, embedding lookup, position vectors,
    per block: LayerNorm 1, Q/K/V, scores, mask, softmax pattern, weighted values, output projection,
               residual add, LayerNorm 2, MLP up, GELU, MLP down, residual add,
    final LayerNorm, unembedding, probabilities, chosen token.

Each step has a one-line equation, the lesson that explains it, and its input and output tensors with
their shapes. The tensors are the ones the model computed, taken from its capture (``source`` says where
each comes from: ``capture: key``), the blocks' LayerNorm outputs and the attention scores before and
after the mask included. Only three things are not activations of the model, and are marked so:

* ``parameter:`` a weight table (the token embedding, used again as the unembedding);
* ``derived:`` the probabilities (a softmax of the last logits, at the walk's temperature: what
  :mod:`course_lib.sampling` draws from) and the chosen token;
* the token ids, from the tokenizer.

:meth:`Walkthrough.next` is "append and repeat": the chosen token is appended to the prompt and the
next token's walk begins. Works for any :class:`course_lib.model.GPT`: the course's model, a learner's
model from lesson 08, the toy sorter of :mod:`course_lib.toy_sort`.

This module holds the idea only: drawing it is :mod:`course_lib.lessons.walkthrough`'s job.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import torch

from course_lib.model import GPT
from course_lib.sampling import _check_temperature
from course_lib.tokenizers import show_piece

__all__ = ["AXIS_SYMBOLS", "LESSONS", "PART_KINDS", "Shown", "Step", "Walkthrough", "walk", "walk_ids"]

#: The lessons a step can point to, by number.
LESSONS = {
    "01": "01 · Tokens",
    "02": "02 · Embeddings",
    "03": "03 · Dot products",
    "04": "04 · Attention",
    "05": "05 · Softmax and temperature",
    "06": "06 · The MLP",
    "07": "07 · The forward pass",
}

#: The kinds of step, in the order one token's walk visits them (the block's kinds repeat per block).
EMBEDDING_KINDS = ("tokens", "embedding", "positions")
BLOCK_KINDS = (
    "ln1",
    "qkv",
    "scores",
    "mask",
    "pattern",
    "weighted",
    "proj",
    "resid_mid",
    "ln2",
    "mlp_up",
    "gelu",
    "mlp_down",
    "resid_post",
)
OUTPUT_KINDS = ("ln_f", "unembed", "probs", "choice")
PART_KINDS = EMBEDDING_KINDS + BLOCK_KINDS + OUTPUT_KINDS

#: How each axis of a shown tensor is written in a symbolic shape such as (H, T, T).
AXIS_SYMBOLS = {
    "position": "T",
    "key": "T",
    "head": "H",
    "head dim": "hs",
    "dimension": "C",
    "neuron": "4C",
    "vocabulary": "V",
    "token id": "V",
    "chosen": "1",
}


@dataclass(frozen=True)
class Shown:
    """One tensor a step shows: its name, its values (batch dimension removed), what each axis is, and
    where it comes from (``capture: key``, ``parameter: name``, ``derived: how`` or ``the tokenizer``)."""

    name: str
    values: torch.Tensor
    axes: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        if len(self.axes) != self.values.dim():
            raise ValueError(f"{self.name}: {self.values.dim()}-D values need {self.values.dim()} axis names")

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape)

    @property
    def symbols(self) -> str:
        """The shape in symbols, as lesson 07 writes it: ``(H, T, hs)``."""
        return "(" + ", ".join(AXIS_SYMBOLS[a] for a in self.axes) + ")"

    @property
    def capture_key(self) -> str | None:
        """The key of :data:`course_lib.model.CAPTURE_KEYS` these values were taken from, if any."""
        kind, _, key = self.source.partition(": ")
        return key if kind == "capture" else None


@dataclass(frozen=True)
class Step:
    """One step of the forward pass: what it computes (``equation``), which lesson explains it, and the
    tensors that go in and come out."""

    index: int
    key: str  # unique within a walk: "tokens", "blocks.1.scores", "choice"...
    kind: str  # one of PART_KINDS
    layer: int | None  # the block, for a block's steps
    title: str
    equation: str
    lesson: str  # a key of LESSONS
    inputs: tuple[Shown, ...]
    outputs: tuple[Shown, ...]

    @property
    def group(self) -> str:
        """Where the step sits in the model: "embedding", "block 0", "block 1"..., or "output"."""
        if self.layer is not None:
            return f"block {self.layer}"
        return "embedding" if self.kind in EMBEDDING_KINDS else "output"

    @property
    def lesson_title(self) -> str:
        return LESSONS[self.lesson]

    def tensors(self) -> tuple[Shown, ...]:
        return self.inputs + self.outputs


@dataclass
class Walkthrough:
    """The steps of one forward pass on ``ids``, and the token it chose. ``next()`` appends and repeats."""

    model: GPT
    tokenizer: object
    ids: list[int]
    steps: list[Step]
    capture: dict = field(repr=False)
    temperature: float | None = None  # None: greedy (the most likely token); else sampled at this temperature
    seed: int = 0

    def labels_of(self, ids: list[int]) -> list[str]:
        """Tokens as readable text (a space as '·', a newline as '↵')."""
        return [token_label(self.tokenizer, int(i)) for i in ids]

    @property
    def labels(self) -> list[str]:
        """Each position's token as readable text."""
        return self.labels_of(self.ids)

    @property
    def vocabulary(self) -> list[str]:
        """Every token of the vocabulary as readable text, by id."""
        return self.labels_of(range(self.model.config.vocab_size))

    @property
    def text(self) -> str:
        return self.tokenizer.decode(self.ids)

    @property
    def probs(self) -> torch.Tensor:
        """The next-token probabilities shown by the "probabilities" step."""
        return self.steps[-2].outputs[0].values

    @property
    def chosen_id(self) -> int:
        return int(self.steps[-1].outputs[0].values[0])

    @property
    def chosen(self) -> str:
        return self.tokenizer.decode([self.chosen_id])

    def step(self, key: str) -> Step:
        """The step called ``key`` ("blocks.0.pattern"...)."""
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(f"no step {key!r} in this walk; its steps are {[s.key for s in self.steps]}")

    def next(self) -> Walkthrough:
        """Append and repeat: the walk of the next token, on the prompt followed by the chosen token."""
        ids = self.ids + [self.chosen_id]
        block_size = self.model.config.block_size
        if len(ids) > block_size:
            raise ValueError(
                f"the context is full: the model reads at most block_size={block_size} tokens, and the text now "
                f"has {len(ids)}; start a new walk on a shorter prompt"
            )
        return walk_ids(self.model, self.tokenizer, ids, temperature=self.temperature, seed=self.seed)


def token_label(tokenizer, token_id: int) -> str:
    """One token as readable text, whatever kind of course tokenizer it comes from."""
    if hasattr(tokenizer, "token_bytes"):
        return show_piece(tokenizer.token_bytes(token_id))
    return show_piece(tokenizer.decode([token_id]))


# --------------------------------------------------------------------------- running the model


def _check_model(model, tokenizer) -> None:
    if not isinstance(model, GPT):
        raise TypeError(f"model must be a course_lib.model.GPT, got {type(model).__name__}")
    vocab = getattr(tokenizer, "vocab_size", None)
    if vocab is None or not hasattr(tokenizer, "encode") or not hasattr(tokenizer, "decode"):
        raise TypeError(
            f"tokenizer must be a course tokenizer (encode, decode, vocab_size), got {type(tokenizer).__name__}"
        )
    if vocab != model.config.vocab_size:
        raise ValueError(
            f"the tokenizer has {vocab} tokens but the model's vocab_size is {model.config.vocab_size}: "
            "give the tokenizer the model was trained with"
        )


def _check_choice(temperature, seed) -> None:
    if temperature is not None:
        _check_temperature(temperature)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r}")


def walk(model: GPT, tokenizer, prompt: str, *, temperature: float | None = None, seed: int = 0) -> Walkthrough:
    """Run ``model`` once on ``prompt`` and return the steps of that forward pass (see the module docstring).

    The next token is the most likely one (``temperature=None``), or drawn from the probabilities at
    ``temperature`` by a generator seeded with ``seed + len(ids)`` (so a walk, and each append-and-repeat
    after it, is repeatable). Refuses, with a message saying why, an empty prompt, a prompt with characters
    the tokenizer does not know, and a prompt longer than the model's context.
    """
    _check_model(model, tokenizer)
    _check_choice(temperature, seed)
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
    if not prompt:
        raise ValueError("prompt is empty: type at least one character for the model to continue")
    try:
        ids = tokenizer.encode(prompt)
    except ValueError as err:
        raise ValueError(f"prompt cannot be encoded: {err}") from None
    if not ids:
        raise ValueError(f"prompt {prompt!r} encodes to no tokens: give the model something to continue")
    return walk_ids(model, tokenizer, ids, temperature=temperature, seed=seed)


def walk_ids(model: GPT, tokenizer, ids: list[int], *, temperature: float | None = None, seed: int = 0) -> Walkthrough:
    """:func:`walk` for a prompt that is already token ids."""
    _check_model(model, tokenizer)
    _check_choice(temperature, seed)
    ids = [int(i) for i in ids]
    config = model.config
    if not ids:
        raise ValueError("ids is empty: give at least one token for the model to continue")
    if len(ids) > config.block_size:
        raise ValueError(
            f"the prompt has {len(ids)} tokens but the model reads at most block_size={config.block_size}: "
            "shorten it (the model has no position vector beyond its context)"
        )
    bad = [i for i in ids if not 0 <= i < config.vocab_size]
    if bad:
        raise ValueError(f"token id {bad[0]} is out of range: this model's ids are 0..{config.vocab_size - 1}")
    capture = _capture(model, ids)
    steps = _steps(model, ids, capture, temperature, seed + len(ids))
    return Walkthrough(model, tokenizer, ids, steps, capture, temperature, seed)


@torch.no_grad()
def _capture(model: GPT, ids: list[int]) -> dict:
    """One forward pass in eval mode, with the model's capture of every intermediate tensor."""
    capture: dict = {}
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        model(torch.tensor([ids], device=device), capture=capture)
    finally:
        model.train(was_training)
    return {key: value.cpu() for key, value in capture.items()}


# --------------------------------------------------------------------------- the steps

#: What each kind of step is called, its equation (filled in with the model's sizes) and the lesson that
#: explains it.
STEP_TEXT = {
    "tokens": ("token ids", "ids = tokenizer.encode(prompt): one id per token", "01"),
    "embedding": ("embedding lookup", "E[t] = W_te[ids[t]]: row ids[t] of the token table", "02"),
    "positions": ("position vectors", "x = E + W_pe[0 .. T-1]: add the vector of each position", "02"),
    "ln1": ("LayerNorm 1", "LN₁(x) = (x - mean) / √(var + ε) · γ + β, each position on its own", "07"),
    "qkv": (
        "queries, keys, values",
        "Q, K, V = LN₁(x) W_Q, LN₁(x) W_K, LN₁(x) W_V (+ biases), split into {n_head} heads of {hs}",
        "04",
    ),
    "scores": ("attention scores", "scores = Q Kᵀ / √{hs}: every query against every key, per head", "04"),
    "mask": ("causal mask", "scores[i, j] = -∞ where j > i: no position looks ahead", "04"),
    "pattern": ("softmax pattern", "pattern = softmax(masked scores) along each row: weights summing to 1", "04"),
    "weighted": ("weighted values", "out_h = pattern_h V_h: each position's weighted sum of values", "04"),
    "proj": (
        "output projection",
        "attn = concat(out_1 .. out_{n_head}) W_O + b_O: the heads side by side, mixed",
        "04",
    ),
    "resid_mid": ("residual add", "x = x + attn: attention adds to the stream, overwriting nothing", "07"),
    "ln2": ("LayerNorm 2", "LN₂(x) = (x - mean) / √(var + ε) · γ + β, each position on its own", "07"),
    "mlp_up": ("MLP up", "u = LN₂(x) W_up + b_up: {n_embd} → {n_hidden} neurons, each position on its own", "06"),
    "gelu": ("GELU", "g = GELU(u): a neuron fires (positive) or stays near 0", "06"),
    "mlp_down": ("MLP down", "mlp = g W_down + b_down: {n_hidden} → {n_embd}", "06"),
    "resid_post": ("residual add", "x = x + mlp: the MLP adds to the stream", "07"),
    "ln_f": ("final LayerNorm", "LN_f(x): the stream, normalised once more", "07"),
    "unembed": ("unembedding", "logits = LN_f(x) W_teᵀ: a dot product with every token's embedding", "07"),
    "probs": ("probabilities", "p = softmax(logits[T-1]{scaled}): the last position's scores as probabilities", "05"),
    "choice": ("chosen token", "next = {rule}, then append it and repeat", "05"),
}


def _steps(model: GPT, ids: list[int], capture: dict, temperature: float | None, seed: int) -> list[Step]:
    config = model.config
    sizes = {
        "n_head": config.n_head,
        "hs": config.head_size,
        "n_embd": config.n_embd,
        "n_hidden": 4 * config.n_embd,
        "scaled": "" if temperature is None else f" / {temperature:g}",
        "rule": "argmax p (greedy)" if temperature is None else f"a draw from p (seed {seed})",
    }
    steps: list[Step] = []

    def add(kind: str, layer: int | None, inputs: list[Shown], outputs: list[Shown]) -> None:
        title, equation, lesson = STEP_TEXT[kind]
        key = kind if layer is None else f"blocks.{layer}.{kind}"
        title = title if layer is None else f"block {layer} · {title}"
        steps.append(
            Step(len(steps), key, kind, layer, title, equation.format(**sizes), lesson, tuple(inputs), tuple(outputs))
        )

    def captured(key: str, name: str, *axes: str, batched: bool = True) -> Shown:
        values = capture[key][0] if batched else capture[key]
        return Shown(name, values, axes, f"capture: {key}")

    row, heads, square = ("position", "dimension"), ("head", "position", "head dim"), ("head", "position", "key")
    ids_shown = Shown("token ids", torch.tensor(ids), ("position",), "the tokenizer")
    table = Shown("W_te", model.tok_emb.weight.detach().cpu(), ("token id", "dimension"), "parameter: tok_emb.weight")
    tok = captured("tok_emb", "token vectors", *row)
    stream = captured("embed", "x (residual stream)", *row)
    add("tokens", None, [], [ids_shown])
    add("embedding", None, [ids_shown, table], [tok])
    add("positions", None, [tok, captured("pos_emb", "position vectors", *row, batched=False)], [stream])

    for i in range(config.n_layer):
        b = f"blocks.{i}"
        ln1 = captured(f"{b}.ln1", "LN₁(x)", *row)
        q, k, v = (captured(f"{b}.attn.{n}", n.upper(), *heads) for n in ("q", "k", "v"))
        scores = captured(f"{b}.attn.scores", "scores", *square)
        masked = captured(f"{b}.attn.masked_scores", "masked scores", *square)
        pattern = captured(f"{b}.attn.pattern", "pattern", *square)
        head_out = captured(f"{b}.attn.head_out", "heads' outputs", *heads)
        attn = captured(f"{b}.attn.out", "attention output", *row)
        mid = captured(f"{b}.resid_mid", "x (residual stream)", *row)
        ln2 = captured(f"{b}.ln2", "LN₂(x)", *row)
        up = captured(f"{b}.mlp.pre", "neurons before GELU", "position", "neuron")
        act = captured(f"{b}.mlp.post", "neurons after GELU", "position", "neuron")
        down = captured(f"{b}.mlp.out", "MLP output", *row)
        post = captured(f"{b}.resid_post", "x (residual stream)", *row)
        add("ln1", i, [stream], [ln1])
        add("qkv", i, [ln1], [q, k, v])
        add("scores", i, [q, k], [scores])
        add("mask", i, [scores], [masked])
        add("pattern", i, [masked], [pattern])
        add("weighted", i, [pattern, v], [head_out])
        add("proj", i, [head_out], [attn])
        add("resid_mid", i, [stream, attn], [mid])
        add("ln2", i, [mid], [ln2])
        add("mlp_up", i, [ln2], [up])
        add("gelu", i, [up], [act])
        add("mlp_down", i, [act], [down])
        add("resid_post", i, [mid, down], [post])
        stream = post

    final = captured("ln_f", "LN_f(x)", *row)
    logits = captured("logits", "logits", "position", "vocabulary")
    scale = 1.0 if temperature is None else temperature
    probs = torch.softmax(logits.values[-1].double() / scale, dim=-1)
    if temperature is None:
        chosen, how = int(torch.argmax(probs)), "derived: argmax of p"
    else:
        chosen = int(torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(seed)))
        how = f"derived: drawn from p with seed {seed}"
    probs_shown = Shown("p", probs, ("vocabulary",), "derived: softmax of the last position's logits")
    add("ln_f", None, [stream], [final])
    add("unembed", None, [final, table], [logits])
    add("probs", None, [logits], [probs_shown])
    add("choice", None, [probs_shown], [Shown("next token id", torch.tensor([chosen]), ("chosen",), how)])
    return steps
