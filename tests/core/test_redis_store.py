"""RedisSessionStore against a real redis-server (started here; skipped where none is
installed; CI installs it). redis.asyncio runs on asyncio only."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import anyio
import httpx
import pytest

from podiokit import OAuthToken, Podio
from podiokit.sessions import RedisSessionStore, SessionStore

from .conftest import SECRET, token_body

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (CI installs it with apt-get)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait()


async def test_redis_store_round_trip_and_protocol(redis_url: str) -> None:
    store = RedisSessionStore(redis_url, prefix="t1:")
    assert isinstance(store, SessionStore)
    token = OAuthToken(
        access_token="a", refresh_token="r", expires_at=datetime(2030, 1, 1, tzinfo=timezone.utc)
    )
    await store.set("user:1", token)
    assert await store.get("user:1") == token
    await store.delete("user:1")
    assert await store.get("user:1") is None
    await store.aclose()


async def test_two_clients_on_one_redis_refresh_once(redis_url: str) -> None:
    """Two clients (as two machines would) share an expired token: one refresh."""
    stores = [RedisSessionStore(redis_url, prefix="t2:") for _ in range(2)]
    expired = OAuthToken(
        access_token="old",
        refresh_token="old-ref",
        expires_at=datetime.now(timezone.utc) - timedelta(hours=1),
    )
    await stores[0].set("default", expired)
    refreshes = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal refreshes
        if request.url.path == "/oauth/token":
            refreshes += 1
            await anyio.sleep(0.1)
            return httpx.Response(200, json=token_body("new"))
        return httpx.Response(200, json={"ok": True})

    clients = [
        Podio(
            "cid",
            SECRET,
            session_store=s,
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        )
        for s in stores
    ]
    async with anyio.create_task_group() as tg:
        for client in clients:
            for _ in range(20):
                tg.start_soon(client.request, "GET", "/item/1")
    assert refreshes == 1
    assert all(c.token is not None and c.token.access_token == "new" for c in clients)
    for store in stores:
        await store.aclose()
