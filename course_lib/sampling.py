"""Turning a model's scores into text: softmax with temperature, top-k / top-p filters, and generation.

The pure functions (:func:`softmax`, :func:`entropy`, :func:`top_k_filter`, :func:`top_p_filter`)
take numpy arrays, lists or torch tensors and return the same kind (numpy for lists), working on
the last axis. :func:`next_token_logits` asks a model (the course's GPT or SmolLM2) for its scores for the
token after a prompt. :func:`generate` runs either model one token at a time, with a KV cache so each
step only processes the newest token: it is the one generation loop of the course (``smollm.chat`` wraps it).

A *course model* is a ``torch.nn.Module`` whose ``config`` has ``vocab_size`` and ``block_size``, whose
``model(idx, kv_cache=...)`` returns ``(logits, loss)``, and whose ``new_cache(n)`` makes an empty KV
cache for ``n`` positions: :class:`course_lib.model.GPT` and :class:`course_lib.smollm.SmolLM`. This module
imports neither, so the maths below it (attention, the models) can use :func:`softmax`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

import numpy as np
import torch

from course_lib.arrays import (
    Array,
    is_torch,
    require_array,
    require_finite,
    require_ids,
    require_int,
    require_not_fully_masked,
    require_positive_int,
    require_probabilities,
    require_real,
)

__all__ = [
    "entropy",
    "generate",
    "generate_at_temperatures",
    "generate_text",
    "next_token_logits",
    "sample_next",
    "softmax",
    "top_k_filter",
    "top_p_filter",
]


# --------------------------------------------------------------------------- pure functions


def _scores(name: str, logits) -> Array:
    """``logits`` as floats (torch stays torch; anything else a float64 numpy array), checked.

    A score may be -inf (a masked entry: probability 0), but not NaN or +inf, and every row needs at
    least one score above -inf, or softmax would have nothing to give probability to.
    """
    x = require_array(name, logits, 1, nonempty=True)
    if is_torch(x):
        x = x if x.is_floating_point() else x.double()
    else:
        x = np.asarray(x, dtype=np.float64)
    require_finite(name, x, allow_neg_inf=True)
    return require_not_fully_masked(name, x)


_GREEDY_HINT = "As T -> 0 sampling becomes greedy decoding (always the most likely token): use greedy=True for that."


def _check_temperature(temperature, name: str = "temperature") -> float:
    return require_real(name, temperature, low=0, low_open=True, hint=_GREEDY_HINT)


def _divide_by_temperature(name: str, x: Array, temperature: float) -> Array:
    """``x / temperature``, refusing a temperature so small that the division overflows to infinity."""
    with np.errstate(over="ignore"):  # an overflow is reported below, in words
        scaled = x / temperature
    if temperature < 1:  # only dividing by a number below 1 can overflow
        if is_torch(scaled):
            overflow = bool(torch.isposinf(scaled).any()) or not bool((scaled > float("-inf")).any(dim=-1).all())
        else:
            overflow = bool(np.isposinf(scaled).any()) or not bool((scaled > -np.inf).any(axis=-1).all())
        if overflow:
            raise ValueError(
                f"temperature={temperature!r} is too small for these {name}: {name} / temperature overflows "
                f"{scaled.dtype}. {_GREEDY_HINT}"
            )
    return scaled


def _check_top_k(k) -> int:
    return require_positive_int("k", k, hint="k=1 keeps only the most likely token (greedy)")


def _check_top_p(p) -> float:
    return require_real("p", p, low=0, high=1, low_open=True)


def softmax(logits, temperature: float = 1.0, *, name: str = "logits"):
    """exp(logits / T), normalised to sum to 1 over the last axis.

    The largest logit is subtracted first: softmax does not change when a constant is subtracted
    from every input, and then exp() never sees a large positive number, so it cannot overflow.
    Higher T flattens the distribution; lower T sharpens it.

    A logit of -inf is a masked entry and gets probability 0; NaN, +inf and a row with every
    logit -inf are refused (ValueError), as is a temperature that is not a finite number > 0.
    ``name`` is what error messages call ``logits``.
    """
    temperature = _check_temperature(temperature)
    x = _divide_by_temperature(name, _scores(name, logits), temperature)
    if isinstance(x, torch.Tensor):
        return torch.softmax(x, dim=-1)  # torch's softmax subtracts the max itself
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def entropy(probs, base: float = math.e):
    """Entropy of a distribution over the last axis, in nats (base e) or bits (base=2).

    0 when one outcome is certain; log(n) when n outcomes are equally likely. Zero probabilities
    contribute nothing (p log p -> 0 as p -> 0). ``probs`` must be a distribution (entries >= 0
    that add up to 1, see :func:`course_lib.arrays.require_probabilities`): the entropy of raw
    scores would be a number that means nothing, so they are refused.
    """
    base = require_real("base", base, low=0, low_open=True)
    if base == 1:
        raise ValueError("base must not be 1: log(1) = 0, so no entropy can be measured in base 1 (use 2 or e)")
    p = require_probabilities("probs", probs)
    if isinstance(p, torch.Tensor):
        p = p if p.is_floating_point() else p.double()
        return torch.special.entr(p).sum(dim=-1) / math.log(base)  # entr(p) = -p log p, and 0 at p = 0
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return terms.sum(axis=-1) / math.log(base)


def top_k_filter(logits, k: int):
    """Keep the k largest logits of each row, set the others to -inf (so softmax gives them 0).

    Logits tied with the k-th largest are kept too, so a row can keep more than k on ties. A ``k``
    at least as large as the vocabulary keeps every logit (the result is a copy of ``logits``).
    """
    k = _check_top_k(k)
    x = _scores("logits", logits)
    if k >= x.shape[-1]:
        return x.clone() if isinstance(x, torch.Tensor) else x.copy()
    if isinstance(x, torch.Tensor):
        kth = torch.topk(x, k, dim=-1).values[..., -1:]
        return x.masked_fill(x < kth, float("-inf"))
    kth = np.sort(x, axis=-1)[..., -k][..., None]
    return np.where(x < kth, -np.inf, x)


def top_p_filter(logits, p: float):
    """Nucleus filter: keep the most likely tokens until their probabilities add up to at least p.

    The most likely token is always kept, so p close to 0 means greedy and p = 1 keeps everything.
    """
    p = _check_top_p(p)
    x = _scores("logits", logits)
    if isinstance(x, torch.Tensor):
        order = torch.argsort(x, dim=-1, descending=True)
        sorted_probs = torch.softmax(torch.gather(x, -1, order), dim=-1)
        mass_before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
        drop_sorted = mass_before >= p  # enough probability already gathered by the tokens before this one
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        return x.masked_fill(drop, float("-inf"))
    order = np.argsort(-x, axis=-1, kind="stable")
    sorted_logits = np.take_along_axis(x, order, axis=-1)
    e = np.exp(sorted_logits - sorted_logits[..., :1])
    sorted_probs = e / e.sum(axis=-1, keepdims=True)
    mass_before = np.cumsum(sorted_probs, axis=-1) - sorted_probs
    drop = np.zeros(x.shape, dtype=bool)
    np.put_along_axis(drop, order, mass_before >= p, axis=-1)
    return np.where(drop, -np.inf, x)


# --------------------------------------------------------------------------- one prediction


@torch.no_grad()
def next_token_logits(model: torch.nn.Module, prompt) -> torch.Tensor:
    """The model's scores (logits) for the token that follows ``prompt``: a 1-D tensor of ``vocab_size`` floats.

    ``prompt`` is one sequence of token ids (a list or a 1-D tensor), not text. ``model`` is a course model
    whose ``model(idx)`` returns ``(logits, loss)`` and whose ``config`` has a ``block_size``: the Shakespeare
    GPT (:class:`course_lib.model.GPT`) or SmolLM2 (:class:`course_lib.smollm.SmolLM`). It runs one forward
    pass in evaluation mode over the prompt (over its last ``block_size`` tokens if it is longer) and keeps
    only the last position's row, the one that predicts what comes next. :func:`softmax` turns it into
    probabilities; its argmax is the token greedy decoding picks.
    """
    _require_course_model(model)
    if isinstance(prompt, str):
        raise TypeError("prompt must be token ids, not a str: encode it first, e.g. tokenizer.encode(text)")
    ids, single = _prompt_tensor(prompt, model)
    if not single:
        raise ValueError(
            f"prompt must be one sequence of token ids (a list or a 1-D tensor), got shape {tuple(ids.shape)}"
        )
    with _eval_mode(model):  # no dropout: the same prompt always gets the same scores
        logits, _ = model(ids[:, -model.config.block_size :])
    return logits[0, -1].clone()  # a copy, so the (1, T, vocab_size) tensor is not kept alive


# --------------------------------------------------------------------------- sampling


def sample_next(
    logits: torch.Tensor,
    *,
    greedy: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One next-token id per row of ``logits`` (B, vocab_size) -> (B, 1).

    ``logits`` may hold -inf (masked tokens), but not NaN or +inf, and no row may be entirely masked.
    """
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"logits must be a torch tensor (batch, vocab_size), got {type(logits).__name__}")
    require_array("logits", logits, 1, nonempty=True, allow_neg_inf=True)
    require_not_fully_masked("logits", logits)
    if greedy:
        return logits.argmax(dim=-1, keepdim=True)
    logits = _divide_by_temperature("logits", logits.float(), _check_temperature(temperature))
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, p=top_p)
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator)


