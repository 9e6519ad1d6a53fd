"""Training the course's small GPT: batches, the loop, evaluation, and safe checkpoints.

The loop is the usual one: draw a random batch of (input, next-token target) windows from the
corpus, compute the cross-entropy loss, backpropagate, clip the gradient norm, take an AdamW step
with a learning rate that warms up linearly and then decays along a cosine. Every
``eval_interval`` steps the validation loss is estimated on the *same* fixed batches each time,
so the curve is comparable from one evaluation to the next and between runs.

Everything is seeded: the same config on the same machine gives the same loss curve.

Checkpoints are a folder of plain files: ``model.safetensors`` (tensors only, nothing that can
run code when loaded; nothing is ever unpickled), ``config.json`` (model shape + tokenizer),
optionally ``train_log.json``, and ``SHA256SUMS``. :func:`load_checkpoint` checks all of it and
raises :class:`CheckpointError` saying what is wrong.

Several GPUs (not used by the course; cannot be tested on its 2-core CPU machines): launch the
script with ``torchrun --nproc_per_node=N script.py``, call
``torch.distributed.init_process_group("nccl")`` in each process, put the model on
``cuda:{LOCAL_RANK}``, wrap it in ``torch.nn.parallel.DistributedDataParallel`` (which averages
the gradients across processes during ``backward``), give each process its own batch stream
(seed the batch generator with ``seed + rank``), and let only rank 0 evaluate, print and save
(from ``ddp_model.module``). The effective batch is then N x ``batch_size``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from course_lib import seed_everything  # re-exported: one seeding helper for lessons and training
from course_lib.data import REPO_ROOT, sha256_file
from course_lib.model import GPT, GPTConfig
from course_lib.tokenizers import CharTokenizer

__all__ = [
    "COURSE_CHECKPOINT",
    "CheckpointError",
    "LiveLossPlot",
    "TrainConfig",
    "TrainResult",
    "autocast_supported",
    "encode_corpus",
    "estimate_loss",
    "evaluate_split",
    "get_batch",
    "known_word_share",
    "load_checkpoint",
    "load_course_model",
    "longest_copied_piece",
    "loss_trend",
    "lr_at",
    "pick_device",
    "read_train_log",
    "save_checkpoint",
    "seed_everything",
    "train",
    "words_of",
]

COURSE_CHECKPOINT = REPO_ROOT / "data" / "checkpoints" / "shakespeare-char"


# --------------------------------------------------------------------------- setup helpers


def pick_device(device: str = "auto") -> torch.device:
    """'auto' means CUDA when a GPU is present, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


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
    return torch.tensor(tokenizer.encode(text), dtype=torch.long)


