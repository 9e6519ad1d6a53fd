"""Drive the course's notebooks in a real JupyterLab, in a real (headless) Chromium.

Everything a browser test needs, so each test only says what a learner does::

    with jupyterlab_session([NOTEBOOKS / "01_tokens.ipynb"]) as lab:
        page = lab.open("01_tokens.ipynb")
        lab.run_all(page)
        box = find_text_box(page, "Text", near=".course-token")
        ...
        print(lab.screenshot(page, "lesson01"))

``jupyterlab_session`` starts JupyterLab from this Python environment on 127.0.0.1 (a free port, a
random token), with a temporary root folder holding *copies* of the notebooks (the repository's
files are never touched), its own temporary config/data/runtime/settings folders (a learner's own
JupyterLab settings cannot change what the test sees), news, update checks and the extension
manager turned off, and ``window.jupyterapp`` exposed so the test can run JupyterLab's own commands.
It launches Debian's Chromium through Playwright (never a downloaded browser) and always stops both.

Widgets are found the way a learner finds them: by their visible description (the label left of an
ipywidgets control) and, to tell apart two similar controls, by what their cell shows
(``near=".course-token"``: the cell whose output contains that element).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS_DIR = Path(os.environ.get("COURSE_ARTIFACTS_DIR", REPO_ROOT / "tests" / "artifacts"))

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    # Keep timers and rendering at full speed in every page, focused or not.
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
]
NOT_INSTALLED = "Chromium not installed: `apt-get install chromium` to run the browser test"

# Characters a token view may draw in place of whitespace (GPT-2's byte markers, SentencePiece's
# lower one-eighth block, a middle dot, the open-box and return symbols).
WHITESPACE_MARKERS = "\u0120\u010a\u2581\u00b7\u2423\u23ce\u21b5\u21e5\u2192"

SERVER_START_TIMEOUT = 90.0  # seconds for JupyterLab to answer its REST API
OPEN_TIMEOUT = 90.0  # seconds for the page, the notebook and its kernel to be ready
RUN_ALL_TIMEOUT = 240.0  # seconds for "Run All Cells" (a lesson that trains a model is slow on 2 busy cores)
ACTION_TIMEOUT_MS = 30_000  # Playwright's wait for an element or an output


class BrowserTestError(AssertionError):
    """The notebook did not behave in the browser as the test expected (the message says how)."""


# --------------------------------------------------------------------------- the browser


def chromium_executable() -> str | None:
    """The Chromium to drive: ``$COURSE_CHROMIUM`` if set, else Debian's ``/usr/bin/chromium``; None if absent."""
    path = os.environ.get("COURSE_CHROMIUM") or DEFAULT_CHROMIUM
    resolved = shutil.which(path)
    return resolved if resolved and os.access(resolved, os.X_OK) else None


def browser_required() -> bool:
    """CI sets ``COURSE_REQUIRE_BROWSER=1``: a missing browser is then a failure, not a skip."""
    return os.environ.get("COURSE_REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes"}


# --------------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


# A learner's JupyterLab does not see these; a test process may have them set (MPLBACKEND=Agg would
# stop figures from showing in the page).
_NOT_INHERITED = {"JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_TOKEN", "MPLBACKEND"}


