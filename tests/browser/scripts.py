"""The code the harness runs outside this process, kept in real files so that linters read it.

``js/NAME.js`` holds one JavaScript function expression, which Playwright evaluates in the page and
calls with the argument it is given (after the element, for a locator's ``evaluate``). A script may
call another script of ``js/`` by that file's name; it declares the names it uses in an ESLint-style
``/* global notebookPanel */`` comment, and :func:`page_script` defines each one ahead of the script's
own function, so the page receives one self-contained function. ``tests/test_browser_harness.py``
checks that every file, and every script put together this way, parses.

``kernel/NAME.py`` holds Python that the harness sends to a notebook's kernel as text
(:func:`kernel_code`); ruff lints it with the rest of ``tests/``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

JS_DIR = Path(__file__).resolve().with_name("js")
KERNEL_DIR = Path(__file__).resolve().with_name("kernel")

_USES = re.compile(r"/\*\s*global\s+(.*?)\*/", re.DOTALL)


def page_script_names() -> list[str]:
    """The names of every script in ``js/``, sorted."""
    return sorted(path.stem for path in JS_DIR.glob("*.js"))


def uses(name: str) -> list[str]:
    """The other scripts that ``js/<name>.js`` declares in its ``/* global ... */`` comments, in order."""
    source = _read(JS_DIR / f"{name}.js")
    # ESLint allows `name: readonly` in the list; only the name matters here.
    return [part.split(":")[0].strip() for found in _USES.findall(source) for part in found.split(",") if part.strip()]


@functools.cache
def page_script(name: str, _including: tuple[str, ...] = ()) -> str:
    """The function in ``js/<name>.js``, with every script it uses defined inside it, ready for ``evaluate``."""
    if name in _including:
        raise ValueError(f"js/{name}.js uses itself through {' -> '.join(_including)}")
    source = _read(JS_DIR / f"{name}.js").strip()
    used = uses(name)
    if not used:
        return source
    for other in used:
        if not (JS_DIR / f"{other}.js").is_file():
            raise FileNotFoundError(f"js/{name}.js uses {other!r}, but there is no js/{other}.js")
    # A newline before each closing parenthesis, so a script ending in a // comment cannot swallow it.
    helpers = "".join(f"  const {other} = (\n{page_script(other, (*_including, name))}\n);\n" for other in used)
    return f"(...args) => {{\n{helpers}  return (\n{source}\n)(...args);\n}}"


@functools.cache
def kernel_code(name: str) -> str:
    """The text of ``kernel/<name>.py``, to send to a kernel."""
    return _read(KERNEL_DIR / f"{name}.py")


def _read(path: Path) -> str:
    if not path.is_file():
        raise FileNotFoundError(f"the browser harness has no {path.parent.name}/{path.name}")
    return path.read_text(encoding="utf-8")
