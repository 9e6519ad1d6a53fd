"""Checkers for lesson 08 (training): each runs the learner's answer and names the likely bug.

In the notebook::

    from course_lib.checks import lesson08 as check
    check.cross_entropy(cross_entropy)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.optimizer import register_optimizer_step_pre_hook

from course_lib import sampling, training
from course_lib.checks import (
    Case,
    CheckResult,
    Mistake,
    as_numbers,
    check_function,
    describe,
    pick_reference,
    same,
)
from course_lib.data import load_text
from course_lib.model import GPT, GPTConfig
from course_lib.teaching import your_work
from course_lib.tokenizers import CharTokenizer

__all__ = ["uniform_loss", "cross_entropy", "grad_logits", "sgd_step", "train_loop", "reference"]


# --------------------------------------------------------------------------- the loss of a blind guess


def _uniform_loss_reference(vocab_size):
    return math.log(vocab_size)


UNIFORM_CASES = [
    Case((84,), label="vocab_size=84, the course's characters"),
    Case((50257,), label="vocab_size=50257, GPT-2's tokens"),
    Case((2,), label="vocab_size=2, a coin toss"),
    Case((65,)),
]
UNIFORM_MISTAKES = [
    Mistake(math.log2, "that is in bits (log base 2); the course's losses use the natural log, math.log or np.log"),
    Mistake(math.log10, "that is log base 10; the course's losses use the natural log, math.log or np.log"),
    Mistake(lambda v: -math.log(v), "the sign: the loss is MINUS the log-probability, -ln(1/V), so it is positive"),
    Mistake(lambda v: math.log(1 / v), "the sign: the loss is MINUS the log-probability, -ln(1/V), so it is positive"),
    Mistake(lambda v: 1 / v, "that is the probability of the correct token; the loss is minus its log"),
    Mistake(lambda v: -1 / v, "that is minus the probability of the correct token; the loss is minus its LOG"),
    Mistake(lambda v: float(v), "that is the number of tokens; the loss is -ln(1 / vocab_size)"),
    Mistake(lambda v: math.exp(v), "that is e to the power V; the loss is the natural log of V, not its exponential"),
]


def _fresh_uniform(rng: np.random.Generator) -> Case:
    """A vocabulary of 3 to 200,000 tokens, drawn log-uniformly (a small character set to a large BPE)."""
    return Case((int(np.exp(rng.uniform(np.log(3), np.log(200_000)))),))


def uniform_loss(learner) -> CheckResult:
    """``uniform_loss(vocab_size)``: the loss of a model that gives all tokens the same probability, ln(vocab_size)."""
    return check_function(
        "uniform_loss",
        learner,
        _uniform_loss_reference,
        UNIFORM_CASES,
        UNIFORM_MISTAKES,
        fresh=_fresh_uniform,
        compare=lambda g, e: same(g, e, rtol=1e-4),
    )


# --------------------------------------------------------------------------- cross-entropy


def _cross_entropy_reference(logits, targets):
    return float(F.cross_entropy(torch.as_tensor(logits, dtype=torch.float64), torch.as_tensor(targets)))


def _probs(logits):
    return sampling.softmax(np.asarray(logits, dtype=float))


def _rows(logits):
    return np.arange(len(logits))


def _naive_log_softmax_loss(logits, targets):
    e = np.exp(np.asarray(logits, dtype=float))
    p = e / e.sum(axis=-1, keepdims=True)
    return float(-np.log(p[_rows(logits), targets]).mean())


def _ce_cases() -> list[Case]:
    rng = np.random.default_rng(8)
    cases = [
        Case((np.array([[2.0, 0.5, -1.0, 0.0], [0.1, 0.2, 3.0, -2.0], [1.0, 1.0, 1.0, 1.0]]), np.array([0, 2, 3]))),
        Case((rng.normal(size=(5, 6)) * 2, np.array([1, 4, 0, 5, 2]))),
        Case((np.array([[0.3, -0.7, 2.2]]), np.array([1])), label="one position whose target is not the likeliest"),
        Case(
            (np.array([[1000.0, 1002.0, 999.0], [-1000.0, 0.0, 1000.0]]), np.array([1, 0])),
            label="large scores [[1000, 1002, 999], [-1000, 0, 1000]]",
        ),
    ]
    return cases


CE_MISTAKES = [
    Mistake(
        lambda x, t: float(np.log(_probs(x)[_rows(x), t]).mean()),
        "the sign: the loss is MINUS the log-probability of the correct token, so it is positive",
    ),
    Mistake(
        lambda x, t: float(-np.log(_probs(x)[_rows(x), t]).sum()),
        "take the mean over the positions, not the sum (PyTorch's cross_entropy averages)",
    ),
    Mistake(
        lambda x, t: float(-_probs(x)[_rows(x), t].mean()),
        "take the log of the probability: the loss is -log p(correct token), not -p",
    ),
    Mistake(
        lambda x, t: float(-np.asarray(x, dtype=float)[_rows(x), t].mean()),
        "turn the scores into probabilities first (softmax), then take -log of the correct token's probability",
    ),
    Mistake(
        lambda x, t: float(-np.log2(_probs(x)[_rows(x), t]).mean()),
        "that is in bits (log base 2); use the natural log, np.log, as PyTorch does",
    ),
    Mistake(
        lambda x, t: float(-np.log(_probs(x)[:, t]).mean()),
        "pick one entry per row: probs[np.arange(len(targets)), targets], not probs[:, targets]",
    ),
    Mistake(
        _naive_log_softmax_loss,
        "overflow: exp(1000) is inf. Subtract each row's largest score before exponentiating "
        "(or use log-softmax: x - max - log(sum(exp(x - max))))",
    ),
]


def _same_or_both_nan(got, expected) -> tuple[bool, str]:
    """``same``, except that NaN matches NaN: how an overflowing answer is recognised as the naive mistake."""
    return same(got, expected, equal_nan=True)


def _fresh_ce(rng: np.random.Generator) -> Case:
    """1 to 6 positions over 2 to 10 tokens, scores spread by up to 4, targets drawn (an int array)."""
    positions, vocab = int(rng.integers(1, 7)), int(rng.integers(2, 11))
    logits = (rng.normal(size=(positions, vocab)) * rng.uniform(0.5, 4.0)).round(3)
    return Case((logits, rng.integers(0, vocab, size=positions)))


def cross_entropy(learner) -> CheckResult:
    """``cross_entropy(logits, targets)``: mean over rows of -log softmax(logits)[row, target], as a float."""
    with np.errstate(all="ignore"):  # the naive version overflows on purpose; the hint says so in words
        return check_function(
            "cross_entropy",
            learner,
            _cross_entropy_reference,
            _ce_cases(),
            CE_MISTAKES,
            fresh=_fresh_ce,
            compare=_same_or_both_nan,
        )


# --------------------------------------------------------------------------- the gradient at the logits


def _grad_reference(logits, target):
    x = torch.tensor(np.asarray(logits, dtype=float), requires_grad=True)
    F.cross_entropy(x[None], torch.tensor([target])).backward()
    return x.grad.numpy()


def _one_hot(logits, target):
    y = np.zeros(len(logits))
    y[target] = 1.0
    return y


GRAD_CASES = [
    Case((np.array([2.0, 1.0, 0.1]), 0)),
    Case((np.array([2.0, 1.0, 0.1]), 2)),
    Case((np.array([0.5, -1.0, 3.0, 0.0, 1.5]), 3)),
    Case((np.zeros(4), 1), label="four equal scores, target 1"),
]
GRAD_MISTAKES = [
    Mistake(
        lambda x, t: _one_hot(x, t) - _probs(x),
        "the sign is flipped: the gradient is probs - one_hot, the direction in which the loss grows",
    ),
    Mistake(lambda x, t: _probs(x), "subtract 1 at the target: the gradient is probs - one_hot(target)"),
    Mistake(
        lambda x, t: -_one_hot(x, t), "every score gets a gradient, not only the target's: probs - one_hot(target)"
    ),
    Mistake(
        lambda x, t: _probs(x) * (1 - _probs(x)),
        "that is the derivative of one probability by its own score; the loss's gradient is probs - one_hot(target)",
    ),
]


def _fresh_grad(rng: np.random.Generator) -> Case:
    vocab = int(rng.integers(2, 11))
    return Case(((rng.normal(size=vocab) * 2).round(3), int(rng.integers(0, vocab))))


def grad_logits(learner) -> CheckResult:
    """``grad_logits(logits, target)``: d(cross-entropy)/d(logits) for one position = softmax(logits) - one_hot."""
    return check_function("grad_logits", learner, _grad_reference, GRAD_CASES, GRAD_MISTAKES, fresh=_fresh_grad)


# --------------------------------------------------------------------------- one step downhill


def _sgd_reference(weights, grad, learning_rate):
    return weights - learning_rate * grad


SGD_CASES = [
    Case((np.array([1.0, -2.0, 0.5]), np.array([0.2, -0.4, 1.0]), 0.1)),
    Case((np.array([[0.3, 0.1], [-0.2, 0.4]]), np.array([[1.0, -1.0], [0.5, 0.0]]), 0.5)),
    Case((np.array([2.0, 2.0]), np.array([3.0, -1.0]), 0.01)),
]
SGD_MISTAKES = [
    Mistake(
        lambda w, g, lr: w + lr * g,
        "you stepped uphill: the gradient points where the loss grows, so subtract it",
    ),
    Mistake(lambda w, g, lr: w - g, "scale the step by the learning rate: weights - learning_rate * grad"),
    Mistake(lambda w, g, lr: -lr * g, "return the new weights (old weights minus the step), not only the step"),
    Mistake(lambda w, g, lr: w - g / lr, "multiply the gradient by the learning rate, don't divide by it"),
]


def _fresh_sgd(rng: np.random.Generator) -> Case:
    """Weights and a gradient of one random shape (a vector or a matrix), and a learning rate from 0.001 to 1."""
    shape = (int(rng.integers(1, 7)),) if rng.random() < 0.5 else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    weights, grad = rng.normal(size=shape).round(3), rng.normal(size=shape).round(3)
    return Case((weights, grad, round(float(10 ** rng.uniform(-3, 0)), 4)))


def sgd_step(learner) -> CheckResult:
    """``sgd_step(weights, grad, learning_rate)``: the weights after one step of gradient descent (a new array)."""
    return check_function("sgd_step", learner, _sgd_reference, SGD_CASES, SGD_MISTAKES, fresh=_fresh_sgd)


# --------------------------------------------------------------------------- your training loop
#
# The learner's ``train_loop(model, optimizer, get_batch, val_batches, config, lr_at)`` is given what
# ``training.train`` gives its own loop (``training.loop_inputs``: the same optimizer, batches and seeds), so
# a right loop makes exactly train()'s run. The checker runs both on a small GPT with dropout (so validation
# in train mode changes the numbers) and a small ``grad_clip`` (so clipping changes every step), and watches
# as they run: the mode and gradient setting of every forward pass, and at every optimizer step the learning
# rate of each parameter group and the size of the gradient. Those name most mistakes directly; the losses
# name the rest (a loop that never clears its gradients).


def _train_loop_reference(model, optimizer, get_batch, val_batches, config, lr_at):
    """The course's loop, the same steps as ``training.train`` (which the checker compares it with)."""
    losses, val_losses = [], []
    model.train()
    for step in range(config.max_iters):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, config)
        x, y = get_batch()
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        losses.append(loss.item())
        if (step + 1) % config.eval_interval == 0 or step + 1 == config.max_iters:
            model.eval()
            with torch.no_grad():
                val_losses.append(float(np.mean([model(xv, yv)[1].item() for xv, yv in val_batches])))
            model.train()
    return {"losses": losses, "val_losses": val_losses}


