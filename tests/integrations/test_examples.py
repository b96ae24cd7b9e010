"""The examples run against `podiokit emulator` (a real process on loopback), as a user
would run them."""

from __future__ import annotations

import ast
import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(check: Callable[[], Any], what: str, deadline: float = 20.0) -> Any:
    """Poll `check` until it returns something truthy (a process or a delivery elsewhere)."""
    end = time.monotonic() + deadline
    while True:
        try:
            found = check()
        except httpx.TransportError:
            found = None
        if found:
            return found
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def emulator() -> Iterator[dict[str, Any]]:
    yield from _serve_emulator()


@pytest.fixture
def fresh_emulator() -> Iterator[dict[str, Any]]:
    """An emulator of its own, for a test that counts what the app holds."""
    yield from _serve_emulator()


def _serve_emulator() -> Iterator[dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "podiokit.cli", "emulator", "--port", "0", "--items", "20"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _env(creds: dict[str, Any], **extra: str) -> dict[str, str]:
    apps = ",".join(f"{a['app_id']}:{a['app_token']}" for a in creds["apps"])
    return {
        **os.environ,
        "PODIO_API_URL": creds["api_url"], "PODIO_AUTH_URL": creds["auth_url"],
        "PODIO_CLIENT_ID": creds["client_id"], "PODIO_CLIENT_SECRET": creds["client_secret"],
        "PODIO_APPS": apps, **extra,
    }  # fmt: skip


def test_asyncio_service_runs_rounds(emulator: dict[str, Any]) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "asyncio_service.py"), "--rounds", "2",
         "--interval", "0"],
        env=_env(emulator), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "stopped cleanly after 2 rounds" in done.stdout
    assert " 0 errors" in done.stdout


def test_asyncio_service_stops_gracefully_on_sigterm(emulator: dict[str, Any]) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "asyncio_service.py"), "--interval", "0.05"],
        env=_env(emulator), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("ready")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "got SIGTERM: stopping" in out and "stopped cleanly" in out
    assert "Traceback" not in err


