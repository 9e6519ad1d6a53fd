"""Which Chromium the browser tests drive, with which flags, and what happens when there is none.

Stdlib only and free of the rest of the harness: ``tests/conftest.py``'s ``chromium`` fixture imports
it, so deciding to skip a browser test costs nothing else.
"""

from __future__ import annotations

import os
import shutil

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


def chromium_executable() -> str | None:
    """The Chromium to drive: ``$COURSE_CHROMIUM`` if set, else Debian's ``/usr/bin/chromium``; None if absent."""
    path = os.environ.get("COURSE_CHROMIUM") or DEFAULT_CHROMIUM
    resolved = shutil.which(path)
    return resolved if resolved and os.access(resolved, os.X_OK) else None


def browser_required() -> bool:
    """CI sets ``COURSE_REQUIRE_BROWSER=1``: a missing browser is then a failure, not a skip."""
    return os.environ.get("COURSE_REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes"}