def _wrong_loop(model, optimizer, get_batch, val_batches, config, lr_at, *, mistake: str):
    """The course's loop with one plausible ``mistake`` (named as in LOOP_MISTAKES)."""
    losses, val_losses = [], []
    model.train()
    for step in range(config.max_iters):
        if mistake != "lr never set":
            groups = optimizer.param_groups[:1] if mistake == "lr of one group" else optimizer.param_groups
            for group in groups:
                group["lr"] = lr_at(step + 1 if mistake == "lr one step ahead" else step, config)
        x, y = get_batch()
        _, loss = model(x, y)
        if mistake != "no zero_grad":
            optimizer.zero_grad(set_to_none=True)
        if mistake == "step before backward":
            optimizer.step()
        loss.backward()
        if mistake != "clip after step":
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        if mistake != "step before backward":
            optimizer.step()
        if mistake == "clip after step":
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        losses.append(loss.item())
        if (step + 1) % config.eval_interval == 0 or step + 1 == config.max_iters:
            if mistake != "validation in train mode":
                model.eval()
            with torch.set_grad_enabled(mistake == "validation with gradients"):
                val_losses.append(float(np.mean([model(xv, yv)[1].item() for xv, yv in val_batches])))
            if mistake != "no model.train() after validation":
                model.train()
    return {"losses": losses, "val_losses": val_losses}


