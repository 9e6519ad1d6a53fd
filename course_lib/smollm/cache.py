"""SmolLM2's float32 weights, kept on disk once they are dequantised, so that loading takes a fraction of a second.

Reading the GGUF file costs seconds every time: its metadata is parsed field by field (the vocabulary is
49,152 separate strings) and every 4-bit block is expanded to float32. Both results never change, so
``make setup`` stores them once, next to the downloaded archives::

    data/cache/smollm2-135m-instruct.float32.pt     (torch.save: the metadata as JSON, 540 MB of float32)

and :func:`load_cached` opens that file memory-mapped (``torch.load(mmap=True, weights_only=True)``): the
operating system reads the weights from disk only when the first forward pass touches them, and keeps
them in its page cache, shared by every process that opens the file. The numbers are the ones
:func:`course_lib.smollm.gguf.load_from_gguf` computes, bit for bit (tests/smollm/test_cache.py checks it).

The file is checked each time it is opened, cheaply: its format version, the sha256 of the GGUF file it was
made from (the one ``course_lib.data`` pins), every tensor's name, shape and type, and that every weight is
a finite number (one pass of ``aminmax`` per tensor: NaN and infinity show in the minimum or the maximum).
A cut-short file cannot be opened at all. Set-up also recomputes the sha256 of all the weights, recorded when
the file was written, which catches a damaged byte anywhere. Whatever is wrong, :func:`load` says so in one
line and builds the file again from the GGUF; :class:`CacheError` names the file and the repair command
when even that cannot be done.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from course_lib import data
from course_lib.smollm.gguf import GGUFError, assemble, open_gguf, read_gguf
from course_lib.smollm.model import SmolLM
from course_lib.smollm.tokenizer import SmolLMTokenizer

__all__ = [
    "CACHE_FORMAT",
    "CACHE_NAME",
    "CACHE_VERSION",
    "CacheError",
    "build_cache",
    "cache_path",
    "check_cache",
    "load",
    "load_cached",
    "setup_cache",
    "write_cache",
]

CACHE_FORMAT = "course_lib.smollm float32 weights"
#: Raised whenever the file's layout changes: a file of another version is rebuilt, never misread.
CACHE_VERSION = 1
CACHE_NAME = "smollm2-135m-instruct.float32.pt"
REPAIR = "Run `make setup` (or `python -m course_lib.data setup`) to build it again from the GGUF file."


class CacheError(GGUFError):
    """The float32 cache of SmolLM2's weights is missing, stale or damaged; the message says which and why."""


def cache_path() -> Path:
    """Where the course keeps its float32 copy of SmolLM2 (under ``data/cache/``, or COURSE_DATA_DIR's)."""
    return data.DATA_DIR / "cache" / CACHE_NAME


def _gguf_sha256() -> str:
    return data.ASSETS["smollm2_gguf"].sha256


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 of every tensor's bytes, in name order: what set-up re-checks to find a damaged byte."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].contiguous().numpy().data)
    return digest.hexdigest()


