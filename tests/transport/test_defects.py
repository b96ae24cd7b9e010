"""The transport defects of issue 27, one test each (each failed before its fix), against
podiokit's own transport under asyncio and trio."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import httpx
import pytest

import podiokit._pipeline
from podiokit import OAuthToken, Podio, errors
from podiokit._transport import PodioTransport, read_into

from ._servers import Conn, Server, answer
from .conftest import TLS, request

pytestmark = pytest.mark.anyio

MB = 1024 * 1024


def _token() -> OAuthToken:
    return OAuthToken(
        access_token="acc-secret", expires_at=datetime.now(timezone.utc) + timedelta(hours=1)
    )


@pytest.fixture
def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(seconds: float) -> None:
        await anyio.lowlevel.checkpoint()

    monkeypatch.setattr(podiokit._pipeline, "sleep", no_sleep)


async def _upload(chunks: int) -> AsyncIterator[bytes]:
    chunk = b"x" * MB
    for _ in range(chunks):
        yield chunk


def _never_reads(conn: Conn) -> None:
    conn.server.stop.wait(10)


# -- 1. a write timeout is raised when it expires ------------------------------------------


@pytest.mark.parametrize("read", [None, 2.0])
async def test_1_a_write_timeout_is_raised_when_it_expires(
    serve: Callable[..., Server], read: float | None
) -> None:
    """A peer that reads nothing: the write timeout (0.3 s) ends the call then, whatever
    the read timeout (it used to wait for the read timeout, or forever with none)."""
    server = serve(_never_reads, rcvbuf=4096)
    async with PodioTransport() as transport:
        started = time.monotonic()
        with anyio.fail_after(5), pytest.raises(httpx.WriteTimeout):
            await transport.handle_async_request(
                request(
                    "PUT", server.url, content=_upload(64), timeout={"write": 0.3, "read": read}
                )
            )
        assert time.monotonic() - started < 1.5


# -- 2. a TLS peer hanging up in the handshake is a connect error --------------------------


def _hang_up_in_handshake(conn: Conn) -> None:
    conn.sock.recv(4096)  # the ClientHello
    conn.sock.close()


async def test_2_a_hang_up_during_the_tls_handshake_is_a_connect_error_and_retried(
    serve: Callable[..., Server], tls: TLS, no_waits: None
) -> None:
    server = serve(_hang_up_in_handshake, tls=tls.server, wrap=False)
    async with PodioTransport() as transport:
        with anyio.fail_after(5), pytest.raises(httpx.ConnectError):
            await transport.handle_async_request(request("GET", server.url))
    assert server.connections == 1
    transport = PodioTransport()
    async with Podio(
        "cid", "secret", api_url=server.url, max_retries=2, transport=transport
    ) as podio:
        await podio.set_token(_token())
        with anyio.fail_after(5), pytest.raises(errors.PodioConnectionError) as raised:
            await podio.request("GET", "/item/1")
    assert isinstance(raised.value.__cause__, httpx.ConnectError)
    assert server.connections == 1 + 3  # a GET is retried: it never reached the server


# -- 3. only http and https go out ----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "htps://127.0.0.1:{port}/x",
        "wss://127.0.0.1:{port}/x",
        "ftp://127.0.0.1:{port}/x",
        "http:///x",
    ],
)
async def test_3_a_url_podio_cannot_send_safely_is_refused(
    serve: Callable[..., Server], url: str
) -> None:
    server = serve(lambda conn: conn.read_request())
    async with PodioTransport() as transport:
        with anyio.fail_after(5), pytest.raises(httpx.UnsupportedProtocol):
            await transport.handle_async_request(request("GET", url.format(port=server.port)))
    assert server.connections == 0  # nothing went out, the Authorization header included


@pytest.mark.parametrize(
    "api_url", ["htps://api.podio.com", "wss://api.podio.com", "api.podio.com", "https://"]
)
def test_3_a_bad_api_url_is_refused_when_the_client_is_made(api_url: str) -> None:
    with pytest.raises(ValueError, match="api_url"):
        Podio("cid", "secret", api_url=api_url)


# -- 4. closing a connection with unsent bytes lets go of it (asyncio) ---------------------


def _sockets() -> int:
    """Sockets this process holds open (Linux: /proc/self/fd)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts sockets in /proc")
