"""Print one nbgitpuller link per lesson, for a JupyterHub that has nbgitpuller installed.

    python scripts/nbgitpuller_links.py --hub https://hub.example.edu --repo https://github.com/OWNER/REPO
    python scripts/nbgitpuller_links.py --hub ... --repo ... --branch student --markdown

A learner who clicks a link logs in to the hub; nbgitpuller then clones the repository into
their home folder (or, on later clicks, merges the teacher's new commits without overwriting the
learner's own edits) and opens the lesson in JupyterLab, at
``lab/tree/<repo-dir>/notebooks/NN_name.ipynb``. The list of lessons is read from the notebooks
actually present (``notebooks/`` of this checkout by default, ``--notebooks-dir`` to use another
folder, such as ``build/student`` after ``make student``), so a link is never printed for a lesson
that does not exist.

The link format is nbgitpuller's: ``<hub>/hub/user-redirect/git-pull?repo=...&branch=...&urlpath=...``,
every value URL-encoded (docs/teacher_guide.md shows how to use the links in a class).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
LESSON_GLOB = "[0-9][0-9]_*.ipynb"
# A git branch name as nbgitpuller passes it to `git`: no spaces, no "..", not starting with "-".
_BRANCH = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+$")
# A folder name for the clone: one path component, nothing that could climb out of the home folder.
_DIRECTORY = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9._-]+$")


class LinkError(ValueError):
    """An argument cannot make a working nbgitpuller link; the message says which and why."""


def _web_address(url: str, what: str) -> tuple[str, str]:
    """Check that ``url`` is an http(s) address with a host; return it without a trailing slash, and its path."""
    if not isinstance(url, str) or not url.strip():
        raise LinkError(f"{what} must be a web address such as https://example.edu, got {url!r}")
    if url != url.strip() or any(ch.isspace() for ch in url):
        raise LinkError(f"{what} must not contain spaces, got {url!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise LinkError(f"{what} must start with https:// (or http://), got {url!r}")
    if not parts.hostname:
        raise LinkError(f"{what} has no host name, got {url!r}")
    if parts.query or parts.fragment:
        raise LinkError(f"{what} must not contain '?' or '#' parts, got {url!r}")
    return url.rstrip("/"), parts.path.strip("/")


def hub_address(hub: str) -> str:
    """The hub's base address, checked. A trailing ``/hub`` or ``/hub/`` is removed, since links add it."""
    address, path = _web_address(hub, "--hub")
    if path == "hub" or path.endswith("/hub"):
        address = address[: -len("/hub")]
    return address


def repo_directory(repo: str) -> str:
    """The folder nbgitpuller clones ``repo`` into by default: the last part of its address.

    nbgitpuller keeps a final ``.git``: ``https://github.com/OWNER/REPO.git`` is cloned into ``REPO.git``.
    """
    _, path = _web_address(repo, "--repo")
    if not path:
        raise LinkError(f"--repo must name a repository, such as https://github.com/OWNER/REPO, got {repo!r}")
    name = path.split("/")[-1]
    if not _DIRECTORY.match(name):
        raise LinkError(f"--repo ends in {name!r}, which cannot be a folder name; check the address {repo!r}")
    return name


def lesson_notebooks(directory: Path | str) -> list[str]:
    """The lesson notebooks (``NN_name.ipynb``) in ``directory``, sorted by lesson number."""
    directory = Path(directory)
    if not directory.is_dir():
        raise LinkError(f"the notebooks folder {directory} does not exist")
    names = sorted(path.name for path in directory.glob(LESSON_GLOB))
    if not names:
        raise LinkError(f"no lesson notebooks (NN_name.ipynb) in {directory}")
    return names


def nbgitpuller_link(
    hub: str,
    repo: str,
    notebook: str,
    branch: str = "main",
    notebooks_path: str = "notebooks",
    target_dir: str | None = None,
) -> str:
    """One nbgitpuller link that pulls ``repo`` (``branch``) and opens ``notebook`` in JupyterLab.

    ``notebooks_path`` is the notebooks' folder inside the repository; ``target_dir`` the folder the
    clone goes into in the learner's home (nbgitpuller's default, the repository's name, if None).
    """
    hub = hub_address(hub)
    repo_url, _ = _web_address(repo, "--repo")
    folder = repo_directory(repo) if target_dir is None else target_dir
    if not _DIRECTORY.match(folder):
        raise LinkError(f"--target-dir must be one folder name (letters, digits, '.', '_', '-'), got {folder!r}")
    if not isinstance(branch, str) or not _BRANCH.match(branch):
        raise LinkError(f"--branch must be a git branch name such as main, got {branch!r}")
    if not re.fullmatch(r"[0-9][0-9]_[^/\\]+\.ipynb", notebook):
        raise LinkError(f"a lesson notebook is named NN_name.ipynb, got {notebook!r}")
    inner = notebooks_path.strip("/")
    if any(part in ("", ".", "..") for part in inner.split("/")):
        raise LinkError(f"--notebooks-path must be a folder inside the repository, got {notebooks_path!r}")

    params = {"repo": repo_url, "branch": branch, "urlpath": f"lab/tree/{folder}/{inner}/{notebook}"}
    if target_dir is not None:
        params["targetpath"] = target_dir
    return f"{hub}/hub/user-redirect/git-pull?" + urlencode(params, quote_via=quote, safe="")


def nbgitpuller_links(
    hub: str,
    repo: str,
    notebooks: list[str],
    branch: str = "main",
    notebooks_path: str = "notebooks",
    target_dir: str | None = None,
) -> dict[str, str]:
    """One link per notebook name, in the given order: ``{notebook: link}``."""
    if not notebooks:
        raise LinkError("there are no notebooks to link to")
    return {name: nbgitpuller_link(hub, repo, name, branch, notebooks_path, target_dir) for name in notebooks}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Print one nbgitpuller link per lesson notebook.",
        epilog="Example: --hub https://hub.example.edu --repo https://github.com/OWNER/REPO --branch main",
    )
    parser.add_argument("--hub", required=True, help="the JupyterHub's address, e.g. https://hub.example.edu")
    parser.add_argument(
        "--repo", required=True, help="the git repository learners pull, e.g. https://github.com/OWNER/REPO"
    )
    parser.add_argument("--branch", default="main", help="the branch to pull (default: main)")
    parser.add_argument(
        "--notebooks-dir",
        type=Path,
        default=REPO_ROOT / "notebooks",
        help="local folder whose NN_name.ipynb files are listed (default: this checkout's notebooks/)",
    )
    parser.add_argument(
        "--notebooks-path", default="notebooks", help="the notebooks' folder inside the repository (default: notebooks)"
    )
    parser.add_argument(
        "--target-dir",
        default=None,
        help="folder to clone into in each learner's home (default: the repository's name)",
    )
    parser.add_argument("--markdown", action="store_true", help="print a Markdown list, ready to paste into a page")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        notebooks = lesson_notebooks(args.notebooks_dir)
        links = nbgitpuller_links(args.hub, args.repo, notebooks, args.branch, args.notebooks_path, args.target_dir)
    except LinkError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name, link in links.items():
        print(f"- [{name}]({link})" if args.markdown else f"{name}  {link}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