def _isolated_env(base: Path) -> dict[str, str]:
    """Environment for JupyterLab and its kernels: every Jupyter/IPython folder under ``base``."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    config = base / "config"
    env.update(
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(config / "lab" / "user-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(config / "lab" / "workspaces"),
        IPYTHONDIR=str(base / "ipython"),
        PYTHONUNBUFFERED="1",
        # The kernel imports this checkout's course_lib even though it runs in the temporary root.
        PYTHONPATH=os.pathsep.join(p for p in [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")] if p),
    )
    # Plugins a test never wants: the news/update toasts and the extension manager (which asks PyPI).
    _write_json(
        config / "labconfig" / "page_config.json",
        {
            "disabledExtensions": {
                "@jupyterlab/apputils-extension:announcements": True,
                "@jupyterlab/extensionmanager-extension": True,
            }
        },
    )
    settings = config / "lab" / "user-settings" / "@jupyterlab"
    # Attach every cell to the page, so a widget far down a long lesson is in the DOM to be found.
    _write_json(settings / "notebook-extension" / "tracker.jupyterlab-settings", {"windowingMode": "none"})
    _write_json(
        settings / "apputils-extension" / "notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    return env


@dataclass
class _Server:
    process: subprocess.Popen
    url: str
    token: str
    log_path: Path

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no server log)"

    def request(self, method: str, path: str, timeout: float = 5.0, body: dict | None = None) -> int:
        headers = {"Authorization": f"token {self.token}", "Content-Type": "application/json"}
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback only
            return resp.status


def _launch_server(root: Path, log_path: Path, env: dict[str, str]) -> _Server:
    """Start a JupyterLab process on a free loopback port with a random token (does not wait for it)."""
    port, token = _free_port(), secrets.token_hex(24)
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        # A safety net if the test process is killed before its teardown: idle kernels are culled and
        # the orphaned server then stops by itself.
        "--MappingKernelManager.cull_idle_timeout=900",
        "--MappingKernelManager.cull_interval=60",
        "--ServerApp.shutdown_no_activity_timeout=900",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI often run as root
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return _Server(process, f"http://127.0.0.1:{port}", token, log_path)


def _wait_until_ready(server: _Server, timeout: float = SERVER_START_TIMEOUT) -> bool:
    """True once the server answers its REST API; False if it exits or is silent for ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            if server.request("GET", "/api/status", timeout=2.0) == 200:
                return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def _start_server(root: Path, base: Path, env: dict[str, str], while_starting=None) -> _Server:
    """Start JupyterLab and wait until it answers; retry on another port if the free one was taken meanwhile.

    ``while_starting()`` (launching the browser) runs while the first server process boots.
    """
    server = _launch_server(root, base / "jupyterlab-0.log", env)
    try:
        if while_starting is not None:
            while_starting()
        for attempt in range(1, 4):
            if _wait_until_ready(server):
                return server
            exited = server.process.poll()
            log = server.log_tail()
            _stop_server(server)
            if "address already in use" not in log.lower() or attempt == 3:
                how = (
                    f"exited with code {exited}"
                    if exited is not None
                    else f"did not answer in {SERVER_START_TIMEOUT:.0f} s"
                )
                raise RuntimeError(f"JupyterLab {how}. Its log ends with:\n{log}")
            server = _launch_server(root, base / f"jupyterlab-{attempt}.log", env)
    except BaseException:
        _stop_server(server)
        raise
    raise AssertionError("unreachable")


def _stop_server(server: _Server) -> None:
    """Ask the server to shut down (it stops its kernels), then make sure the process is gone."""
    process = server.process
    if process.poll() is None:
        with contextlib.suppress(Exception):
            server.request("POST", "/api/shutdown", timeout=5.0)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# --------------------------------------------------------------------------- the session

# JavaScript run in the page. `window.jupyterapp` is there because of --LabApp.expose_app_in_browser.
_JS_PANEL = """
(path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
  }
  return null;
}
"""

_JS_STATUS = (
    """
(path) => {
  const panel = ("""
    + _JS_PANEL
    + """)(path);
  const dialog = document.querySelector('.jp-Dialog');
  const kernel = panel && panel.sessionContext.session ? panel.sessionContext.session.kernel : null;
  return {
    app: !!window.jupyterapp,
    panel: !!panel,
    ready: !!(panel && panel.context.isReady),
    kernel: kernel ? kernel.status : null,
    dialog: dialog ? dialog.innerText.slice(0, 300) : null,
  };
}
"""
)

_JS_START_RUN_ALL = (
    """
async (path) => {
  const app = window.jupyterapp;
  const panel = ("""
    + _JS_PANEL
    + """)(path);
  app.shell.activateById(panel.id);
  panel.content.activate();
  window.__courseRunAll = window.__courseRunAll || {};
  const state = (window.__courseRunAll[path] = { done: false, result: null, error: null });
  app.commands
    .execute('notebook:run-all-cells')
    .then((r) => { state.result = r; })
    .catch((e) => { state.error = String(e); })
    .finally(() => { state.done = true; });
}
"""
)

