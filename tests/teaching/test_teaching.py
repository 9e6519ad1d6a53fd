"""The teacher kit: nbgitpuller links, the shared JupyterHub's configuration, and the teacher guide.

The guide and the hub set-up describe the lessons from outside the notebooks, so these tests tie
them to the notebooks: a new lesson or exercise without its part of the guide fails here.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest
from traitlets.config import PyFileConfigLoader

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
HUB_DIR = ROOT / "docs" / "jupyterhub"
GUIDE = ROOT / "docs" / "teacher_guide.md"
LESSONS = sorted(path.name for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))

HUB = "https://hub.example.edu"
REPO = "https://github.com/OWNER/REPO"


def _load_links_script():
    spec = importlib.util.spec_from_file_location("nbgitpuller_links", ROOT / "scripts" / "nbgitpuller_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


links = _load_links_script()


def _query(link: str) -> dict[str, str]:
    values = parse_qs(urlsplit(link).query, strict_parsing=True)
    assert all(len(v) == 1 for v in values.values()), f"a parameter is repeated in {link}"
    return {key: v[0] for key, v in values.items()}


# --------------------------------------------------------------------------- nbgitpuller links


def test_the_course_has_lessons_to_link_to():
    assert len(LESSONS) >= 10, LESSONS
    assert links.lesson_notebooks(NOTEBOOKS) == LESSONS


def test_every_notebook_gets_one_link_that_parses_back_to_repo_branch_and_lesson():
    result = links.nbgitpuller_links(HUB, REPO, links.lesson_notebooks(NOTEBOOKS), branch="spring-2026")
    assert list(result) == LESSONS
    assert len(set(result.values())) == len(LESSONS)
    for name, link in result.items():
        parts = urlsplit(link)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", "hub.example.edu", "/hub/user-redirect/git-pull")
        assert " " not in link and "/" not in parts.query, "every value must be URL-encoded"
        assert _query(link) == {
            "repo": REPO,
            "branch": "spring-2026",
            "urlpath": f"lab/tree/REPO/notebooks/{name}",
        }


def test_awkward_values_survive_the_round_trip():
    link = links.nbgitpuller_link(
        "https://uni.example.edu/jupyter/", REPO + ".git", "09_real_llm.ipynb", branch="teacher/term-2"
    )
    parts = urlsplit(link)
    assert parts.path == "/jupyter/hub/user-redirect/git-pull"
    # nbgitpuller clones https://.../REPO.git into a folder called REPO.git, so the lesson opens there.
    assert _query(link) == {
        "repo": REPO + ".git",
        "branch": "teacher/term-2",
        "urlpath": "lab/tree/REPO.git/notebooks/09_real_llm.ipynb",
    }


def test_a_hub_address_ending_in_hub_is_not_doubled():
    link = links.nbgitpuller_link("https://hub.example.edu/hub/", REPO, "00_start_here.ipynb")
    assert urlsplit(link).path == "/hub/user-redirect/git-pull"


def test_target_dir_and_notebooks_path_change_where_the_lesson_opens():
    link = links.nbgitpuller_link(
        HUB, REPO, "03_dot_products.ipynb", notebooks_path="build/student/", target_dir="llm-course"
    )
    query = _query(link)
    assert query["targetpath"] == "llm-course"
    assert query["urlpath"] == "lab/tree/llm-course/build/student/03_dot_products.ipynb"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hub": "hub.example.edu"}, "--hub must start with https://"),
        ({"hub": "ftp://hub.example.edu"}, "--hub must start with https://"),
        ({"hub": "https://"}, "--hub has no host name"),
        ({"hub": "https://hub.example.edu/?next=x"}, "must not contain '\\?' or '#'"),
        ({"hub": "https://hub example.edu"}, "--hub must not contain spaces"),
        ({"hub": ""}, "--hub must be a web address"),
        ({"repo": "git@github.com:OWNER/REPO.git"}, "--repo must start with https://"),
        ({"repo": "https://github.com/"}, "--repo must name a repository"),
        ({"branch": "my branch"}, "--branch must be a git branch name"),
        ({"branch": "--upload-pack=evil"}, "--branch must be a git branch name"),
        ({"notebook": "intro.ipynb"}, "NN_name.ipynb"),
        ({"notebook": "../01_tokens.ipynb"}, "NN_name.ipynb"),
        ({"notebooks_path": "../elsewhere"}, "--notebooks-path must be a folder inside the repository"),
        ({"target_dir": "../../etc"}, "--target-dir must be one folder name"),
    ],
)
def test_bad_arguments_give_a_clear_error(kwargs, message):
    arguments = {"hub": HUB, "repo": REPO, "notebook": "01_tokens.ipynb"} | kwargs
    with pytest.raises(links.LinkError, match=message):
        links.nbgitpuller_link(**arguments)


def test_missing_or_empty_notebook_folders_are_reported(tmp_path):
    with pytest.raises(links.LinkError, match="does not exist"):
        links.lesson_notebooks(tmp_path / "nowhere")
    (tmp_path / "notes.ipynb").write_text("{}")
    with pytest.raises(links.LinkError, match="no lesson notebooks"):
        links.lesson_notebooks(tmp_path)
    with pytest.raises(links.LinkError, match="no notebooks to link to"):
        links.nbgitpuller_links(HUB, REPO, [])


def test_the_command_prints_one_link_per_notebook_present(tmp_path, capsys):
    for name in ["00_start_here.ipynb", "01_tokens.ipynb", "scratch.ipynb"]:
        (tmp_path / name).write_text("{}")
    code = links.main(["--hub", HUB, "--repo", REPO, "--branch", "main", "--notebooks-dir", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert [line.split()[0] for line in lines] == ["00_start_here.ipynb", "01_tokens.ipynb"]
    assert _query(lines[1].split()[1])["urlpath"] == "lab/tree/REPO/notebooks/01_tokens.ipynb"

    code = links.main(["--hub", HUB, "--repo", REPO, "--markdown", "--notebooks-dir", str(tmp_path)])
    assert code == 0
    assert capsys.readouterr().out.startswith("- [00_start_here.ipynb](https://hub.example.edu/hub/user-redirect/")


def test_the_command_reports_a_bad_hub_without_a_traceback(capsys):
    code = links.main(["--hub", "hub.example.edu", "--repo", REPO])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: --hub must start with https://")


# --------------------------------------------------------------------------- the JupyterHub configuration


@pytest.fixture
def hub_config(monkeypatch):
    """Load docs/jupyterhub/jupyterhub_config.py as JupyterHub would, with chosen environment variables."""

    def load(**environment):
        for name in [
            "LLM_COURSE_DIR",
            "LLM_HUB_PREFIX",
            "LLM_HUB_STATE_DIR",
            "LLM_HUB_BIND_URL",
            "LLM_HUB_SSL_CERT",
            "LLM_HUB_SSL_KEY",
            "LLM_HUB_AUTH",
            "LLM_HUB_GROUP",
            "LLM_HUB_CLASS_LIST",
            "LLM_HUB_ADMINS",
            "LLM_HUB_SPAWNER",
            "LLM_HUB_MEM_LIMIT",
            "LLM_HUB_CPU_LIMIT",
            "LLM_HUB_IDLE_TIMEOUT",
        ]:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("LLM_HUB_PREFIX", "/opt/jupyterhub")
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return PyFileConfigLoader("jupyterhub_config.py", path=str(HUB_DIR)).load_config()

    return load


def _bytes(spec: str) -> float:
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT])", spec)
    assert match, f"not a JupyterHub byte specification: {spec!r}"
    return float(match.group(1)) * units[match.group(2)]


def test_hub_config_defaults_give_jupyterlab_limits_and_the_course_kernel(hub_config):
    c = hub_config()
    assert c.Spawner.default_url == "/lab"
    assert c.Spawner.cmd == ["/opt/jupyterhub/bin/jupyterhub-singleuser"]
    assert c.JupyterHub.spawner_class == "systemdspawner.SystemdSpawner"
    # Lesson 09's kernel grows to 1.2 GB; with the server and another open notebook, about 2 GB.
    assert _bytes(c.Spawner.mem_limit) >= 2 * 2**30
    assert c.Spawner.cpu_limit >= 1
    assert c.Spawner.environment["OMP_NUM_THREADS"] == "1"
    assert c.Spawner.environment["JUPYTER_PATH"] == "/opt/jupyterhub/course-kernel/share/jupyter"
    assert "--KernelSpecManager.ensure_native_kernel=False" in c.Spawner.args
    assert "/opt/llm-course" in c.SystemdSpawner.readonly_paths
    assert c.JupyterHub.authenticator_class == "pam"
    assert c.PAMAuthenticator.allowed_groups == {"llm-learners"}
    assert c.JupyterHub.db_url == "sqlite:////srv/jupyterhub/jupyterhub.sqlite"


def test_hub_config_culls_idle_servers_with_only_the_scopes_the_culler_needs(hub_config):
    c = hub_config(LLM_HUB_IDLE_TIMEOUT="1800")
    (culler,) = [service for service in c.JupyterHub.services if service["name"] == "idle-culler"]
    assert culler["command"][1:3] == ["-m", "jupyterhub_idle_culler"]
    assert "--timeout=1800" in culler["command"]
    (role,) = [role for role in c.JupyterHub.load_roles if role["services"] == ["idle-culler"]]
    assert sorted(role["scopes"]) == ["delete:servers", "list:users", "read:servers", "read:users:activity"]


def test_hub_config_reads_the_teachers_choices_from_the_environment(hub_config, tmp_path):
    class_list = tmp_path / "class.txt"
    class_list.write_text("ada\n\n  grace  # sits at the back\n# a comment line\nalan\n")
    c = hub_config(
        LLM_COURSE_DIR="/srv/course/",
        LLM_HUB_AUTH="firstuse",
        LLM_HUB_CLASS_LIST=str(class_list),
        LLM_HUB_ADMINS="ana, ben",
        LLM_HUB_MEM_LIMIT="4G",
        LLM_HUB_CPU_LIMIT="2",
    )
    assert c.JupyterHub.authenticator_class == "firstuseauthenticator.FirstUseAuthenticator"
    assert c.Authenticator.allowed_users == {"ada", "grace", "alan"}
    assert c.FirstUseAuthenticator.create_users is False  # a name not on the list cannot claim an account
    assert c.Authenticator.admin_users == {"ana", "ben"}
    assert c.SystemdSpawner.dynamic_users is True  # learners on the list have no Unix account
    assert c.SystemdSpawner.readonly_paths == ["/srv/course", "/opt/jupyterhub"]
    assert (c.Spawner.mem_limit, c.Spawner.cpu_limit) == ("4G", 2.0)
    assert c.Spawner.environment["OMP_NUM_THREADS"] == "2"


def test_hub_config_can_run_without_systemd(hub_config):
    c = hub_config(LLM_HUB_SPAWNER="local")
    assert c.JupyterHub.spawner_class == "localprocess"
    assert "SystemdSpawner" not in c


def test_hub_config_rejects_an_unknown_choice_by_name(hub_config):
    with pytest.raises(ValueError, match="LLM_HUB_AUTH must be one of pam, firstuse, got 'ldap'"):
        hub_config(LLM_HUB_AUTH="ldap")


def test_first_use_log_in_needs_a_class_list(hub_config, tmp_path):
    with pytest.raises(ValueError, match="LLM_HUB_AUTH=firstuse needs a class list, one username per line"):
        hub_config(LLM_HUB_AUTH="firstuse", LLM_HUB_CLASS_LIST=str(tmp_path / "missing.txt"))
    empty = tmp_path / "empty.txt"
    empty.write_text("# nobody yet\n")
    with pytest.raises(ValueError, match="has no usernames in it"):
        hub_config(LLM_HUB_AUTH="firstuse", LLM_HUB_CLASS_LIST=str(empty))


def test_the_hub_registers_the_kernel_name_every_lesson_asks_for():
    names = {nbformat.read(NOTEBOOKS / name, as_version=4).metadata["kernelspec"]["name"] for name in LESSONS}
    assert names == {"python3"}
    readme = (HUB_DIR / "README.md").read_text()
    assert "ipykernel install --prefix /opt/jupyterhub/course-kernel --name python3" in readme


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"{path.name}: {line!r} is not pinned with =="
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_hub_packages_are_pinned_and_match_the_course_front_end():
    hub = _pins(HUB_DIR / "requirements.txt")
    course = _pins(ROOT / "requirements.txt")
    assert {
        "jupyterhub",
        "jupyterhub-idle-culler",
        "jupyterhub-systemdspawner",
        "jupyterhub-firstuseauthenticator",
        "nbgitpuller",
    } <= set(hub)
    assert not {"jupyterhub", "nbgitpuller"} & set(course), "hub packages belong in docs/jupyterhub only"
    assert hub["jupyterlab"] == course["jupyterlab"]
    # The widgets' front end must be the one the course's ipywidgets was installed with.
    assert hub["jupyterlab-widgets"] == importlib.metadata.version("jupyterlab_widgets")


# --------------------------------------------------------------------------- the teacher guide


def _guide_sections() -> dict[str, str]:
    """The guide's level-2 sections, keyed by the lesson notebook named in their heading."""
    sections = {}
    for block in re.split(r"(?m)^(?=## )", GUIDE.read_text()):
        heading = block.splitlines()[0] if block else ""
        for name in re.findall(r"\d\d_\w+\.ipynb", heading):
            sections[name] = block
    return sections