async def test_4_a_cancelled_upload_lets_go_of_its_socket(serve: Callable[..., Server]) -> None:
    server = serve(_never_reads, rcvbuf=4096)
    transport = PodioTransport()
    before = _sockets()
    for _ in range(2):
        with anyio.move_on_after(0.3) as scope:
            await transport.handle_async_request(
                request("PUT", server.url, content=_upload(64), timeout={"write": None})
            )
        assert scope.cancelled_caught
    await transport.aclose()
    await anyio.sleep(0.1)
    # The server still holds its two ends; the client holds none.
    assert _sockets() - before <= server.connections == 2


# -- 5. pytest-httpx's mock sees Podio's requests: tests/transport/test_mocking.py ----------


# -- 6. read_into grows with what arrives ---------------------------------------------------


@pytest.mark.parametrize("declared", [256 * MB, 10**19])
async def test_6_read_into_allocates_what_arrives_not_what_is_declared(
    serve: Callable[..., Server], declared: int
) -> None:
    def lying(conn: Conn) -> None:
        conn.read_request()
        conn.send(f"HTTP/1.1 200 OK\r\nContent-Length: {declared}\r\n\r\n0123456789".encode())

    server = serve(lying)
    buffer = bytearray()
    async with PodioTransport() as transport:
        response = await transport.handle_async_request(request("GET", server.url))
        with anyio.fail_after(5), pytest.raises(httpx.RemoteProtocolError, match="received 10"):
            await read_into(response, buffer)
        await response.aclose()
    assert (
        len(buffer) <= 16 * MB * 1.125
    )  # podiokit._transport._http11._ALLOCATE_AT_ONCE, with slack


# -- 7. podiokit's direct path keeps what AsyncClient.send does -----------------------------


async def test_7_cookies_log_lines_and_the_failed_request_survive_the_direct_path(
    serve: Callable[..., Server], caplog: pytest.LogCaptureFixture
) -> None:
    def sticky(conn: Conn) -> None:
        while conn.read_request():
            conn.send(answer(200, b"{}", "Set-Cookie: AWSALB=node-7; Path=/"))

    server = serve(sticky)
    caplog.set_level(logging.INFO, logger="httpx")
    async with Podio("cid", "secret", api_url=server.url) as podio:
        await podio.set_token(_token())
        await podio.request("GET", "/item/1")
        await podio.request("GET", "/item/2")
    sent_back = [h for h in server.heads[1].split(b"\r\n") if h.lower().startswith(b"cookie:")]
    assert sent_back == [b"Cookie: AWSALB=node-7"]  # the load balancer's stickiness
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert lines == [f'HTTP Request: GET {server.url}/item/{n} "HTTP/1.1 200 X"' for n in (1, 2)]
    assert not any("acc-secret" in line for line in lines)

    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))  # bound, not listening: refused
        refused = f"http://127.0.0.1:{bound.getsockname()[1]}"
        async with Podio("cid", "secret", api_url=refused, max_retries=0) as podio:
            await podio.set_token(_token())
            with pytest.raises(errors.PodioConnectionError) as raised:
                await podio.request("GET", "/item/3")
    cause: Any = raised.value.__cause__
    assert isinstance(cause, httpx.ConnectError)
    assert cause.request.url == f"{refused}/item/3"


# -- 8. an HTTP/1.0 answer says so ------------------------------------------------------------


async def test_8_an_http_1_0_answer_reports_http_1_0(serve: Callable[..., Server]) -> None:
    def old(conn: Conn) -> None:
        conn.read_request()
        conn.send(answer(200, b"ok", version="1.0"))

    server = serve(old)
    async with httpx.AsyncClient(transport=PodioTransport()) as client:
        response = await client.get(server.url)
    assert response.http_version == "HTTP/1.0"
    assert response.content == b"ok"


async def test_6_a_body_longer_than_one_allocation_still_arrives_whole(
    serve: Callable[..., Server],
) -> None:
    body = bytes(range(256)) * (
        20 * MB // 256
    )  # past podiokit._transport._http11._ALLOCATE_AT_ONCE

    def honest(conn: Conn) -> None:
        while conn.read_request():
            conn.send(answer(200, body))

    server = serve(honest)
    buffer = bytearray()
    async with PodioTransport() as transport:
        for _ in range(2):  # the second time into the grown buffer, as the exporter reads
            response = await transport.handle_async_request(request("GET", server.url))
            with anyio.fail_after(5):
                size = await read_into(response, buffer)
            await response.aclose()
            assert size == len(body) and buffer[:size] == body
    assert server.connections == 1
