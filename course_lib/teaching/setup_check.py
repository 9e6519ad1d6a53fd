"""Is this computer ready for the course? Python, packages, data files and the trained model, in one table.

In a notebook (lesson 00)::

    from course_lib.teaching.setup_check import run_checks
    report = run_checks()
    print(report)          # one line per check: ok, WARN or FAIL, and what to do about a failure
    report.ok              # True when nothing failed

From a terminal: ``python -m course_lib.teaching.setup_check`` prints the same table and exits with status 1
if anything failed. Nothing here touches the network: it only looks at what is already installed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from course_lib import data
from course_lib.data import REPO_ROOT

__all__ = [
    "CORE_PACKAGES",
    "MIN_PYTHON",
    "NOT_IMPORTED",
    "Check",
    "SetupReport",
    "check_checkpoint",
    "check_compute",
    "check_data",
    "check_packages",
    "check_python",
    "read_pins",
    "run_checks",
]

MIN_PYTHON = (3, 10)

# Distribution name (as in requirements.txt) -> the module a lesson imports.
CORE_PACKAGES: dict[str, str] = {
    "torch": "torch",
    "numpy": "numpy",
    "matplotlib": "matplotlib",
    "ipywidgets": "ipywidgets",
    "jupyterlab": "jupyterlab",
    "ipykernel": "ipykernel",
    "regex": "regex",
    "tiktoken": "tiktoken",
    "safetensors": "safetensors",
    "tqdm": "tqdm",
}

# Modules of CORE_PACKAGES that no lesson imports: JupyterLab is the program that shows the notebooks. Being
# installed is what counts, so the check finds it without importing it (which would cost a lesson's kernel
# two seconds or more for a package the kernel never uses).
NOT_IMPORTED = frozenset({"jupyterlab"})

OK, WARN, FAIL = "ok", "WARN", "FAIL"
FIX_INSTALL = "run `make setup` (or `pip install -r requirements.txt`) in the course folder"


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, its status (ok, WARN or FAIL) and the details."""

    area: str
    item: str
    status: str
    detail: str

    @property
    def failed(self) -> bool:
        return self.status == FAIL


class SetupReport:
    """The checks as a readable table; ``ok`` is True when none failed (warnings do not count)."""

    def __init__(self, checks: Iterable[Check]):
        self.checks = list(checks)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.failed]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == WARN]

    def table(self) -> str:
        rows = [("area", "item", "status", "detail")] + [(c.area, c.item, c.status, c.detail) for c in self.checks]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {s:<{widths[2]}}  {d}" for a, b, s, d in rows]
        lines.insert(1, "-" * min(100, max(len(line) for line in lines)))
        return "\n".join(lines)

    def summary(self) -> str:
        n, failed, warned = len(self.checks), len(self.failures), len(self.warnings)
        if failed:
            return f"{failed} of {n} checks FAILED: fix the lines marked FAIL (each says how), then run this again."
        note = f" ({warned} warning{'s' if warned != 1 else ''}: the course should still work)" if warned else ""
        return f"All {n} checks passed{note}."

    def __str__(self) -> str:
        return self.table() + "\n\n" + self.summary()

    def __repr__(self) -> str:
        return f"SetupReport({len(self.checks)} checks, {len(self.failures)} failed)"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


def _relative(text: str) -> str:
    """Error messages with the course folder's path removed, so a report reads the same on every machine."""
    return text.replace(str(REPO_ROOT) + "/", "").replace(str(REPO_ROOT), ".")


# --------------------------------------------------------------------------- the checks


def check_python(minimum: Sequence[int] = MIN_PYTHON, version_info: Sequence[int] | None = None) -> Check:
    """Python must be at least ``minimum`` (``version_info`` defaults to the running interpreter's)."""
    version = tuple(version_info if version_info is not None else sys.version_info[:3])
    shown = ".".join(str(v) for v in version)
    needed = ".".join(str(v) for v in minimum)
    if version[: len(minimum)] >= tuple(minimum):
        return Check("python", "Python", OK, f"{shown} (the course needs {needed} or newer)")
    return Check(
        "python",
        "Python",
        FAIL,
        f"{shown} is too old: the course needs {needed} or newer. Install a newer Python and run "
        f"`make setup PYTHON=python3.11` (or create the environment with it)",
    )


def read_pins(path: Path | str = REPO_ROOT / "requirements.txt") -> dict[str, str]:
    """``name -> version`` for every ``name==version`` line of a requirements file ({} if there is none)."""
    path = Path(path)
    if not path.exists():
        return {}
    pins = {}
    for raw in path.read_text().splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s#;]+).*", raw.split("#", 1)[0])
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def _installed_version(distribution: str, module) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return getattr(module, "__version__", None)


