"""The examples run against `podiokit emulator` (a real process on loopback), as a user
would run them."""

from __future__ import annotations

import json
import os
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


def test_fastapi_backend_signs_in_shows_user_pages_and_receives_hooks(
    emulator: dict[str, Any], tmp_path: Path
) -> None:
    creds, port = emulator, _free_port()
    app = creds["apps"][0]
    backend = f"http://127.0.0.1:{port}"
    control = httpx.Client(base_url=creds["control_url"], timeout=10)
    # Podio only calls ports 80/443: the hook URL is public, the emulator delivers here.
    target = control.post("/hooks/target", json={"url": backend, "attempts": 10, "backoff": 0.2})
    assert target.status_code == 200, target.text
    env = _env(
        creds, PODIO_APP_ID=str(app["app_id"]), PODIO_APP_TOKEN=app["app_token"],
        PUBLIC_URL=backend, HOOK_URL="http://backend.example.com/podio/hooks",
        SECRET_KEY="example-secret-key-0123456789", TOKENS_FILE=str(tmp_path / "tokens.json"),
    )  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(EXAMPLES), "fastapi_backend:app",
         "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        with (
            httpx.Client(base_url=backend, timeout=10) as browser,
            httpx.Client(base_url=creds["api_url"], timeout=10) as api,
        ):
            _until(lambda: browser.get("/healthz").status_code == 200, "the backend")
            assert browser.get("/me").status_code == 401
            login = browser.get("/auth/login")
            assert login.status_code == 302
            # The emulator's authorize page signs in as whom `user=` names.
            back = api.get(login.headers["location"] + "&user=alex%40podiokit.test")
            done = browser.get(back.headers["location"])
            assert done.status_code == 303, done.text
            assert browser.get("/me").json() == {"user_id": 1002, "name": "Alex Archer"}
            assert "20 items" in browser.get("/items").text

            # The hook was verified by the receiver (Podio retried while it started).
            _until(
                lambda: any(
                    d["type"] == "hook.verify" and d["status"] == "delivered"
                    for d in control.get("/hooks/deliveries").json()
                ),
                "the hook's verification",
            )
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

            assert browser.post("/auth/logout").status_code == 303
            assert browser.get("/me").status_code == 401
    finally:
        control.post("/hooks/target", json={"url": None})
        control.close()
        proc.terminate()
        _out, err = proc.communicate(timeout=20)
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