_JS_CELLS = (
    """
(path) => {
  const panel = ("""
    + _JS_PANEL
    + """)(path);
  const kernel = panel.sessionContext.session ? panel.sessionContext.session.kernel : null;
  const cells = [];
  panel.content.widgets.forEach((cell, index) => {
    if (cell.model.type !== 'code') return;
    const outputs = cell.model.outputs.toJSON();
    const errors = outputs.filter((o) => o.output_type === 'error');
    cells.push({
      index,
      empty: cell.model.sharedModel.getSource().trim() === '',
      count: cell.model.executionCount,
      errors: errors.map((o) => ({ ename: o.ename, evalue: o.evalue, traceback: (o.traceback || []).join('\\n') })),
    });
  });
  return { kernel: kernel ? kernel.status : null, cells };
}
"""
)


_JS_SHUTDOWN_KERNEL = (
    """
async (path) => {
  const panel = ("""
    + _JS_PANEL
    + """)(path);
  if (!panel || !panel.sessionContext.session) return;
  const timeout = new Promise((resolve) => setTimeout(resolve, 10000));
  await Promise.race([panel.sessionContext.shutdown(), timeout]);
}
"""
)


@dataclass
class LabSession:
    """A running JupyterLab plus a browser; ``open`` a notebook, ``run_all``, then drive its widgets."""

    root: Path
    url: str
    token: str
    context: object  # playwright.sync_api.BrowserContext, shared by the session's pages
    _server: _Server
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
            status = page.evaluate(_JS_STATUS, name)
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
        page.evaluate(_JS_START_RUN_ALL, name)
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
            cells = page.evaluate(_JS_CELLS, name)
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

    def screenshot(self, page, name: str, target=None) -> Path:
        """Save a PNG of the page (scrolled to ``target`` if given) as ``tests/artifacts/<name>.png``."""
        if target is not None:
            with contextlib.suppress(Exception):
                target.scroll_into_view_if_needed(timeout=5000)
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS_DIR / f"{name}.png"
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
                page.evaluate(_JS_SHUTDOWN_KERNEL, name)
            with contextlib.suppress(Exception):
                page.close()
            self._pages.pop(page, None)
            self._logs.pop(page, None)
        return shots


def _strip_ansi(text: str) -> str:
    import re

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
                server = _start_server(root, base, _isolated_env(base), while_starting=launch_browser)
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
            _stop_server(server)
        shutil.rmtree(base, ignore_errors=True)


# --------------------------------------------------------------------------- finding widgets


def _label_pattern(description: str):
    """Match an ipywidgets description, with or without a trailing colon, ignoring case and spaces."""
    import re

    return re.compile(rf"^\s*{re.escape(description.strip().rstrip(':').strip())}\s*:?\s*$", re.IGNORECASE)


_CELLS = ".jp-NotebookPanel .jp-CodeCell"


def cell_of(element):
    """The code cell containing ``element`` (a locator), pinned by position like :func:`find_cell`."""
    index = element.evaluate("(el, sel) => Array.from(document.querySelectorAll(sel)).indexOf(el.closest(sel))", _CELLS)
    if index < 0:
        raise BrowserTestError("the element is not inside a notebook code cell")
    return element.page.locator(_CELLS).nth(index)


def find_cell(page, *has: str, timeout_ms: float = ACTION_TIMEOUT_MS):
    """The first code cell whose output contains an element matching each CSS selector in ``has``.

    The returned locator is pinned to that cell by its position, so it keeps pointing at the same
    cell while the output changes (a token view that is empty for a moment must not lose its cell).
    """
    matching = page.locator(_CELLS)
    for selector in has:
        matching = matching.filter(has=page.locator(f".jp-Cell-outputArea {selector}"))
    try:
        matching.first.wait_for(state="attached", timeout=timeout_ms)
    except Exception as exc:
        raise BrowserTestError(f"No code cell has an output containing all of {list(has)}") from exc
    return cell_of(matching.first)


def _control(page, kind: str, description: str | None, near: str | None):
    """The first ipywidgets control box of ``kind`` (CSS), labelled ``description``, in a cell ``near``.

    With ``near``, the cell must show both that control and an element matching ``near``: an earlier
    cell with only one of them (a static token view, another box with the same label) is passed over.
    """
    boxes = page.locator(f".jp-Cell-outputArea {kind}")
    if description is not None:
        boxes = boxes.filter(has=page.locator(".widget-label", has_text=_label_pattern(description)))
    cells = page.locator(_CELLS).filter(has=boxes)
    if near:
        cells = cells.filter(has=page.locator(f".jp-Cell-outputArea {near}"))
    try:
        cells.first.wait_for(state="attached")
        box = cell_of(cells.first).locator(boxes).first
        box.wait_for(state="visible")
    except Exception as exc:
        found = [t for t in page.locator(".jp-Cell-outputArea .widget-label").all_inner_texts() if t.strip()]
        raise BrowserTestError(
            f"No {kind} widget described {description!r}"
            + (f" in a cell whose output also has {near!r}" if near else "")
            + f". Widget labels on the page: {found}"
        ) from exc
    return box


