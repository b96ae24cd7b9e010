"""podiokit's default HTTP transport: HTTP/1.1 connections (`_http11.Connection`) in a pool
that does only what podiokit needs.

Why not `httpx.AsyncHTTPTransport` (measured in benchmarks/bench_cpu64.py, bench_body.py and
bench_peers.py; the figures are in the README):

* httpcore's pool rescans every connection on every request and every response close, and
  under trio each scan polls each idle socket, so its bookkeeping grows with concurrency.
  podiokit's pipeline already bounds how many calls are in flight, so a stack of idle
  connections per origin is enough: a call takes the most recently used one and checks
  only that one.
* httpcore leaves bodies to h11, which copies every byte twice more before httpcore copies
  it into bytes, in 64 KB reads. `_http11` reads a body of known length straight off the
  stream in READ_SIZE reads (what is left is httpx joining the chunks into fresh memory,
  which the exporter avoids by reading into buffers it reuses).
* httpx builds the TLS context (loading certifi's bundle) when the client is made; here it
  is built on the first https connection, so a plain-http emulator never pays for it.

* A body of known length can be read whole into a caller's buffer (`read_into`): under
  asyncio the event loop receives straight into it (`_net`), which is how the exporter reads
  its pages.

The network streams (connect, TLS, timeouts) are `_net`'s; httpcore is not imported. While
a test double has replaced the method it patches, requests go through what it patched, so
the mock sees them: httpcore's `AsyncHTTPConnection.handle_async_request` (respx) sends
them through httpcore's connection, `httpx.AsyncHTTPTransport.handle_async_request`
(pytest-httpx) through httpx's own transport. Proxies from the environment still go through
httpx's own proxy transports (the client does not use this transport then).
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from .. import _defaults, _options
from .._loop_local import LoopLocal

if TYPE_CHECKING:
    from typing import Protocol

    class Connection(Protocol):
        """What the pool asks of a connection (podiokit's, or httpcore's under a mock)."""

        def is_available(self) -> bool: ...
        def has_expired(self) -> bool: ...
        async def aclose(self) -> None: ...


__all__ = ["PodioTransport", "read_into"]

#: An origin as a dict key: scheme, host, port.
_Key = tuple[bytes, bytes, int]

#: httpcore's exception names that httpx mirrors one to one (httpx.ConnectTimeout, ...).
_MIRRORED = (
    "PoolTimeout",
    "ConnectTimeout",
    "ReadTimeout",
    "WriteTimeout",
    "TimeoutException",
    "ConnectError",
    "ReadError",
    "WriteError",
    "NetworkError",
    "RemoteProtocolError",
    "LocalProtocolError",
    "ProtocolError",
    "ProxyError",
    "UnsupportedProtocol",
)


def _as_httpx(exc: Exception) -> Exception:
    """The httpx exception for an httpcore one (the most specific class both name), or the
    exception itself when it is not httpcore's."""
    for cls in type(exc).__mro__:
        if cls.__module__.startswith("httpcore") and cls.__name__ in _MIRRORED:
            mapped: type[Exception] = getattr(httpx, cls.__name__)
            return mapped(_reason(exc))
    return exc


@contextmanager
def _httpx_errors() -> Iterator[None]:
    """httpcore's exceptions raised inside become httpx's (the original is the cause)."""
    try:
        yield
    except Exception as exc:
        mapped = _as_httpx(exc)
        if mapped is exc:
            raise
        raise mapped from exc


def _reason(exc: BaseException) -> str:
    """The first message along the chain of causes: under trio, httpcore's error for a
    failed TLS handshake says nothing itself, the SSL error two causes down does."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            break
        if str(seen):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return ""


async def read_into(response: httpx.Response, buffer: bytearray) -> int:
    """Read `response`'s body whole into `buffer` (grown when shorter) and return its length:
    straight off the connection when podiokit's transport carries it plainly (known length,
    not compressed), else from httpx's decoded chunks."""
    stream = response.stream
    if isinstance(stream, _ResponseStream) and response.headers.get(
        "content-encoding", "identity"
    ).lower() in ("identity", ""):
        size = await stream.read_into(buffer)
        if size is not None:
            return size
    size = 0
    async for chunk in response.aiter_bytes():
        end = size + len(chunk)
        buffer[size:end] = chunk  # grows the buffer when this body is the longest yet
        size = end
    return size


class PodioTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncBaseTransport` over podiokit's HTTP/1.1 connections.

    `max_connections` caps the connections open at once (a call waits for one, up to the
    request's pool timeout); at most `max_keepalive` idle ones are kept per origin, each for
    `keepalive_expiry` seconds. `verify` is httpx's: True (the default) verifies servers
    against certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR when set; a CA bundle path or
    an `ssl.SSLContext` (a private CA behind an inspecting proxy, say) replaces that; False
    turns verification off. Only http:// and https:// URLs are sent
    (`httpx.UnsupportedProtocol` for any other, before anything goes out).
    """

    def __init__(
        self,
        *,
        max_connections: int = _defaults.MAX_CONNECTIONS,
        max_keepalive: int | None = None,
        keepalive_expiry: float = _defaults.KEEPALIVE_EXPIRY,
        verify: ssl.SSLContext | str | bool = True,
    ) -> None:
        _options.count("max_connections", max_connections, minimum=1)
        if max_keepalive is not None:
            _options.count("max_keepalive", max_keepalive)
        keepalive_expiry = _options.seconds("keepalive_expiry", keepalive_expiry)
        from . import _http11

        self._http11 = _http11
        self._max_connections = max_connections
        self._max_keepalive = max_connections if max_keepalive is None else max_keepalive
        self._keepalive_expiry = keepalive_expiry
        self._verify = check_verify(verify)
        self._ssl_context: ssl.SSLContext | None = None
        # httpx's own transport, made only while something (pytest-httpx) has replaced
        # `httpx.AsyncHTTPTransport.handle_async_request`: requests then go through it.
        self._mocked_httpx: httpx.AsyncHTTPTransport | None = None
        # Connections and the connection count belong to the event loop that made them.
        self._pools: LoopLocal[_LoopPool] = LoopLocal(
            lambda: _LoopPool(self._max_connections, self._max_keepalive)
        )

    def _ssl(self, scheme: bytes) -> ssl.SSLContext | None:
        return self._tls() if scheme == b"https" else None

    def _tls(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl_context(self._verify)
        return self._ssl_context

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = _DEFAULT_PORTS.get(url.raw_scheme)
        host = url.raw_host
        if port is None or not host:
            raise _unsupported(url)
        if _mocked():
            return await self._via_httpcore(request)
        if _httpx_mocked():
            return await self._via_httpx(request)
        key = (url.raw_scheme, host, url.port or port)
        pool = self._pools.get()
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        await pool.acquire(timeouts.get("pool"))
        connection: Any = None
        try:
            connection = await pool.take(key)
            if connection is None:
                connection = await self._http11.connect(
                    key[1],
                    key[2],
                    self._ssl(key[0]),
                    timeouts.get("connect"),
                    self._keepalive_expiry,
                )
            head, body = await connection.send(request)
        except BaseException:
            pool.release(connection, key)  # closed by `send` when it failed there
            raise
        return httpx.Response(
            status_code=head.status_code,
            headers=head.headers.raw_items(),
            stream=_ResponseStream(body, pool, connection, key),
            extensions={
                "http_version": _HTTP_VERSIONS.get(head.http_version) or head.http_version,
                "reason_phrase": head.reason,
            },
        )

    async def _via_httpx(self, request: httpx.Request) -> httpx.Response:
        """Through httpx's own transport: taken only while a test double (pytest-httpx) has
        replaced `httpx.AsyncHTTPTransport.handle_async_request`, so that the mock sees
        podiokit's requests (and what it lets through goes out as httpx would send it)."""
        if self._mocked_httpx is None:
            self._mocked_httpx = httpx.AsyncHTTPTransport(
                verify=self._tls(),
                limits=httpx.Limits(
                    max_connections=self._max_connections,
                    max_keepalive_connections=self._max_keepalive,
                    keepalive_expiry=self._keepalive_expiry,
                ),
            )
        return await self._mocked_httpx.handle_async_request(request)

    async def _via_httpcore(self, request: httpx.Request) -> httpx.Response:
        """Through httpcore's own connection: taken only while a test double (respx) has
        replaced httpcore's `AsyncHTTPConnection.handle_async_request`, so that the mock
        sees podiokit's requests as it sees httpx's."""
        import httpcore

        url = request.url
        core_url = httpcore.URL(
            scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
        )
        origin = core_url.origin
        key = (origin.scheme, origin.host, origin.port)  # httpcore's Origin is not hashable
        core_request = httpcore.Request(
            method=request.method,
            url=core_url,
            headers=request.headers.raw,
            content=request.stream,  # an httpx request stream is async-iterable
            extensions=request.extensions,
        )
        pool = self._pools.get()
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        await pool.acquire(timeouts.get("pool"))
        try:
            connection: Any = await pool.take(key)
            if connection is None:
                connection = httpcore.AsyncHTTPConnection(
                    origin,
                    ssl_context=self._ssl(origin.scheme),
                    keepalive_expiry=self._keepalive_expiry,
                )
        except BaseException:
            pool.release(None, key)
            raise
        try:
            with _httpx_errors():
                response = await connection.handle_async_request(core_request)
        except BaseException:
            pool.release(connection, key)
            raise
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream, pool, connection, key),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pools.get().aclose()
        mocked, self._mocked_httpx = self._mocked_httpx, None
        if mocked is not None:
            await mocked.aclose()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()


class _LoopPool:
    """One event loop's connections: a count against the cap, and idle ones per origin."""

    def __init__(self, max_connections: int, max_keepalive: int) -> None:
        self._slots = anyio.Semaphore(max_connections)
        self._max_connections = max_connections
        self._max_keepalive = max_keepalive
        self._idle: dict[_Key, list[Connection]] = {}

    async def acquire(self, timeout: float | None) -> None:
        try:
            self._slots.acquire_nowait()  # the usual case: no scheduling round trip
        except anyio.WouldBlock:
            try:
                with anyio.fail_after(timeout):
                    await self._slots.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout(
                    f"no connection free within {timeout} s "
                    f"(all {self._max_connections} connections in use)"
                ) from None

    async def take(self, key: _Key) -> Connection | None:
        """The most recently used idle connection to `origin` that is still good, or None.
        A connection past its keep-alive, or one the server has closed, is closed here."""
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if connection.is_available() and not connection.has_expired():
                return connection
            await connection.aclose()
        return None

    def release(self, connection: Connection | None, key: _Key) -> None:
        """Give back the slot, and keep `connection` when it can take another request."""
        self._slots.release()
        if connection is None or not connection.is_available():
            return
        idle = self._idle.setdefault(key, [])
        if len(idle) < self._max_keepalive:
            idle.append(connection)
        # else: dropped; its socket closes with it (an idle HTTP/1.1 connection owes nothing)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                await connection.aclose()


class _ResponseStream(httpx.AsyncByteStream):
    """The body of one response, on either connection (podiokit's, or httpcore's under a
    mock). Closing it hands the connection back to its pool; a connection that cannot take
    another request (the body was not read to its end, or failed) is closed first."""

    def __init__(self, parts: Any, pool: _LoopPool, connection: Any, key: _Key) -> None:
        self._parts = parts
        self._pool: _LoopPool | None = pool
        self._connection = connection
        self._key = key

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            with _httpx_errors():
                async for part in self._parts:
                    yield part
        except Exception:
            await self._connection.aclose()
            raise

    async def read_into(self, buffer: bytearray) -> int | None:
        """The whole body into `buffer` (see `_http11.Body.read_into`); None when this body
        cannot be read so (its length unknown, or httpcore's connection carries it)."""
        read = getattr(self._parts, "read_into", None)
        if read is None:
            return None
        try:
            size: int | None = await read(buffer)
        except Exception:
            await self._connection.aclose()
            raise
        return size

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await self._parts.aclose()  # httpcore's marks its connection idle, or closes it
            if not self._connection.is_available():
                await self._connection.aclose()
        finally:
            pool.release(self._connection, self._key)


#: The schemes this transport sends, and the port of a URL that names none.
_DEFAULT_PORTS = {b"http": 80, b"https": 443}
#: httpx's `http_version` for h11's version of a response head.
_HTTP_VERSIONS = {b"1.1": b"HTTP/1.1", b"1.0": b"HTTP/1.0"}


def _unsupported(url: httpx.URL) -> httpx.UnsupportedProtocol:
    """Anything but http(s) to a named host is refused before a byte goes out: a mistyped
    `htps://` or a `wss://` URL must not send the request (its token included) in clear."""
    if url.raw_scheme not in _DEFAULT_PORTS:
        return httpx.UnsupportedProtocol(
            f"Request URL has an unsupported protocol '{url.scheme}://': podiokit's "
            "transport sends http:// and https:// only."
        )
    return httpx.UnsupportedProtocol(f"Request URL has no host: '{url}'.")


