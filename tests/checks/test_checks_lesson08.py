"""Lesson 08's checkers: each accepts the reference, calls a stub unsolved, and names the likely bug."""

import functools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from checker_support import (
    function_checkers,
    memorised_answer_fails,
    mutating_answer_corrupts_nothing,
    stub,
    verdict,
    wrong_kinds_are_not_yet,
)

from course_lib.checks import lesson08 as check
from course_lib.teaching import your_work

REFERENCE_NAMES = {"uniform_loss", "cross_entropy", "grad_logits", "sgd_step", "train_loop"}


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------- uniform_loss


def test_uniform_loss_accepts_the_natural_log():
    verdict(check.uniform_loss(math.log), True, "correct on all 5 test cases (1 drawn at random).")
    verdict(check.uniform_loss(lambda v: -np.log(1 / v)), True)
    verdict(check.uniform_loss(lambda v: torch.log(torch.tensor(float(v), dtype=torch.float64))), True)


def test_uniform_loss_stub_and_mistakes():
    verdict(check.uniform_loss(stub), False, "not solved yet")
    verdict(check.uniform_loss(np.log2), False, "in bits (log base 2)")
    verdict(check.uniform_loss(np.log10), False, "log base 10")
    verdict(check.uniform_loss(lambda v: -math.log(v)), False, "the sign")
    verdict(check.uniform_loss(lambda v: math.log(1 / v)), False, "the sign")
    verdict(check.uniform_loss(lambda v: 1 / v), False, "probability of the correct token")
    verdict(check.uniform_loss(lambda v: v), False, "number of tokens")
    verdict(check.uniform_loss(lambda v: 4.431), False, "on input vocab_size=50257, GPT-2's tokens")  # 84 only


# --------------------------------------------------------------------------- cross_entropy


def cross_entropy(logits, targets):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return float(-log_probs[np.arange(len(targets)), targets].mean())


def test_cross_entropy_accepts_reference_and_torch():
    verdict(check.cross_entropy(cross_entropy), True, "correct on all 5 test cases (1 drawn at random).")
    torch_version = lambda x, t: F.cross_entropy(torch.tensor(x), torch.tensor(t)).item()
    verdict(check.cross_entropy(torch_version), True)


def test_cross_entropy_stub_and_mistakes():
    rows = lambda t: np.arange(len(t))
    verdict(check.cross_entropy(stub), False, "not solved yet")
    verdict(check.cross_entropy(lambda x, t: np.log(softmax(x)[rows(t), t]).mean()), False, "the sign")
    verdict(check.cross_entropy(lambda x, t: -np.log(softmax(x)[rows(t), t]).sum()), False, "mean over the positions")
    verdict(check.cross_entropy(lambda x, t: -softmax(x)[rows(t), t].mean()), False, "take the log")
    verdict(check.cross_entropy(lambda x, t: -x[rows(t), t].mean()), False, "into probabilities first")
    verdict(check.cross_entropy(lambda x, t: -np.log2(softmax(x)[rows(t), t]).mean()), False, "in bits")
    verdict(check.cross_entropy(lambda x, t: -np.log(softmax(x)[:, t]).mean()), False, "one entry per row")

    def naive(x, t):
        p = np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)
        return -np.log(p[rows(t), t]).mean()

    verdict(check.cross_entropy(naive), False, "overflow")


# --------------------------------------------------------------------------- grad_logits


def grad_logits(logits, target):
    grad = softmax(logits)
    grad[target] -= 1.0
    return grad


def test_grad_logits_accepts_reference():
    verdict(check.grad_logits(grad_logits), True, "correct on all 5 test cases (1 drawn at random).")


def test_grad_logits_stub_and_mistakes():
    one_hot = lambda x, t: np.eye(len(x))[t]
    verdict(check.grad_logits(stub), False, "not solved yet")
    verdict(check.grad_logits(lambda x, t: one_hot(x, t) - softmax(x)), False, "sign is flipped")
    verdict(check.grad_logits(lambda x, t: softmax(x)), False, "subtract 1 at the target")
    verdict(check.grad_logits(lambda x, t: -one_hot(x, t)), False, "every score gets a gradient")
    verdict(check.grad_logits(lambda x, t: softmax(x) * (1 - softmax(x))), False, "derivative of one probability")


