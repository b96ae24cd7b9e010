"""One HTTP/1.1 connection for podiokit's transport: h11 writes the request and parses the
response head; a body of known length is read straight off the network stream.

Why not leave the body to h11 (as httpcore does): h11 copies every received byte into its
buffer, copies it out again as an event, and httpcore copies that once more into bytes
(benchmarks/bench_body.py measures the cost on a large page). Here a body of known length is
either read whole into the caller's buffer (`Body.read_into`: under asyncio the event loop
receives straight into it) or handed to httpx in the chunks the stream returns. Chunked and
read-until-close bodies are rare in Podio's answers and still go through h11.

The network streams are `_net`'s: connecting, TLS and timeouts, with httpx's exceptions.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import h11
import httpx

from . import _net
from ._net import READ_SIZE

__all__ = ["Body", "Connection", "connect"]
#: The largest response head h11 accepts (httpcore's limit).
_MAX_HEAD = 100 * 1024
#: Request bodies go out in writes of about this much (a JSON body: with its head, once).
_WRITE_SIZE = 64 * 1024
#: A declared body length up to this is allocated at once by `read_into` (a 500-item page is
#: about 6.6 MB); past it the buffer grows with what arrives, so a length is only a claim.
_ALLOCATE_AT_ONCE = 16 * 1024 * 1024


async def connect(
    host: bytes,
    port: int,
    ssl_context: ssl.SSLContext | None,
    timeout: float | None,
    keepalive_expiry: float,
) -> Connection:
    """A new connection to the origin (TLS when `ssl_context` is given)."""
    stream = await _net.connect(host.decode("ascii"), port, ssl_context, timeout)
    return Connection(stream, keepalive_expiry)


class Connection:
    """An HTTP/1.1 connection carrying one request at a time.

    `send` writes a request and reads the response head; `body` then yields the body.
    The connection can take the next request once the body has been read to its end and
    both sides keep it alive (`is_available`)."""

    def __init__(self, stream: _net.NetworkStream, keepalive_expiry: float) -> None:
        self.stream = stream
        self._keepalive_expiry = keepalive_expiry
        self._expires: float | None = None
        self._idle = True
        self._closed = False

    # -- the pool's questions (the same names as httpcore's connections) -----------------

    def is_available(self) -> bool:
        """Idle and kept alive: it can take a request."""
        return self._idle and not self._closed

    def has_expired(self) -> bool:
        """Idle past its keep-alive, or readable while idle (the server closed it, or sent
        what no request asked for): not to be used again."""
        if self._expires is not None and time.monotonic() > self._expires:
            return True
        return self.stream.is_readable()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._idle = False
        with anyio.CancelScope(shield=True):  # a socket is closed even by a cancelled task
            await self.stream.aclose()

    # -- one exchange ---------------------------------------------------------------------

    async def send(self, request: httpx.Request) -> tuple[h11.Response, Body]:
        """Write `request`, read the response head: (the head, its body).
        Any failure closes the connection (its state is unknown) before it propagates."""
        self._idle = False
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        protocol = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
        try:
            write_error = await self._write_request(protocol, request, timeouts.get("write"))
            try:
                head = await self._read_head(protocol, timeouts.get("read"))
            except Exception:
                if write_error is not None:
                    raise write_error from None
                raise
        except BaseException:
            await self.aclose()
            raise
        return head, Body(self, protocol, request, head, timeouts.get("read"))

    async def _write_request(
        self, protocol: h11.Connection, request: httpx.Request, timeout: float | None
    ) -> Exception | None:
        """Write the request; a write error (the peer stopped reading, or hung up) is
        returned, not raised: the server may have answered early (a 413, say), and that
        answer is worth reading. A write timeout is raised at once: waiting on for an
        answer would hold the caller past the deadline it set."""
        event = h11.Request(
            method=request.method, target=request.url.raw_path, headers=request.headers.raw
        )
        pending = [protocol.send(event) or b""]
        size = 0
        stream: Any = request.stream  # async-iterable for every request an AsyncClient builds
        try:
            async for chunk in stream:
                pending.append(protocol.send(h11.Data(data=chunk)) or b"")
                size += len(chunk)
                if size >= _WRITE_SIZE:
                    await self.stream.write(b"".join(pending), timeout)
                    pending, size = [], 0
            pending.append(protocol.send(h11.EndOfMessage()) or b"")
            await self.stream.write(b"".join(pending), timeout)
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc)) from exc
        except httpx.WriteError as exc:  # not WriteTimeout: the caller's deadline is due now
            return exc
        return None

    async def _read_head(self, protocol: h11.Connection, timeout: float | None) -> h11.Response:
        while True:
            event = await self._next_event(protocol, timeout)
            if isinstance(event, h11.Response):
                return event
            if not isinstance(event, h11.InformationalResponse):  # 100 Continue: skipped
                raise httpx.RemoteProtocolError(
                    f"unexpected {type(event).__name__} from the server"
                )

    async def _next_event(self, protocol: h11.Connection, timeout: float | None) -> Any:
        """h11's next event, reading from the stream while it needs data."""
        while True:
            try:
                event = protocol.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from exc
            if event is not h11.NEED_DATA:
                return event
            data = await self.stream.read(READ_SIZE, timeout)
            if not data and protocol.their_state is h11.SEND_RESPONSE:
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            protocol.receive_data(data)

    async def h11_body(
        self, protocol: h11.Connection, timeout: float | None
    ) -> AsyncIterator[bytes]:
        while True:
            event = await self._next_event(protocol, timeout)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} in a body")
        done = protocol.our_state is h11.DONE and protocol.their_state is h11.DONE
        self.done(done and not protocol.trailing_data[0])

    def done(self, keep: bool) -> None:
        """The body has been read to its end."""
        if keep and not self._closed:
            self._idle = True
            self._expires = time.monotonic() + self._keepalive_expiry


