"""podiokit's default transport (`_transport.PodioTransport`) on a real socket: connections
kept alive and capped, a pool timeout, a slot freed by a cancelled call, a connection the
server closed while idle, large reads, httpx's exception types, and one client across
event loops."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpx
import pytest

import podiokit._pipeline
import podiokit._transport
from podiokit import OAuthToken, Podio, errors
from podiokit._transport import PodioTransport, _net
from podiokit._transport._net import READ_SIZE

pytestmark = pytest.mark.anyio

BIG = bytes(range(256)) * (4 * 1024 * 4)  # 4 MB, every byte value
CHUNKS = [b'{"items": [', b"1, 2, 3" * 5_000, b"]}"]


class _Server:
    """A threaded HTTP/1.1 server with keep-alive that counts connections and requests."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[str] = []
        self.release = threading.Event()  # lets /hold and /stall finish
        self.closed = threading.Event()  # set when a connection ends on the server side
        server = self
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server.connections += 1

            def finish(self) -> None:
                super().finish()
                server.closed.set()

            def _send(self, body: bytes, *, length: int | None = None) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                server.requests.append(self.path)
                if self.path == "/big":
                    self._send(BIG)
                elif self.path == "/hold":  # half the body, then wait to be released
                    self._send(b'{"a":', length=8)
                    server.release.wait(10)
                    self.wfile.write(b" 1}")
                elif self.path == "/stall":  # never answers until released
                    server.release.wait(10)
                    self.close_connection = True
                elif self.path == "/chunked":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for chunk in CHUNKS:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.write(b"0\r\n\r\n")
                elif self.path == "/gzip":  # compressed, its length the compressed one
                    body = gzip.compress(BIG[:500_000])
                    self.send_response(200)
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif self.path == "/empty":
                    self.send_response(204)
                    self.end_headers()
                elif self.path == "/close":  # says it closes after this answer
                    body = b'{"closing": true}'
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                    self.close_connection = True
                elif self.path == "/short":  # promises 100 bytes, sends 10, hangs up
                    self._send(b"0123456789", length=100)
                    self.close_connection = True
                elif self.path == "/extra":  # the head, then the body and bytes past it
                    self.send_response(200)
                    self.send_header("Content-Length", "8")
                    self.end_headers()
                    time.sleep(0.05)  # so the body comes in a read of its own
                    self.wfile.write(b'{"a": 1}JUNK')
                elif self.path == "/bye":  # answers, then closes without saying so
                    self._send(b'{"bye": true}')
                    self.close_connection = True
                else:
                    self._send(json.dumps({"path": self.path}).encode())

            def do_HEAD(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "1234")  # what a GET would send
                self.end_headers()

            def do_POST(self) -> None:
                server.requests.append("POST " + self.path)
                if self.path == "/echo":
                    self._send(self.rfile.read(int(self.headers["Content-Length"])))
                    return
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.close_connection = True  # hangs up without an answer

            def log_message(self, *args: Any) -> None:
                pass

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client hanging up mid-test is part of the tests

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.release.set()
        srv.httpd.shutdown()
        srv.httpd.server_close()


def _client(server: _Server, **options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, transport=PodioTransport(**options), timeout=10.0)


def _token() -> OAuthToken:
    return OAuthToken(
        access_token="acc", expires_at=datetime.now(timezone.utc) + timedelta(hours=1)
    )


@pytest.fixture
def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(seconds: float) -> None:
        await anyio.lowlevel.checkpoint()

    monkeypatch.setattr(podiokit._pipeline, "sleep", no_sleep)


async def test_podio_uses_it_by_default() -> None:
    async with Podio("cid", "secret") as podio:
        assert isinstance(podio._pipeline.http._transport, PodioTransport)  # type: ignore[attr-defined]


async def test_sequential_calls_share_one_connection(server: _Server) -> None:
    async with _client(server) as client:
        for n in range(20):
            response = await client.get(f"/item/{n}")
            assert response.json() == {"path": f"/item/{n}"}
    assert server.connections == 1