# --------------------------------------------------------------------------- sgd_step


def test_sgd_step():
    verdict(check.sgd_step(lambda w, g, lr: w - lr * g), True, "correct on all 4 test cases (1 drawn at random).")
    verdict(check.sgd_step(stub), False, "not solved yet")
    verdict(check.sgd_step(lambda w, g, lr: w + lr * g), False, "uphill")
    verdict(check.sgd_step(lambda w, g, lr: w - g), False, "scale the step by the learning rate")
    verdict(check.sgd_step(lambda w, g, lr: -lr * g), False, "return the new weights")
    verdict(check.sgd_step(lambda w, g, lr: w - g / lr), False, "don't divide")


def test_sgd_step_in_place_answer_still_checked():
    def in_place(w, g, lr):
        w -= lr * g
        return w

    verdict(check.sgd_step(in_place), True)


def test_reference_stands_in_for_every_function_exercise():
    for name in [n for n in check.__all__ if n in REFERENCE_NAMES]:
        verdict(getattr(check, name)(check.reference(name)), True)
    with pytest.raises(ValueError, match="exercise must be one of"):
        check.reference("no_such_exercise")


# --------------------------------------------------------------------------- train_loop


def train_loop(model, optimizer, get_batch, val_batches, config, lr_at):
    """A learner's loop, written differently from the course's (zero_grad first, a list of tensors to average)."""
    losses, val_losses = [], []
    for step in range(config.max_iters):
        optimizer.zero_grad()
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, config)
        x, y = get_batch()
        loss = F.cross_entropy(model(x)[0].flatten(0, 1), y.flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        losses.append(loss.item())
        if (step + 1) % config.eval_interval == 0 or step == config.max_iters - 1:
            model.eval()
            with torch.inference_mode():
                val_losses.append(torch.stack([model(xv, yv)[1] for xv, yv in val_batches]).mean().item())
            model.train()
    return {"losses": losses, "val_losses": val_losses}


def with_mistake(mistake):
    return functools.partial(check._wrong_loop, mistake=mistake)


def test_train_loop_accepts_a_right_loop_and_the_reference_matches_train(capsys):
    verdict(check.train_loop(train_loop), True, "correct on all 3 test cases (1 drawn at random).")
    verdict(check.train_loop(check.reference("train_loop")), True)  # the course's loop is train()'s, step for step
    verdict(check.train_loop(with_mistake("none")), True)  # the mistakes are made on a right loop
    capsys.readouterr()
    assert check.train_loop(train_loop, quiet=True).passed and capsys.readouterr().out == ""


@pytest.mark.parametrize("mistake", list(check.LOOP_MISTAKES))
def test_train_loop_names_each_mistake(mistake):
    verdict(check.train_loop(with_mistake(mistake)), False, check.LOOP_MISTAKES[mistake])


def test_train_loop_says_what_it_saw_when_no_mistake_matches():
    def forgets_zero_grad_and_validates_in_train_mode(model, optimizer, get_batch, val_batches, config, lr_at):
        losses, val_losses = [], []
        for step in range(config.max_iters):
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, config)
            loss = model(*get_batch())[1]
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            losses.append(loss.item())
            if (step + 1) % config.eval_interval == 0 or step + 1 == config.max_iters:
                with torch.no_grad():
                    val_losses.append(float(np.mean([model(x, y)[1].item() for x, y in val_batches])))
        return {"losses": losses, "val_losses": val_losses}

    verdict(check.train_loop(forgets_zero_grad_and_validates_in_train_mode), False, "ran in train mode (dropout on)")

    def one_evaluation_short(model, optimizer, get_batch, val_batches, config, lr_at):
        log = check.reference("train_loop")(model, optimizer, get_batch, val_batches, config, lr_at)
        return {"losses": log["losses"], "val_losses": log["val_losses"][:-1]}

    verdict(check.train_loop(one_evaluation_short), False, "validation losses (after steps [")

    def sums_the_validation_batches(model, optimizer, get_batch, val_batches, config, lr_at):
        log = check.reference("train_loop")(model, optimizer, get_batch, val_batches, config, lr_at)
        return {"losses": log["losses"], "val_losses": [2 * v for v in log["val_losses"]]}

    verdict(check.train_loop(sums_the_validation_batches), False, "(the mean loss over val_batches)")

    def returns_tensors(model, optimizer, get_batch, val_batches, config, lr_at):
        log = check.reference("train_loop")(model, optimizer, get_batch, val_batches, config, lr_at)
        return {"losses": [torch.tensor(v) for v in log["losses"]], "val_losses": log["val_losses"]}

    verdict(check.train_loop(returns_tensors), True)  # a loss kept as a 0-d tensor is still a number
    verdict(check.train_loop(lambda *args: [1.0, 2.0]), False, "expected your loop to return a dict")
    verdict(check.train_loop(stub), False, "not solved yet")
    verdict(check.train_loop(None), False, "expected a function")


