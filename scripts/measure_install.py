"""What a new user's pip would download for the course, per platform: packages, and their sizes from PyPI.

    python scripts/measure_install.py                       # torch==2.13.0 alone
    python scripts/measure_install.py -r requirements.txt   # the whole pinned set
    python scripts/measure_install.py -r .binder/requirements.txt --platform linux-x86_64

For each platform pip resolves the requirements as a fresh machine would (``--isolated``, so this
machine's pip configuration and local wheels are ignored; ``--platform`` and ``--python-version`` so
the wheels for another system are picked; ``--dry-run``, so nothing is installed), and the size of
every picked file is read from PyPI's simple index (its JSON form lists each file's size). Needs the
package index; prints a Markdown table. pip evaluates environment markers (``; sys_platform == ...``)
for the machine it runs on even with ``--platform``, so it is run with the target system's values.
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
# --platform, so pip is run here with its marker environment set to the target system's.
MARKERS = {
    "linux-x86_64": {"platform_system": "Linux", "sys_platform": "linux", "platform_machine": "x86_64"},
    "linux-aarch64": {"platform_system": "Linux", "sys_platform": "linux", "platform_machine": "aarch64"},
    "macos-arm64": {"platform_system": "Darwin", "sys_platform": "darwin", "platform_machine": "arm64"},
    "windows-amd64": {
        "platform_system": "Windows",
        "sys_platform": "win32",
        "platform_machine": "AMD64",
        "os_name": "nt",
    },
}
PIP_WITH_MARKERS = """
import sys
from pip._vendor.packaging import markers
from pip._internal.cli.main import main

target = {target!r}
machine = markers.default_environment
markers.default_environment = lambda: {{**machine(), **target}}
sys.exit(main({args!r}))
"""


def resolve(requirements: list[str], platform: str, python_version: str) -> list[dict]:
    """What pip would install on ``platform``: one dict per package (name, version, file url)."""
    target = {**MARKERS[platform], "python_version": python_version, "python_full_version": python_version + ".0"}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        args = ["install", "--isolated", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report)]
        args += ["--python-version", python_version, "--only-binary=:all:"]
        for tag in PLATFORMS[platform]:
            args += ["--platform", tag]
        code = PIP_WITH_MARKERS.format(target=target, args=args + requirements)
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"pip could not resolve for {platform}: {result.stderr.strip()[-800:]}")
        picks = json.loads(report.read_text())["install"]
    return [
        {"name": p["metadata"]["name"], "version": p["metadata"]["version"], "url": p["download_info"]["url"]}
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
