"""Training the course's small GPT: batches, the loop, evaluation, and safe checkpoints.

The loop is the usual one: draw a random batch of (input, next-token target) windows from the
corpus, compute the cross-entropy loss, backpropagate, clip the gradient norm, take an AdamW step
with a learning rate that warms up linearly and then decays along a cosine. Every
``eval_interval`` steps the validation loss is estimated on the *same* fixed batches each time,
so the curve is comparable from one evaluation to the next and between runs.

Everything is seeded: the same config on the same machine gives the same loss curve.

Saving and loading the trained model is :mod:`course_lib.checkpoints`.

Several GPUs (not used by the course; cannot be tested on its 2-core CPU machines): launch the
script with ``torchrun --nproc_per_node=N script.py``, call
``torch.distributed.init_process_group("nccl")`` in each process, put the model on
``cuda:{LOCAL_RANK}``, wrap it in ``torch.nn.parallel.DistributedDataParallel`` (which averages
the gradients across processes during ``backward``), give each process its own batch stream
(seed the batch generator with ``seed + rank``), and let only rank 0 evaluate, print and save
(from ``ddp_model.module``). The effective batch is then N x ``batch_size``.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from course_lib import seed_everything  # re-exported: one seeding helper for lessons and training
from course_lib.arrays import require_int, require_positive_int, require_real
from course_lib.model import GPT

__all__ = [
    "TrainConfig",
    "TrainResult",
    "autocast_supported",
    "cores_available",
    "encode_corpus",
    "estimate_loss",
    "evaluate_split",
    "evaluation_steps",
    "get_batch",
    "history_from_log",
    "lesson_threads",
    "known_word_share",
    "longest_copied_piece",
    "loop_inputs",
    "loss_trend",
    "lr_at",
    "model_device",
    "pick_device",
    "run_loop",
    "seed_everything",
    "train",
    "use_cores",
    "words_of",
]


# --------------------------------------------------------------------------- setup helpers


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def pick_device(device: str = "auto") -> torch.device:
    """The device to compute on: 'auto' is the fastest here, an NVIDIA GPU (CUDA), Apple's GPU (MPS), else the CPU.

    ``COURSE_DEVICE`` in the environment stands in for 'auto': the tests set it to 'cpu', so the numbers
    they compare are the CPU's. Asking for a device this computer does not have is an error, here rather
    than deep inside the first step.
    """
    if device == "auto":
        device = os.environ.get("COURSE_DEVICE", "auto").strip() or "auto"
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'mps' (COURSE_DEVICE too), not {device!r}") from err
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but this computer has no CUDA GPU PyTorch can use: use 'auto'")
    if chosen.type == "mps" and not _mps_available():
        raise ValueError(f"device {device!r} asked for, but Apple's MPS is not available here: use 'auto'")
    return chosen


def model_device(model: torch.nn.Module) -> torch.device:
    """The device ``model``'s parameters are on (the CPU for a model without any), where its inputs must go."""
    parameter = next(model.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device


def cores_available() -> int:
    """How many CPU cores this process may run on (a container or `taskset` may allow fewer than the machine has)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def lesson_threads(environ: dict | None = None) -> int:
    """How many threads PyTorch's math should use: every core, unless the environment says otherwise.

    ``COURSE_THREADS``, else ``OMP_NUM_THREADS`` (the usual variable, which PyTorch and NumPy also read),
    decides when set: the tests set one thread, so their numbers repeat exactly on any machine.
    """
    environ = os.environ if environ is None else environ
    for name in ("COURSE_THREADS", "OMP_NUM_THREADS"):
        value = environ.get(name, "").strip()
        if value:
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"{name} must be a whole number of threads, at least 1, not {value!r}")
            return int(value)
    return cores_available()


def use_cores(threads: int | None = None) -> int:
    """Let PyTorch use ``threads`` threads (default: :func:`lesson_threads`) and return how many it now uses."""
    torch.set_num_threads(lesson_threads() if threads is None else threads)
    return torch.get_num_threads()


def autocast_supported(device: torch.device) -> bool:
    """Whether bfloat16 autocast is likely to *help* here: the hardware must do bf16 math natively.

    CPUs without AVX-512 BF16 / AMX emulate it and run far slower than float32, so "auto" leaves it
    off there. Even where it is native (the course's CPU machines have AVX-512 BF16), the course's
    small models gain little from it: their matrices are small, and casting costs time
    (benchmarks/train_speed.py measures it). That is why TrainConfig's default is "off".
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported()


# --------------------------------------------------------------------------- data


def encode_corpus(tokenizer, text: str) -> torch.Tensor:
    """The whole text as one long 1-D tensor of token ids."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text:
        raise ValueError("text is empty: a corpus needs at least one character")
    return torch.tensor(tokenizer.encode(text), dtype=torch.long)


def _require_corpus(name: str, data: torch.Tensor, block_size: int) -> None:
    """A 1-D tensor of integer token ids with more than ``block_size`` of them (one window and its next token).

    The ids' range is not scanned here (that would read the whole corpus at every step): the model checks
    each batch it is given.
    """
    if not isinstance(data, torch.Tensor):
        raise TypeError(
            f"{name} must be a 1-D torch tensor of token ids (encode_corpus makes one), got {type(data).__name__}"
        )
    if data.dtype == torch.bool or data.is_floating_point() or data.is_complex():
        raise TypeError(f"{name} must hold integer token ids, got dtype {data.dtype}: convert with .long()")
    if data.dim() != 1 or len(data) <= block_size:
        raise ValueError(
            f"{name} must be a 1-D tensor longer than block_size={block_size}, got shape {tuple(data.shape)}"
        )


def get_batch(
    data: torch.Tensor, batch_size: int, block_size: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of ``block_size`` tokens (x) and the same windows shifted by one (y).

    y[b, t] is the token that follows x[b, :t+1], so one window trains all block_size predictions at once.
    """
    batch_size, block_size = (
        require_positive_int("batch_size", batch_size),
        require_positive_int("block_size", block_size),
    )
    _require_corpus("data", data, block_size)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    windows = data[starts[:, None] + torch.arange(block_size + 1)]  # (B, block_size + 1)
    return windows[:, :-1], windows[:, 1:]


def _fixed_batches(data: torch.Tensor, n_batches: int, batch_size: int, block_size: int, seed: int) -> list:
    generator = torch.Generator().manual_seed(seed)
    return [get_batch(data, batch_size, block_size, generator) for _ in range(n_batches)]


@torch.no_grad()
def estimate_loss(model: GPT, batches: list, device: torch.device | str | None = None, autocast: bool = False) -> float:
    """Mean loss over the given (x, y) batches, in eval mode (no dropout); the model's mode is restored.

    The batches are moved to ``device``, by default the model's own (a model trained on a GPU stays there).
    """
    if len(batches) == 0:
        raise ValueError("batches is empty: give at least one (x, y) batch to estimate the loss on")
    was_training = model.training
    model.eval()
    device = model_device(model) if device is None else torch.device(device)
    losses = []
    # Without autocast no autocast context at all: some devices have none (a GPU-less "meta" in the tests).
    for x, y in batches:
        with torch.autocast(device.type, dtype=torch.bfloat16) if autocast else contextlib.nullcontext():
            _, loss = model(x.to(device), y.to(device))
        losses.append(loss.item())
    model.train(was_training)
    return float(np.mean(losses))


@torch.no_grad()
def evaluate_split(
    model: GPT, data: torch.Tensor, batch_size: int = 64, device: torch.device | str | None = None
) -> float:
    """Mean loss over *all* of ``data``, cut into consecutive windows of block_size (no sampling noise).

    Every token is predicted exactly once (the last few that do not fill a window are left out). The
    windows go to ``device``, by default the model's own.
    """
    device = model_device(model) if device is None else torch.device(device)
    block_size = model.config.block_size
    batch_size = require_positive_int("batch_size", batch_size)
    _require_corpus("data", data, block_size)
    n_windows = (len(data) - 1) // block_size
    inputs = data[: n_windows * block_size].view(n_windows, block_size)
    targets = data[1 : n_windows * block_size + 1].view(n_windows, block_size)
    batches = [(inputs[i : i + batch_size], targets[i : i + batch_size]) for i in range(0, n_windows, batch_size)]
    was_training = model.training
    model.eval()
    total = sum(model(x.to(device), y.to(device))[1].item() * x.numel() for x, y in batches)
    model.train(was_training)
    return total / (n_windows * block_size)


# --------------------------------------------------------------------------- the loop


@dataclass
class TrainConfig:
    batch_size: int = 32
    max_iters: int = 2000
    learning_rate: float = 1e-3
    min_lr: float | None = None  # where the cosine ends; default learning_rate / 10
    warmup_iters: int = 100
    weight_decay: float = 0.1  # applied to matrices only (see _optimizer)
    beta1: float = 0.9
    beta2: float = 0.99  # a little below the usual 0.999: small batches give noisy gradients
    grad_clip: float = 1.0  # largest gradient norm; 0 turns clipping off
    eval_interval: int = 250
    eval_batches: int = 20
    eval_batch_size: int = 64
    seed: int = 0
    device: str = "auto"
    autocast: str = "off"  # "bf16", "off", or "auto" (bf16 where the hardware does it natively)
    compile: bool = False  # torch.compile the model (needs a C++ compiler; slow to start)
    target_val_loss: float | None = None  # stop at the first evaluation at or below this
    max_seconds: float | None = None  # a time budget: after the first step that ends past it, evaluate and stop

    def __post_init__(self) -> None:
        """Refuse settings that would fail later in the loop or silently mean something else.

        Ints must be ints (a numpy int is stored as a Python int; 2.5 or True is refused), numbers must
        be finite numbers (a string such as "1e-3" is refused). ``warmup_iters`` may not exceed
        ``max_iters``: the learning rate would still be rising when training stops, so the run would
        never use the ``learning_rate`` it was given, nor its cosine decay.
        """
        if self.autocast not in ("bf16", "off", "auto"):
            raise ValueError(f"TrainConfig.autocast must be 'bf16', 'off' or 'auto', got {self.autocast!r}")
        for name in ("batch_size", "max_iters", "eval_interval", "eval_batches", "eval_batch_size"):
            setattr(self, name, require_positive_int(f"TrainConfig.{name}", getattr(self, name)))
        self.warmup_iters = require_int("TrainConfig.warmup_iters", self.warmup_iters, minimum=0)
        if self.warmup_iters > self.max_iters:
            raise ValueError(
                f"TrainConfig.warmup_iters ({self.warmup_iters}) is longer than max_iters ({self.max_iters}): the "
                "learning rate would still be warming up when training stops; use warmup_iters <= max_iters"
            )
        self.seed = require_int("TrainConfig.seed", self.seed)
        self.learning_rate = require_real("TrainConfig.learning_rate", self.learning_rate, low=0, low_open=True)
        if self.min_lr is not None:
            self.min_lr = require_real("TrainConfig.min_lr", self.min_lr, low=0)
            if self.min_lr > self.learning_rate:
                raise ValueError(
                    f"TrainConfig.min_lr ({self.min_lr:g}) is above learning_rate ({self.learning_rate:g}): the cosine "
                    "decays from learning_rate down to min_lr, so min_lr must be <= learning_rate"
                )
        self.weight_decay = require_real("TrainConfig.weight_decay", self.weight_decay, low=0)
        for name in ("beta1", "beta2"):
            setattr(self, name, require_real(f"TrainConfig.{name}", getattr(self, name), low=0, high=1, high_open=True))
        self.grad_clip = require_real("TrainConfig.grad_clip", self.grad_clip, low=0, hint="Use 0 to turn clipping off")
        if self.target_val_loss is not None:
            self.target_val_loss = require_real(
                "TrainConfig.target_val_loss", self.target_val_loss, low=0, low_open=True
            )
        if self.max_seconds is not None:
            self.max_seconds = require_real("TrainConfig.max_seconds", self.max_seconds, low=0, low_open=True)
        if not isinstance(self.device, str):
            raise TypeError(
                f"TrainConfig.device must be a str ('auto', 'cpu', 'cuda'...), got {type(self.device).__name__}"
            )
        if self.device != "auto":
            try:
                torch.device(self.device)
            except RuntimeError:
                raise ValueError(
                    f"TrainConfig.device must be 'auto' or a torch device name such as 'cpu' or 'cuda', "
                    f"got {self.device!r}"
                ) from None
        if not isinstance(self.compile, bool):
            raise TypeError(f"TrainConfig.compile must be True or False, got {type(self.compile).__name__}")


def lr_at(iteration: int, config: TrainConfig) -> float:
    """Linear warm-up from 0 (large early steps on random weights are unstable), then cosine decay to min_lr."""
    iteration = require_int("iteration", iteration, minimum=0)
    min_lr = config.learning_rate / 10 if config.min_lr is None else config.min_lr
    if iteration < config.warmup_iters:
        return config.learning_rate * (iteration + 1) / config.warmup_iters
    decay_steps = max(1, config.max_iters - config.warmup_iters)
    progress = min(1.0, (iteration - config.warmup_iters) / decay_steps)
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (config.learning_rate - min_lr)


def _optimizer(model: GPT, config: TrainConfig) -> torch.optim.AdamW:
    # Weight decay pulls weights toward 0; it is meant for the matrices (including the embeddings),
    # not for biases and LayerNorm scales, which are vectors.
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(config.beta1, config.beta2))


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)  # one entry per evaluation
    losses: list[float] = field(default_factory=list)  # the training loss of every step
    iterations: int = 0
    seconds: float = 0.0  # wall time of the whole run, evaluations included
    eval_seconds: float = 0.0
    tokens: int = 0  # training tokens processed
    reached_target: dict | None = None  # the first evaluation at or below target_val_loss
    out_of_time: bool = False  # stopped by max_seconds before max_iters (and before reaching the target)

    @property
    def val_loss(self) -> float:
        return self.history[-1]["val_loss"]

    def to_dict(self) -> dict:
        return asdict(self)