def find_text_box(page, description: str | None = None, *, near: str | None = None):
    """The ``<textarea>``/``<input>`` of the first ipywidgets Textarea or Text labelled ``description``.

    ``near`` narrows the search to the cell whose output contains that CSS selector, for instance
    ``near=".course-token"`` for the box that drives a token view.
    """
    box = _control(page, ":is(.widget-textarea, .widget-text)", description, near)
    return box.locator("textarea, input").first


def find_slider(page, description: str | None = None, *, near: str | None = None):
    """The handle (``role=slider``) of the first ipywidgets slider labelled ``description``.

    Move it by keyboard with :func:`move_slider`; read it with :func:`slider_value`.
    """
    box = _control(page, ".widget-slider", description, near)
    return box.locator("[role=slider]").first


def slider_value(handle) -> str:
    """What the slider's readout shows (falls back to the handle's aria value when there is no readout)."""
    box = handle.locator("xpath=ancestor::*[contains(@class, 'widget-slider')][1]")
    readout = box.locator(".widget-readout")
    if readout.count() and readout.first.is_visible():
        return readout.first.inner_text().strip()
    return (handle.get_attribute("aria-valuetext") or handle.get_attribute("aria-valuenow") or "").strip()


def move_slider(handle, key: str = "ArrowRight", presses: int = 1) -> str:
    """Focus the slider handle and press ``key`` (ArrowRight/ArrowLeft/Home/End/PageUp...) ``presses`` times.

    Returns the new readout. Keyboard moves go through noUiSlider's own handlers, so the widget sees
    exactly what a learner's key press sends (including ``continuous_update=False`` "change" events).
    """
    handle.focus()
    for _ in range(presses):
        handle.press(key)
    return slider_value(handle)


def type_text(box, text: str, *, commit: bool = True, keys: int | None = None) -> None:
    """Replace the box's text by typing ``text`` key by key, like a learner.

    ``keys`` limits key-by-key typing to the last ``keys`` characters; the rest is pasted in one go
    (one input event, as a learner pasting), which saves a kernel round trip per character.
    With ``commit`` the box then loses focus, which is when a ``continuous_update=False`` text widget
    sends its value to the kernel (with ``continuous_update=True`` every key already did).
    """
    split = 0 if keys is None else max(0, len(text) - keys)
    box.click()
    box.press("ControlOrMeta+a")
    box.press("Delete")
    if split:
        box.fill(text[:split])
    box.press_sequentially(text[split:])
    if commit:
        box.evaluate("(el) => el.blur()")


# --------------------------------------------------------------------------- reading outputs

_JS_TOKENS = """
(cell) => {
  const first = cell.querySelector('.jp-Cell-outputArea .course-token');
  if (!first) return [];
  const view = first.closest('.course-tokens, .widget-html-content, .widget-output, .jp-OutputArea-output') || cell;
  return Array.from(view.querySelectorAll('.course-token'), (s) => s.textContent);
}
"""


def read_tokens(cell) -> list[str]:
    """The texts of the ``.course-token`` spans of the first token view in ``cell``, in order."""
    return cell.evaluate(_JS_TOKENS)


def strip_whitespace(text: str) -> str:
    """``text`` without whitespace or the markers token views draw for it (Ġ, ▁, ·, ␣, ⏎...)."""
    return "".join(ch for ch in text if not ch.isspace() and ch not in WHITESPACE_MARKERS)


_JS_SNAPSHOT = """
(scope) => {
  // What an output shows, without the controls themselves (a moved slider's readout is not "output").
  // For a whole cell, only its output area: the code editor re-renders lines as the page scrolls.
  const root = scope.classList.contains('jp-Cell') ? scope.querySelector('.jp-Cell-outputArea') || scope : scope;
  const clone = root.cloneNode(true);
  clone.querySelectorAll('input, textarea, select, button, .widget-readout, .slider-container, .widget-label')
    .forEach((n) => n.remove());
  const images = Array.from(clone.querySelectorAll('img'), (i) => i.getAttribute('src') || '');
  const svgs = Array.from(clone.querySelectorAll('svg'), (s) => s.outerHTML.length + ':' + s.textContent);
  return [clone.textContent, ...images, ...svgs].join('\\n');
}
"""


