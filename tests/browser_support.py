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

Controls are driven with the keyboard, as a keyboard-only learner would (``move_slider``/``step_slider``,
``step_dropdown``, ``toggle_checkbox``, ``press_button``, ``type_text``); ``accessibility_problems``
says when one cannot be reached with Tab or has no accessible name. ``timed_change`` times a control
change to its updated output in the page's own clock; ``shown_view`` and ``LabSession.fresh_view``
compare what the page shows with what a new copy of the widget, built in the kernel, shows.
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
from collections.abc import Iterable, Iterator, Sequence
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


_JS_KERNEL_EXECUTE = (
    """
async ([path, code, timeoutMs]) => {
  const panel = ("""
    + _JS_PANEL
    + """)(path);
  const kernel = panel && panel.sessionContext.session ? panel.sessionContext.session.kernel : null;
  if (!kernel) throw new Error('the notebook has no kernel');
  const future = kernel.requestExecute({ code, silent: false, store_history: false, stop_on_error: false });
  let out = '';
  let error = null;
  future.onIOPub = (msg) => {
    const kind = msg.header.msg_type;
    if (kind === 'stream') out += msg.content.text;
    if (kind === 'error') {
      error = msg.content.ename + ': ' + msg.content.evalue + '\\n' + msg.content.traceback.join('\\n');
    }
  };
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs));
  await Promise.race([future.done, timeout]);
  return { out, error };
}
"""
)

_JS_CELL_SOURCE = (
    """
([path, index]) => {
  const panel = ("""
    + _JS_PANEL
    + """)(path);
  const cells = Array.from(panel.content.node.querySelectorAll('.jp-CodeCell'));
  const widget = panel.content.widgets.find((w) => w.node === cells[index]);
  if (!widget) throw new Error('no code cell at index ' + index);
  return widget.model.sharedModel.getSource();
}
"""
)

# Defined in the kernel by LabSession.fresh_view, then called with the cell's source and the settings.
_KERNEL_FRESH_VIEW = """
def _course_fresh_view(source, settings):
    import ast
    import hashlib
    import json
    from html.parser import HTMLParser

    import ipywidgets as W
    from IPython import get_ipython

    shell = get_ipython()
    tree = ast.parse(shell.transform_cell(source))
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        raise ValueError("the widget's cell must end with the expression that builds the widget")
    namespace = dict(shell.user_ns)  # a copy: running the cell again changes none of the notebook's names
    exec(compile(ast.Module(tree.body[:-1], type_ignores=[]), "<widget cell>", "exec"), namespace)
    root = eval(compile(ast.Expression(tree.body[-1].value), "<widget cell>", "eval"), namespace)

    def walk(widget):
        yield widget
        for child in getattr(widget, "children", ()):
            yield from walk(child)

    widgets = list(walk(root))
    kinds = {
        "slider": (W.IntSlider, W.FloatSlider),
        "checkbox": W.Checkbox,
        "dropdown": W.Dropdown,
        "text": (W.Text, W.Textarea),
    }
    used = set()
    try:
        for kind, description, value in settings:
            same = description.strip().rstrip(":").strip()
            found = [
                w for w in widgets
                if isinstance(w, kinds[kind]) and id(w) not in used
                and w.description.strip().rstrip(":").strip() == same
            ]
            if not found:
                raise LookupError(f"the widget's fresh copy has no {kind} described {description!r}")
            control = found[0]
            used.add(id(control))
            if kind == "slider":
                control.value = int(float(value)) if isinstance(control, W.IntSlider) else float(value)
            elif kind == "dropdown":
                control.label = value
            else:
                control.value = value

        class Text(HTMLParser):
            def __init__(self):
                super().__init__(convert_charrefs=True)
                self.parts = []
                self.digests = []

            def handle_starttag(self, tag, attrs):
                if tag == "svg" and dict(attrs).get("data-digest"):
                    self.digests.append(dict(attrs)["data-digest"])

            def handle_data(self, data):
                self.parts.append(data)

        def read(markup):
            parser = Text()
            parser.feed(markup)
            parser.close()
            return " ".join("".join(parser.parts).split()), parser.digests

        images = []
        for w in widgets:
            if isinstance(w, W.Image):
                images.append(hashlib.sha256(w.value).hexdigest())
            elif isinstance(w, W.HTML):
                images += read(w.value)[1]
        return json.dumps({
            "images": images,
            "texts": [read(w.value)[0] for w in widgets if isinstance(w, W.HTML)],
        })
    finally:
        for w in widgets:
            w.close()

"""


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

    # ----------------------------------------------------------------- the kernel, for checks

    def kernel_execute(self, page, code: str, *, timeout: float = ACTION_TIMEOUT_MS / 1000) -> str:
        """Run ``code`` in ``page``'s kernel, outside any cell (nothing is shown); return what it printed.

        The code runs in the notebook's namespace, after everything the cells defined. Nothing is
        added to the history and no execution count is used. A Python error raises BrowserTestError.
        """
        name = self._pages[page]
        try:
            result = page.evaluate(_JS_KERNEL_EXECUTE, [name, code, timeout * 1000])
        except Exception as exc:
            raise BrowserTestError(f"Could not run code in the kernel of {name}: {exc}") from exc
        if result["error"]:
            raise BrowserTestError(f"Code run in the kernel of {name} failed: {_strip_ansi(result['error'])[-3000:]}")
        return result["out"]

    def fresh_view(self, page, cell, settings=None, *, timeout: float = 120.0) -> dict[str, list[str]]:
        """What a new copy of ``cell``'s widget shows once its controls hold ``settings``, built in the kernel.

        The kernel runs the cell's source again (in a copy of the notebook's namespace, so nothing the
        notebook defined changes), sets each control to the value in ``settings`` (default: what the page's
        controls show now, :func:`control_settings`), and reports its outputs the way :func:`shown_view`
        reads the page: each figure's hash (image bytes, SVG digest) and the text of every HTML view. The widget is then
        closed. When the page shows the same, the browser displays exactly what the kernel computes for
        those settings: the right figure, not merely a different one.
        """
        name = self._pages[page]
        index = cell.evaluate("(el, sel) => Array.from(document.querySelectorAll(sel)).indexOf(el)", _CELLS)
        source = page.evaluate(_JS_CELL_SOURCE, [name, index])
        settings = control_settings(cell) if settings is None else settings
        literal = repr([tuple(setting) for setting in settings])
        code = f"{_KERNEL_FRESH_VIEW}\nprint(_course_fresh_view({source!r}, {literal}))\ndel _course_fresh_view\n"
        out = self.kernel_execute(page, code, timeout=timeout)
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