CLIP_HINT = "clip after loss.backward() and before optimizer.step(), with torch.nn.utils.clip_grad_norm_"
LOOP_MISTAKES = {
    "no zero_grad": "call optimizer.zero_grad() at every step: without it each backward() adds this step's "
    "gradients to those of every earlier step",
    "step before backward": "optimizer.step() ran before loss.backward(): the step needs this step's gradients, so "
    "backward first, then step",
    "clip after step": "the gradients were not clipped when optimizer.step() used them: "
    + CLIP_HINT
    + " (clipping after the step changes nothing the step used)",
    "lr never set": "set the learning rate at every step: for group in optimizer.param_groups: "
    "group['lr'] = lr_at(step, config)",
    "lr of one group": "set the learning rate of every parameter group (the optimizer has two: the matrices, with "
    "weight decay, and the vectors, without): loop over optimizer.param_groups",
    "lr one step ahead": "the schedule is one step off: the first step (step 0) uses lr_at(0, config); "
    "count steps from 0 with range(config.max_iters)",
    "validation in train mode": "validate in eval mode: model.eval() before the validation batches (it turns "
    "dropout off), model.train() after",
    "validation with gradients": "validate inside `with torch.no_grad():`: nothing learns from the validation "
    "batches, and recording their graph for backward costs memory and time",
    "no model.train() after validation": "call model.train() after validating: the steps after the first "
    "validation ran in eval mode, without dropout",
}


