"""podiokit over httpx-aiohttp (`podiokit.transports.aiohttp_transport`): the same calls,
retries and refreshes as over httpx's own transport, failures that keep their meaning (a
dropped connection is never "not sent"), and a clear error under trio."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpx
import pytest

import podiokit._pipeline
from podiokit import OAuthToken, Podio, SyncPodio, errors
from podiokit.testing import Emulator
from podiokit.transports import aiohttp_transport

pytest.importorskip("httpx_aiohttp")  # the `aiohttp` extra (in `dev`)

pytestmark = pytest.mark.anyio
asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio"])
PROJECTS = 3002


@pytest.fixture
def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(seconds: float) -> None:
        await anyio.lowlevel.checkpoint()

    monkeypatch.setattr(podiokit._pipeline, "sleep", no_sleep)


@pytest.fixture
async def served() -> AsyncIterator[tuple[Emulator, str]]:
    emu = Emulator(items=40)
    async with emu.serve() as url:
        yield emu, url


def _client(url: str, *, aiohttp: bool, **options: Any) -> Podio:
    transport = aiohttp_transport() if aiohttp else None
    return Podio("cid", "secret", api_url=url, transport=transport, **options)


async def _signed_in(emu: Emulator, url: str, *, aiohttp: bool, **options: Any) -> Podio:
    creds = emu.credentials
    podio = Podio(
        creds["client_id"],
        creds["client_secret"],
        api_url=url,
        transport=aiohttp_transport() if aiohttp else None,
        **options,
    )
    app = creds["apps"][0]
    await podio.authenticate_with_app(app["app_id"], app["app_token"])
    return podio


async def _reads(podio: Podio) -> list[Any]:
    page = await podio.request("POST", f"/item/app/{PROJECTS}/filter/", json={"limit": 5})
    first = page["items"][0]["item_id"]
    item = await podio.items.get(first)
    raw = await podio.request("GET", f"/item/{first}")
    return [page, item.model_dump(mode="json", by_alias=True, exclude_unset=True), raw]


@asyncio_only
async def test_the_same_answers_as_over_httpx(served: tuple[Emulator, str]) -> None:
    emu, url = served
    results = []
    for aiohttp in (False, True):
        async with await _signed_in(emu, url, aiohttp=aiohttp) as podio:
            results.append(await _reads(podio))
            assert podio.rate_limit.remaining is not None  # headers came through
    assert results[0] == results[1]
    assert results[1][1] == results[1][2]  # the typed item is the JSON Podio sent


@asyncio_only
async def test_refreshes_an_expired_token(served: tuple[Emulator, str]) -> None:
    emu, url = served
    async with await _signed_in(emu, url, aiohttp=True) as podio:
        before = podio.token
        emu.expire_tokens()
        await _reads(podio)
        assert podio.token is not None and before is not None
        assert podio.token.access_token != before.access_token


@asyncio_only
async def test_reads_through_faults_and_dropped_connections(
    served: tuple[Emulator, str], no_waits: None
) -> None:
    emu, url = served
    async with await _signed_in(emu, url, aiohttp=True, max_retries=8) as podio:
        ids = [i["item_id"] for i in (await podio.request("POST", f"/item/app/{PROJECTS}/filter/", json={"limit": 40}))["items"]]  # fmt: skip
        emu.set_faults(fault_rate=0.3, fault_seed=5)
        got = [(await podio.request("GET", f"/item/{i}"))["item_id"] for i in ids]
    assert got == ids
    faults = emu.stats()["faults"]
    assert faults.get("drop", 0) >= 1 and sum(faults.values()) >= 5, faults


# -- failures keep their meaning ---------------------------------------------------------


class _Hangup(BaseHTTPRequestHandler):
    """Reads each request, then closes the connection without answering."""

    seen: list[str]

    def do_GET(self) -> None:
        self._hang_up()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self._hang_up()

    def _hang_up(self) -> None:
        self.seen.append(self.command)
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, *args: Any) -> None:
        pass


class _CutShort(BaseHTTPRequestHandler):
    """Answers 200 with a body that stops half way: the connection closes mid-body."""

    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.command)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b'{"item_id": 1, "title": "')
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, *args: Any) -> None:
        pass


class _Item(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.command)
        body = json.dumps({"item_id": 1}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler_class = type("Handler", (handler,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hangup() -> Iterator[tuple[str, list[str]]]:
    yield from _serve(_Hangup)


@pytest.fixture
def cut_short() -> Iterator[tuple[str, list[str]]]:
    yield from _serve(_CutShort)


@pytest.fixture
def item_server() -> Iterator[tuple[str, list[str]]]:
    yield from _serve(_Item)


def _token() -> OAuthToken:
    return OAuthToken(
        access_token="acc", expires_at=datetime.now(timezone.utc) + timedelta(hours=1)
    )


@asyncio_only
async def test_a_dropped_connection_is_not_retried_for_a_create(
    hangup: tuple[str, list[str]], no_waits: None
) -> None:
    # httpx-aiohttp alone reports it as a connect timeout, which podiokit retries even for a
    # create (it could not have reached Podio): the item would be posted twice.
    url, seen = hangup
    async with _client(url, aiohttp=True, max_retries=2) as podio:
        await podio.set_token(_token())
        with pytest.raises(errors.PodioConnectionError) as raised:
            await podio.request("POST", f"/item/app/{PROJECTS}/", json={"fields": {}})
        assert not isinstance(raised.value, errors.PodioTimeoutError)
        assert isinstance(raised.value.__cause__, httpx.ReadError)
        assert seen == ["POST"]
        seen.clear()
        with pytest.raises(errors.PodioConnectionError):
            await podio.request("GET", "/item/1")
        # An idempotent read is retried (podiokit's 1 + 2 tries; aiohttp itself resends a GET
        # once when the connection drops, so each try may reach the server twice).
        assert set(seen) == {"GET"} and len(seen) >= 3


@asyncio_only
async def test_a_body_cut_short_is_a_read_error(
    cut_short: tuple[str, list[str]], no_waits: None
) -> None:
    url, seen = cut_short
    async with _client(url, aiohttp=True, max_retries=1) as podio:
        await podio.set_token(_token())
        with pytest.raises(errors.PodioConnectionError) as raised:
            await podio.request("GET", "/item/1")
    assert not isinstance(raised.value, errors.PodioTimeoutError)
    assert isinstance(raised.value.__cause__, httpx.ReadError)
    assert len(seen) == 2  # read again once (max_retries=1)


@asyncio_only
async def test_a_refused_connection_is_a_connect_error(no_waits: None) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    async with _client(f"http://127.0.0.1:{port}", aiohttp=True, max_retries=0) as podio:
        await podio.set_token(_token())
        with pytest.raises(errors.PodioConnectionError) as raised:
            await podio.request("POST", f"/item/app/{PROJECTS}/", json={"fields": {}})
    assert not isinstance(raised.value, errors.PodioTimeoutError)
    assert isinstance(raised.value.__cause__, httpx.ConnectError)


# -- event loops -------------------------------------------------------------------------


def test_one_client_across_successive_asyncio_runs(item_server: tuple[str, list[str]]) -> None:
    url, _ = item_server
    podio = _client(url, aiohttp=True)

    async def run() -> Any:
        await podio.set_token(_token())
        return await podio.request("GET", "/item/1")

    assert asyncio.run(run()) == {"item_id": 1}
    assert asyncio.run(run()) == {"item_id": 1}  # a new loop, a new aiohttp session
    asyncio.run(podio.aclose())


def test_sync_client_over_aiohttp(item_server: tuple[str, list[str]]) -> None:
    url, seen = item_server
    with SyncPodio("cid", "secret", api_url=url, transport=aiohttp_transport()) as podio:
        podio.set_token(_token())
        assert podio.request("GET", "/item/1") == {"item_id": 1}
    assert seen == ["GET"]


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_under_trio_a_clear_error(item_server: tuple[str, list[str]]) -> None:
    url, seen = item_server
    async with _client(url, aiohttp=True) as podio:
        await podio.set_token(_token())
        with pytest.raises(RuntimeError, match=r"asyncio only.*trio"):
            await podio.request("GET", "/item/1")
    assert seen == []


# -- configuration -----------------------------------------------------------------------


def test_transport_and_http_client_are_exclusive() -> None:
    with pytest.raises(ValueError, match="either http_client or transport"):
        Podio("cid", "secret", http_client=httpx.AsyncClient(), transport=aiohttp_transport())


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "8"])
def test_max_connections_is_checked(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="max_connections"):
        aiohttp_transport(max_connections=bad)


def test_import_podiokit_does_not_import_aiohttp() -> None:
    code = (
        "import sys, podiokit, podiokit.transports; "
        "assert 'aiohttp' not in sys.modules and 'httpx_aiohttp' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