def _docstring_commands(path: Path) -> list[str]:
    """The shell commands of a module docstring: its lines indented by four spaces."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return [line[4:] for line in doc.splitlines() if line.startswith("    ") and line.strip()]


def _consent_form(page: str) -> dict[str, str]:
    fields = re.findall(r'type="hidden" name="([^"]*)" value="([^"]*)"', page)
    return {html.unescape(k): html.unescape(v) for k, v in fields}


def test_fastapi_backend_runs_as_its_docstring_says(tmp_path: Path) -> None:
    """The docstring's own commands, in a shell, from the repository's root (only the two
    ports are swapped for free ones): the emulator, the exports, the curl that sends hook
    deliveries to the app, uvicorn. Then a person's visit: sign in on the emulator's consent
    page as another demo user, the greeting, the items page, a webhook, sign out."""
    if shutil.which("curl") is None:  # the docstring uses it; CI installs it
        if os.environ.get("CI"):
            pytest.fail("curl is not installed and CI is set: the example's test must run")
        pytest.skip("curl is not installed")
    commands = _docstring_commands(EXAMPLES / "fastapi_backend.py")
    assert commands[0] == "podiokit emulator --port 8000", commands
    assert commands[-1].startswith("uvicorn "), commands
    emu_port, app_port = _free_port(), _free_port()
    commands = [c.replace("8001", str(app_port)).replace("8000", str(emu_port)) for c in commands]
    env = {**os.environ, "HOME": str(tmp_path), "PATH": os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")])}  # fmt: skip
    env.pop("TOKENS_FILE", None)
    root = EXAMPLES.parent
    emulator = subprocess.Popen(
        ["bash", "-c", f"exec {commands[0]}"], cwd=root, env=env, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    backend = f"http://127.0.0.1:{app_port}"
    api_url = f"http://127.0.0.1:{emu_port}"
    proc: subprocess.Popen[str] | None = None
    try:
        assert emulator.stdout is not None
        creds = json.loads(emulator.stdout.readline())
        script = "set -e\n" + "\n".join(commands[1:-1]) + f"\nexec {commands[-1]}\n"
        proc = subprocess.Popen(
            ["bash", "-c", script], cwd=root, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        with (
            httpx.Client(base_url=backend, timeout=10) as browser,
            httpx.Client(base_url=api_url, timeout=10) as api,
        ):
            _until(lambda: browser.get("/healthz").status_code == 200, "the backend")
            home = browser.get("/")
            assert "<title>Welcome - podiokit example</title>" in home.text
            assert "Sign in with Podio" in home.text
            assert browser.get("/me").status_code == 401
            # Signed out, a page sends the browser to sign in, and back to it afterwards.
            items = browser.get("/items")
            assert items.status_code == 303
            login = browser.get(items.headers["location"])
            assert login.status_code == 302
            consent = api.get(login.headers["location"], headers={"accept": "text/html"})
            assert consent.status_code == 200 and "Alex Archer" in consent.text
            form = {**_consent_form(consent.text), "user": "1002", "decision": "approve"}
            back = api.post("/oauth/authorize", data=form)
            assert back.status_code == 303, back.text
            done = browser.get(back.headers["location"])
            assert (done.status_code, done.headers["location"]) == (303, "/items")
            assert "300 items" in browser.get("/items").text
            home = browser.get("/")
            assert "<title>Hello, Alex Archer - podiokit example</title>" in home.text
            assert browser.get("/me").json() == {"user_id": 1002, "name": "Alex Archer"}
            # Tokens and sessions live outside the checkout, under ~/.cache.
            assert (tmp_path / ".cache/podiokit/fastapi-example-tokens.json").exists()
            assert not list(root.glob("*tokens*.json"))

            # The hook was registered with its secret and verified by the receiver.
            _until(
                lambda: any(
                    d["type"] == "hook.verify" and d["status"] == "delivered"
                    for d in api.get("/_emulator/hooks/deliveries").json()
                ),
                "the hook's verification",
            )
            app = creds["apps"][0]
            token = api.post("/oauth/token", data={
                "grant_type": "app", "app_id": app["app_id"], "app_token": app["app_token"],
                "client_id": creds["client_id"], "client_secret": creds["client_secret"],
            }).json()["access_token"]  # fmt: skip
            created = api.post(
                f"/item/app/{app['app_id']}/", json={"fields": {"title": "From a test"}},
                headers={"Authorization": f"OAuth2 {token}"},
            ).json()  # fmt: skip
            events = _until(lambda: browser.get("/events").json(), "the item.create event")
            assert events[0]["type"] == "item.create"
            assert events[0]["item_id"] == created["item_id"]
            forged = {"type": "item.create", "hook_id": str(events[0]["hook_id"]), "item_id": "1"}
            assert browser.post("/podio/hooks", data=forged).status_code == 403

            assert browser.post("/auth/logout").status_code == 303
            assert browser.get("/me").status_code == 401
            assert "Sign in with Podio" in browser.get("/").text
    finally:
        if proc is not None:
            proc.terminate()
            _out, err = proc.communicate(timeout=20)
        emulator.terminate()
        emulator.wait(timeout=10)
    assert "Traceback" not in err, err


def test_bulk_export_writes_every_item_once(fresh_emulator: dict[str, Any], tmp_path: Path) -> None:
    emulator = fresh_emulator
    out = tmp_path / "items.jsonl"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "bulk_export.py"), str(out)],
        env=_env(emulator), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = out.read_bytes().splitlines()
    ids = [json.loads(line)["item_id"] for line in lines]
    apps = emulator["apps"]
    # 20 items per demo app (the fixture's --items), each exactly once, nothing left behind.
    assert len(ids) == len(set(ids)) == 20 * len(apps)
    assert f"exported {len(ids)} items" in done.stdout
    assert not (tmp_path / "items.jsonl.part").exists()
