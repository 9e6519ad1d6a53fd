"""What a new user's pip would download for the course, per platform: packages, and their sizes from PyPI.

    python scripts/measure_install.py                       # torch==2.13.0 alone
    python scripts/measure_install.py -r requirements.txt   # the whole pinned set
    python scripts/measure_install.py -r .binder/requirements.txt --platform linux-x86_64

For each platform pip resolves the requirements as a fresh machine would (``--isolated``, so this
machine's pip configuration and local wheels are ignored; ``--platform`` and ``--python-version`` so
the wheels for another system are picked; ``--dry-run``, so nothing is installed), and the size of
every picked file is read from PyPI's simple index (its JSON form lists each file's size). Needs the
package index; prints a Markdown table. For macOS and Windows, torch's own dependencies are filtered
by that system's markers here (pip would evaluate them for this machine); other packages' markers are
still this machine's, which leaves out a few small ones (appnope on macOS, pywinpty on Windows).
Lines starting with ``--`` in a requirements file (such as ``--extra-index-url``) are dropped, as PyPI
alone is measured.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

MANYLINUX = [f"manylinux_2_{minor}" for minor in range(28, 16, -1)] + ["manylinux2014"]  # glibc 2.28 and older
PLATFORMS = {
    # pip does not widen a --platform to the older tags the machine also accepts, so list them.
    "linux-x86_64": [f"{tag}_x86_64" for tag in MANYLINUX] + ["linux_x86_64"],
    "linux-aarch64": [f"{tag}_aarch64" for tag in MANYLINUX] + ["linux_aarch64"],
    "macos-arm64": [f"macosx_{v}_0_arm64" for v in (14, 13, 12, 11)],
    "windows-amd64": ["win_amd64"],
}
NVIDIA = ("nvidia-", "cuda-", "triton")


# pip evaluates environment markers (`; platform_system == "Linux"`) for the machine it runs on, even with
# --platform; for another system, torch's own dependencies are filtered here with that system's values.
MARKERS = {
    "macos-arm64": {"platform_system": "Darwin", "sys_platform": "darwin", "platform_machine": "arm64"},
    "windows-amd64": {"platform_system": "Windows", "sys_platform": "win32", "platform_machine": "AMD64"},
}


def resolve(requirements: list[str], platform: str, python_version: str) -> list[dict]:
    """What pip would install on ``platform``: one dict per package (name, version, file url)."""
    torch = [r for r in requirements if r.startswith("torch==")]
    if platform not in MARKERS or not torch:
        return _pip_resolve(requirements, platform, python_version)
    from packaging.requirements import Requirement

    (picked,) = _pip_resolve(torch, platform, python_version, no_deps=True)
    environment = {"python_version": python_version, "python_full_version": python_version + ".0", "extra": ""}
    environment.update(MARKERS[platform])
    needs = [
        str(Requirement(dep)).split(";")[0]
        for dep in picked["requires_dist"]
        if Requirement(dep).marker is None or Requirement(dep).marker.evaluate(environment)
    ]
    rest = [r for r in requirements if r not in torch] + needs
    return [picked, *_pip_resolve(rest, platform, python_version)]


def _pip_resolve(requirements: list[str], platform: str, python_version: str, no_deps: bool = False) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--ignore-installed", "--quiet"]
        cmd += ["--report", str(report), "--python-version", python_version, "--only-binary=:all:"]
        cmd += ["--no-deps"] if no_deps else []
        for tag in PLATFORMS[platform]:
            cmd += ["--platform", tag]
        result = subprocess.run(cmd + requirements, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"pip could not resolve for {platform}: {result.stderr.strip()[-800:]}")
        picks = json.loads(report.read_text())["install"]
    return [
        {
            "name": p["metadata"]["name"],
            "version": p["metadata"]["version"],
            "url": p["download_info"]["url"],
            "requires_dist": p["metadata"].get("requires_dist", []),
        }
        for p in picks
    ]


def file_size(name: str, url: str, cache: dict) -> int:
    """The size PyPI's simple index (PEP 691 JSON) records for the file at ``url``."""
    if name not in cache:
        request = urllib.request.Request(
            f"https://pypi.org/simple/{name.lower()}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            cache[name] = {f["filename"]: f.get("size", 0) for f in json.load(response)["files"]}
    return cache[name].get(url.rsplit("/", 1)[-1].split("#", 1)[0], 0)


def requirement_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requirements", nargs="*", help="requirements (default: torch==2.13.0)")
    parser.add_argument("-r", dest="file", type=Path, help="a requirements file")
    parser.add_argument("--platform", choices=sorted(PLATFORMS), action="append", help="default: all")
    parser.add_argument("--python-version", default="3.11")
    parser.add_argument("--list", action="store_true", help="also list every package picked")
    args = parser.parse_args(argv)
    requirements = args.requirements + (requirement_lines(args.file) if args.file else [])
    requirements = requirements or ["torch==2.13.0"]
    cache: dict = {}
    print("| platform | packages | of which NVIDIA/CUDA/triton | download (MB) | torch's own file (MB) |")
    print("|---|---|---|---|---|")
    listings = []
    for platform in args.platform or list(PLATFORMS):
        picks = resolve(requirements, platform, args.python_version)
        sizes = {p["name"]: file_size(p["name"], p["url"], cache) for p in picks}
        gpu = [p for p in picks if p["name"].lower().startswith(NVIDIA)]
        torch_mb = sizes.get("torch", 0) / 1e6
        total = sum(sizes.values()) / 1e6
        print(f"| {platform} | {len(picks)} | {len(gpu)} | {total:,.0f} | {torch_mb:,.0f} |")
        listings.append((platform, [(p["name"], p["version"], sizes[p["name"]]) for p in picks]))
    if args.list:
        for platform, rows in listings:
            print(f"\n{platform}:")
            for name, version, size in sorted(rows, key=lambda row: -row[2]):
                print(f"  {name}=={version}  {size / 1e6:,.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