def _control(page, kind: str, description: str | None, near: str | None, label: str | None = ".widget-label"):
    """The first ipywidgets control box of ``kind`` (CSS), labelled ``description``, in a cell ``near``.

    With ``near``, the cell must show both that control and an element matching ``near``: an earlier
    cell with only one of them (a static token view, another box with the same label) is passed over.
    ``label`` is the CSS of the element inside the box that shows the description (a check box shows it
    beside the box, in ``.widget-label-basic``); None means the box's own text (a button's caption).
    """
    boxes = page.locator(f".jp-Cell-outputArea {kind}")
    if description is not None:
        pattern = _label_pattern(description)
        boxes = boxes.filter(has=page.locator(label, has_text=pattern)) if label else boxes.filter(has_text=pattern)
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


def find_checkbox(page, description: str | None = None, *, near: str | None = None):
    """The ``<input type=checkbox>`` of the first ipywidgets Checkbox labelled ``description``."""
    box = _control(page, ".widget-checkbox", description, near, label=".widget-label-basic")
    return box.locator("input[type=checkbox]").first


def find_dropdown(page, description: str | None = None, *, near: str | None = None):
    """The ``<select>`` of the first ipywidgets Dropdown labelled ``description``."""
    box = _control(page, ".widget-dropdown", description, near)
    return box.locator("select").first


def find_button(page, description: str | None = None, *, near: str | None = None):
    """The first ipywidgets Button whose caption is ``description``."""
    return _control(page, ".widget-button", description, near, label=None)


# What a lesson spec calls each kind of control, and how to find it.
CONTROL_FINDERS = {
    "slider": find_slider,
    "checkbox": find_checkbox,
    "dropdown": find_dropdown,
    "text": find_text_box,
    "button": find_button,
}


def find_control(page, kind: str, description: str, *, near: str | None = None):
    """The control of ``kind`` (a key of :data:`CONTROL_FINDERS`) labelled ``description``."""
    if kind not in CONTROL_FINDERS:
        raise ValueError(f"kind must be one of {sorted(CONTROL_FINDERS)}, got {kind!r}")
    return CONTROL_FINDERS[kind](page, description, near=near)


_OPPOSITE_KEYS = {
    "ArrowRight": "ArrowLeft",
    "ArrowLeft": "ArrowRight",
    "ArrowUp": "ArrowDown",
    "ArrowDown": "ArrowUp",
    "PageUp": "PageDown",
    "PageDown": "PageUp",
    "Home": "End",
    "End": "Home",
}


