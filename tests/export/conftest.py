"""Fixtures for the exporter tests: an in-process emulator and a signed-in client."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from podiokit import Podio
from podiokit.testing import Emulator

PROJECTS = 3002
CLIENTS = 3001


@pytest.fixture
def emu() -> Emulator:
    return Emulator(items=1_200)


def make_podio(emu: Emulator, **options: object) -> tuple[Podio, httpx.AsyncClient]:
    creds = emu.credentials
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
    podio = Podio(
        creds["client_id"],
        creds["client_secret"],
        api_url=creds["api_url"],
        http_client=http,
        **options,  # type: ignore[arg-type]
    )
    return podio, http


@pytest.fixture
async def podio(emu: Emulator) -> AsyncIterator[Podio]:
    """Signed in as the demo user, who sees every app."""
    client, http = make_podio(emu, backoff_base=0.0)
    creds = emu.credentials
    await client.authenticate_with_credentials(creds["username"], creds["password"])
    try:
        yield client
    finally:
        await client.aclose()
        await http.aclose()


def app_tokens(emu: Emulator) -> dict[int, str]:
    return {a["app_id"]: a["app_token"] for a in emu.credentials["apps"]}


def world_ids(emu: Emulator, app_id: int) -> set[int]:
    """The item ids the app holds now (read from the emulator's state)."""
    return set(emu._core.world.apps[app_id].item_ids)


def exported_ids(path: Path) -> Counter[int]:
    """item_id -> how many lines of the JSONL file hold it."""
    ids: Counter[int] = Counter()
    with open(path, "rb") as f:
        for line in f:
            ids[json.loads(line)["item_id"]] += 1
    return ids
