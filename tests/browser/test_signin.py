"""Sign in as a person does, in Chromium: `examples/fastapi_backend.py` (uvicorn) against
`podiokit emulator`, through the emulator's consent page; use the app; sign out; a copy of
the old session cookie opens nothing. And two tabs signing in at once, in either order."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Browser

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEMO, ALEX = "1001", "1002"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(chromium: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example backend on a loopback port, signed in through an emulator process."""
    emulator = subprocess.Popen(
        [sys.executable, "-m", "podiokit.cli", "emulator", "--port", "0", "--items", "5"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    backend: subprocess.Popen[str] | None = None
    try:
        assert emulator.stdout is not None
        creds = json.loads(emulator.stdout.readline())
        app = creds["apps"][0]
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "PODIO_API_URL": creds["api_url"], "PODIO_AUTH_URL": creds["auth_url"],
            "PODIO_CLIENT_ID": creds["client_id"], "PODIO_CLIENT_SECRET": creds["client_secret"],
            "PODIO_APP_ID": str(app["app_id"]), "PODIO_APP_TOKEN": app["app_token"],
            "PUBLIC_URL": url, "SECRET_KEY": "browser-test-secret-key-0123456789",
            "TOKENS_FILE": str(tmp_path_factory.mktemp("tokens") / "tokens.json"),
        }  # fmt: skip
        env.pop("HOOK_URL", None)
        backend = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(EXAMPLES), "fastapi_backend:app",
             "--port", str(port), "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert backend.poll() is None, "the example backend exited"
            assert time.monotonic() < deadline, "the example backend did not start"
            time.sleep(0.05)
        yield url
    finally:
        if backend is not None:
            backend.terminate()
            _out, err = backend.communicate(timeout=20)
            assert "Traceback" not in err, err
        emulator.terminate()
        emulator.wait(timeout=10)


def _wait_title(driver: Any, title: str) -> None:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, 15).until(expected_conditions.title_is(title))
    except TimeoutException:
        raise AssertionError(f"expected the page {title!r}, got {driver.title!r} at "
                             f"{driver.current_url}: {_text(driver)[:300]!r}") from None  # fmt: skip


def _text(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.TAG_NAME, "body").text)


def _consent(driver: Any, user: str, decision: str = "approve") -> None:
    """On the emulator's consent page: pick a demo user and press Approve (or Deny)."""
    from selenium.webdriver.common.by import By

    _wait_title(driver, "Allow access - Podio emulator")
    driver.find_element(By.CSS_SELECTOR, f'input[name="user"][value="{user}"]').click()
    driver.find_element(By.CSS_SELECTOR, f'button[value="{decision}"]').click()


def test_sign_in_use_the_app_sign_out_and_the_old_cookie_is_refused(
    app_url: str, new_browser: Browser
) -> None:
    from selenium.webdriver.common.by import By

    driver = new_browser()
    driver.get(app_url + "/")
    _wait_title(driver, "Welcome - podiokit example")
    driver.find_element(By.LINK_TEXT, "Sign in with Podio").click()
    consent = _text(driver)
    assert "Alex Archer" in consent and "Dana Demo" in consent and "podiokit-emulator" in consent
    _consent(driver, ALEX)
    _wait_title(driver, "Hello, Alex Archer - podiokit example")

    driver.find_element(By.LINK_TEXT, "Newest items").click()  # use the app
    _wait_title(driver, "Newest items - podiokit example")
    assert "5 items" in _text(driver)
    cookie = driver.get_cookie("podiokit")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    driver.get(app_url + "/")
    _wait_title(driver, "Hello, Alex Archer - podiokit example")
    driver.find_element(By.XPATH, '//button[text()="Sign out"]').click()
    _wait_title(driver, "Welcome - podiokit example")
    assert driver.get_cookie("podiokit") is None

    # A copy of the cookie taken before signing out opens nothing.
    driver.add_cookie({"name": "podiokit", "value": cookie["value"], "path": "/"})
    driver.get(app_url + "/me")
    assert "sign in again" in _text(driver)
    driver.get(app_url + "/")
    _wait_title(driver, "Welcome - podiokit example")
    driver.get(app_url + "/items")  # a page route sends the browser to sign in
    _wait_title(driver, "Allow access - Podio emulator")


@pytest.mark.parametrize("order", ["first tab first", "second tab first"])
def test_two_tabs_signing_in_at_once_both_complete(
    app_url: str, new_browser: Browser, order: str
) -> None:
    driver = new_browser()
    driver.get(app_url + "/auth/login")
    _wait_title(driver, "Allow access - Podio emulator")
    first = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(app_url + "/auth/login")
    _wait_title(driver, "Allow access - Podio emulator")
    second = driver.current_window_handle
    tabs = [first, second] if order == "first tab first" else [second, first]
    for tab in tabs:
        driver.switch_to.window(tab)
        _consent(driver, DEMO)
        _wait_title(driver, "Hello, Dana Demo - podiokit example")
    driver.get(app_url + "/me")
    assert json.loads(_text(driver)) == {"user_id": 1001, "name": "Dana Demo"}