def check_packages(packages: Mapping[str, str] | None = None, pins: Mapping[str, str] | None = None) -> list[Check]:
    """Import every package (``distribution -> module``); compare its version with the course's pin.

    A package that cannot be imported FAILs; one whose version differs from ``requirements.txt``
    gets a WARN (the lessons will probably run, but printed numbers may differ slightly). The modules
    of :data:`NOT_IMPORTED` are looked for, not imported: one that is not installed FAILs.
    """
    packages = CORE_PACKAGES if packages is None else packages
    pins = read_pins() if pins is None else pins
    checks = []
    for distribution, module_name in packages.items():
        module = None
        if module_name in NOT_IMPORTED:
            if importlib.util.find_spec(module_name) is None:
                detail = f"cannot find {module_name}: it is not installed; {FIX_INSTALL}"
                checks.append(Check("package", distribution, FAIL, detail))
                continue
        else:
            try:
                module = importlib.import_module(module_name)
            except Exception as err:  # ImportError, or a broken install raising something else on import
                detail = f"cannot import {module_name} ({type(err).__name__}: {_relative(str(err))}); {FIX_INSTALL}"
                checks.append(Check("package", distribution, FAIL, detail))
                continue
        version = _installed_version(distribution, module) or "unknown version"
        pinned = pins.get(distribution.lower())
        # "2.13.0+cpu" is the pinned 2.13.0, built for the CPU: the part after "+" is only a build label.
        if pinned is None or version.split("+", 1)[0] == pinned:
            checks.append(Check("package", distribution, OK, version))
        else:
            detail = f"{version} installed, the course pins {pinned}: outputs may differ slightly; {FIX_INSTALL}"
            checks.append(Check("package", distribution, WARN, detail))
    return checks


def check_data(names: Iterable[str] | None = None) -> list[Check]:
    """Every course data file (or the named ones) is present and has the expected sha256."""
    checks = []
    for name in names if names is not None else data.ASSETS:
        try:
            path = data.verify(name)
        except data.DataError as err:
            checks.append(Check("data", name, FAIL, _relative(str(err))))
            continue
        size = path.stat().st_size / 1e6
        checks.append(Check("data", name, OK, f"{data.ASSETS[name].relpath}, {size:.2f} MB, sha256 verified"))
    return checks


def check_checkpoint(folder: Path | str | None = None) -> Check:
    """The trained model loads: files present, checksums right, tensors matching its configuration."""
    # Deferred on purpose, here and in check_compute: the check must still report (not crash) on a
    # computer where PyTorch, which course_lib.checkpoints loads, is missing or broken.
    from course_lib import checkpoints

    folder = Path(folder) if folder is not None else checkpoints.COURSE_CHECKPOINT
    try:
        model, tokenizer = checkpoints.load_checkpoint(folder)  # verifies every file, train_log.json included
    except checkpoints.CheckpointError as err:  # its message names the file and the repair
        return Check("checkpoint", folder.name, FAIL, _relative(str(err)))
    except Exception as err:  # not foreseen: still one line of the report, not a traceback instead of the report
        detail = f"could not load the checkpoint ({type(err).__name__}: {_relative(str(err))})"
        return Check("checkpoint", folder.name, FAIL, detail)
    return Check(
        "checkpoint",
        folder.name,
        OK,
        f"{model.num_parameters():,} parameters, {tokenizer.vocab_size} characters, checksums verified",
    )


def check_compute(environ: Mapping[str, str] | None = None) -> list[Check]:
    """Where the lessons compute: the device ``pick_device('auto')`` chooses, and PyTorch's threads for the math.

    Both follow the environment when it says (``COURSE_DEVICE``; ``COURSE_THREADS`` or ``OMP_NUM_THREADS``):
    the line then names the variable, so a learner sees why a GPU or a core is left unused.
    """
    import torch  # deferred: see check_checkpoint

    from course_lib import training

    environ = os.environ if environ is None else environ
    checks = []
    said = environ.get("COURSE_DEVICE", "").strip()
    try:
        device = training.pick_device(said or "auto")
    except ValueError as err:
        checks.append(Check("compute", "device", FAIL, f"COURSE_DEVICE={said}: {err}; unset it to let lessons choose"))
    else:
        names = {"cuda": "an NVIDIA GPU", "mps": "Apple's GPU (MPS)", "cpu": "the CPU"}
        where = names.get(device.type, device.type)
        if device.type == "cuda":
            where += f" ({torch.cuda.get_device_name(device)})"
        why = ""
        if said:
            why = f" (COURSE_DEVICE={said})"
        elif device.type == "cpu":
            why = " (no CUDA GPU or Apple MPS found)"
        checks.append(Check("compute", "device", OK, f"{device.type}: lessons that train use {where}{why}"))
    cores = training.cores_available()
    try:
        threads = training.lesson_threads(environ)
    except ValueError as err:
        checks.append(Check("compute", "threads", FAIL, f"{err}; unset it to use every core"))
        return checks
    said = [
        f"{name}={environ[name].strip()}"
        for name in ("COURSE_THREADS", "OMP_NUM_THREADS")
        if environ.get(name, "").strip()
    ]
    setting = f" (set by {said[0]})" if said else ""
    detail = f"{_count(threads, 'thread')} for PyTorch's math, of {_count(cores, 'core')}{setting}"
    checks.append(Check("compute", "threads", OK, detail))
    return checks


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'s' if n != 1 else ''}"


def run_checks(
    *,
    packages: Mapping[str, str] | None = None,
    data_names: Iterable[str] | None = None,
    checkpoint: Path | str | None = None,
    compute: bool = False,
) -> SetupReport:
    """All checks, in the order a fix would go: Python, packages, data, then the trained model.

    ``compute=True`` adds where the lessons compute (:func:`check_compute`: device and threads), as the
    command line does.
    """
    checks = [check_python(), *check_packages(packages)]
    checks += check_data(data_names)
    checks.append(check_checkpoint(checkpoint))
    checks += check_compute() if compute else []
    return SetupReport(checks)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check that this computer is ready for the course.")
    parser.parse_args(argv)
    report = run_checks()
    report.checks += check_compute()  # the command line also says where the lessons compute
    print(report)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
