"""Set the course up where it is not cloned: Colab, or any Jupyter whose Python lacks ``course_lib``.

Each lesson's first code cell (:func:`first_cell`, written into the lessons by
``scripts/launch_links.py``) checks whether ``course_lib`` can be imported. In a clone of the course
set up with ``make setup``, on Binder or on the class's JupyterHub it can, and the cell does nothing
at all, so the lessons' saved outputs do not change. Anywhere else (a lesson opened in Colab from its
link, say) the cell clones the course's repository, adds it to ``sys.path`` and calls :func:`finish`,
which installs the packages the lessons import and fetches the data from the same registries, checked
against the same sha256 as ``make setup``, then says how long it took.

Packages the environment already has are kept when they are recent enough (Colab's own PyTorch, with
its CUDA build, stays); the ones it lacks are installed at the versions the course is tested with
(requirements.txt), and a missing PyTorch is the CPU build on Linux, as with ``make setup``.

Three environment variables point the cell elsewhere: ``COURSE_REPO`` (another clone URL, a fork or
a local path: the default is the published repository, from pyproject.toml), ``COURSE_BRANCH`` and
``COURSE_DIR`` (where to clone; default ``llm-course`` in the notebook's folder).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

FIRST_CELL_TAG = "course-setup"  # the cell's tag, so the link writer finds and updates it

_CELL = """\
# Colab, or any Jupyter without the course: this cell gets the course, its packages and its data (a few
# minutes, once). Where the course is already installed (a clone after `make setup`, Binder) it does nothing.
import importlib.util
import os
import subprocess
import sys
import time

if importlib.util.find_spec("course_lib") is None:
    started, folder = time.time(), os.path.abspath(os.environ.get("COURSE_DIR", "llm-course"))
    if not os.path.isdir(folder):
        repo = os.environ.get("COURSE_REPO", {repo})
        branch = os.environ.get("COURSE_BRANCH", {branch})
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", branch, repo, folder], check=True)
    sys.path.insert(0, folder)
    from course_lib.bootstrap import finish

    finish(folder, started)\n"""


def first_cell(repository: str, branch: str) -> str:
    """The source of a lesson's first code cell, cloning ``repository`` at ``branch`` where the course is missing."""
    return _CELL.format(repo=json.dumps(repository), branch=json.dumps(branch)).rstrip("\n")


def runtime_pins(folder: Path) -> list[str]:
    """``name==version`` for each runtime package, from ``.binder/requirements.txt`` (the runtime pins)."""
    pins = []
    for raw in (Path(folder) / ".binder" / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            pins.append(line)
    return pins


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def missing(pins: Iterable[str], installed: Callable[[str], bool] = _installed) -> list[str]:
    """The pins whose package is not installed at all (an installed one is kept if pyproject's range allows it)."""
    return [pin for pin in pins if not installed(re.split(r"[=<>!~ ]", pin, maxsplit=1)[0])]


def install_command(folder: Path, absent: list[str], torch_args: Iterable[str] = ()) -> list[str]:
    """``pip install`` of the course (editable, so a restarted kernel still imports it) and its dependencies.

    ``absent`` (pins of packages not installed) become constraints, so those packages get the tested
    versions; ``torch_args`` are scripts/torch_choice.py's extra arguments when PyTorch is among them.
    """
    command = [sys.executable, "-m", "pip", "install", "--quiet", "-e", str(folder)]
    if absent:
        constraints = Path(folder) / "build" / "bootstrap-constraints.txt"
        constraints.parent.mkdir(parents=True, exist_ok=True)
        constraints.write_text("\n".join(absent) + "\n", encoding="utf-8")
        command += ["-c", str(constraints)]
    return command + [arg for arg in torch_args if not arg.startswith("torch==")]  # the pin is a constraint already


def _torch_choice(folder: Path):
    """scripts/torch_choice.py of the clone, loaded by path (it is a stand-alone script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("torch_choice", Path(folder) / "scripts" / "torch_choice.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["torch_choice"] = module
    spec.loader.exec_module(module)
    return module


def duration(seconds: float) -> str:
    """``'2 min 05 s'`` or ``'48 s'``."""
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def finish(folder: str | Path, started: float | None = None, *, out=None) -> None:
    """Install the course from its clone ``folder``, fetch and verify its data, say how long it all took."""
    out = out or sys.stdout
    folder = Path(folder).resolve()
    started = time.time() if started is None else started
    absent = missing(runtime_pins(folder))
    torch_args: tuple[str, ...] = ()
    if any(pin.startswith("torch==") for pin in absent):
        choice = _torch_choice(folder).choose()
        print(choice.reason, file=out)
        torch_args = choice.pip_args
    print(f"Installing the course from {folder} ({len(absent)} packages to add)...", file=out, flush=True)
    subprocess.run(install_command(folder, absent, torch_args), check=True)
    importlib.invalidate_caches()
    print(f"Packages installed ({duration(time.time() - started)} so far).", file=out, flush=True)

    from course_lib import data  # deferred on purpose: the course's packages were only just installed above

    print(f"Fetching the course's data into {data.DATA_DIR}:", file=out, flush=True)
    data.setup(out=out)
    print(
        f"The course is ready: set up in {duration(time.time() - started)} (once; this cell now does nothing).",
        file=out,
    )
