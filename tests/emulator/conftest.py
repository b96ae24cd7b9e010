"""Helpers for the emulator tests: an in-process httpx client and token shortcuts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from podiokit.testing import Emulator

# Real API bodies, copied from shared/podio-api/samples into the repo so CI never skips them.
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"


def sample(name: str) -> Any:
    """A real API body from tests/fixtures/samples."""
    return json.loads((SAMPLES / name).read_text())


@pytest.fixture
def emu() -> Emulator:
    return Emulator(items=60)


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url=emu.credentials["api_url"]) as c:
        yield c


def client_fields(emu: Emulator) -> dict[str, str]:
    c = emu.credentials
    return {"client_id": c["client_id"], "client_secret": c["client_secret"]}


async def password_token(http: httpx.AsyncClient, emu: Emulator) -> dict[str, Any]:
    c = emu.credentials
    data = {"grant_type": "password", "username": c["username"], "password": c["password"]}
    response = await http.post("/oauth/token", data={**data, **client_fields(emu)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def app_token(http: httpx.AsyncClient, emu: Emulator, index: int = 0) -> dict[str, Any]:
    app = emu.credentials["apps"][index]
    data = {"grant_type": "app", "app_id": app["app_id"], "app_token": app["app_token"]}
    response = await http.post("/oauth/token", data={**data, **client_fields(emu)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def auth(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"OAuth2 {token['access_token']}"}


@pytest.fixture
async def user_http(http: httpx.AsyncClient, emu: Emulator) -> httpx.AsyncClient:
    """The in-process client, signed in as the demo user."""
    http.headers.update(auth(await password_token(http, emu)))
    return http


PROJECTS = 3002
CLIENTS = 3001