def opposite_key(key: str) -> str:
    """The key that undoes ``key`` on a slider or a dropdown (ArrowRight -> ArrowLeft, Home -> End...)."""
    if key not in _OPPOSITE_KEYS:
        raise ValueError(f"key must be one of {sorted(_OPPOSITE_KEYS)}, got {key!r}")
    return _OPPOSITE_KEYS[key]


def _key_that_moves(at_start: bool, at_end: bool, key: str) -> str:
    """``key``, or its opposite when ``key`` would push against the end it is already at."""
    towards_end = key in {"ArrowRight", "ArrowUp", "PageUp", "End"}
    if (towards_end and at_end) or (not towards_end and at_start):
        return opposite_key(key)
    return key


def step_slider(handle, key: str = "ArrowRight") -> str:
    """Press ``key`` once on a slider handle; at the end ``key`` points to, press the opposite key.

    Returns the new readout. Use it when the starting value is not known (a lesson may start a slider
    at its maximum); :func:`move_slider` presses exactly what it is told.
    """
    low, high, now = (float(handle.get_attribute(a)) for a in ("aria-valuemin", "aria-valuemax", "aria-valuenow"))
    return move_slider(handle, _key_that_moves(now <= low, now >= high, key))


def step_dropdown(select, key: str = "ArrowDown") -> str:
    """Choose the next (``ArrowDown``) or previous (``ArrowUp``) option of a dropdown with the keyboard.

    At the first or last option the other arrow is used. Returns the chosen option's text. The list is
    opened first (Alt+ArrowDown), the arrow moves within it and Enter chooses: JupyterLab takes a plain
    arrow key pressed on a closed ``<select>`` for its own "select the next cell" shortcut, so the way
    most keyboard users change a dropdown does nothing there (ipywidgets issue #3912).
    """
    if key not in {"ArrowDown", "ArrowUp"}:
        raise ValueError(f"key must be 'ArrowDown' or 'ArrowUp', got {key!r}")
    index, count = select.evaluate("(el) => [el.selectedIndex, el.options.length]")
    if count < 2:
        raise BrowserTestError(f"the dropdown has {count} option(s): there is nothing to choose")
    is_open = "(el) => { try { return el.matches(':open'); } catch (e) { return null; } }"
    if (key == "ArrowDown" and index >= count - 1) or (key == "ArrowUp" and index <= 0):
        key = opposite_key(key)  # in a list, ArrowDown goes towards the end
    page = select.page
    # The list takes a moment to accept keys after it opens (keys sent too early are lost): a person is
    # never that fast, a test can be, so wait a little longer on each try.
    for pause_ms in (100, 400, 1500):
        select.focus()
        select.press("Alt+ArrowDown")
        try:
            page.wait_for_function(f"(el) => ({is_open})(el) !== false", arg=select.element_handle(), timeout=5000)
        except Exception as exc:
            raise BrowserTestError("Alt+ArrowDown did not open the dropdown's list") from exc
        page.wait_for_timeout(pause_ms)
        select.press(key)
        select.press("Enter")
        with contextlib.suppress(Exception):
            page.wait_for_function(
                f"([el, index]) => ({is_open})(el) !== true && el.selectedIndex !== index",
                arg=[select.element_handle(), index],
                timeout=2000,
            )
        if select.evaluate("(el) => el.selectedIndex") != index:
            break
        if select.evaluate(is_open):
            select.press("Escape")
    else:
        raise BrowserTestError(f"the dropdown still shows option {index} after choosing another with the keyboard")
    return dropdown_value(select)


def dropdown_value(select) -> str:
    """The text of the dropdown's chosen option ('' when none is chosen), no-break spaces made plain."""
    chosen = select.evaluate("(el) => (el.selectedIndex < 0 ? '' : el.options[el.selectedIndex].textContent)")
    return chosen.replace("\u00a0", " ")


def toggle_checkbox(checkbox) -> bool:
    """Focus the check box and press Space, as a keyboard user does; returns whether it is now ticked."""
    checkbox.focus()
    checkbox.press("Space")
    return checkbox.is_checked()


def press_button(button) -> None:
    """Focus the button and press Enter, as a keyboard user does."""
    button.focus()
    button.press("Enter")


