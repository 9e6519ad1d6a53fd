"""The course model's checkpoints: a folder of plain files, saved and loaded safely.

A checkpoint is ``model.safetensors`` (tensors only, nothing that can run code when loaded; nothing is
ever unpickled), ``config.json`` (model shape + tokenizer), optionally ``train_log.json``, and
``SHA256SUMS``. :func:`load_checkpoint` checks all of it and raises :class:`CheckpointError` saying what
is wrong and how to repair it. :func:`load_course_model` loads the course's trained Shakespeare model.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from course_lib.data import REPO_ROOT, DataError, require_file, sha256_file, shown_path
from course_lib.model import GPT, GPTConfig
from course_lib.tokenizers import CharTokenizer

__all__ = [
    "COURSE_CHECKPOINT",
    "CheckpointError",
    "load_checkpoint",
    "load_course_model",
    "read_train_log",
    "save_checkpoint",
]


COURSE_CHECKPOINT = REPO_ROOT / "data" / "checkpoints" / "shakespeare-char"


class CheckpointError(DataError):
    """A checkpoint folder is missing, damaged, or does not describe the model it holds.

    The message names the file and the repair: for the course's own model, restoring the committed
    files with git; for a checkpoint you saved, saving it again.
    """


FORMAT = "course-gpt/1"


FILES = ("model.safetensors", "config.json")


def _repair(folder: Path) -> str:
    """How to get a sound copy of the checkpoint in ``folder``: the sentence every CheckpointError ends with."""
    if Path(folder).resolve() == Path(COURSE_CHECKPOINT).resolve():
        return (
            "The course's trained model is committed with the course: restore it with "
            "`git checkout -- data/checkpoints` in the course folder "
            "(or train it again: `python scripts/train_course_model.py`)."
        )
    return "Save the checkpoint again with course_lib.checkpoints.save_checkpoint."


def _checkpoint_file(folder: Path, name: str) -> Path:
    what = f"the checkpoint's {name}" + (" (the weights)" if name == "model.safetensors" else "")
    return require_file(folder / name, what, _repair(folder), CheckpointError)


def save_checkpoint(
    folder: str | Path,
    model: GPT,
    tokenizer: CharTokenizer,
    *,
    train_log: dict | None = None,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Write model.safetensors, config.json, (train_log.json) and SHA256SUMS into ``folder``."""
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


def _read_sums(folder: Path) -> dict[str, str]:
    """SHA256SUMS as ``file name -> sha256``, or a CheckpointError saying what is wrong with it."""
    sums_path = require_file(
        folder / "SHA256SUMS",
        "the checksums of the checkpoint's files, without which they cannot be verified",
        _repair(folder),
        CheckpointError,
    )
    try:
        lines = sums_path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise CheckpointError(f"cannot read {shown_path(sums_path)} ({err}). {_repair(folder)}") from None
    expected = {}
    for number, line in enumerate(lines, start=1):
        digest, _, name = line.partition("  ")
        name, digest = name.strip(), digest.strip()
        if len(digest) != 64 or not name or "/" in name or "\\" in name:
            raise CheckpointError(
                f"line {number} of {shown_path(sums_path)} is not '<sha256>  <file name>': {line[:80]!r}. "
                f"{_repair(folder)}"
            )
        expected[name] = digest
    for name in FILES:
        if name not in expected:
            raise CheckpointError(f"{shown_path(sums_path)} does not list {name}. {_repair(folder)}")
    return expected


def _verify_file(folder: Path, name: str, digest: str) -> None:
    path = _checkpoint_file(folder, name)
    actual = sha256_file(path)
    if actual != digest:
        raise CheckpointError(
            f"{shown_path(path)} is damaged or was changed (sha256 {actual[:12]}..., SHA256SUMS says "
            f"{digest[:12]}...). {_repair(folder)}"
        )


def _verify_sums(folder: Path) -> None:
    for name, digest in _read_sums(folder).items():
        _verify_file(folder, name, digest)


def _read_config(folder: Path) -> tuple[GPTConfig, CharTokenizer]:
    path = folder / "config.json"
    shown, repair = shown_path(path), _repair(folder)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"cannot read {shown}: {err}. {repair}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{shown} is not a course checkpoint config (expected format {FORMAT!r}). {repair}")
    try:
        config = GPTConfig.from_dict(data.get("model"))
        tokenizer = CharTokenizer.from_dict(data.get("tokenizer"))
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{shown} is invalid: {err}. {repair}") from None
    if tokenizer.vocab_size != config.vocab_size:
        raise CheckpointError(
            f"{shown}: the tokenizer has {tokenizer.vocab_size} tokens but the model's vocab_size is "
            f"{config.vocab_size}. {repair}"
        )
    return config, tokenizer


def _read_tensors(path: Path, model: GPT) -> dict[str, torch.Tensor]:
    shown, repair = shown_path(path), _repair(path.parent)
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{shown} is not a readable safetensors file (truncated or corrupt?): {err}. {repair}"
        ) from None
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{shown} does not match config.json's model: missing tensors {missing[:5]}, unexpected {unexpected[:5]}. "
            f"{repair}"
        )
    for name, wanted in expected.items():  # in the model's order, so the first mismatch reported is the earliest
        tensor = tensors[name]
        if tensor.shape != wanted.shape:
            raise CheckpointError(
                f"{shown}: tensor {name} has shape {tuple(tensor.shape)}, but config.json's model needs "
                f"{tuple(wanted.shape)}. {repair}"
            )
        if not tensor.is_floating_point() or not torch.isfinite(tensor).all():
            raise CheckpointError(f"{shown}: tensor {name} is not all finite floating-point numbers. {repair}")
    return tensors


def load_checkpoint(
    folder: str | Path, device: str | torch.device = "cpu", *, verify: bool = True
) -> tuple[GPT, CharTokenizer]:
    """The model (in eval mode, float32) and tokenizer saved by :func:`save_checkpoint`.

    With ``verify`` every file is first checked against SHA256SUMS. Any problem raises CheckpointError.
    """
    folder = Path(folder)
    if folder.is_file():
        raise CheckpointError(
            f"{shown_path(folder)} is a file: load_checkpoint takes the checkpoint's folder, the one holding "
            f"{' and '.join(FILES)} (here perhaps {shown_path(folder.parent)})"
        )
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder {shown_path(folder)} does not exist. {_repair(folder)}")
    for name in FILES:
        _checkpoint_file(folder, name)
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


def read_train_log(folder: str | Path | None = None) -> dict:
    """The train_log.json saved with a checkpoint (loss curve, timing, settings); the course model's by default.

    When the folder's SHA256SUMS lists the log (save_checkpoint lists it), the log is checked against it,
    so an edited or damaged log is reported instead of read.
    """
    folder = Path(COURSE_CHECKPOINT if folder is None else folder)
    path = _checkpoint_file(folder, "train_log.json")
    if (folder / "SHA256SUMS").exists():
        listed = _read_sums(folder)
        if "train_log.json" in listed:
            _verify_file(folder, "train_log.json", listed["train_log.json"])
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise CheckpointError(f"cannot read {shown_path(path)} ({err}). {_repair(folder)}") from None
    except json.JSONDecodeError as err:
        raise CheckpointError(
            f"{shown_path(path)} is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}). "
            f"{_repair(folder)}"
        ) from None
    if not isinstance(log, dict):
        raise CheckpointError(f"{shown_path(path)} holds a {type(log).__name__}, not a training log. {_repair(folder)}")
    return log