def _require_course_model(model) -> None:
    if not isinstance(model, torch.nn.Module) or not hasattr(getattr(model, "config", None), "block_size"):
        raise TypeError(
            "model must be a course model (course_lib.model.GPT or course_lib.smollm.SmolLM), "
            f"got {type(model).__name__}"
        )


def _check_generation(model, max_new_tokens) -> int:
    _require_course_model(model)
    return require_int("max_new_tokens", max_new_tokens, minimum=0)


@contextlib.contextmanager
def _eval_mode(model: torch.nn.Module):
    """The model in eval mode (no dropout) for the block, then back in the mode it was in."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def _prompt_tensor(prompt, model: torch.nn.Module) -> tuple[torch.Tensor, bool]:
    """The prompt as a (B, T) long tensor on the model's device, and whether it came in as one sequence."""
    device = next(model.parameters()).device
    if isinstance(prompt, str):
        raise TypeError("prompt must be token ids, not a str: encode it with a tokenizer (or use generate_text)")
    ids = require_ids("prompt", prompt, model.config.vocab_size)
    ids = torch.as_tensor(ids).to(device=device, dtype=torch.long)
    if ids.dim() not in (1, 2):
        raise ValueError(f"prompt must be a sequence of ids or a (batch, time) tensor, got shape {tuple(ids.shape)}")
    single = ids.dim() == 1
    ids = ids.unsqueeze(0) if single else ids
    if ids.shape[-1] == 0:
        raise ValueError("prompt is empty: give at least one token to continue (e.g. the id of '\\n')")
    return ids, single