@functools.cache
def _loop_text() -> tuple[int, torch.Tensor, torch.Tensor]:
    """A little of the course's text for the checker's runs: (vocabulary size, training ids, validation ids)."""
    train_text, val_text = load_text("train")[:4000], load_text("val")[:2000]
    tokenizer = CharTokenizer.from_text(train_text + val_text)
    return tokenizer.vocab_size, torch.tensor(tokenizer.encode(train_text)), torch.tensor(tokenizer.encode(val_text))


def _loop_setup(spec: dict) -> tuple[GPT, training.TrainConfig]:
    vocab_size = _loop_text()[0]
    training.seed_everything(spec["seed"])
    model = GPT(GPTConfig(vocab_size=vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=16, dropout=0.1))
    config = training.TrainConfig(
        batch_size=4,
        max_iters=spec["steps"],
        learning_rate=spec["learning_rate"],
        warmup_iters=spec["warmup"],
        eval_interval=spec["eval_interval"],
        eval_batches=2,
        eval_batch_size=4,
        grad_clip=spec["grad_clip"],
        seed=spec["seed"],
        device="cpu",
    )
    return model, config


@dataclass
class _Run:
    """What the checker saw of one run: the losses it returned, and how it trained and validated."""

    losses: np.ndarray
    val_losses: np.ndarray
    eval_steps: list[int]
    grad_clip: float
    val_in_train_mode: int = 0  # forward passes on validation batches, in train mode
    val_with_grad: int = 0  # ... with gradients recorded
    train_in_eval_mode: list[int] = field(default_factory=list)  # training forward passes in eval mode, by step
    step_lrs: list[tuple[float, ...]] = field(default_factory=list)  # each optimizer step's learning rates
    step_without_grads: list[int] = field(default_factory=list)  # steps taken with no gradient at all
    grad_norms: list[float] = field(default_factory=list)  # the gradient's norm at each optimizer step


def _observed(loop_call, model: GPT, val_batches: list, config: training.TrainConfig):
    """Run ``loop_call()`` watching ``model`` and its optimizer; a :class:`_Run`, or what the loop returned
    when it is not a log ``{"losses": [...], "val_losses": [...]}`` of numbers."""
    val_inputs = [x for x, _ in val_batches]
    params = {id(p) for p in model.parameters()}
    seen = {"val_train": 0, "val_grad": 0, "train_eval": [], "lrs": [], "no_grads": [], "norms": []}

    def on_forward(module, args, kwargs):
        idx = args[0] if args else kwargs.get("idx")
        if any(isinstance(idx, torch.Tensor) and idx.shape == v.shape and torch.equal(idx, v) for v in val_inputs):
            seen["val_train"] += module.training
            seen["val_grad"] += torch.is_grad_enabled()
        elif not module.training:
            seen["train_eval"].append(len(seen["lrs"]) + 1)

    def on_step(optimizer, args, kwargs):
        mine = [p for group in optimizer.param_groups for p in group["params"] if id(p) in params]
        if not mine:
            return
        grads = [p.grad for p in mine if p.grad is not None]
        seen["lrs"].append(tuple(float(group["lr"]) for group in optimizer.param_groups))
        if not grads:
            seen["no_grads"].append(len(seen["lrs"]))
        norm = torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item() if grads else 0.0
        seen["norms"].append(norm)

    forward_hook = model.register_forward_pre_hook(on_forward, with_kwargs=True)
    step_hook = register_optimizer_step_pre_hook(on_step)
    try:
        log = loop_call()
    finally:
        forward_hook.remove()
        step_hook.remove()
    if not isinstance(log, dict) or not {"losses", "val_losses"} <= set(log):
        return log
    losses, val_losses = as_numbers(_floats(log["losses"])), as_numbers(_floats(log["val_losses"]))
    if losses is None or val_losses is None or losses.ndim != 1 or val_losses.ndim != 1:
        return log
    return _Run(
        losses.astype(float),
        val_losses.astype(float),
        training.evaluation_steps(config),
        config.grad_clip,
        seen["val_train"],
        seen["val_grad"],
        seen["train_eval"],
        seen["lrs"],
        seen["no_grads"],
        seen["norms"],
    )