def get_batch(
    data: torch.Tensor, batch_size: int, block_size: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of ``block_size`` tokens (x) and the same windows shifted by one (y).

    y[b, t] is the token that follows x[b, :t+1], so one window trains all block_size predictions at once.
    """
    if data.dim() != 1 or len(data) <= block_size:
        raise ValueError(
            f"data must be a 1-D tensor longer than block_size={block_size}, got shape {tuple(data.shape)}"
        )
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    windows = data[starts[:, None] + torch.arange(block_size + 1)]  # (B, block_size + 1)
    return windows[:, :-1], windows[:, 1:]


def _fixed_batches(data: torch.Tensor, n_batches: int, batch_size: int, block_size: int, seed: int) -> list:
    generator = torch.Generator().manual_seed(seed)
    return [get_batch(data, batch_size, block_size, generator) for _ in range(n_batches)]


@torch.no_grad()
def estimate_loss(model: GPT, batches: list, device: torch.device | str = "cpu", autocast: bool = False) -> float:
    """Mean loss over the given (x, y) batches, in eval mode (no dropout); the model's mode is restored."""
    was_training = model.training
    model.eval()
    device = torch.device(device)
    losses = []
    for x, y in batches:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            _, loss = model(x.to(device), y.to(device))
        losses.append(loss.item())
    model.train(was_training)
    return float(np.mean(losses))


@torch.no_grad()
def evaluate_split(model: GPT, data: torch.Tensor, batch_size: int = 64, device: torch.device | str = "cpu") -> float:
    """Mean loss over *all* of ``data``, cut into consecutive windows of block_size (no sampling noise).

    Every token is predicted exactly once (the last few that do not fill a window are left out).
    """
    block_size = model.config.block_size
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

    def __post_init__(self) -> None:
        if self.autocast not in ("bf16", "off", "auto"):
            raise ValueError(f"TrainConfig.autocast must be 'bf16', 'off' or 'auto', got {self.autocast!r}")
        for name in ("batch_size", "max_iters", "eval_interval", "eval_batches", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be at least 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"TrainConfig.learning_rate must be > 0, got {self.learning_rate}")


def lr_at(iteration: int, config: TrainConfig) -> float:
    """Linear warm-up from 0 (large early steps on random weights are unstable), then cosine decay to min_lr."""
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
) -> TrainResult:
    """Train ``model`` in place on ``train_data`` (1-D token ids), evaluating on ``val_data``.

    ``callback(history)`` runs after every evaluation (e.g. :class:`LiveLossPlot` in a notebook).
    Seed the model's initialisation yourself before building it (:func:`seed_everything`); the batches
    and dropout are seeded here from ``config.seed``.
    """
    device = pick_device(config.device)
    use_autocast = config.autocast == "bf16" or (config.autocast == "auto" and autocast_supported(device))
    block_size = model.config.block_size
    model.to(device).train()
    torch.manual_seed(config.seed)  # dropout masks
    batch_generator = torch.Generator().manual_seed(config.seed)
    val_batches = _fixed_batches(val_data, config.eval_batches, config.eval_batch_size, block_size, config.seed + 1)
    optimizer = _optimizer(model, config)
    step_model = torch.compile(model) if config.compile else model

    result = TrainResult()
    start = time.perf_counter()
    bar = tqdm(range(config.max_iters), disable=not progress, desc="training", unit="step")
    for iteration in bar:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(iteration, config)
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
        if (iteration + 1) % config.eval_interval == 0 or last:
            record = _evaluate(model, val_batches, device, use_autocast, result, config, start)
            bar.set_postfix(train=f"{record['train_loss']:.3f}", val=f"{record['val_loss']:.3f}")
            if callback is not None:
                callback(result.history)
            if config.target_val_loss is not None and record["val_loss"] <= config.target_val_loss:
                result.reached_target = record
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


class LiveLossPlot:
    """A ``train(..., callback=LiveLossPlot())`` callback that redraws the loss curves in a notebook."""

    def __init__(self, title: str = "Loss while training"):
        import matplotlib.pyplot as plt

        self.fig, self.ax = plt.subplots(figsize=(7, 4))
        plt.close(self.fig)  # shown through the display handle below, not again when the cell ends
        self.title = title
        self.handle = None

    def __call__(self, history: list[dict]) -> None:
        from IPython.display import display

        steps = [r["iter"] for r in history]
        ax = self.ax
        ax.clear()
        ax.plot(steps, [r["train_loss"] for r in history], marker="o", color="#0072B2", label="train")
        ax.plot(steps, [r["val_loss"] for r in history], marker="s", color="#D55E00", label="validation")
        ax.set_xlabel("training step")
        ax.set_ylabel("cross-entropy loss (nats per token)")
        ax.set_title(self.title)
        ax.legend()
        ax.grid(alpha=0.3)
        if self.handle is None:
            self.handle = display(self.fig, display_id=True)
        else:
            self.handle.update(self.fig)


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


# --------------------------------------------------------------------------- checkpoints


class CheckpointError(RuntimeError):
    """A checkpoint folder is missing, damaged, or does not describe the model it holds."""


FORMAT = "course-gpt/1"
FILES = ("model.safetensors", "config.json")