def _exercises(name: str) -> tuple[list[str], list[str], int]:
    """A lesson's exercise headings ("Exercise N: title"), its checkers, and its number of solution cells."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    headings, checkers, solutions = [], [], 0
    in_exercise = False  # in a solution cell or the locked test cells (nbgrader's) that check it
    for cell in nb.cells:
        graded_test = cell.metadata.get("nbgrader", {}).get("grade", False) and cell.cell_type == "code"
        if cell.cell_type == "markdown":
            headings += re.findall(r"(?m)^#+ (Exercise \d+: .+?)\s*$", cell.source)
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            solutions += 1
            in_exercise = True
        elif not graded_test:
            in_exercise = False
        if in_exercise:
            checkers += re.findall(r"(?m)^\s*(?:\w+\s*=\s*)?check\.(\w+)\(", cell.source)
    return headings, checkers, solutions


@pytest.mark.parametrize("name", LESSONS)
def test_every_exercise_is_headed_and_checked(name):
    headings, checkers, solutions = _exercises(name)
    assert headings, f"{name} has no '### Exercise N: ...' heading"
    assert len(headings) == solutions, f"{name}: {len(headings)} exercise headings but {solutions} solution cells"
    assert len(checkers) >= solutions, f"{name}: a solution cell without a check.<name>(...) call"


@pytest.mark.parametrize("name", LESSONS)
def test_the_guide_has_a_section_for_every_lesson_naming_each_exercise(name):
    sections = _guide_sections()
    assert name in sections, f"docs/teacher_guide.md has no '## ...' section naming {name}"
    section = sections[name]
    headings, checkers, _ = _exercises(name)
    for heading in headings:
        assert heading in section, f"the guide's section for {name} does not mention {heading!r}"
    for checker in checkers:
        assert f"check.{checker}" in section, f"the guide's section for {name} does not mention check.{checker}"
    for part in ["Learning goals", "Prerequisites", "Time", "Discussion", "Misconceptions"]:
        assert f"**{part}" in section, f"the guide's section for {name} has no **{part}...** part"


def test_the_guide_has_no_section_for_a_lesson_that_does_not_exist():
    assert sorted(_guide_sections()) == LESSONS
