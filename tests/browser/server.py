"""JupyterLab for the browser tests: started on a free loopback port, isolated from the learner's set-up.

:func:`start_server` launches ``python -m jupyterlab`` from this Python environment on 127.0.0.1 with a
random token, in an environment (:func:`isolated_env`) whose Jupyter and IPython folders are all
temporary: a learner's own JupyterLab settings cannot change what a test sees. News, update checks and
the extension manager are off; ``window.jupyterapp`` is exposed so a test can run JupyterLab's own
commands. :func:`stop_server` always stops it again, kernels included.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

SERVER_START_TIMEOUT = 90.0  # seconds for JupyterLab to answer its REST API


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


def isolated_env(base: Path) -> dict[str, str]:
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
class Server:
    """A running JupyterLab process: where it answers, its token, and the file its output goes to."""

    process: subprocess.Popen
    url: str
    token: str
    log_path: Path

    def log_tail(self, chars: int = 3000) -> str:
        """The last ``chars`` characters of the server's log, for a failure message."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no server log)"

    def request(self, method: str, path: str, timeout: float = 5.0, body: dict | None = None) -> int:
        """Call the server's REST API (``body`` sent as JSON); returns the HTTP status."""
        headers = {"Authorization": f"token {self.token}", "Content-Type": "application/json"}
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback only
            return resp.status


def launch_server(root: Path, log_path: Path, env: dict[str, str]) -> Server:
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
    return Server(process, f"http://127.0.0.1:{port}", token, log_path)


def wait_until_ready(server: Server, timeout: float = SERVER_START_TIMEOUT) -> bool:
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


def start_server(root: Path, base: Path, env: dict[str, str], while_starting=None) -> Server:
    """Start JupyterLab and wait until it answers; retry on another port if the free one was taken meanwhile.

    ``while_starting()`` (launching the browser) runs while the first server process boots.
    """
    server = launch_server(root, base / "jupyterlab-0.log", env)
    try:
        if while_starting is not None:
            while_starting()
        for attempt in range(1, 4):
            if wait_until_ready(server):
                return server
            exited = server.process.poll()
            log = server.log_tail()
            stop_server(server)
            if "address already in use" not in log.lower() or attempt == 3:
                how = (
                    f"exited with code {exited}"
                    if exited is not None
                    else f"did not answer in {SERVER_START_TIMEOUT:.0f} s"
                )
                raise RuntimeError(f"JupyterLab {how}. Its log ends with:\n{log}")
            server = launch_server(root, base / f"jupyterlab-{attempt}.log", env)
    except BaseException:
        stop_server(server)
        raise
    raise AssertionError("unreachable")


def stop_server(server: Server) -> None:
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