def write_cache(path: Path, meta: dict, tensors: dict[str, torch.Tensor], gguf_sha256: str) -> None:
    """Save ``meta`` (GGUF metadata) and ``tensors`` (float32 weights) to ``path``, tied to the GGUF's sha256.

    Written to a temporary file in the same folder, then renamed over ``path``: a reader sees the old file or
    the whole new one, never half of one, even when two lessons build it at the same time.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CACHE_FORMAT,
        "version": CACHE_VERSION,
        "gguf_sha256": gguf_sha256,
        "metadata": json.dumps(meta),  # plain text: weights_only loading accepts it, and it round-trips exactly
        "digest": _digest(tensors),
        "tensors": tensors,
    }
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    os.close(handle)
    try:
        try:
            torch.save(payload, tmp)
        except RuntimeError as err:  # torch.save reports a full disk as a RuntimeError of its zip writer
            raise OSError(f"torch.save failed: {err}") from None
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the data folder may be shared by a class
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _open(path: Path, gguf_sha256: str) -> dict:
    """The file's contents, memory-mapped, after the checks that need no pass over the weights."""
    shown = data.shown_path(path)
    if not path.is_file():
        raise CacheError(f"{shown} is missing")
    try:
        payload = torch.load(path, mmap=True, weights_only=True, map_location="cpu")
    except Exception as err:  # a cut-short or scribbled file: zip errors, unpickling errors...
        raise CacheError(
            f"{shown} cannot be read ({type(err).__name__}: {str(err)[:120]}); it may be cut short"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != CACHE_FORMAT:
        raise CacheError(f"{shown} is not a cache of SmolLM2's weights")
    if payload.get("version") != CACHE_VERSION:
        raise CacheError(f"{shown} has format version {payload.get('version')!r}; this course reads {CACHE_VERSION}")
    if payload.get("gguf_sha256") != gguf_sha256:
        raise CacheError(
            f"{shown} was made from another GGUF file (sha256 {str(payload.get('gguf_sha256'))[:12]}..., "
            f"expected {gguf_sha256[:12]}...)"
        )
    if not isinstance(payload.get("tensors"), dict) or not isinstance(payload.get("metadata"), str):
        raise CacheError(f"{shown} lacks its weights or its metadata")
    return payload


def _check_values(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    for name, tensor in tensors.items():
        if not isinstance(tensor, torch.Tensor) or tensor.dtype != torch.float32:
            raise CacheError(f"{data.shown_path(path)} holds {name} as {getattr(tensor, 'dtype', type(tensor))}")
        low, high = torch.aminmax(tensor)  # NaN propagates into both; infinity shows in one
        if not (torch.isfinite(low) and torch.isfinite(high)):
            raise CacheError(f"{data.shown_path(path)} holds NaN or infinite values in {name}")


def _read(path: Path, gguf_sha256: str) -> dict:
    payload = _open(path, gguf_sha256)
    _check_values(path, payload["tensors"])
    return payload


def _assemble(path: Path, payload: dict) -> tuple[SmolLM, SmolLMTokenizer]:
    try:
        return assemble(json.loads(payload["metadata"]), payload["tensors"], data.shown_path(path))
    except (GGUFError, ValueError) as err:  # wrong names or shapes, metadata it cannot run
        raise CacheError(f"{data.shown_path(path)} does not hold a model this course runs: {err}") from None


def load_cached(path: Path | None = None, gguf_sha256: str | None = None) -> tuple[SmolLM, SmolLMTokenizer]:
    """The model and its tokenizer from the float32 cache, memory-mapped, after the cheap checks (module docstring).

    ``gguf_sha256``: the GGUF file the cache must have been made from (the course's pinned one by default).
    Anything wrong raises :class:`CacheError` saying what.
    """
    path = Path(path) if path is not None else cache_path()
    return _assemble(path, _read(path, gguf_sha256 or _gguf_sha256()))


def check_cache(path: Path | None = None, gguf_sha256: str | None = None) -> None:
    """Every check :func:`load_cached` makes, and the sha256 of all the weights (set-up's thorough check)."""
    path = Path(path) if path is not None else cache_path()
    payload = _read(path, gguf_sha256 or _gguf_sha256())
    if _digest(payload["tensors"]) != payload.get("digest"):
        raise CacheError(f"{data.shown_path(path)} has been altered: its weights no longer match their sha256")
    _assemble(path, payload)


def build_cache(
    gguf_path: Path | None = None, path: Path | None = None, gguf_sha256: str | None = None
) -> tuple[SmolLM, SmolLMTokenizer]:
    """Dequantise the GGUF file (the course's verified copy by default), write the cache, return the model."""
    if gguf_path is None:
        gguf_path = data.asset_path("smollm2_gguf")  # its sha256 checked: the one the cache is tied to
    path = Path(path) if path is not None else cache_path()
    meta, tensors = read_gguf(open_gguf(gguf_path), Path(gguf_path).name)
    model, tokenizer = assemble(meta, tensors, Path(gguf_path).name)
    write_cache(path, meta, tensors, gguf_sha256 or _gguf_sha256())
    return model, tokenizer


@functools.cache
def load() -> tuple[SmolLM, SmolLMTokenizer]:
    """SmolLM2 from the cache; if it is missing or fails a check, rebuilt once from the GGUF file (one printed line).

    If the data folder cannot be written (a read-only copy shared through COURSE_DATA_DIR), the model is read
    from the GGUF file directly, which is slower but gives the same numbers, and a line says how to fix it.
    """
    path = cache_path()
    try:
        return load_cached(path)
    except CacheError as why:
        reason = str(why)
    print(f"SmolLM2: {reason}; building it once from the GGUF file (a few seconds; later loads are fast)")
    gguf_path = data.asset_path("smollm2_gguf")
    meta, tensors = read_gguf(open_gguf(gguf_path), gguf_path.name)
    loaded = assemble(meta, tensors, gguf_path.name)
    try:
        write_cache(path, meta, tensors, _gguf_sha256())
    except OSError as err:
        print(
            f"SmolLM2: cannot write {data.shown_path(path)} ({err.strerror or err}); read from the GGUF file. {REPAIR}"
        )
    return loaded


def setup_cache(force: bool = False, out=None) -> None:
    """Set-up's step: keep the cache if it passes every check (:func:`check_cache`), else build it. Idempotent."""
    out = out or sys.stdout
    path = cache_path()
    shown = path.relative_to(data.DATA_DIR) if path.is_relative_to(data.DATA_DIR) else path
    if not force:
        try:
            check_cache(path)
            print(f"  ok       {shown}", file=out)
            return
        except CacheError as why:
            if path.exists():
                print(f"  stale    {why}: building it again", file=out)
    start = time.perf_counter()
    try:
        build_cache(path=path)
    except OSError as err:
        raise CacheError(f"cannot write {data.shown_path(path)} ({err.strerror or err}). {REPAIR}") from None
    print(
        f"  built    {shown}  ({path.stat().st_size / 1e6:.0f} MB of float32 weights, "
        f"{time.perf_counter() - start:.1f} s)",
        file=out,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m course_lib.smollm.cache setup [--force]``: the set-up step ``course_lib.data.setup`` runs."""
    parser = argparse.ArgumentParser(description="Build or check SmolLM2's float32 cache.")
    parser.add_argument("command", choices=["setup"])
    parser.add_argument("--force", action="store_true", help="rebuild it even if it passes every check")
    args = parser.parse_args(argv)
    try:
        setup_cache(force=args.force)
    except data.DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
