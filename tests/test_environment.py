"""The dependency lists agree: requirements.txt pins what pyproject.toml lists; Binder and conda follow them."""

import re
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement

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


def pins(path: Path = ROOT / "requirements.txt") -> dict[str, str]:
    """``name -> version`` of a requirements file's ``name==version`` lines (names lower-cased)."""
    found = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, version = line.split("==")
            found[name.lower()] = version
    return found


def pyproject_groups() -> dict[str, list[Requirement]]:
    """pyproject.toml's dependency groups: ``runtime`` (its dependencies) and each optional group."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"runtime": project["dependencies"], **project["optional-dependencies"]}
    own = project["name"].lower()
    return {
        group: [r for r in map(Requirement, lines) if r.name.lower() != own]  # `course_lib[lab]` includes a group
        for group, lines in groups.items()
    }


def test_pyproject_and_requirements_list_the_same_packages_each_in_one_group():
    groups = pyproject_groups()
    names = [r.name.lower() for reqs in groups.values() for r in reqs]
    twice = sorted({n for n in names if names.count(n) > 1})
    assert twice == [], f"a package belongs to one group of pyproject.toml only: {twice}"
    assert sorted(names) == sorted(pins()), "pyproject.toml and requirements.txt must list the same packages"


def test_every_pin_satisfies_pyprojects_range():
    pinned = pins()
    outside = [
        f"{r.name}=={pinned[r.name.lower()]} is not {r.specifier}"
        for reqs in pyproject_groups().values()
        for r in reqs
        if not r.specifier.contains(pinned[r.name.lower()], prereleases=True)
    ]
    assert outside == []


def test_installing_the_package_brings_only_what_the_lessons_import():
    """`pip install course_lib` must not pull the test tools (the issue: pytest, playwright, ruff, transformers)."""
    runtime = {r.name.lower() for r in pyproject_groups()["runtime"]}
    assert {"torch", "numpy", "matplotlib", "ipywidgets"} <= runtime
    assert runtime.isdisjoint({"pytest", "playwright", "ruff", "transformers", "nbgrader", "jupyterlab"})
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "dynamic" not in project or "dependencies" not in project["dynamic"]
    assert {"test", "dev"} <= set(project["optional-dependencies"])
    assert "course_lib[test]" in project["optional-dependencies"]["dev"]


def test_binder_installs_the_runtime_pins_and_the_cpu_build():
    runtime = {r.name.lower() for r in pyproject_groups()["runtime"]}
    binder = ROOT / ".binder" / "requirements.txt"
    assert pins(binder) == {name: version for name, version in pins().items() if name in runtime}
    options = [line.strip() for line in binder.read_text().splitlines() if line.strip().startswith("-")]
    assert options == ["--extra-index-url https://download.pytorch.org/whl/cpu"]
    runtime_txt = (ROOT / ".binder" / "runtime.txt").read_text().strip()
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert runtime_txt == "python-" + conda_python.split("=")[1], "Binder and conda use the same Python"


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
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip_section, "conda users get the CPU build"
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


def test_readme_sends_a_new_user_to_the_first_lesson():
    """The lessons start at 00 (the map of the course); the README must say to open that one first."""
    readme = (ROOT / "README.md").read_text()
    first = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))[0]
    opened = re.findall(r"Open `notebooks/([^`]+)` first", readme)
    assert opened == [first], f"README should say: Open `notebooks/{first}` first (it says {opened})"