def save_checkpoint(
    folder: str | Path,
    model: GPT,
    tokenizer: CharTokenizer,
    *,
    train_log: dict | None = None,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Write model.safetensors, config.json, (train_log.json) and SHA256SUMS into ``folder``."""
    from safetensors.torch import save_file

    if tokenizer.vocab_size != model.config.vocab_size:
        raise ValueError(
            f"tokenizer has {tokenizer.vocab_size} tokens but the model's vocab_size is {model.config.vocab_size}"
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {name: t.detach().to("cpu", dtype).contiguous() for name, t in model.state_dict().items()}
    save_file(tensors, folder / "model.safetensors", metadata={"format": FORMAT})
    config = {"format": FORMAT, "model": model.config.to_dict(), "tokenizer": tokenizer.to_dict()}
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    names = list(FILES)
    if train_log is not None:
        (folder / "train_log.json").write_text(json.dumps(train_log, indent=1) + "\n")
        names.append("train_log.json")
    # The format `sha256sum -c SHA256SUMS` checks.
    (folder / "SHA256SUMS").write_text("".join(f"{sha256_file(folder / n)}  {n}\n" for n in names))
    return folder


def _verify_sums(folder: Path) -> None:
    sums_path = folder / "SHA256SUMS"
    if not sums_path.exists():
        raise CheckpointError(f"{sums_path} is missing, so the checkpoint cannot be verified")
    expected = {}
    for line in sums_path.read_text().splitlines():
        digest, _, name = line.partition("  ")
        expected[name.strip()] = digest.strip()
    for name in FILES:
        if name not in expected:
            raise CheckpointError(f"{sums_path} does not list {name}")
    for name, digest in expected.items():
        path = folder / name
        if not path.exists():
            raise CheckpointError(f"{path} is missing")
        actual = sha256_file(path)
        if actual != digest:
            raise CheckpointError(
                f"{path} is damaged or was changed: sha256 {actual[:12]}..., SHA256SUMS says {digest[:12]}..."
            )


def _read_config(folder: Path) -> tuple[GPTConfig, CharTokenizer]:
    path = folder / "config.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"cannot read {path}: {err}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a course checkpoint config (expected format {FORMAT!r})")
    try:
        config = GPTConfig.from_dict(data.get("model"))
        tokenizer = CharTokenizer.from_dict(data.get("tokenizer"))
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path} is invalid: {err}") from None
    if tokenizer.vocab_size != config.vocab_size:
        raise CheckpointError(
            f"{path}: the tokenizer has {tokenizer.vocab_size} tokens but the model's vocab_size is {config.vocab_size}"
        )
    return config, tokenizer


def _read_tensors(path: Path, model: GPT) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path} is not a readable safetensors file (truncated or corrupt?): {err}") from None
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not match config.json's model: missing tensors {missing[:5]}, unexpected {unexpected[:5]}"
        )
    for name, wanted in expected.items():  # in the model's order, so the first mismatch reported is the earliest
        tensor = tensors[name]
        if tensor.shape != wanted.shape:
            raise CheckpointError(
                f"{path}: tensor {name} has shape {tuple(tensor.shape)}, but config.json's model needs "
                f"{tuple(wanted.shape)}"
            )
        if not tensor.is_floating_point() or not torch.isfinite(tensor).all():
            raise CheckpointError(f"{path}: tensor {name} is not all finite floating-point numbers")
    return tensors


def load_checkpoint(
    folder: str | Path, device: str | torch.device = "cpu", *, verify: bool = True
) -> tuple[GPT, CharTokenizer]:
    """The model (in eval mode, float32) and tokenizer saved by :func:`save_checkpoint`.

    With ``verify`` every file is first checked against SHA256SUMS. Any problem raises CheckpointError.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder {folder} does not exist")
    for name in FILES:
        if not (folder / name).exists():
            raise CheckpointError(f"{folder / name} is missing: a checkpoint needs {' and '.join(FILES)}")
    if verify:
        _verify_sums(folder)
    config, tokenizer = _read_config(folder)
    model = GPT(config)
    tensors = _read_tensors(folder / "model.safetensors", model)
    model.load_state_dict({name: t.float() for name, t in tensors.items()})
    return model.to(device).eval(), tokenizer


def load_course_model(device: str | torch.device = "cpu") -> tuple[GPT, CharTokenizer]:
    """The course's character-level Shakespeare model (trained by scripts/train_course_model.py), verified."""
    return load_checkpoint(COURSE_CHECKPOINT, device)


def read_train_log(folder: str | Path = COURSE_CHECKPOINT) -> dict:
    """The train_log.json saved with a checkpoint (loss curve, timing, settings)."""
    path = Path(folder) / "train_log.json"
    if not path.exists():
        raise CheckpointError(f"{path} is missing")
    return json.loads(path.read_text())