class Body:
    """The body of one response: iterated in chunks, or read whole into a buffer.

    A body of known length (`Content-Length`, no `Transfer-Encoding`) is read off the
    stream directly; any other goes through h11. The connection takes another request only
    once the body was read to its end and no byte came past it."""

    __slots__ = (
        "_connection",
        "_head",
        "_iterating",
        "_length",
        "_protocol",
        "_request",
        "_timeout",
    )

    def __init__(
        self,
        connection: Connection,
        protocol: h11.Connection,
        request: httpx.Request,
        head: h11.Response,
        timeout: float | None,
    ) -> None:
        self._connection = connection
        self._protocol = protocol
        self._request = request
        self._head = head
        self._timeout = timeout
        self._length = _content_length(request, head)
        self._iterating: AsyncIterator[bytes] | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._length is None:
            self._iterating = self._connection.h11_body(self._protocol, self._timeout)
        else:
            self._iterating = self._chunks(self._length)
        return self._iterating

    async def aclose(self) -> None:
        if self._iterating is not None:
            await self._iterating.aclose()  # type: ignore[attr-defined]

    def _buffered(self, length: int) -> tuple[bytes, bool]:
        """What came with the head (at most `length` bytes), and whether the connection can
        be kept should the rest arrive whole."""
        buffered, _ = self._protocol.trailing_data
        keep = _keeps_alive(self._request, self._head) and self._protocol.our_state is h11.DONE
        if len(buffered) > length:
            buffered, keep = buffered[:length], False  # more than the body: never reuse
        return bytes(buffered), keep

    async def _chunks(self, length: int) -> AsyncIterator[bytes]:
        buffered, keep = self._buffered(length)
        if buffered:
            yield buffered
        remaining = length - len(buffered)
        stream = self._connection.stream
        while remaining > 0:
            data = await stream.read(READ_SIZE, self._timeout)
            if not data:
                raise _cut_short(length - remaining, length)
            if len(data) > remaining:
                data, keep = data[:remaining], False
            remaining -= len(data)
            yield data
        self._connection.done(keep)

    async def read_into(self, buffer: bytearray) -> int | None:
        """Read the whole body into `buffer` (grown when it is shorter) and return its
        length; None, reading nothing, when its length is not known up front."""
        length = self._length
        if length is None or self._iterating is not None:
            return None
        self._iterating = _nothing()  # read once, one way
        buffered, keep = self._buffered(length)
        got = len(buffered)
        while len(buffer) < got:
            _grow(buffer, length)
        buffer[:got] = buffered
        stream = self._connection.stream
        while got < length:
            # The declared length is only a claim: past _ALLOCATE_AT_ONCE the buffer grows
            # with what arrives (a server that declares 2 GB and sends 10 bytes costs 16 MB).
            if len(buffer) <= got:
                _grow(buffer, length)
            end = min(len(buffer), length)
            with memoryview(buffer) as view, view[got:end] as rest:
                received = await stream.read_into(rest, self._timeout)
            got += received
            if got < end:
                raise _cut_short(got, length)
        self._connection.done(keep)
        return length


def _grow(buffer: bytearray, length: int) -> None:
    """Make `buffer` longer on the way to a body of `length` bytes: at once to the body's
    length up to _ALLOCATE_AT_ONCE, else twice as long; once that reaches the body, to its
    length with room for a slightly longer body next time (a buffer the caller reuses is
    long enough after its first body). Memory faults in page by page on first touch: an
    empty buffer is made in place (its pages fault once, as it is zeroed), and a longer one
    is extended, which keeps the pages it has."""
    size = max(2 * len(buffer), min(length, _ALLOCATE_AT_ONCE))
    if size >= length:
        size = length + length // 8
    if buffer:
        buffer += bytes(size - len(buffer))
    else:
        bytearray.__init__(buffer, size)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an async generator that yields nothing


def _cut_short(received: int, expected: int) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(
        "peer closed connection without sending complete message body: "
        f"received {received} bytes, expected {expected}"
    )


def _content_length(request: httpx.Request, head: h11.Response) -> int | None:
    """The body's length when the head gives it plainly, else None (h11 frames it)."""
    if request.method == "HEAD" or head.status_code in (204, 304):
        return 0
    length: int | None = None
    for name, value in head.headers:  # h11 gives names lower-cased, and checked the values
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            length = int(value)
    return length


def _keeps_alive(request: httpx.Request, head: h11.Response) -> bool:
    if head.http_version != b"1.1":
        return False
    for headers in (request.headers.raw, head.headers):
        for name, value in headers:
            if name.lower() == b"connection" and b"close" in value.lower():
                return False
    return True