def _floats(values):
    """A list of losses as floats (a list of 0-d tensors, say, as ``loss`` rather than ``loss.item()``)."""
    try:
        return [float(v) for v in values]
    except Exception:
        return values


def _course_run(spec: dict) -> _Run:
    """What ``training.train`` does with the spec: the run the learner's loop must match."""
    model, config = _loop_setup(spec)
    _, train_ids, val_ids = _loop_text()
    val_batches = training.loop_inputs(model, train_ids, val_ids, config)[2]  # the ones train() will make
    model, config = _loop_setup(spec)
    return _observed(
        lambda: _result_as_log(training.train(model, train_ids, val_ids, config, progress=False)),
        model,
        val_batches,
        config,
    )


def _result_as_log(result: training.TrainResult) -> dict:
    return {"losses": result.losses, "val_losses": [r["val_loss"] for r in result.history]}


def _loop_run(loop, spec: dict):
    """Run ``loop`` on the spec's model, given what ``training.train`` would use."""
    model, config = _loop_setup(spec)
    _, train_ids, val_ids = _loop_text()
    optimizer, get_batch, val_batches = training.loop_inputs(model, train_ids, val_ids, config)
    return _observed(
        lambda: loop(model, optimizer, get_batch, val_batches, config, training.lr_at), model, val_batches, config
    )


def _first_difference(got: np.ndarray, expected: np.ndarray) -> int | None:
    close = np.isclose(got, expected, rtol=1e-5, atol=1e-6)
    return None if close.all() else int(np.argmin(close))


def _unclipped(run: _Run) -> list[tuple[int, float]]:
    """The steps (counted from 1) whose gradient was larger than ``grad_clip`` when the optimizer used it."""
    return [(step, n) for step, n in enumerate(run.grad_norms, start=1) if n > run.grad_clip * (1 + 1e-4)]


def _same_run(got, expected: _Run) -> tuple[bool, str]:
    """Whether a learner's run is the course's; if not, what the checker saw go wrong first."""
    if not isinstance(got, _Run):
        return False, (
            "expected your loop to return a dict {'losses': [the training loss of every step], 'val_losses': "
            f"[the validation loss of every evaluation]}}, got {describe(got)}"
        )
    if got.val_with_grad and not expected.val_with_grad:
        return False, f"{got.val_with_grad} validation forward passes recorded gradients"
    if got.val_in_train_mode and not expected.val_in_train_mode:
        return False, f"{got.val_in_train_mode} validation forward passes ran in train mode (dropout on)"
    if len(got.step_lrs) != len(expected.step_lrs):
        return (
            False,
            f"optimizer.step() ran {len(got.step_lrs)} times, expected once per step ({len(expected.step_lrs)})",
        )
    if got.step_without_grads and not expected.step_without_grads:
        return False, f"optimizer.step() found no gradients at step {got.step_without_grads[0]} (counted from 1)"
    for step, (lrs, want) in enumerate(zip(got.step_lrs, expected.step_lrs, strict=True), start=1):
        if not np.allclose(lrs, want, rtol=1e-9, atol=0):
            return False, (
                f"at step {step} (counted from 1) the learning rates of the parameter groups were "
                f"{[float(f'{v:.4g}') for v in lrs]}, expected {[float(f'{v:.4g}') for v in want]}: "
                f"lr_at({step - 1}, config) for every group"
            )
    unclipped = _unclipped(got)
    if unclipped and not _unclipped(expected):
        step, norm = unclipped[0]
        return False, f"at step {step} the gradient norm was {norm:.3g}, above config.grad_clip={got.grad_clip:g}"
    if got.train_in_eval_mode and not expected.train_in_eval_mode:
        return False, f"the training forward pass of step {got.train_in_eval_mode[0]} ran in eval mode"
    if len(got.losses) != len(expected.losses):
        return False, f"expected {len(expected.losses)} training losses (one per step), got {len(got.losses)}"
    if len(got.val_losses) != len(expected.val_losses):
        return False, (
            f"expected {len(expected.val_losses)} validation losses (after steps {expected.eval_steps}, counted "
            f"from 1), got {len(got.val_losses)}"
        )
    if (i := _first_difference(got.losses, expected.losses)) is not None:
        return False, f"the training loss of step {i + 1}: expected {expected.losses[i]:.5f}, got {got.losses[i]:.5f}"
    if (i := _first_difference(got.val_losses, expected.val_losses)) is not None:
        return False, (
            f"the validation loss after step {expected.eval_steps[i]}: expected {expected.val_losses[i]:.5f}, "
            f"got {got.val_losses[i]:.5f} (the mean loss over val_batches)"
        )
    return True, ""


