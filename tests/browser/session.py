"""A browser test's session: JupyterLab and Chromium started together, notebooks opened and run in pages.

``with jupyterlab_session([...notebooks]) as lab:`` copies the notebooks into a temporary root, starts
JupyterLab (:mod:`.server`) while Chromium launches through Playwright (:mod:`.chromium`), and always
stops both. :class:`LabSession` opens a notebook in a page and waits for its kernel, runs all its cells
with JupyterLab's own command, takes screenshots, runs code in the notebook's kernel, and builds a fresh
copy of a cell's widget there to compare with what the page shows (:meth:`LabSession.fresh_view`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from . import ACTION_TIMEOUT_MS, BrowserTestError
from .chromium import CHROMIUM_ARGS, NOT_INSTALLED, chromium_executable
from .controls import CELLS
from .scripts import kernel_code, page_script
from .server import REPO_ROOT, Server, isolated_env, start_server, stop_server
from .views import control_settings

ARTIFACTS_DIR = Path(os.environ.get("COURSE_ARTIFACTS_DIR", REPO_ROOT / "tests" / "artifacts"))

OPEN_TIMEOUT = 90.0  # seconds for the page, the notebook and its kernel to be ready
RUN_ALL_TIMEOUT = 240.0  # seconds for "Run All Cells" (a lesson that trains a model is slow on 2 busy cores)


@dataclass
class LabSession:
    """A running JupyterLab plus a browser; ``open`` a notebook, ``run_all``, then drive its widgets."""

    root: Path
    url: str
    token: str
    context: object  # playwright.sync_api.BrowserContext, shared by the session's pages
    _server: Server
    _pages: dict = field(default_factory=dict)  # Page -> notebook name
    _logs: dict = field(default_factory=dict)  # Page -> browser console errors
    _opened: int = 0

    # ----------------------------------------------------------------- pages

    def open(self, name: str, *, timeout: float = OPEN_TIMEOUT):
        """Open notebook ``name`` (a file copied into the root) in a new page; wait for its kernel to be idle.

        Each page gets its own JupyterLab workspace, so nothing is restored from a previous page.
        """
        if not (self.root / name).exists():
            raise FileNotFoundError(f"{name} is not in the session's root {self.root}: pass it to jupyterlab_session()")
        page = self.context.new_page()
        errors: list[str] = []

        def on_console(msg) -> None:
            if msg.type == "error":
                errors.append(f"console.error: {msg.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        self._pages[page], self._logs[page] = name, errors
        self._opened += 1
        # Start the notebook's kernel through the REST API while the page loads (JupyterLab then joins
        # that session instead of starting the kernel only once its own start-up is done).
        starter = threading.Thread(target=self._start_kernel, args=(name,), daemon=True)
        starter.start()
        workspace = f"course-test-{self._opened}"  # letters, digits and dashes only: a dot breaks the route
        page.goto(f"{self.url}/lab/workspaces/{workspace}/tree/{quote(name)}?token={self.token}", wait_until="load")
        starter.join(timeout)
        self._wait_for_kernel(page, name, timeout)
        return page

    def _start_kernel(self, name: str) -> None:
        try:
            spec = json.loads((self.root / name).read_text(encoding="utf-8")).get("metadata", {}).get("kernelspec", {})
            body = {"path": name, "name": name, "type": "notebook", "kernel": {"name": spec.get("name", "python3")}}
            self._server.request("POST", "/api/sessions", timeout=OPEN_TIMEOUT, body=body)
        except Exception as exc:  # JupyterLab starts the kernel itself anyway; this only saves time
            print(f"[browser] could not pre-start the kernel of {name}: {exc}")

    def _wait_for_kernel(self, page, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        status: dict = {}
        while time.monotonic() < deadline:
            status = page.evaluate(page_script("notebookStatus"), name)
            if status["dialog"]:
                # A "Select Kernel" (or similar) dialog would block every command: accept its default.
                print(f"[browser] accepting a JupyterLab dialog: {status['dialog']!r}")
                page.locator(".jp-Dialog .jp-mod-accept").first.click()
            elif status["ready"] and status["kernel"] == "idle":
                return
            time.sleep(0.2)
        raise BrowserTestError(
            f"{name} was not open with an idle kernel after {timeout:.0f} s (last state {status}).\n"
            + self.diagnostics(page)
        )

    def run_all(self, page, *, timeout: float = RUN_ALL_TIMEOUT) -> float:
        """Run every cell with JupyterLab's own ``notebook:run-all-cells`` (Run > Run All Cells).

        Waits until the command has finished, the kernel is idle and every non-empty code cell has an
        execution count. Raises with the cell's traceback if a cell failed. Returns the seconds taken.
        """
        name = self._pages[page]
        start = time.monotonic()
        page.evaluate(page_script("startRunAll"), name)
        try:
            page.wait_for_function(
                "(path) => window.__courseRunAll && window.__courseRunAll[path].done", arg=name, timeout=timeout * 1000
            )
        except Exception as exc:  # playwright's TimeoutError
            raise BrowserTestError(
                f"Run All Cells in {name} had not finished after {timeout:.0f} s.\n" + self.diagnostics(page)
            ) from exc
        state = page.evaluate("(path) => window.__courseRunAll[path]", name)
        if state["error"]:
            raise BrowserTestError(f"notebook:run-all-cells failed in {name}: {state['error']}")
        # The command resolves when the last reply is in; wait for the kernel to settle too.
        deadline = time.monotonic() + 30
        while True:
            cells = page.evaluate(page_script("codeCells"), name)
            failed = [c for c in cells["cells"] if c["errors"]]
            if failed:
                err = failed[0]["errors"][0]
                raise BrowserTestError(
                    f"Cell {failed[0]['index']} of {name} raised {err['ename']}: {err['evalue']}\n"
                    + _strip_ansi(err["traceback"])[-3000:]
                )
            not_run = [c["index"] for c in cells["cells"] if not c["empty"] and c["count"] is None]
            if cells["kernel"] == "idle" and not not_run:
                return time.monotonic() - start
            if time.monotonic() > deadline:
                raise BrowserTestError(
                    f"After Run All Cells, {name} has kernel {cells['kernel']!r} and cells {not_run} not run.\n"
                    + self.diagnostics(page)
                )
            time.sleep(0.2)

    def screenshot(self, page, name: str, target=None, *, whole: bool = False) -> Path:
        """Save a PNG of the page (scrolled to ``target`` if given) as ``tests/artifacts/<name>.png``.

        With ``whole``, the PNG is of ``target`` alone, all of it: the window is made tall enough for it
        for the picture (JupyterLab draws only what its notebook panel shows), then set back.
        """
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS_DIR / f"{name}.png"
        if whole and target is not None:
            size = page.viewport_size
            height = target.evaluate("(el) => el.getBoundingClientRect().height")
            page.set_viewport_size({"width": size["width"], "height": max(size["height"], int(height) + 400)})
            try:
                page.wait_for_timeout(500)  # JupyterLab lays the taller panel out
                target.scroll_into_view_if_needed(timeout=5000)
                target.screenshot(path=str(path))
            finally:
                page.set_viewport_size(size)
            return path
        if target is not None:
            with contextlib.suppress(Exception):
                target.scroll_into_view_if_needed(timeout=5000)
        page.screenshot(path=str(path))
        return path

    def diagnostics(self, page) -> str:
        """Browser console errors of ``page`` and the end of the server log, for a failure message."""
        errors = self._logs.get(page, [])
        return (
            "Browser errors:\n  "
            + ("\n  ".join(errors[-15:]) or "(none)")
            + "\nServer log:\n"
            + self._server.log_tail()
        )

    # ----------------------------------------------------------------- the kernel, for checks

    def kernel_execute(self, page, code: str, *, timeout: float = ACTION_TIMEOUT_MS / 1000) -> str:
        """Run ``code`` in ``page``'s kernel, outside any cell (nothing is shown); return what it printed.

        The code runs in the notebook's namespace, after everything the cells defined. Nothing is
        added to the history and no execution count is used. A Python error raises BrowserTestError.
        """
        name = self._pages[page]
        try:
            result = page.evaluate(page_script("kernelExecute"), [name, code, timeout * 1000])
        except Exception as exc:
            raise BrowserTestError(f"Could not run code in the kernel of {name}: {exc}") from exc
        if result["error"]:
            raise BrowserTestError(f"Code run in the kernel of {name} failed: {_strip_ansi(result['error'])[-3000:]}")
        return result["out"]

    def fresh_view(self, page, cell, settings=None, *, timeout: float = 120.0) -> dict[str, list[str]]:
        """What a new copy of ``cell``'s widget shows once its controls hold ``settings``, built in the kernel.

        The kernel runs the cell's source again (in a copy of the notebook's namespace, so nothing the
        notebook defined changes), sets each control to the value in ``settings`` (default: what the page's
        controls show now, :func:`.views.control_settings`), and reports its outputs the way
        :func:`.views.shown_view` reads the page: each figure's hash (image bytes, SVG digest) and the text
        of every HTML view (``kernel/fresh_view.py``). The widget is then closed.
        When the page shows the same, the browser displays exactly what the kernel computes for those
        settings: the right figure, not merely a different one.
        """
        name = self._pages[page]
        index = cell.evaluate("(el, sel) => Array.from(document.querySelectorAll(sel)).indexOf(el)", CELLS)
        source = page.evaluate(page_script("cellSource"), [name, index])
        settings = control_settings(cell) if settings is None else settings
        literal = repr([tuple(setting) for setting in settings])
        # Define the function (kernel/fresh_view.py), call it, and take its name out of the notebook again.
        call = f"print(_course_fresh_view({source!r}, {literal}))\ndel _course_fresh_view\n"
        out = self.kernel_execute(page, f"{kernel_code('fresh_view')}\n{call}", timeout=timeout)
        return json.loads(out.strip().splitlines()[-1])

    def close_pages(self, screenshot_prefix: str | None = None) -> list[Path]:
        """Shut down each open page's kernel and close the page; screenshot it first if a prefix is given.

        Returns the screenshots' paths. Shutting kernels down keeps a session that opens every lesson
        in turn from piling up idle kernels.
        """
        shots = []
        for page, name in list(self._pages.items()):
            if screenshot_prefix:
                with contextlib.suppress(Exception):
                    shots.append(self.screenshot(page, f"{screenshot_prefix}-{Path(name).stem}"))
            with contextlib.suppress(Exception):
                page.evaluate(page_script("shutdownKernel"), name)
            with contextlib.suppress(Exception):
                page.close()
            self._pages.pop(page, None)
            self._logs.pop(page, None)
        return shots


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


@contextlib.contextmanager
def jupyterlab_session(
    notebook_paths: Iterable[str | os.PathLike], *, chromium: str | None = None
) -> Iterator[LabSession]:
    """Copy the notebooks into a temporary root, start JupyterLab and Chromium, and always stop both."""
    from playwright.sync_api import sync_playwright

    executable = chromium or chromium_executable()
    if executable is None:
        raise RuntimeError(NOT_INSTALLED)
    base = Path(tempfile.mkdtemp(prefix="course-lab-"))
    root = base / "root"
    root.mkdir()
    for source in map(Path, notebook_paths):
        if (root / source.name).exists():
            raise ValueError(f"two notebooks are named {source.name}; the session's root is flat")
        shutil.copy2(source, root / source.name)
    server = browser = None
    try:
        with sync_playwright() as pw:

            def launch_browser() -> None:
                nonlocal browser
                browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)

            try:
                server = start_server(root, base, isolated_env(base), while_starting=launch_browser)
                # One context for the session: fresh (no profile, cookies or storage from outside), and
                # pages share its cache, so the second notebook does not download JupyterLab again.
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                context.set_default_timeout(ACTION_TIMEOUT_MS)
                lab = LabSession(root=root, url=server.url, token=server.token, context=context, _server=server)
                try:
                    yield lab
                finally:
                    lab.close_pages()
            finally:
                if browser is not None:
                    with contextlib.suppress(Exception):
                        browser.close()
    finally:
        if server is not None:
            stop_server(server)
        shutil.rmtree(base, ignore_errors=True)
