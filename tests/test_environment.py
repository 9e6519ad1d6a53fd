"""The dependency lists agree: requirements.txt is the source, pyproject and environment.yml follow it."""

import re
import sys
from pathlib import Path

import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]


def requirement_lines() -> list[str]:
    lines = []
    for raw in (ROOT / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def test_requirements_are_all_pinned():
    lines = requirement_lines()
    assert len(lines) >= 10
    unpinned = [line for line in lines if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.+]+", line)]
    assert unpinned == [], f"every requirement must be pinned with ==, these are not: {unpinned}"


def test_torch_is_the_cpu_pin():
    assert "torch==2.13.0" in requirement_lines()


def test_design_card_packages_are_listed():
    names = {line.split("==")[0].lower() for line in requirement_lines()}
    for needed in ["jupyterlab", "numpy", "matplotlib", "torch", "ipywidgets", "nbval"]:
        assert needed in names, f"{needed} is on the design card but missing from requirements.txt"


def test_pyproject_reads_requirements():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "dependencies" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["dependencies"]["file"] == ["requirements.txt"]


def test_environment_yml_parses_and_points_at_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["name"]
    deps = env["dependencies"]
    pythons = [d for d in deps if isinstance(d, str) and d.startswith("python")]
    assert len(pythons) == 1, "environment.yml should pin exactly one python"
    major_minor = tuple(int(x) for x in pythons[0].split("=")[1].split(".")[:2])
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert major_minor >= tuple(int(x) for x in required.lstrip(">=").split(".")[:2])
    assert "pip" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "-r requirements.txt" in pip_section, "conda users must get the same packages as pip users"
    # No package may be listed twice with a different source of truth.
    conda_packages = {d.split("=")[0] for d in deps if isinstance(d, str)} - {"python", "pip"}
    assert conda_packages == set(), f"list packages in requirements.txt, not environment.yml: {conda_packages}"


def test_running_python_satisfies_requires_python():
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert sys.version_info[:2] >= tuple(int(x) for x in required.lstrip(">=").split(".")[:2])


def test_make_lab_starts_jupyterlab_on_the_lessons_even_as_root():
    """`make lab` is one of the README's two commands; Jupyter refuses root unless given --allow-root."""
    import os
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry_run = subprocess.run(
        ["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True, check=True, env={**os.environ, "MAKEFLAGS": ""}
    ).stdout
    command = next(line for line in dry_run.splitlines() if "jupyter lab" in line)
    assert command.rstrip().endswith("notebooks/")
    assert ("--allow-root" in command) == (os.getuid() == 0), command