def _loop_case(seed: int, steps: int, eval_interval: int, warmup: int, learning_rate: float, grad_clip: float) -> Case:
    spec = {
        "seed": seed,
        "steps": steps,
        "eval_interval": eval_interval,
        "warmup": warmup,
        "learning_rate": learning_rate,
        "grad_clip": grad_clip,
    }
    label = (
        f"a 2-layer GPT with dropout, {steps} steps, validating every {eval_interval}, warm-up {warmup}, "
        f"learning_rate={learning_rate:g}, grad_clip={grad_clip:g}, seed {seed}"
    )
    return Case((spec,), label=label)


LOOP_CASES = [_loop_case(0, 12, 4, 3, 1e-2, 0.25), _loop_case(1, 10, 3, 2, 3e-2, 0.1)]


def _fresh_loop(rng: np.random.Generator) -> Case:
    steps = int(rng.integers(6, 13))
    return _loop_case(
        int(rng.integers(0, 1_000_000)),
        steps,
        int(rng.integers(2, 6)),
        int(rng.integers(1, 4)),
        float(rng.choice([3e-3, 1e-2, 3e-2])),
        float(rng.choice([0.1, 0.2, 0.3])),
    )


@functools.lru_cache(maxsize=512)
def _known_run(mistake: str | None, spec_items: tuple) -> _Run:
    """The course's run (``mistake`` None) or a known mistake's, on a spec; each is made once per process, since
    the same spec always gives the same run (what the learner's run is compared with is never cached)."""
    spec = dict(spec_items)
    if mistake is None:
        return _course_run(spec)
    return _loop_run(functools.partial(_wrong_loop, mistake=mistake), spec)


def _known(mistake: str | None, spec: dict) -> _Run:
    return _known_run(mistake, tuple(sorted(spec.items())))


def train_loop(learner, *, quiet: bool = False) -> CheckResult:
    """``train_loop(model, optimizer, get_batch, val_batches, config, lr_at)``: the run ``training.train`` makes.

    Passing keeps it for the training of your model (``my_work/train_loop.py``). ``quiet=True`` (how
    ``your_work.use`` re-checks a kept loop) prints nothing and keeps nothing.
    """
    if callable(learner):
        run = functools.partial(_loop_run, learner)
        mistakes = [Mistake(functools.partial(_known, name), hint) for name, hint in LOOP_MISTAKES.items()]
    else:
        run, mistakes = learner, []  # check_function says what it got instead of a function
    result = check_function(
        "train_loop",
        run,
        functools.partial(_known, None),
        LOOP_CASES,
        mistakes,
        fresh=_fresh_loop,
        compare=_same_run,
        quiet=quiet,
    )
    if quiet:
        return result
    return your_work.keep_if_passed(
        result, "train_loop", learner, lesson="08", used_in="lesson 08's training of your model"
    )


REFERENCES = {
    "uniform_loss": _uniform_loss_reference,
    "cross_entropy": _cross_entropy_reference,
    "grad_logits": _grad_reference,
    "sgd_step": _sgd_reference,
    "train_loop": _train_loop_reference,
}


def reference(exercise: str):
    """The course's version of an exercise's function, for the cells after an exercise that is not solved yet."""
    return pick_reference(REFERENCES, exercise)
