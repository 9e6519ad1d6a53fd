"""Shared pytest fixtures. So far only for the browser tests (see tests/browser_support.py)."""

from __future__ import annotations

import pytest
from browser_support import NOT_INSTALLED, browser_required, chromium_executable


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the Chromium to drive; skips the test when there is none, unless COURSE_REQUIRE_BROWSER=1."""
    path = chromium_executable()
    if path is None:
        if browser_required():
            pytest.fail(f"COURSE_REQUIRE_BROWSER=1 but no browser was found. {NOT_INSTALLED}", pytrace=False)
        pytest.skip(NOT_INSTALLED)
    return path


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so a fixture can tell whether its test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