async def test_connections_are_capped(server: _Server) -> None:
    answers: list[Any] = []
    async with _client(server, max_connections=2) as client:

        async def call(n: int) -> None:
            answers.append((await client.get(f"/item/{n}")).json())

        async with anyio.create_task_group() as tg:
            for n in range(12):
                tg.start_soon(call, n)
    assert sorted(a["path"] for a in answers) == sorted(f"/item/{n}" for n in range(12))
    assert 1 <= server.connections <= 2


async def test_a_full_pool_times_out_and_frees_its_slot_on_close(server: _Server) -> None:
    async with _client(server, max_connections=1) as client:
        held = await client.send(client.build_request("GET", "/hold"), stream=True)
        with pytest.raises(httpx.PoolTimeout):
            await client.get("/item/1", timeout=httpx.Timeout(10.0, pool=0.05))
        server.release.set()
        assert await held.aread() == b'{"a": 1}'
        await held.aclose()
        with anyio.fail_after(5):
            assert (await client.get("/item/2")).json() == {"path": "/item/2"}


async def test_a_cancelled_call_frees_its_slot(server: _Server) -> None:
    async with _client(server, max_connections=1) as client:
        with anyio.move_on_after(0.2) as scope:
            await client.get("/hold")  # cancelled while the body is half read
        assert scope.cancelled_caught
        server.release.set()
        with anyio.fail_after(5):
            assert (await client.get("/item/3")).json() == {"path": "/item/3"}


async def test_a_connection_the_server_closed_while_idle_is_replaced(server: _Server) -> None:
    async with _client(server) as client:
        assert (await client.get("/bye")).json() == {"bye": True}
        await anyio.to_thread.run_sync(server.closed.wait, 5)
        # The idle connection is dead: the pool notices and opens another, no error.
        assert (await client.get("/item/4")).json() == {"path": "/item/4"}
    assert server.connections == 2


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes every plain `read` of a network stream asked for, from now on."""
    asked: list[int] = []
    for stream_class in (_net._AsyncioStream, _net._AnyioStream):
        read = stream_class.read

        async def counting(self: Any, max_bytes: int, timeout: Any, _read: Any = read) -> bytes:
            asked.append(max_bytes)
            data: bytes = await _read(self, max_bytes, timeout)
            return data

        monkeypatch.setattr(stream_class, "read", counting)
    return asked


async def test_large_bodies_arrive_whole_in_large_reads(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body of known length is read off the stream in READ_SIZE reads and handed over in
    the chunks the reads returned (h11 never copies it)."""
    asked = _count_reads(monkeypatch)
    async with _client(server) as client, client.stream("GET", "/big") as response:
        chunks = [chunk async for chunk in response.aiter_raw()]
    assert b"".join(chunks) == BIG
    assert asked and min(asked) >= READ_SIZE > 64 * 1024
    assert len(chunks) <= len(asked)


async def _read_into(
    transport: PodioTransport, url: str, buffer: bytearray
) -> tuple[httpx.Response, int]:
    response = await transport.handle_async_request(httpx.Request("GET", url))
    try:
        size = await podiokit._transport.read_into(response, buffer)
    finally:
        await response.aclose()
    return response, size