@torch.no_grad()
def generate(
    model: torch.nn.Module,
    prompt,
    max_new_tokens: int,
    *,
    greedy: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    stop_ids: Sequence[int] = (),
    use_cache: bool = True,
) -> torch.Tensor:
    """Continue ``prompt`` (token ids: a list, a 1-D tensor, or a (B, T) tensor) by ``max_new_tokens`` tokens.

    Returns the prompt followed by the new tokens, with the prompt's shape (1-D in, 1-D out).
    ``greedy=True`` always takes the most likely token; otherwise each token is drawn from
    softmax(logits / temperature), optionally restricted by ``top_k`` and/or ``top_p``.
    Pass ``seed`` or a ``torch.Generator`` to make the draws repeatable. ``model`` is the course GPT or
    SmolLM2 (any course model, see the module's docstring). Generation stops early once every sequence
    has produced one of ``stop_ids`` (which is kept in the output): a chat model's end-of-turn token.

    The model sees at most ``block_size`` tokens: a longer prompt (or a generation that grows past it)
    is cropped to its last ``block_size`` tokens for prediction; the returned sequence keeps everything.
    With ``use_cache`` each step feeds only the newest token and reuses the cached keys and values;
    when the cache is full it is rebuilt from the cropped context, so the output is the same as
    ``use_cache=False``, which reprocesses the whole context each step.
    """
    max_new_tokens = _check_generation(model, max_new_tokens)
    if not greedy:  # check the settings once up front, not on the first sampled token
        _check_temperature(temperature)
        if top_k is not None:
            _check_top_k(top_k)
        if top_p is not None:
            _check_top_p(top_p)
    if seed is not None and generator is not None:
        raise ValueError("pass either seed or generator, not both")
    if seed is not None:
        seed = require_int("seed", seed)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    stops = torch.as_tensor(require_ids("stop_ids", list(stop_ids), model.config.vocab_size, ndim=1))
    ids, single = _prompt_tensor(prompt, model)
    if seed is not None:
        generator = torch.Generator(device=ids.device).manual_seed(seed)
    stopped = torch.zeros(ids.shape[0], dtype=torch.bool, device=ids.device)
    with _eval_mode(model):  # no dropout while generating
        capacity = ids.shape[1] + max_new_tokens
        step = _CachedStepper(model, capacity) if use_cache else _uncached_step(model)
        for _ in range(max_new_tokens):
            logits = step(ids)
            next_id = sample_next(
                logits, greedy=greedy, temperature=temperature, top_k=top_k, top_p=top_p, generator=generator
            )
            ids = torch.cat([ids, next_id], dim=1)
            if len(stops):
                stopped |= torch.isin(next_id[:, 0], stops.to(ids.device))
                if bool(stopped.all()):
                    break
    return ids[0] if single else ids


