"""A real browser for the tests in this directory: Debian's `chromium` and `chromium-driver`
(CI installs both with apt-get), driven by selenium, headless, each browser with a fresh
profile. Nothing is downloaded: the paths are given, and Selenium Manager stays offline.

Without them these tests skip locally and fail when CI is set (they must run in CI).
`PODIOKIT_CHROMIUM` and `PODIOKIT_CHROMEDRIVER` name other binaries.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("PODIOKIT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PODIOKIT_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
)  # fmt: skip


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (the dev extra has it)"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{path} is missing (apt-get install {package}; CI installs it)"
    return None


@pytest.fixture(scope="session")
def chromium() -> None:
    """Skip (locally) or fail (CI) when there is no browser to drive."""
    missing = _missing()
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(missing + " and CI is set: the browser tests must run in CI")
    pytest.skip(missing)


Browser = Callable[[], Any]  # () -> selenium.webdriver.Chrome


@pytest.fixture
def new_browser(chromium: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    """Start browsers (each with its own fresh profile, so its own cookies); all quit at
    the end of the test."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # never let Selenium Manager download anything
    started: list[Any] = []
    profiles: list[str] = []

    def start() -> Any:
        profile = tempfile.mkdtemp(prefix="podiokit-chromium-")
        profiles.append(profile)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        driver.set_page_load_timeout(30)
        started.append(driver)
        return driver

    try:
        yield start
    finally:
        for driver in started:
            driver.quit()
        for profile in profiles:
            shutil.rmtree(profile, ignore_errors=True)
