"""Fixtures for the mirror tests: the emulator's apps and items as Podio sends them, and a
database URL per dialect: SQLite in a tmp dir, and a throwaway PostgreSQL cluster started
here (initdb on a free port, as the RedisSessionStore tests start their redis-server).

Without PostgreSQL binaries the postgresql tests skip locally and fail when CI is set
(`.ci/run` installs PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec
import pytest

from podiokit import Podio
from podiokit.testing import Emulator

from ._helpers import make_podio
from .pgcluster import find_bindir, throwaway_postgres

PROJECTS = 3002
CLIENTS = 3001


class _RawPage(msgspec.Struct):
    items: list[msgspec.Raw]


@dataclass
class PodioData:
    """What GET /app/{id} and one filter page return for each app: apps as dicts, items as
    the exact bytes of each item in the page."""

    apps: dict[int, dict[str, Any]]
    items: dict[int, list[bytes]]


async def _fetch(count: int) -> PodioData:
    emu = Emulator(items=count)
    creds = emu.credentials
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
    podio = Podio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    )
    try:
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
        token = podio.token
        assert token is not None
        headers = {"Authorization": f"OAuth2 {token.access_token}"}
        apps: dict[int, dict[str, Any]] = {}
        pages: dict[int, list[bytes]] = {}
        for app_id in (CLIENTS, PROJECTS):
            apps[app_id] = await podio.request("GET", f"/app/{app_id}")
            response = await http.post(
                f"/item/app/{app_id}/filter/",
                json={"limit": 500, "sort_by": "app_item_id", "sort_desc": False},
                headers=headers,
            )
            response.raise_for_status()
            page = msgspec.json.decode(response.content, type=_RawPage)
            pages[app_id] = [bytes(r) for r in page.items]
    finally:
        await podio.aclose()
        await http.aclose()
    return PodioData(apps, pages)


@pytest.fixture(scope="session")
def podio_data() -> PodioData:
    """The emulator's two apps with 60 items each (fetched once: the store tests only read)."""
    return anyio.run(_fetch, 60)


# --- databases ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a throwaway PostgreSQL cluster's `postgres` database (trust auth on
    127.0.0.1 only; user `mirror`)."""
    bindir = find_bindir()
    if bindir is None:
        message = "PostgreSQL is not installed (no initdb; CI installs it with apt-get)"
        if os.environ.get("CI"):
            pytest.fail(message + " and CI is set: the PostgreSQL tests must run in CI")
        pytest.skip(message)
    with throwaway_postgres(bindir) as url:
        yield url


def new_pg_database(server: str) -> str:
    """A fresh database per test on the session's server."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mirror.db'}"
    server = request.getfixturevalue("postgres_server")
    return new_pg_database(server)


@pytest.fixture
async def podio(emu: Emulator) -> AsyncIterator[Podio]:
    """A client on the module's `emu`, signed in as the demo user, who sees every app."""
    client, http = make_podio(emu, backoff_base=0.0)
    creds = emu.credentials
    await client.authenticate_with_credentials(creds["username"], creds["password"])
    try:
        yield client
    finally:
        await client.aclose()
        await http.aclose()