_JS_CONTROL_VALUES = """
(cell) => {
  // Every ipywidgets control in the cell's output, in page order: [kind, description, value].
  const area = cell.querySelector('.jp-Cell-outputArea') || cell;
  const text = (el) => (el ? el.textContent.trim() : '');
  const values = [];
  area.querySelectorAll('.widget-slider, .widget-checkbox, .widget-dropdown, .widget-text, .widget-textarea')
    .forEach((box) => {
      if (box.classList.contains('widget-slider')) {
        const readout = box.querySelector('.widget-readout');
        const handle = box.querySelector('[role=slider]');
        const shown = readout && readout.offsetParent !== null ? text(readout) : handle.getAttribute('aria-valuetext');
        values.push(['slider', text(box.querySelector('.widget-label')), shown]);
      } else if (box.classList.contains('widget-checkbox')) {
        values.push(['checkbox', text(box.querySelector('.widget-label-basic')), box.querySelector('input').checked]);
      } else if (box.classList.contains('widget-dropdown')) {
        const select = box.querySelector('select');
        const chosen = select.selectedIndex < 0 ? '' : select.options[select.selectedIndex].textContent;
        // ipywidgets shows an option's spaces as no-break spaces; report the label as the kernel knows it
        values.push(['dropdown', text(box.querySelector('.widget-label')), chosen.replace(/\\u00a0/g, ' ')]);
      } else {
        values.push(['text', text(box.querySelector('.widget-label')), box.querySelector('input, textarea').value]);
      }
    });
  return values;
}
"""


def control_settings(cell) -> list[tuple[str, str, str | bool]]:
    """Every control in ``cell``'s output as (kind, description, value), in page order.

    Sliders give their readout, dropdowns the chosen option's text, check boxes True/False, text boxes
    their text. :meth:`LabSession.fresh_view` sets a new copy of the widget to exactly these values.
    """
    return [tuple(setting) for setting in cell.evaluate(_JS_CONTROL_VALUES)]


def control_values(cell) -> dict[str, str | bool]:
    """:func:`control_settings` as a mapping description -> value (a later control wins a shared name)."""
    return {description: value for _, description, value in control_settings(cell)}


def accessibility_problems(control) -> list[str]:
    """What keeps a keyboard or screen-reader user from this control (empty when nothing does).

    Checks that the Tab key can reach it (it takes the focus, is not disabled, has no negative tabindex)
    and that it has an accessible name (what a screen reader announces; Playwright computes it the way
    the browser's accessibility tree does).
    """
    import re

    problems = []
    reachable = control.evaluate(
        "(el) => { el.focus(); return el.tabIndex >= 0 && !el.disabled && document.activeElement === el; }"
    )
    if not reachable:
        problems.append("cannot be reached with the Tab key")
    lines = control.aria_snapshot().strip().splitlines()
    match = re.match(r'^\s*-\s*([\w-]+)(?:\s+"(.*?)")?', lines[0]) if lines else None
    role = match.group(1) if match else "element"
    if not (match and match.group(2) and match.group(2).strip()):
        problems.append(f"has no accessible name: a screen reader announces it as an unnamed {role}")
    return problems


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
  const svgs = Array.from(clone.querySelectorAll('svg'), (s) =>
    (s.getAttribute('data-digest') || s.outerHTML.length) + ':' + s.textContent);
  return [clone.textContent, ...images, ...svgs].join('\\n');
}
"""


def output_snapshot(scope) -> str:
    """A string that changes when what ``scope`` (a cell, an output area) shows changes, controls excluded."""
    return scope.evaluate(_JS_SNAPSHOT)


def wait_for_change(
    scope, before: str, *, timeout_ms: float = ACTION_TIMEOUT_MS, settle_ms: float = 300, until: str | None = None
) -> str:
    """Wait until :func:`output_snapshot` of ``scope`` differs from ``before`` and then holds still.

    "Holds still" means unchanged for ``settle_ms``, so an output that is cleared and redrawn (an
    ``Output`` widget, a figure) is returned redrawn, not half-way. With ``until``, also wait for the
    output to contain that text: an action that shows "working..." at once and its result seconds
    later (a training run) is finished only then. Returns the new snapshot.
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
        if latest == current and (until is None or until in latest):
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


# --------------------------------------------------------------------------- what a widget shows, and how fast

_JS_SHOWN_VIEW = """
async (cell) => {
  // Every figure in the cell's output, in page order: the SHA-256 of a widget image's bytes, the
  // digest an SVG figure carries (course_lib.svg_plots); and the text of every HTML view.
  const area = cell.querySelector('.jp-Cell-outputArea') || cell;
  const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
  const images = [];
  for (const figure of area.querySelectorAll('img.widget-image, .widget-html-content svg[data-digest]')) {
    if (figure.tagName.toLowerCase() === 'svg') { images.push(figure.getAttribute('data-digest')); continue; }
    const bytes = await (await fetch(figure.src)).arrayBuffer();
    images.push(hex(await crypto.subtle.digest('SHA-256', bytes)));
  }
  const texts = Array.from(area.querySelectorAll('.widget-html-content'), (el) =>
    el.textContent.split(/\\s+/).filter(Boolean).join(' '));
  return { images, texts };
}
"""


