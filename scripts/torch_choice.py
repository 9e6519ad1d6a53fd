"""Which PyTorch build to install: the CPU build where PyPI's default would be the CUDA one.

PyPI's ``torch`` wheel for Linux is built for CUDA and pulls in NVIDIA's libraries (several GB);
on macOS and Windows the same pin is CPU-only (macOS's also drives Apple's GPU through MPS). The
course runs on any CPU, so on Linux ``make setup`` asks PyTorch's own CPU wheel index, which holds
``torch==2.13.0+cpu``: pip takes that build because a version with a local label (``+cpu``) sorts
above the same version without one, and ``==2.13.0`` accepts both.

    python scripts/torch_choice.py            # prints the arguments for `pip install`, says why on stderr

``COURSE_TORCH`` chooses: ``auto`` (the default: the CPU build on Linux, PyPI's wheel elsewhere),
``cpu`` (the same, said explicitly) or ``cuda`` (PyPI's default wheel, which on Linux is the CUDA
build: for a learner with an NVIDIA GPU who wants lesson 08 to train on it). When PyTorch's index
does not answer within a few seconds, one line says so and pip takes PyPI's wheel instead.

Only the standard library is used: this runs before anything is installed, with any Python 3.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TIMEOUT_SECONDS = 3.0
CHOICES = ("auto", "cpu", "cuda")
REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements.txt"


@dataclass(frozen=True)
class Choice:
    """What to install: the arguments for ``pip install`` and one line saying why."""

    pip_args: tuple[str, ...]
    reason: str

    @property
    def cpu_index(self) -> bool:
        return CPU_INDEX in self.pip_args


def torch_pin(requirements: Path = REQUIREMENTS) -> str:
    """The ``torch==X`` line of requirements.txt (the one place the version is written)."""
    for raw in requirements.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if re.fullmatch(r"torch==\S+", line):
            return line
    raise SystemExit(f"{requirements} has no `torch==VERSION` line")


def nvidia_gpu_present(which: Callable[[str], str | None] = shutil.which, proc: Path = Path("/proc")) -> bool:
    """An NVIDIA driver is installed: ``nvidia-smi`` is on PATH, or the kernel module reports itself."""
    return which("nvidia-smi") is not None or (proc / "driver" / "nvidia" / "version").exists()


def index_reachable(url: str = CPU_INDEX, timeout: float = TIMEOUT_SECONDS) -> bool:
    """Whether ``url`` answers at all within ``timeout`` seconds (proxies from the environment are used).

    The request runs in a thread that is given up on after ``timeout``: a socket's timeout does not
    cover the name lookup, which can hang much longer on a network that drops packets.
    """
    answered: list[bool] = []

    def ask() -> None:
        try:
            request = urllib.request.Request(url.rstrip("/") + "/torch/", method="HEAD")
            with urllib.request.urlopen(request, timeout=timeout):
                answered.append(True)
        except urllib.error.HTTPError:
            answered.append(True)  # it answered; pip will deal with the status
        except (OSError, ValueError):
            answered.append(False)  # no route, no name, refused, timed out

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answered and answered[0])


def decide(
    platform: str,
    choice: str = "auto",
    *,
    gpu: bool = False,
    reachable: Callable[[], bool] = index_reachable,
    pin: str = "torch==2.13.0",
) -> Choice:
    """The build for ``platform`` (``sys.platform``: linux, darwin, win32...), ``COURSE_TORCH=choice`` and the GPU.

    ``reachable`` is asked only when the answer depends on it (Linux, not ``cuda``).
    """
    choice = (choice or "auto").strip().lower()
    if choice not in CHOICES:
        raise ValueError(f"COURSE_TORCH must be one of {', '.join(CHOICES)}, not {choice!r}")
    default = (pin,)
    if not platform.startswith("linux"):
        where = "macOS" if platform == "darwin" else "Windows" if platform in ("win32", "cygwin") else platform
        if choice == "cuda" and platform == "darwin":
            return Choice(default, f"PyTorch: {pin} from PyPI (there is no CUDA build for macOS; lessons use MPS)")
        if choice == "cuda":
            return Choice(
                default,
                f"PyTorch: {pin} from PyPI, the CPU build on {where}; for CUDA install torch from an index listed "
                "at pytorch.org (e.g. `pip install torch --index-url https://download.pytorch.org/whl/cu128`)",
            )
        return Choice(default, f"PyTorch: {pin} from PyPI (on {where} that is the CPU-only build)")
    if choice == "cuda":
        return Choice(default, f"PyTorch: {pin} from PyPI, the CUDA build with NVIDIA's libraries (COURSE_TORCH=cuda)")
    if not reachable():
        return Choice(
            default,
            f"PyTorch: the CPU wheel index ({CPU_INDEX}) could not be reached (limit {TIMEOUT_SECONDS:g} s); "
            f"installing {pin} from your package index instead (on Linux, PyPI's is the CUDA build, several GB)",
        )
    gpu_note = " An NVIDIA GPU was found: `make setup COURSE_TORCH=cuda` installs the CUDA build." if gpu else ""
    return Choice(
        (pin, "--extra-index-url", CPU_INDEX),
        f"PyTorch: {pin}, the CPU build, from PyTorch's CPU wheel index (set COURSE_TORCH=cuda for the CUDA build)."
        + gpu_note,
    )


def choose(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> Choice:
    """:func:`decide` for this machine."""
    return decide(
        platform,
        environ.get("COURSE_TORCH", "auto"),
        gpu=platform.startswith("linux") and nvidia_gpu_present(),
        pin=torch_pin(),
    )


def main() -> int:
    try:
        choice = choose()
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(choice.reason, file=sys.stderr)
    print(" ".join(choice.pip_args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