@torch.no_grad()
def generate_at_temperatures(
    model: torch.nn.Module, prompt, max_new_tokens: int, temperatures: Sequence[float], *, seed: int = 0
) -> torch.Tensor:
    """Continue one prompt at each of ``temperatures``, all in one batch, with the same random numbers.

    Each step draws a single number u in [0, 1), and every row takes the first token whose cumulative
    probability passes u (inverse-transform sampling, lesson 05's ``sample_index``). So the rows differ
    only because of their temperature: a fair comparison, and many samples for about the price of one.
    Returns ``(len(temperatures), len(prompt) + max_new_tokens)`` token ids. Keep the prompt plus the
    new tokens within ``block_size``: past it, every step would re-read the whole context.
    """
    max_new_tokens = _check_generation(model, max_new_tokens)
    if isinstance(temperatures, np.ndarray | torch.Tensor):
        temperatures = temperatures.tolist()
    if isinstance(temperatures, str) or not isinstance(temperatures, Sequence):
        raise TypeError(f"temperatures must be a list of numbers, got {type(temperatures).__name__}")
    if len(temperatures) == 0:
        raise ValueError("temperatures must list at least one temperature, got none")
    checked = [_check_temperature(t, f"temperatures[{i}]") for i, t in enumerate(temperatures)]
    scale = torch.tensor(checked)[:, None]
    seed = require_int("seed", seed)
    ids, single = _prompt_tensor(prompt, model)
    if not single:
        raise ValueError(f"prompt must be one sequence of token ids, got shape {tuple(ids.shape)}")
    ids = ids.expand(len(scale), -1).contiguous()
    generator = torch.Generator(device=ids.device).manual_seed(seed)
    with _eval_mode(model):
        step = _CachedStepper(model, ids.shape[1] + max_new_tokens)
        for _ in range(max_new_tokens):
            cumulative = torch.softmax(step(ids).float() / scale.to(ids.device), dim=-1).cumsum(dim=-1)
            u = torch.rand(1, 1, generator=generator, device=ids.device).expand(len(scale), 1).contiguous()
            # The first token whose cumulative probability is above u (rounding can leave the total a
            # hair below 1: then the last token).
            next_id = torch.searchsorted(cumulative, u, right=True).clamp_(max=cumulative.shape[-1] - 1)
            ids = torch.cat([ids, next_id], dim=1)
    return ids


def _uncached_step(model: torch.nn.Module):
    def step(ids: torch.Tensor) -> torch.Tensor:
        logits, _ = model(ids[:, -model.config.block_size :])
        return logits[:, -1]

    return step


class _CachedStepper:
    """Next-token logits for a growing sequence, feeding the model only the tokens it has not seen.

    The cache has room for ``capacity`` positions (the prompt and every new token), at most the model's
    ``block_size``: SmolLM2's 8,192 positions would take 377 MB for a cache a short reply never fills.
    """

    def __init__(self, model: torch.nn.Module, capacity: int):
        self.model = model
        self.capacity = min(capacity, model.config.block_size)
        self.cache = None
        self.start = 0  # position in the full sequence where the cached context begins

    def __call__(self, ids: torch.Tensor) -> torch.Tensor:
        block_size = self.model.config.block_size
        if self.cache is None or ids.shape[1] - self.start > block_size:
            # First call, or the context outgrew the position embeddings: start again on the last block_size tokens.
            self.start = max(0, ids.shape[1] - block_size)
            self.cache = self.model.new_cache(self.capacity)
        seen = self.start + self.cache.length
        logits, _ = self.model(ids[:, seen:], kv_cache=self.cache)
        return logits[:, -1]


def generate_text(model: torch.nn.Module, tokenizer, prompt: str, max_new_tokens: int, **kwargs) -> str:
    """Encode ``prompt``, :func:`generate`, and decode the whole result (prompt included)."""
    ids = tokenizer.encode(prompt)
    if not ids:
        raise ValueError("prompt is empty: give at least one character to continue (e.g. '\\n')")
    return tokenizer.decode(generate(model, ids, max_new_tokens, **kwargs).tolist())