def shown_view(cell) -> dict[str, list[str]]:
    """What ``cell``'s widget shows, in the form :meth:`LabSession.fresh_view` reports it.

    ``images``: each figure: the SHA-256 of an image's bytes (a Matplotlib figure arrives as PNG
    bytes), or the ``data-digest`` of an SVG figure (:mod:`course_lib.svg_plots`, a hash of what it draws);
    ``texts``: the text of each HTML view, whitespace collapsed.
    """
    return cell.evaluate(_JS_SHOWN_VIEW)


_JS_ARM_TIMING = (
    """
(scope, events) => {
  // Note when the learner acts (the first of `events` from now on: a key press, a click...) and what
  // the output shows after each change of the page, so the time to the final state can be looked up.
  const snapshot = """
    + _JS_SNAPSHOT.strip()
    + """;
  const timing = (window.__courseTiming = { armed: performance.now(), acted: null, seen: [] });
  const onEvent = () => { if (timing.acted === null) timing.acted = performance.now(); };
  events.forEach((e) => document.addEventListener(e, onEvent, { capture: true }));
  let last = snapshot(scope);
  const observer = new MutationObserver(() => {
    const now = snapshot(scope);
    if (now !== last) { timing.seen.push([performance.now(), now]); last = now; }
  });
  const watch = { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['src'] };
  observer.observe(scope, watch);
  timing.stop = () => {
    observer.disconnect();
    events.forEach((e) => document.removeEventListener(e, onEvent, { capture: true }));
  };
}
"""
)


@dataclass
class TimedChange:
    """A control change and its effect: the output before and after, and how long the update took."""

    ms: float  # from the learner's action (key press, click, leaving a box) to the output's final state
    before: str  # output_snapshot before the action
    after: str  # output_snapshot once the output held still
    first_ms: float = 0.0  # from the action to the output's first change (a "working..." note, or the result)
    longest_wait_ms: float = 0.0  # the longest time, from the action to the final state, with no visible change


START_EVENTS = ("keydown", "pointerdown", "mousedown", "input", "change", "focusout", "click")


def timed_change(
    scope,
    act,
    *,
    start_events: Sequence[str] = START_EVENTS,
    timeout_ms: float = ACTION_TIMEOUT_MS,
    settle_ms: float = 300,
    until: str | None = None,
) -> TimedChange:
    """Do ``act()`` (a learner's action on a control), wait for ``scope``'s output to change, and time it.

    The clock starts at the first of ``start_events`` in the page after arming (by default a key press,
    a click, an edit, a ``change`` or a box losing focus; pass ``("change",)`` to start when a dropdown's
    choice is made rather than when its list is opened) and stops at the first change of the page
    after which ``scope`` shows what it finally shows (:func:`wait_for_change`): an update drawn in
    several steps (a text, then a figure) is timed to its last step. Both times are the page's own, so
    Playwright's overhead is not counted. Raises BrowserTestError if the output does not change within ``timeout_ms``.
    """
    page = scope.page
    before = output_snapshot(scope)
    scope.evaluate(_JS_ARM_TIMING, list(start_events))
    try:
        act()
        after = wait_for_change(scope, before, timeout_ms=timeout_ms, settle_ms=settle_ms, until=until)
    finally:
        page.evaluate("() => window.__courseTiming && window.__courseTiming.stop()")
    timing = page.evaluate("() => ({ armed: window.__courseTiming.armed, acted: window.__courseTiming.acted })")
    seen = page.evaluate("() => window.__courseTiming.seen")
    start = timing["acted"] if timing["acted"] is not None else timing["armed"]
    # The last recorded change that produced the final output (the output may pass through it earlier,
    # e.g. a figure cleared and redrawn, but then it differs in between).
    done = next((t for t, shown in reversed(seen) if shown == after), None)
    if done is None:  # the final state was reached between two observations; fall back to the last change
        done = seen[-1][0] if seen else start
    first = next((t for t, _ in seen if t >= start), done)
    moments = [start, *(t for t, _ in seen if start <= t <= done), done]
    longest = max(later - earlier for earlier, later in zip(moments, moments[1:], strict=False))
    return TimedChange(ms=done - start, before=before, after=after, first_ms=first - start, longest_wait_ms=longest)
