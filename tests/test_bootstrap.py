"""Where the course is not cloned: the first cell's bootstrap (Colab), Binder's postBuild, and the launch links.

The fast tests check the pieces offline. The two ``network`` tests do what Colab and Binder do, in a
clean virtual environment with no clone of the course on ``sys.path``: they need the package index,
so the offline test run skips them and ``.ci/run`` runs them in its set-up step, while the network is
up. Colab and Binder themselves cannot be reached from here; the repository they would clone is a
local copy of this working tree (``COURSE_REPO`` points the cell at it).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from course_lib import bootstrap
from course_lib.teaching import grading, site

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("launch_links", ROOT / "scripts" / "launch_links.py")
launch_links = importlib.util.module_from_spec(spec)
spec.loader.exec_module(launch_links)
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def package_index_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


needs_index = pytest.mark.skipif(
    not package_index_reachable(), reason="needs the package index (.ci/run runs it in its online set-up step)"
)


# --------------------------------------------------------------------------- the first cell, offline


def test_the_first_cell_does_nothing_where_the_course_is_installed(tmp_path):
    cell = bootstrap.first_cell("https://github.com/OWNER/REPO", "main")
    compile(cell, "first cell", "exec")
    run = subprocess.run([sys.executable, "-c", cell], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert (run.stdout, run.stderr) == ("", "")  # nothing printed, so a lesson's saved outputs stay as they are
    assert list(tmp_path.iterdir()) == []  # and nothing cloned


def test_the_first_cell_clones_the_configured_repository_and_branch():
    cell = bootstrap.first_cell("https://github.com/someone/llm-course", "spring")
    assert 'os.environ.get("COURSE_REPO", "https://github.com/someone/llm-course")' in cell
    assert 'os.environ.get("COURSE_BRANCH", "spring")' in cell
    assert '"--branch", branch, repo, folder' in cell


def test_the_first_cell_passes_the_lessons_lint(tmp_path):
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed")
    cell = tmp_path / "cell.py"
    cell.write_text(bootstrap.first_cell("https://github.com/OWNER/REPO", "main") + "\n")
    run = subprocess.run(
        [ruff, "check", "--config", str(ROOT / "pyproject.toml"), str(cell)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout


def test_only_missing_packages_get_the_tested_pins():
    pins = ["torch==2.13.0", "numpy==2.4.6", "gguf==0.19.0"]
    assert bootstrap.missing(pins, installed=lambda name: name != "gguf") == ["gguf==0.19.0"]
    assert bootstrap.missing(pins, installed=lambda name: False) == pins
    assert bootstrap.runtime_pins(ROOT)[0] == "torch==2.13.0"
    assert len(bootstrap.runtime_pins(ROOT)) == 10


def test_the_install_command_is_editable_with_constraints_and_the_torch_index(tmp_path):
    command = bootstrap.install_command(
        tmp_path, ["torch==2.13.0", "gguf==0.19.0"], ("torch==2.13.0", "--extra-index-url", "X")
    )
    assert command[:7] == [sys.executable, "-m", "pip", "install", "--quiet", "-e", str(tmp_path)]
    constraints = tmp_path / "build" / "bootstrap-constraints.txt"
    assert command[7:] == ["-c", str(constraints), "--extra-index-url", "X"]
    assert constraints.read_text() == "torch==2.13.0\ngguf==0.19.0\n"
    assert bootstrap.install_command(tmp_path, []) == [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "-e",
        str(tmp_path),
    ]


def test_durations_read_as_minutes_and_seconds():
    assert [bootstrap.duration(s) for s in (4.4, 59.6, 125, 3600)] == ["4 s", "1 min 00 s", "2 min 05 s", "60 min 00 s"]


# --------------------------------------------------------------------------- the launch links, offline


def test_the_address_is_read_from_pyproject_and_must_be_githubs(tmp_path):
    repository, slug, branch = launch_links.course_address()
    assert repository == f"https://github.com/{slug}" and branch
    other = tmp_path / "pyproject.toml"
    other.write_text('[project.urls]\nRepository = "https://gitlab.com/a/b"\n[tool.course]\nbranch = "main"\n')
    with pytest.raises(ValueError, match="must be https://github.com/OWNER/REPO"):
        launch_links.course_address(other)
    other.write_text('[project.urls]\nRepository = "https://github.com/a/b.git"\n[tool.course]\nbranch = "x"\n')
    assert launch_links.course_address(other) == ("https://github.com/a/b.git", "a/b", "x")


def test_colab_and_binder_links_have_their_services_formats():
    path = "notebooks/05_softmax_temperature.ipynb"
    assert launch_links.colab_url("a/b", "main", path) == (
        "https://colab.research.google.com/github/a/b/blob/main/notebooks/05_softmax_temperature.ipynb"
    )
    assert launch_links.binder_url("a/b", "main", path) == (
        "https://mybinder.org/v2/gh/a/b/main?urlpath=lab%2Ftree%2Fnotebooks%2F05_softmax_temperature.ipynb"
    )


def test_the_readmes_links_are_the_ones_the_address_gives():
    assert launch_links.main(["--check"]) == 0, "run `python scripts/launch_links.py` after changing the address"
    readme = (ROOT / "README.md").read_text()
    _, slug, branch = launch_links.course_address()
    for path in LESSONS:
        assert launch_links.colab_url(slug, branch, f"notebooks/{path.name}") in readme
        assert launch_links.binder_url(slug, branch, f"notebooks/{path.name}") in readme


def test_a_stale_readme_is_reported(tmp_path, capsys):
    stale = tmp_path / "README.md"
    stale.write_text(f"# Course\n\n{launch_links.BEGIN}\n| old |\n{launch_links.END}\n")
    assert launch_links.main(["--check", "--readme", str(stale)]) == 1
    assert "stale launch links" in capsys.readouterr().err
    assert launch_links.main(["--readme", str(stale)]) == 0
    assert launch_links.main(["--check", "--readme", str(stale)]) == 0
    stale.write_text("# Course without the markers\n")
    assert launch_links.main(["--check", "--readme", str(stale)]) == 1


def without_launch_cells(nb):
    """``nb`` as it was before scripts/launch_links.py wrote into it."""
    nb = nbformat.from_dict(nb)
    tags = {launch_links.LINKS_TAG, bootstrap.FIRST_CELL_TAG}
    nb.cells = [c for c in nb.cells if not tags & set(c.metadata.get("tags", []))]
    return nb


@pytest.mark.parametrize("path", [LESSONS[1], LESSONS[5]], ids=lambda p: p.stem)
def test_a_lesson_gets_its_links_and_set_up_cell_after_the_title_once(path):
    nb = without_launch_cells(nbformat.read(path, as_version=4))
    repository, slug, branch = launch_links.course_address()
    once = launch_links.with_launch_cells(nb, slug, repository, branch, f"notebooks/{path.name}")
    twice = launch_links.with_launch_cells(once, slug, repository, branch, f"notebooks/{path.name}")
    assert twice == once and len(once.cells) == len(nb.cells) + 2
    links, setup = once.cells[1], once.cells[2]
    assert (
        links.cell_type == "markdown" and launch_links.colab_url(slug, branch, f"notebooks/{path.name}") in links.source
    )
    assert setup.cell_type == "code" and setup.source == bootstrap.first_cell(repository, branch)
    assert once.cells[0] == nb.cells[0] and once.cells[3:] == nb.cells[1:]
    nbformat.validate(once)
    # The site still takes the title and summary from the first cell, and loads no badge from the internet;
    # nbgrader still reads the lesson.
    assert site.describe_lesson(path, once) == site.describe_lesson(path, nb)
    assert "<img" not in links.source and "![" not in links.source
    grading.nbgrader_notebook(once)


def test_rewriting_the_cells_keeps_what_else_they_carry():
    """A second run with another address updates the sources only: nbgrader's metadata and the run count stay."""
    path = LESSONS[3]
    nb = nbformat.read(path, as_version=4)
    repository, slug, branch = launch_links.course_address()
    moved = launch_links.with_launch_cells(nb, "a/fork", "https://github.com/a/fork", "dev", f"notebooks/{path.name}")
    links, setup = moved.cells[1], moved.cells[2]
    assert "github/a/fork/blob/dev/" in links.source and '"https://github.com/a/fork"' in setup.source
    assert links.metadata == nb.cells[1].metadata and setup.metadata == nb.cells[2].metadata
    assert setup.execution_count == nb.cells[2].execution_count and len(moved.cells) == len(nb.cells)
    back = launch_links.with_launch_cells(moved, slug, repository, branch, f"notebooks/{path.name}")
    assert back == nb


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_has_its_links_and_its_set_up_cell_before_any_import(path):
    nb = nbformat.read(path, as_version=4)
    repository, slug, branch = launch_links.course_address()
    assert launch_links.with_launch_cells(nb, slug, repository, branch, f"notebooks/{path.name}") == nb, (
        "run `python scripts/launch_links.py --lessons` on it"
    )
    code = [c for c in nb.cells if c.cell_type == "code"]
    setup = code[0]  # the first code cell: no import runs before the course is installed
    assert bootstrap.FIRST_CELL_TAG in setup.metadata.get("tags", []), "the set-up cell is not the first code cell"
    # Run where the course is installed (as the saved outputs are made), it printed nothing.
    assert setup.outputs == [] and setup.execution_count is not None


