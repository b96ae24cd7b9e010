"""One HTTP/1.1 connection for podiokit's transport: h11 writes the request and parses the
response head; a body of known length is read straight off the network stream.

Why not leave the body to h11 (as httpcore does): h11 copies every received byte into its
buffer, copies it out again as an event, and httpcore copies that once more into bytes.
For a 6.6 MB page of 500 items that is about 6 ms of client CPU per page over a plain
read (benchmarks/bench_peers.py is client-bound there). Here the chunks the stream returns
are handed to httpx as they are, which joins them once. Chunked and read-until-close
bodies are rare in Podio's answers and still go through h11.

The network streams are httpcore's (`AnyIOBackend`/`TrioBackend`): connecting, TLS and
timeouts, and their exceptions, are httpcore's own; the transport maps those to httpx's.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import h11
import httpcore
import httpx

from ._transport import READ_SIZE

__all__ = ["Connection", "connect"]
#: The largest response head h11 accepts (httpcore's limit).
_MAX_HEAD = 100 * 1024
#: Request bodies go out in writes of about this much (a JSON body: with its head, once).
_WRITE_SIZE = 64 * 1024


async def connect(
    backend: Any,
    scheme: bytes,
    host: bytes,
    port: int,
    ssl_context: ssl.SSLContext | None,
    timeout: float | None,
    keepalive_expiry: float,
) -> Connection:
    """A new connection to the origin (TLS when `ssl_context` is given)."""
    name = host.decode("ascii")
    stream = await backend.connect_tcp(name, port, timeout=timeout)
    if ssl_context is not None:
        try:
            stream = await stream.start_tls(ssl_context, server_hostname=name, timeout=timeout)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await stream.aclose()
            raise
    return Connection(stream, keepalive_expiry)


class Connection:
    """An HTTP/1.1 connection carrying one request at a time.

    `send` writes a request and reads the response head; `body` then yields the body.
    The connection can take the next request once the body has been read to its end and
    both sides keep it alive (`is_available`)."""

    def __init__(self, stream: Any, keepalive_expiry: float) -> None:
        self._stream = stream
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
        return bool(self._stream.get_extra_info("is_readable"))

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._idle = False
        with anyio.CancelScope(shield=True):  # a socket is closed even by a cancelled task
            await self._stream.aclose()

    # -- one exchange ---------------------------------------------------------------------

    async def send(self, request: httpx.Request) -> tuple[h11.Response, AsyncIterator[bytes]]:
        """Write `request`, read the response head: (the head, an iterator of the body).
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
        return head, self._body(protocol, request, head, timeouts.get("read"))

    async def _write_request(
        self, protocol: h11.Connection, request: httpx.Request, timeout: float | None
    ) -> Exception | None:
        """Write the request; an error while writing the body is returned, not raised: the
        server may have answered early (a 413, say), and that answer is worth reading."""
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
                    await self._stream.write(b"".join(pending), timeout)
                    pending, size = [], 0
            pending.append(protocol.send(h11.EndOfMessage()) or b"")
            await self._stream.write(b"".join(pending), timeout)
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc)) from exc
        except (httpcore.WriteError, httpcore.WriteTimeout) as exc:
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
            data = await self._stream.read(READ_SIZE, timeout)
            if not data and protocol.their_state is h11.SEND_RESPONSE:
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            protocol.receive_data(data)

    async def _body(
        self,
        protocol: h11.Connection,
        request: httpx.Request,
        head: h11.Response,
        timeout: float | None,
    ) -> AsyncIterator[bytes]:
        length = _content_length(request, head)
        if length is None:
            async for chunk in self._h11_body(protocol, timeout):
                yield chunk
            return
        buffered, _ = protocol.trailing_data  # what came with the head
        keep = _keeps_alive(request, head) and protocol.our_state is h11.DONE
        if len(buffered) > length:
            buffered, keep = buffered[:length], False  # more than the body: never reuse
        if buffered:
            yield buffered
        remaining = length - len(buffered)
        while remaining > 0:
            data = await self._stream.read(READ_SIZE, timeout)
            if not data:
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body: "
                    f"received {length - remaining} bytes, expected {length}"
                )
            if len(data) > remaining:
                data, keep = data[:remaining], False
            remaining -= len(data)
            yield data
        self._done(keep)

    async def _h11_body(
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
        self._done(done and not protocol.trailing_data[0])

    def _done(self, keep: bool) -> None:
        """The body has been read to its end."""
        if keep and not self._closed:
            self._idle = True
            self._expires = time.monotonic() + self._keepalive_expiry


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
