"""Over a real loopback socket: `Emulator.serve()`, the CLI, and the pytest fixtures."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from podiokit.testing import Emulator

from .conftest import PROJECTS, auth, client_fields

pytestmark = pytest.mark.anyio


async def test_serve_on_loopback_updates_the_credentials():
    emu = Emulator(items=10)
    assert emu.credentials["api_url"] == "http://podio.emulator"
    async with emu.serve() as url:
        assert url.startswith("http://127.0.0.1:")
        creds = emu.credentials
        assert creds["api_url"] == url
        assert creds["auth_url"] == f"{url}/oauth/authorize"
        assert creds["control_url"] == f"{url}/_emulator"
        async with httpx.AsyncClient(base_url=url) as http:
            app = creds["apps"][0]
            data = {"grant_type": "app", "app_id": app["app_id"], "app_token": app["app_token"],
                    **client_fields(emu)}  # fmt: skip
            token = (await http.post("/oauth/token", data=data)).json()
            page = await http.post(f"/item/app/{PROJECTS}/filter/", json={"limit": 5},
                                   headers=auth(token))  # fmt: skip
            assert page.json()["filtered"] == 10
            stats = (await http.get("/_emulator/stats")).json()
            assert stats["token_grants"] == {"app": 1}
    assert emu.credentials["api_url"] == "http://podio.emulator"


async def test_a_dropped_connection_is_a_transport_error_on_a_real_socket():
    emu = Emulator(items=1, fault_rate=1.0, fault_seed=7)
    seen: set[str] = set()
    async with emu.serve() as url, httpx.AsyncClient(base_url=url) as http:
        for _ in range(12):
            try:
                response = await http.get("/org/")
            except httpx.TransportError as exc:
                seen.add(type(exc).__name__)
            else:
                seen.add(str(response.status_code))
    assert "RemoteProtocolError" in seen or "ReadError" in seen
    assert seen & {"502", "503", "504"}
    assert "500" not in seen  # uvicorn never answers for the dropped request


def test_cli_prints_credentials_then_serves():
    proc = subprocess.Popen(
        [sys.executable, "-m", "podiokit.cli", "emulator", "--port", "0", "--items", "7",
         "--rate-limit", "50"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        creds = json.loads(proc.stdout.readline())
        assert set(creds) == {"api_url", "auth_url", "client_id", "client_secret", "username",
                              "password", "apps", "control_url"}  # fmt: skip
        data = {"grant_type": "password", "username": creds["username"],
                "password": creds["password"], "client_id": creds["client_id"],
                "client_secret": creds["client_secret"]}  # fmt: skip
        with httpx.Client(base_url=creds["api_url"], timeout=10) as http:
            token = http.post("/oauth/token", data=data).json()
            response = http.get(f"/item/app/{PROJECTS}/count", headers=auth(token))
            assert response.json() == {"count": 7}
            assert response.headers["X-Rate-Limit-Limit"] == "50"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.podio_emulator(items=12, refresh="reuse")
def test_podio_emulator_fixture_takes_options_from_the_marker(podio_emulator: Emulator):
    assert podio_emulator.stats()["items"] == 24
    assert len(podio_emulator.credentials["apps"]) == 2