def check_verify(verify: object) -> ssl.SSLContext | str | bool:
    """`verify=` as httpx takes it: True (the system's or certifi's CAs, honouring
    SSL_CERT_FILE and SSL_CERT_DIR), False (no verification), the path of a CA bundle
    file or directory, or an `ssl.SSLContext`. Anything else is refused here, naming it."""
    if isinstance(verify, (bool, ssl.SSLContext)):
        return verify
    if isinstance(verify, (str, os.PathLike)):
        path = os.fspath(verify)
        if not isinstance(path, str) or not os.path.exists(path):
            raise ValueError(f"verify: no CA bundle file or directory at {verify!r}")
        return path
    raise TypeError(
        f"verify must be True, False, a CA bundle path or an ssl.SSLContext, not {verify!r}"
    )


def ssl_context(verify: ssl.SSLContext | str | bool) -> ssl.SSLContext:
    """The TLS context for `verify` (see `check_verify`), offering HTTP/1.1 only."""
    if isinstance(verify, ssl.SSLContext):
        context = verify  # the caller's: its ALPN is set, as httpcore sets it
    elif isinstance(verify, str):
        if os.path.isdir(verify):
            context = ssl.create_default_context(capath=verify)
        else:
            context = ssl.create_default_context(cafile=verify)
    else:
        context = httpx.create_ssl_context(verify=verify)
    context.set_alpn_protocols(["http/1.1"])  # as httpcore does: never h2 here
    return context


def _httpx_mocked() -> bool:
    """True while something (pytest-httpx) has replaced httpx's transport method."""
    method = httpx.AsyncHTTPTransport.handle_async_request
    return getattr(method, "__module__", None) != "httpx._transports.default"


def _mocked() -> bool:
    """True while something (respx) has replaced httpcore's connection method (nothing can
    have, while httpcore is not imported)."""
    httpcore: Any = sys.modules.get("httpcore")
    if httpcore is None:
        return False
    method = httpcore.AsyncHTTPConnection.handle_async_request
    return getattr(method, "__module__", None) != "httpcore._async.connection"
