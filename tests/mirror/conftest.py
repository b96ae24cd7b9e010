"""Fixtures for the mirror tests: the emulator's apps and items as Podio sends them, and a
database URL per dialect: SQLite in a tmp dir, and a throwaway PostgreSQL cluster started
here (initdb on a free port, as the RedisSessionStore tests start their redis-server).

Without PostgreSQL binaries the postgresql tests skip locally and fail when CI is set
(`.ci/run` installs PostgreSQL)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec
import pytest

from podiokit import Podio
from podiokit.testing import Emulator

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

PG_BIN_DIRS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/bin")


def _pg_bin() -> Path | None:
    """The directory holding initdb and postgres (the newest of Debian's versioned ones)."""
    found = shutil.which("initdb")
    if found and (Path(found).resolve().parent / "postgres").exists():
        return Path(found).resolve().parent
    for pattern in PG_BIN_DIRS:
        for candidate in sorted(glob.glob(pattern), reverse=True):
            if (Path(candidate) / "initdb").exists() and (Path(candidate) / "postgres").exists():
                return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user() -> tuple[list[str], str | None]:
    """PostgreSQL refuses to run as root: as root, run it as `postgres` (or `nobody`)."""
    if os.geteuid() != 0:
        return [], None
    runuser = shutil.which("runuser")
    for user in ("postgres", "nobody"):
        try:
            import pwd

            pwd.getpwnam(user)
        except KeyError:
            continue
        if runuser:
            return [runuser, "-u", user, "--"], user
    raise RuntimeError("running as root with no `postgres` user and no runuser to switch to it")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster: its URL to the `postgres` database (no password,
    trust auth on 127.0.0.1 only)."""
    bindir = _pg_bin()
    if bindir is None:
        message = "PostgreSQL is not installed (no initdb; CI installs it with apt-get)"
        if os.environ.get("CI"):
            pytest.fail(message + " and CI is set: the PostgreSQL tests must run in CI")
        pytest.skip(message)
    prefix, user = _as_server_user()
    base = Path(tempfile.mkdtemp(prefix="podiokit-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if user is not None:
        shutil.chown(base, user)
        shutil.chown(sockets, user)
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "mirror", "-A", "trust",
         "-E", "UTF8", "--no-locale", "--no-sync"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    port = _free_port()
    log = open(base / "server.log", "wb")  # noqa: SIM115 (closed after the server)
    proc = subprocess.Popen(
        [*prefix, str(bindir / "postgres"), "-D", str(data), "-p", str(port),
         "-h", "127.0.0.1", "-k", str(sockets), "-F",
         "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        url = f"postgresql://mirror@127.0.0.1:{port}/postgres"
        _wait_until_ready(url, proc, base / "server.log")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def _wait_until_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until a connection succeeds (the server accepts TCP before it can serve)."""
    import psycopg

    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not start: " + log.read_text()[-2000:]) from None
            time.sleep(0.1)


def _new_pg_database(server: str) -> str:
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
    return _new_pg_database(server)