async def test_a_body_is_read_whole_into_a_buffer_the_caller_reuses(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`read_into` puts a body of known length straight into the caller's buffer (no chunk
    reads past the head), grows the buffer only when the body is longer, leaves no view of
    it behind, and keeps the connection; chunked and compressed bodies arrive decoded."""
    asked = _count_reads(monkeypatch)
    transport = PodioTransport()
    buffer = bytearray()
    async with transport:
        _, size = await _read_into(transport, server.url + "/big", buffer)
        assert size == len(BIG) and buffer[:size] == BIG
        grown = len(buffer)  # with room for a slightly longer body next time
        assert len(BIG) <= grown <= len(BIG) * 1.25
        if not _net._in_trio():  # asyncio receives the body straight into the buffer
            assert len(asked) <= 2  # the head's reads only
        buffer.append(0)  # no view of the buffer is left: it can be resized
        del buffer[-1]
        address = id(buffer)
        _, size = await _read_into(transport, server.url + "/item/7", buffer)
        assert bytes(buffer[:size]) == b'{"path": "/item/7"}'
        assert len(buffer) == grown and id(buffer) == address  # not shrunk, the same buffer
        _, size = await _read_into(transport, server.url + "/chunked", buffer)
        assert bytes(buffer[:size]) == b"".join(CHUNKS)
        _, size = await _read_into(transport, server.url + "/gzip", buffer)
        assert bytes(buffer[:size]) == BIG[:500_000]
    assert server.connections == 1  # every body read to its end: one connection throughout


async def test_bytes_past_a_body_are_not_read_into_it_nor_is_the_connection_reused(
    server: _Server,
) -> None:
    transport = PodioTransport()
    buffer = bytearray()
    async with transport:
        _, size = await _read_into(transport, server.url + "/extra", buffer)
        assert bytes(buffer[:size]) == b'{"a": 1}'
        _, size = await _read_into(transport, server.url + "/item/9", buffer)
        assert bytes(buffer[:size]) == b'{"path": "/item/9"}'
    assert server.connections == 2


async def test_a_body_cut_short_or_stalled_fails_the_read_and_its_connection(
    server: _Server,
) -> None:
    transport = PodioTransport()
    buffer = bytearray()
    async with transport:
        with pytest.raises(httpx.RemoteProtocolError, match="received 10 bytes, expected 100"):
            await _read_into(transport, server.url + "/short", buffer)
        request = httpx.Request("GET", server.url + "/hold", extensions={"timeout": {"read": 0.2}})
        response = await transport.handle_async_request(request)
        with pytest.raises(httpx.ReadTimeout):
            await podiokit._transport.read_into(response, buffer)
        await response.aclose()
        server.release.set()
        _, size = await _read_into(transport, server.url + "/item/8", buffer)
        assert bytes(buffer[:size]) == b'{"path": "/item/8"}'
    assert server.connections == 3  # neither failed connection was used again


async def test_every_framing_of_a_body_and_when_a_connection_is_kept(server: _Server) -> None:
    """Chunked bodies (through h11), no body (HEAD, 204), a server that says it closes,
    and a body left unread: the right bytes every time, and a connection reused only when
    the exchange ended cleanly."""
    async with _client(server) as client:
        assert (await client.get("/chunked")).content == b"".join(CHUNKS)
        head = await client.head("/item/5")
        assert head.status_code == 200 and head.content == b""
        assert (await client.get("/empty")).status_code == 204
        assert server.connections == 1
        assert (await client.get("/close")).json() == {"closing": True}
        assert (await client.get("/item/6")).json() == {"path": "/item/6"}
        assert server.connections == 2  # the server said it closes: not reused
        async with client.stream("GET", "/big") as response:
            async for _ in response.aiter_raw():
                break  # most of the body never read: that connection cannot go on
        assert (await client.get("/item/7")).json() == {"path": "/item/7"}
        assert server.connections == 3
        # A compressed body is read by its compressed length and decoded by httpx.
        assert (await client.get("/gzip")).content == BIG[:500_000]
        assert server.connections == 3
        # A request body arrives whole.
        sent = await client.post("/echo", content=BIG[:300_000])
        assert sent.content == BIG[:300_000]
        assert server.connections == 3


async def test_a_body_cut_short_is_a_protocol_error(server: _Server) -> None:
    async with _client(server) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="expected 100"):
            await client.get("/short")
        # The connection went with the error; the next call has a new one.
        assert (await client.get("/item/8")).json() == {"path": "/item/8"}


async def test_respx_still_sees_every_request() -> None:
    """While respx replaces httpcore's connection, the transport goes through it, so tests
    written with respx keep working against podiokit's client."""
    import respx

    with respx.mock(base_url="http://podio.test") as mock:
        route = mock.get("/item/9").respond(json={"mocked": True})
        async with httpx.AsyncClient(transport=PodioTransport()) as client:
            assert (await client.get("http://podio.test/item/9")).json() == {"mocked": True}
    assert route.call_count == 1