def output_snapshot(scope) -> str:
    """A string that changes when what ``scope`` (a cell, an output area) shows changes, controls excluded."""
    return scope.evaluate(_JS_SNAPSHOT)


def wait_for_change(scope, before: str, *, timeout_ms: float = ACTION_TIMEOUT_MS, settle_ms: float = 300) -> str:
    """Wait until :func:`output_snapshot` of ``scope`` differs from ``before`` and then holds still.

    "Holds still" means unchanged for ``settle_ms``, so an output that is cleared and redrawn (an
    ``Output`` widget, a figure) is returned redrawn, not half-way. Returns the new snapshot.
    """
    page = scope.page
    deadline = time.monotonic() + timeout_ms / 1000
    try:
        page.wait_for_function(
            f"([el, before]) => ({_JS_SNAPSHOT})(el) !== before",
            arg=[scope.element_handle(), before],
            timeout=timeout_ms,
        )
    except Exception as exc:
        raise BrowserTestError(f"The output did not change within {timeout_ms / 1000:.0f} s") from exc
    current = output_snapshot(scope)
    while time.monotonic() < deadline:
        page.wait_for_timeout(settle_ms)
        latest = output_snapshot(scope)
        if latest == current:
            return latest
        current = latest
    return current


@dataclass
class TimedUpdate:
    """How long the page took from the learner's last key press to showing the expected output."""

    seconds: float
    tokens: list[str]


def type_and_wait_for_tokens(box, cell, text: str, *, timeout_ms: float = ACTION_TIMEOUT_MS) -> TimedUpdate:
    """Type ``text`` into ``box`` and wait until ``cell``'s token view spells it; time the last key press.

    All but the last character go in first (the last 8 of them key by key, so several updates may
    still be on their way). Then the clock starts at the ``keydown`` of the last character, in the
    page's own time, and stops at the first DOM change after which the joined tokens equal ``text``
    (whitespace and its markers ignored).
    """
    if len(text) < 2 or not strip_whitespace(text[-1]):
        raise ValueError(f"text must have 2+ characters and end in a visible one (the timed key), got {text!r}")
    page = box.page
    type_text(box, text[:-1], commit=False, keys=8)  # a burst of key presses, each an update on its way
    # Arm the clock: the last keydown in the box, and the first DOM change after which the tokens spell `text`.
    box.evaluate(
        """(el) => {
          window.__courseLastKey = null;
          el.addEventListener('keydown', () => { window.__courseLastKey = performance.now(); }, { capture: true });
        }"""
    )
    cell.evaluate(
        """(cell, [expected, markers]) => {
          if (window.__courseObserver) window.__courseObserver.disconnect();
          window.__courseDone = null;
          const visible = (c) => !/\\s/u.test(c) && !markers.includes(c);
          const check = () => {
            const joined = [...(READ_TOKENS)(cell).join('')].filter(visible).join('');
            if (joined === expected && window.__courseLastKey !== null) {
              window.__courseDone = performance.now();
              window.__courseObserver.disconnect();
            }
          };
          window.__courseObserver = new MutationObserver(check);
          window.__courseObserver.observe(cell, { subtree: true, childList: true, characterData: true });
        }""".replace("READ_TOKENS", _JS_TOKENS.strip()),
        [strip_whitespace(text), WHITESPACE_MARKERS],
    )
    box.press_sequentially(text[-1])
    box.evaluate("(el) => el.blur()")  # commits a continuous_update=False box; harmless otherwise
    try:
        page.wait_for_function("() => window.__courseDone !== null", timeout=timeout_ms)
    except Exception as exc:
        raise BrowserTestError(
            f"The token view never spelled {text!r} within {timeout_ms / 1000:.0f} s; it shows {read_tokens(cell)!r}"
        ) from exc
    finally:
        page.evaluate("() => window.__courseObserver && window.__courseObserver.disconnect()")
    done, pressed = page.evaluate("() => [window.__courseDone, window.__courseLastKey]")
    return TimedUpdate(seconds=(done - pressed) / 1000, tokens=read_tokens(cell))