def test_the_command_line_writes_the_given_lessons_once(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text((ROOT / "README.md").read_text())
    lesson = tmp_path / LESSONS[1].name
    nbformat.write(without_launch_cells(nbformat.read(LESSONS[1], as_version=4)), lesson)
    assert launch_links.main(["--lessons", "--readme", str(readme), str(lesson)]) == 0
    assert f"{lesson.name}: links and set-up cell written" in capsys.readouterr().out
    written = lesson.read_bytes()
    assert bootstrap.FIRST_CELL_TAG in nbformat.read(lesson, as_version=4).cells[2].metadata["tags"]
    assert launch_links.main(["--lessons", "--readme", str(readme), str(lesson)]) == 0
    assert "written" not in capsys.readouterr().out and lesson.read_bytes() == written
    with pytest.raises(SystemExit):
        launch_links.main(["--readme", str(readme), str(lesson)])  # lesson paths without --lessons


# --------------------------------------------------------------------------- Colab and Binder, for real


def working_tree_repository(tmp_path: Path) -> Path:
    """A git repository holding this working tree's files (what would be pushed), on branch ``course``."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        text=True,
    ).stdout.split("\0")
    source = tmp_path / "published"
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    git = ["git", "-c", "user.name=course", "-c", "user.email=course@example.invalid"]
    subprocess.run([*git, "init", "--quiet", "--initial-branch", "course"], cwd=source, check=True)
    subprocess.run([*git, "add", "--all"], cwd=source, check=True)
    subprocess.run([*git, "commit", "--quiet", "--message", "the course"], cwd=source, check=True)
    return source


def clean_venv(path: Path) -> Path:
    """A new virtual environment (the interpreter's own, no packages); returns its python."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return path / "bin" / "python"


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that would put a clone of the course on sys.path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return {**env, **extra}


def python_says(python: Path, code: str, cwd: Path, env: dict) -> str:
    return subprocess.run(
        [str(python), "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.network
@pytest.mark.slow
@needs_index
def test_the_first_cell_installs_the_course_in_a_clean_venv(tmp_path):
    source = working_tree_repository(tmp_path)
    python = clean_venv(tmp_path / "venv")
    notebook_folder = tmp_path / "content"  # Colab's working folder
    notebook_folder.mkdir()
    env = clean_env(COURSE_REPO=f"file://{source}", COURSE_BRANCH="course")
    assert (
        python_says(
            python, "import importlib.util; print(importlib.util.find_spec('course_lib'))", notebook_folder, env
        )
        == "None\n"
    )

    cell = bootstrap.first_cell("https://github.com/OWNER/REPO", "main")
    started = time.perf_counter()
    run = subprocess.run([str(python), "-c", cell], cwd=notebook_folder, env=env, capture_output=True, text=True)
    took = time.perf_counter() - started
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    print(f"[bootstrap] clean venv, clone, packages and data: {took:.0f} s (wall time; machine shared)\n{run.stdout}")
    assert "The course is ready: set up in" in run.stdout
    assert "sha256 verified" in run.stdout

    clone = notebook_folder / "llm-course"
    elsewhere = tmp_path  # a new process, as after a kernel restart, imports the installed course
    assert python_says(python, "import course_lib; print(course_lib.__file__)", elsewhere, env).strip() == str(
        clone / "course_lib" / "__init__.py"
    )
    subprocess.run(
        [str(python), "-m", "course_lib.data", "verify"], cwd=elsewhere, env=env, check=True, capture_output=True
    )
    loaded = "from course_lib.checkpoints import load_course_model; print(load_course_model()[0].num_parameters())"
    assert python_says(python, loaded, elsewhere, env) == "820480\n"
    again = subprocess.run(
        [str(python), "-c", cell], cwd=notebook_folder, env=env, capture_output=True, text=True, check=True
    )
    assert (again.stdout, again.stderr) == ("", "")  # the second time, as in a clone: nothing


@pytest.mark.network
@pytest.mark.slow
@needs_index
def test_binders_post_build_fetches_the_data_in_a_clean_venv(tmp_path):
    source = working_tree_repository(tmp_path)
    clone = tmp_path / "repo"  # repo2docker builds from a checkout of the repository
    subprocess.run(["git", "clone", "--quiet", f"file://{source}", str(clone)], check=True)
    python = clean_venv(tmp_path / "venv")
    env = clean_env(PATH=f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    requirements = (clone / ".binder" / "requirements.txt").read_text().splitlines()
    index = [line for line in requirements if line.startswith("--extra-index-url")]
    assert index == ["--extra-index-url https://download.pytorch.org/whl/cpu"]
    reachable_here = tmp_path / "requirements.txt"  # PyTorch's index cannot be reached from here: PyPI's pins only
    reachable_here.write_text("\n".join(line for line in requirements if line not in index) + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(reachable_here)], env=env, check=True)

    started = time.perf_counter()
    run = subprocess.run(["bash", ".binder/postBuild"], cwd=clone, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    print(f"[binder] postBuild: {time.perf_counter() - started:.0f} s (wall time; machine shared)\n{run.stdout}")
    assert "sha256 verified" in run.stdout
    subprocess.run(
        [str(python), "-m", "course_lib.data", "verify"], cwd=tmp_path, env=env, check=True, capture_output=True
    )
    assert python_says(python, "import course_lib; print(course_lib.__file__)", tmp_path, env).strip() == str(
        clone / "course_lib" / "__init__.py"
    )
    # Only the runtime packages: the test tools stay out of a learner's image.
    installed = python_says(
        python,
        "import importlib.metadata as m; print(sorted(d.name.lower() for d in m.distributions()))",
        tmp_path,
        env,
    )
    assert "'torch'" in installed and "'pytest'" not in installed and "'transformers'" not in installed