async def test_failures_keep_httpx_types_so_retry_rules_hold(
    server: _Server, no_waits: None
) -> None:
    async with Podio("cid", "secret", api_url=server.url, max_retries=2) as podio:
        await podio.set_token(_token())
        # A hang-up after the request was read: a create may have been processed, so it is
        # sent once and reported, never retried.
        with pytest.raises(errors.PodioConnectionError) as raised:
            await podio.request("POST", "/item/app/1/", json={"fields": {}})
        assert isinstance(raised.value.__cause__, httpx.RemoteProtocolError)
        assert server.requests == ["POST /item/app/1/"]
        with pytest.raises(errors.PodioTimeoutError) as timed_out:
            await podio.request("GET", "/stall", timeout=0.2, max_retries=0)
        assert isinstance(timed_out.value.__cause__, httpx.ReadTimeout)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{s.getsockname()[1]}"  # bound, not listening
        async with Podio("cid", "secret", api_url=refused, max_retries=0) as podio:
            await podio.set_token(_token())
            with pytest.raises(errors.PodioConnectionError) as failed:
                await podio.request("GET", "/item/1")
    assert isinstance(failed.value.__cause__, httpx.ConnectError)


def test_one_client_serves_successive_event_loops(server: _Server) -> None:
    podio = Podio("cid", "secret", api_url=server.url)

    async def call(n: int) -> Any:
        await podio.set_token(_token())
        return await podio.request("GET", f"/item/{n}")

    assert anyio.run(call, 1, backend="asyncio") == {"path": "/item/1"}
    assert anyio.run(call, 2, backend="trio") == {"path": "/item/2"}
    assert anyio.run(call, 3, backend="asyncio") == {"path": "/item/3"}


async def test_tls_is_prepared_only_for_https(server: _Server) -> None:
    transport = PodioTransport()
    async with httpx.AsyncClient(base_url=server.url, transport=transport) as client:
        await client.get("/item/5")
    assert transport._ssl_context is None  # a plain-http client never loads the CA bundle


async def test_a_proxy_from_the_environment_is_used(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # podiokit's client sends straight to its transport only without a proxy to go through.
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.url)
    async with Podio("cid", "secret", api_url="http://podio.invalid") as podio:
        await podio.set_token(_token())
        answer = await podio.request("GET", "/item/6")
    assert answer == {"path": "http://podio.invalid/item/6"}  # the proxy got the whole URL


@pytest.fixture
def tls_server(tmp_path: Any) -> Iterator[tuple[_Server, str, list[str]]]:
    """The same server behind TLS, its certificate for 127.0.0.1 signed by a test CA; also
    the CA's file, and the ALPN protocol each handshake chose."""
    import ssl

    import trustme

    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    context.set_alpn_protocols(["h2", "http/1.1"])
    chosen: list[str] = []
    srv = _Server()
    plain = srv.httpd.get_request

    def get_request() -> Any:
        sock, address = plain()
        tls = context.wrap_socket(sock, server_side=True)
        chosen.append(tls.selected_alpn_protocol() or "")
        return tls, address

    srv.httpd.get_request = get_request  # type: ignore[method-assign]
    srv.url = srv.url.replace("http://", "https://")
    thread = threading.Thread(target=srv.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv, str(ca_file), chosen
    finally:
        srv.release.set()
        srv.httpd.shutdown()
        srv.httpd.server_close()


async def test_https_verifies_the_server_and_speaks_http_1_1(
    tls_server: tuple[_Server, str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, ca_file, chosen = tls_server
    # Not trusted (certifi's bundle does not hold the test CA): refused before any request.
    async with _client(server) as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get("/item/1")
    assert server.requests == []
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    async with _client(server) as client:
        assert (await client.get("/big")).content == BIG
        for n in range(3):
            assert (await client.get(f"/item/{n}")).json() == {"path": f"/item/{n}"}
    assert chosen[-1] == "http/1.1"  # offered only that, though the server prefers h2
    assert server.connections == 1