def test_train_loop_keeps_a_passing_loop_only_when_not_quiet(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_WORK_DIR", str(tmp_path))
    assert check.train_loop(train_loop, quiet=True).passed
    assert not (tmp_path / "train_loop.py").exists()
    check.train_loop(with_mistake("no zero_grad"))
    assert not (tmp_path / "train_loop.py").exists()
    capsys.readouterr()
    assert check.train_loop(train_loop).passed
    assert "Kept as" in capsys.readouterr().out and (tmp_path / "train_loop.py").is_file()
    kept = your_work.use("train_loop", check.reference("train_loop"), lesson="08", check=check.train_loop)
    assert kept is not train_loop and kept.__name__ == "train_loop"
    assert "Using your train_loop from lesson 08" in capsys.readouterr().out
    assert check.train_loop(kept, quiet=True).passed


# --------------------------------------------------------------------------- hard to fool, impossible to crash

ROBUSTNESS = [
    (check.uniform_loss, math.log, np.log2, "in bits"),
    (
        check.cross_entropy,
        cross_entropy,
        lambda x, t: -np.log(softmax(x)[np.arange(len(t)), t]).sum(),
        "mean over the positions",
    ),
    (check.grad_logits, grad_logits, lambda x, t: softmax(x), "subtract 1 at the target"),
    (check.sgd_step, lambda w, g, lr: w - lr * g, lambda w, g, lr: w + lr * g, "uphill"),
]
NAMES = [checker.__name__ for checker, *_ in ROBUSTNESS]
# train_loop is checked on fresh models, so there is no table of answers to memorise; the other two hold.
LOOP_ROBUSTNESS = [
    (check.train_loop, train_loop, functools.partial(check._wrong_loop, mistake="no zero_grad"), "zero_grad"),
]


def test_robustness_covers_every_function_checker():
    assert {*NAMES, "train_loop"} == function_checkers(check) == set(check.REFERENCES)


@pytest.mark.parametrize(("checker", "right", "wrong", "hint"), ROBUSTNESS, ids=NAMES)
def test_an_answer_that_memorised_the_cases_fails(checker, right, wrong, hint):
    memorised_answer_fails(checker, right)


@pytest.mark.parametrize(
    ("checker", "right", "wrong", "hint"), ROBUSTNESS + LOOP_ROBUSTNESS, ids=[*NAMES, "train_loop"]
)
def test_an_answer_that_mutates_its_input_corrupts_nothing(checker, right, wrong, hint):
    mutating_answer_corrupts_nothing(checker, right, wrong, hint)


@pytest.mark.parametrize(
    ("checker", "right", "wrong", "hint"), ROBUSTNESS + LOOP_ROBUSTNESS, ids=[*NAMES, "train_loop"]
)
def test_answers_of_the_wrong_kind_are_not_yet(checker, right, wrong, hint):
    wrong_kinds_are_not_yet(checker, right)