def train(
    model: GPT,
    train_data: torch.Tensor,
    val_data: torch.Tensor,
    config: TrainConfig,
    *,
    callback: Callable[[list[dict]], None] | None = None,
    progress: bool = True,
    make_optimizer: Callable[[torch.nn.Module, TrainConfig], torch.optim.Optimizer] | None = None,
) -> TrainResult:
    """Train ``model`` in place on ``train_data`` (1-D token ids), evaluating on ``val_data``.

    ``callback(history)`` runs after every evaluation (e.g. ``course_lib.lessons.lesson08.LiveLossPlot``,
    which redraws the curves in a notebook).
    Seed the model's initialisation yourself before building it (:func:`seed_everything`); the batches
    and dropout are seeded here from ``config.seed``.

    ``config.max_seconds`` is a time budget: the first step that ends past it is evaluated and is the last
    (``result.out_of_time`` says so), whatever ``max_iters`` says. Its steps depend on the machine's speed,
    so a test or a lesson compares what such a run shows, never its step count.

    ``make_optimizer(model, config)`` builds another optimizer than the default AdamW (``course_lib.speedrun``
    uses it for Muon). A param group with an ``"lr_scale"`` gets that multiple of the scheduled learning rate.
    """
    device = pick_device(config.device)
    use_autocast = config.autocast == "bf16" or (config.autocast == "auto" and autocast_supported(device))
    block_size = model.config.block_size
    model.to(device).train()
    torch.manual_seed(config.seed)  # dropout masks
    batch_generator = torch.Generator().manual_seed(config.seed)
    val_batches = _fixed_batches(val_data, config.eval_batches, config.eval_batch_size, block_size, config.seed + 1)
    optimizer = (make_optimizer or _optimizer)(model, config)
    step_model = torch.compile(model) if config.compile else model

    result = TrainResult()
    start = time.perf_counter()
    bar = tqdm(range(config.max_iters), disable=not progress, desc="training", unit="step")
    for iteration in bar:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(iteration, config) * group.get("lr_scale", 1.0)
        x, y = get_batch(train_data, config.batch_size, block_size, batch_generator)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_autocast):
            _, loss = step_model(x.to(device), y.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        result.losses.append(loss.item())
        result.iterations = iteration + 1
        result.tokens += x.numel()

        last = iteration + 1 == config.max_iters
        # Past the time budget the run still ends on an evaluation, so its curve ends where it stopped.
        out_of_time = not last and config.max_seconds is not None and time.perf_counter() - start >= config.max_seconds
        if (iteration + 1) % config.eval_interval == 0 or last or out_of_time:
            record = _evaluate(model, val_batches, device, use_autocast, result, config, start)
            bar.set_postfix(train=f"{record['train_loss']:.3f}", val=f"{record['val_loss']:.3f}")
            if callback is not None:
                callback(result.history)
            if config.target_val_loss is not None and record["val_loss"] <= config.target_val_loss:
                result.reached_target = record
                break
        if out_of_time:
            result.out_of_time = True
            break
    bar.close()
    result.seconds = time.perf_counter() - start
    return result


def _evaluate(model, val_batches, device, use_autocast, result: TrainResult, config: TrainConfig, start) -> dict:
    eval_start = time.perf_counter()
    val_loss = estimate_loss(model, val_batches, device, use_autocast)
    result.eval_seconds += time.perf_counter() - eval_start
    # The training loss is the mean over the steps since the last evaluation: free, and close to a
    # fresh estimate because each step sees new random windows (the model has not memorised them).
    recent = result.losses[-config.eval_interval :]
    record = {
        "iter": result.iterations,
        "train_loss": float(np.mean(recent)),
        "val_loss": val_loss,
        "lr": lr_at(result.iterations - 1, config),
        "seconds": time.perf_counter() - start,
        "tokens": result.tokens,
    }
    result.history.append(record)
    return record


# --------------------------------------------------------------------------- a loop written elsewhere
#
# Lesson 08's learner writes the loop itself: ``loop(model, optimizer, get_batch, val_batches, config, lr_at)``
# returns ``{"losses": [the training loss of every step], "val_losses": [the validation loss of every
# evaluation]}``. Given what :func:`train` gives its own loop (the same optimizer, batches, validation
# batches and seeds), a right loop makes exactly train()'s run: that is how its checker tells.


def loop_inputs(model: GPT, train_data: torch.Tensor, val_data: torch.Tensor, config: TrainConfig):
    """``(optimizer, get_batch, val_batches)`` as :func:`train` makes them, for a loop written elsewhere.

    ``get_batch()`` returns the next training batch (x, y) of train()'s seeded stream; ``val_batches`` are
    train()'s fixed validation batches. Seeds dropout as train() does, so call it just before the loop.
    """
    block_size = model.config.block_size
    _require_corpus("train_data", train_data, block_size)
    _require_corpus("val_data", val_data, block_size)
    model.train()
    torch.manual_seed(config.seed)  # dropout masks
    batch_generator = torch.Generator().manual_seed(config.seed)
    val_batches = _fixed_batches(val_data, config.eval_batches, config.eval_batch_size, block_size, config.seed + 1)

    def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
        return get_batch(train_data, config.batch_size, block_size, batch_generator)

    return _optimizer(model, config), next_batch, val_batches


def evaluation_steps(config: TrainConfig) -> list[int]:
    """The steps (counted from 1) after which :func:`train` measures the validation loss."""
    return [i for i in range(1, config.max_iters + 1) if i % config.eval_interval == 0 or i == config.max_iters]


def history_from_log(log: dict, config: TrainConfig) -> list[dict]:
    """A loop's log as :attr:`TrainResult.history`: at each evaluation, the step, the mean training loss of the
    last ``eval_interval`` steps (as :func:`train` records it) and the validation loss (what :func:`loss_trend`
    and the loss-curve figures read). A log of the wrong length, or with a NaN, is refused, saying why."""
    if not isinstance(log, dict) or not {"losses", "val_losses"} <= log.keys():
        raise ValueError(f"log must be a dict with 'losses' and 'val_losses', got {type(log).__name__}")
    losses, val_losses = [float(v) for v in log["losses"]], [float(v) for v in log["val_losses"]]
    steps = evaluation_steps(config)
    if len(losses) != config.max_iters or len(val_losses) != len(steps):
        raise ValueError(
            f"log must hold {config.max_iters} training losses (one per step) and {len(steps)} validation losses "
            f"(after steps {steps}), got {len(losses)} and {len(val_losses)}"
        )
    if not all(math.isfinite(v) for v in losses + val_losses):
        raise ValueError("log holds a loss that is NaN or infinite: the run diverged (try a lower learning rate)")
    return [
        {"iter": step, "train_loss": float(np.mean(losses[max(0, step - config.eval_interval) : step])), "val_loss": v}
        for step, v in zip(steps, val_losses, strict=True)
    ]


def run_loop(loop: Callable, model: GPT, train_data: torch.Tensor, val_data: torch.Tensor, config: TrainConfig):
    """Train ``model`` in place with ``loop`` (see above), given what :func:`train` would use; a :class:`TrainResult`.

    The run is on ``config.device`` ('auto': a GPU when there is one, as :func:`train`): the model, each
    batch and the validation batches are put there, so the learner's loop moves no tensors itself.
    """
    device = pick_device(config.device)
    model.to(device)
    optimizer, cpu_batch, cpu_val_batches = loop_inputs(model, train_data, val_data, config)
    val_batches = [(x.to(device), y.to(device)) for x, y in cpu_val_batches]

    def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
        x, y = cpu_batch()  # drawn on the CPU, from train()'s seeded stream, whatever the device
        return x.to(device), y.to(device)

    start = time.perf_counter()
    log = loop(model, optimizer, next_batch, val_batches, config, lr_at)
    seconds = time.perf_counter() - start
    history = history_from_log(log, config)
    for record in history:
        record["tokens"] = record["iter"] * config.batch_size * model.config.block_size
    return TrainResult(
        history=history,
        losses=[float(v) for v in log["losses"]],
        iterations=config.max_iters,
        seconds=seconds,
        tokens=config.max_iters * config.batch_size * model.config.block_size,
    )


# --------------------------------------------------------------------------- what a run shows, on any CPU
#
# A seeded run prints the same numbers every time on one computer, but not on another: processors, BLAS
# builds and thread counts add long sums up in different orders, so the last bits differ, and a few hundred
# steps of training amplify that into a different second decimal and a different sample. What does not change
# is what the run shows: a loss that fell (or rose) at every evaluation, a sample made of real words, a
# continuation copied from the training text. These functions measure those, so a lesson can check them.

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")  # a run of letters, with inner apostrophes (o'er, 'tis -> tis)


def loss_trend(history: list[dict], key: str = "val_loss") -> str:
    """How ``key`` moved over a run's evaluations (:attr:`TrainResult.history`): ``'falling'`` if it was lower
    at every evaluation than at the one before, ``'rising'`` if higher every time, otherwise ``'mixed'``.
    """
    if not isinstance(history, list) or not all(isinstance(r, dict) and key in r for r in history):
        raise ValueError(f"history must be a list of evaluation records (TrainResult.history), each with {key!r}")
    if len(history) < 2:
        raise ValueError(f"a trend needs at least two evaluations, got {len(history)}")
    steps = list(itertools.pairwise(r[key] for r in history))
    if all(after < before for before, after in steps):
        return "falling"
    if all(after > before for before, after in steps):
        return "rising"
    return "mixed"


def words_of(text: str) -> set[str]:
    """The distinct words of ``text``, lower-cased: runs of letters, with apostrophes inside a word kept."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return set(_WORD.findall(text.lower()))


def known_word_share(text: str, known: str | set[str]) -> float:
    """The share of the words in ``text`` (each occurrence counted) that are words of ``known``.

    ``known`` is a text (its words are taken with :func:`words_of`) or a set of lower-case words. A text with
    no words at all scores 0. Random characters score close to 0; Shakespeare, against his own plays, 1.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    vocabulary = words_of(known) if isinstance(known, str) else known
    if not isinstance(vocabulary, set | frozenset) or not vocabulary:
        raise ValueError("known must be a non-empty text or a non-empty set of words")
    words = _WORD.findall(text.lower())
    return sum(word in vocabulary for word in words) / len(words) if words else 0.0


def longest_copied_piece(text: str, source: str) -> str:
    """The longest stretch of ``text`` that also occurs, character for character, somewhere in ``source``.

    A model that memorised its training text continues it with long copied stretches; one that learned the
    language writes new text, whose copied stretches are a few words long at most.
    """
    for name, value in (("text", text), ("source", source)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    best = ""
    for start in range(len(text)):
        # A piece one longer than the best so far is all that is worth trying from here.
        while start + len(best) < len(text) and text[start : start + len(best) + 1] in source:
            best = text[start : start + len(best) + 1]
    return best
