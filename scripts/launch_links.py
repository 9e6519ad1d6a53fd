"""Links that open each lesson in Colab or on Binder, made from the one address in pyproject.toml.

    python scripts/launch_links.py            # rewrite the README's table of links
    python scripts/launch_links.py --check    # exit 1 if the README's table is not what the address gives
    python scripts/launch_links.py --lessons  # also give every lesson its links and its set-up cell
    python scripts/launch_links.py --lessons notebooks/0[0-8]_*.ipynb   # only these lessons (the README: all)

The course's address is ``[project.urls] Repository`` in pyproject.toml and the branch is
``[tool.course] branch``: set the address once when the course is published, run this, commit.

Colab opens a notebook straight from GitHub (``colab.research.google.com/github/OWNER/REPO/blob/BRANCH/PATH``);
its first code cell (course_lib.bootstrap) then installs the course there. Binder builds an image from
``.binder/`` and opens the lesson in JupyterLab (``mybinder.org/v2/gh/OWNER/REPO/BRANCH?urlpath=...``).
In a lesson, the links are a Markdown cell after the title (plain links, no badge images, so that the
static site still loads nothing from the internet) and the set-up cell follows it, before any import.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from urllib.parse import quote

import nbformat
import tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_lib.bootstrap import FIRST_CELL_TAG, first_cell  # noqa: E402
from course_lib.teaching import site  # noqa: E402  (after the path: the script runs from a clone)

LINKS_TAG = "course-launch"
BEGIN = "<!-- launch links: written by scripts/launch_links.py from pyproject.toml -->"
END = "<!-- end of launch links -->"
GITHUB = re.compile(r"^https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")


def course_address(pyproject: Path = ROOT / "pyproject.toml") -> tuple[str, str, str]:
    """``(repository URL, owner/name, branch)`` from pyproject.toml; the URL must be a GitHub repository's."""
    settings = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    url = settings["project"]["urls"]["Repository"]
    match = GITHUB.match(url)
    if match is None:
        raise ValueError(
            f"pyproject.toml's [project.urls] Repository must be https://github.com/OWNER/REPO (Colab and Binder open "
            f"GitHub repositories), not {url!r}"
        )
    return url, f"{match[1]}/{match[2]}", settings["tool"]["course"]["branch"]


def colab_url(slug: str, branch: str, path: str) -> str:
    return f"https://colab.research.google.com/github/{slug}/blob/{quote(branch)}/{quote(path)}"


def binder_url(slug: str, branch: str, path: str) -> str:
    return f"https://mybinder.org/v2/gh/{slug}/{quote(branch, safe='')}?urlpath={quote('lab/tree/' + path, safe='')}"


def readme_table(notebooks: list[Path], slug: str, branch: str) -> str:
    """The README's table: one row per lesson, with its Colab and Binder links."""
    rows = [BEGIN, "| lesson | Colab | Binder |", "|---|---|---|"]
    for path in notebooks:
        lesson = site.describe_lesson(path, nbformat.read(path, as_version=4))
        where = f"notebooks/{path.name}"
        rows.append(
            f"| {lesson.title} | [open in Colab]({colab_url(slug, branch, where)}) "
            f"| [open on Binder]({binder_url(slug, branch, where)}) |"
        )
    return "\n".join([*rows, END])


def with_table(readme: str, table: str) -> str:
    """``readme`` with the text between the markers (markers included) replaced by ``table``."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md needs the markers {BEGIN!r} and {END!r} around the table of links")
    return readme[:start] + table + readme[end + len(END) :]


def links_markdown(slug: str, branch: str, path: str) -> str:
    return (
        f"**Run this lesson elsewhere:** [open it in Colab]({colab_url(slug, branch, path)}) or "
        f"[on Binder]({binder_url(slug, branch, path)}). The next cell installs the course where it is missing "
        "and does nothing in a clone of the course."
    )


def _tagged(cells, tag: str):
    return next((cell for cell in cells if tag in cell.metadata.get("tags", [])), None)


def with_launch_cells(nb, slug: str, repository: str, branch: str, path: str):
    """A copy of lesson ``nb`` with its links and set-up cell right after the title cell.

    Cells written before are updated in place (their source only: their other metadata, nbgrader's
    included, and the set-up cell's run count stay), so running this again on a lesson changes nothing.
    """
    nb = nbformat.from_dict(nb)
    links, setup = _tagged(nb.cells, LINKS_TAG), _tagged(nb.cells, FIRST_CELL_TAG)
    nb.cells = [c for c in nb.cells if not {LINKS_TAG, FIRST_CELL_TAG} & set(c.metadata.get("tags", []))]
    if links is None:
        links = nbformat.v4.new_markdown_cell(id=LINKS_TAG)
        links.metadata["tags"] = [LINKS_TAG]
    if setup is None:
        setup = nbformat.v4.new_code_cell(id=FIRST_CELL_TAG)
        setup.metadata["tags"] = [FIRST_CELL_TAG]
    links.source = links_markdown(slug, branch, path)
    setup.source = first_cell(repository, branch)
    title = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown")
    nb.cells[title + 1 : title + 1] = [links, setup]
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that README.md is up to date")
    parser.add_argument("--lessons", action="store_true", help="also write the links and set-up cell into the lessons")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    parser.add_argument(
        "paths", nargs="*", type=Path, metavar="LESSON", help="with --lessons: the lessons to write into (default: all)"
    )
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args(argv)
    if args.paths and not args.lessons:
        parser.error("lesson paths are for --lessons (the README's table always lists every lesson)")
    try:
        repository, slug, branch = course_address()
        notebooks = site.find_lessons(args.notebooks)
        readme = args.readme.read_text(encoding="utf-8")
        updated = with_table(readme, readme_table(notebooks, slug, branch))
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.check:
        if updated != readme:
            print(f"{args.readme} has stale launch links: run `python scripts/launch_links.py`", file=sys.stderr)
            return 1
        return 0
    args.readme.write_text(updated, encoding="utf-8")
    print(f"wrote the links for {repository} ({branch}) into {args.readme}")
    if args.lessons:
        for path in args.paths or notebooks:
            nb = nbformat.read(path, as_version=4)
            updated_nb = with_launch_cells(nb, slug, repository, branch, f"notebooks/{Path(path).name}")
            if updated_nb != nb:
                nbformat.write(updated_nb, path)
                print(f"  {Path(path).name}: links and set-up cell written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
