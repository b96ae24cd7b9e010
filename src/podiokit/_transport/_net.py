"""Network streams for podiokit's HTTP/1.1 connections: connect (TCP, then TLS when asked),
read, read into a caller's buffer, write, close. Failures are httpx's exceptions
(`httpx.ConnectError`, `httpx.ReadTimeout`, ...), so retry rules written for httpx hold.

Why not anyio's (or httpcore's) streams under asyncio: each read there receives into a fresh
bytes object, pauses and resumes the transport (two `epoll_ctl` calls) and arms a cancel
scope, many times for a large page, and the caller then copies the chunks once more. Under
asyncio an `asyncio.BufferedProtocol` lets the event loop receive straight into the caller's
buffer (`read_into`; with TLS, asyncio decrypts into it), with one wake-up when it is full
(`python benchmarks/bench_body.py`). Under trio, anyio's streams are used (trio has no
buffered protocol); `read_into` copies there.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import anyio
import httpx

if TYPE_CHECKING:
    from anyio.abc import ByteStream

__all__ = ["READ_SIZE", "NetworkStream", "connect"]

#: The most bytes one plain read takes (httpcore's own is 64 KB).
READ_SIZE = 256 * 1024
#: Bytes received while nobody reads that make the stream stop reading from the socket.
_HIGH_WATER = 4 * READ_SIZE


class NetworkStream:
    """What a connection needs of its stream (both kinds below have these)."""

    async def read(self, max_bytes: int, timeout: float | None) -> bytes:
        """Up to `max_bytes` bytes as soon as any have arrived; b"" once the peer closed."""
        raise NotImplementedError

    async def read_into(self, view: memoryview, timeout: float | None) -> int:
        """Fill `view`; fewer bytes (the count) only when the peer closed first. `timeout`
        bounds the wait for each next byte, not for the whole view."""
        raise NotImplementedError

    async def write(self, data: bytes, timeout: float | None) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    def is_readable(self) -> bool:
        """Something arrived (bytes or the peer's close) while nobody was reading."""
        raise NotImplementedError


async def connect(
    host: str, port: int, ssl_context: ssl.SSLContext | None, timeout: float | None
) -> NetworkStream:
    """A stream to `host:port` for the running async library (TLS when `ssl_context`)."""
    if _in_trio():
        return await _AnyioStream.connect(host, port, ssl_context, timeout)
    return await _AsyncioStream.connect(host, port, ssl_context, timeout)


@contextmanager
def _connect_errors(host: str, port: int) -> Iterator[None]:
    try:
        yield
    except TimeoutError:
        raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
    except anyio.EndOfStream as exc:  # trio: the peer hung up during the TLS handshake
        raise httpx.ConnectError(
            f"{host}:{port} closed the connection during the TLS handshake"
        ) from exc
    except (OSError, anyio.BrokenResourceError) as exc:  # ssl.SSLError is an OSError
        raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc


# -- asyncio: a buffered protocol ---------------------------------------------------------


class _Receiver(asyncio.BufferedProtocol):
    """Receives into the reader's view while one is set (`target`), else into `pending`."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.pending = bytearray()
        self.target: memoryview | None = None
        self.filled = 0
        self.closed = False  # the peer closed, or the connection was lost
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.paused_reading = False
        self.paused_writing = False
        self.drained: asyncio.Future[None] | None = None
        self.last_progress = 0.0
        self._scratch = memoryview(bytearray(READ_SIZE))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.target is not None:
            return self.target[self.filled :]
        return self._scratch

    def buffer_updated(self, nbytes: int) -> None:
        self.last_progress = self.loop.time()
        if self.target is not None:
            self.filled += nbytes
            if self.filled == len(self.target):
                self.target = None
                self._wake()
            return
        self.pending += self._scratch[:nbytes]
        if len(self.pending) >= _HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self.paused_reading = True
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.error = exc
        self._wake()
        self.paused_writing = False
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def pause_writing(self) -> None:
        self.paused_writing = True

    def resume_writing(self) -> None:
        self.paused_writing = False
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


class _AsyncioStream(NetworkStream):
    __slots__ = ("_loop", "_receiver", "_timer", "_transport")

    def __init__(self, transport: asyncio.Transport, receiver: _Receiver) -> None:
        self._loop = receiver.loop
        self._transport = transport
        self._receiver = receiver
        self._timer: asyncio.TimerHandle | None = None

    @classmethod
    async def connect(
        cls, host: str, port: int, ssl_context: ssl.SSLContext | None, timeout: float | None
    ) -> _AsyncioStream:
        loop = asyncio.get_running_loop()
        with _connect_errors(host, port), anyio.fail_after(timeout):
            transport, receiver = await loop.create_connection(
                _Receiver,
                host,
                port,
                ssl=ssl_context,
                server_hostname=host if ssl_context is not None else None,
                happy_eyeballs_delay=0.25,
            )
        assert isinstance(transport, asyncio.Transport)
        return cls(transport, receiver)

    async def read(self, max_bytes: int, timeout: float | None) -> bytes:
        receiver = self._receiver
        while not receiver.pending:
            if receiver.closed:
                self._raise_lost(httpx.ReadError)
                return b""
            await self._wait(timeout)
        return self._take_pending(max_bytes)

    def _take_pending(self, max_bytes: int) -> bytes:
        """Up to `max_bytes` of what arrived while nobody read, reading on if that made the
        receiver stop."""
        receiver = self._receiver
        pending = receiver.pending
        if len(pending) <= max_bytes:  # the usual case: all of it, one copy
            data = bytes(pending)
            pending.clear()
        else:
            with memoryview(pending) as view:
                data = bytes(view[:max_bytes])
            del pending[:max_bytes]
        if receiver.paused_reading and len(pending) < _HIGH_WATER:
            receiver.paused_reading = False
            self._transport.resume_reading()
        return data

    async def read_into(self, view: memoryview, timeout: float | None) -> int:
        receiver = self._receiver
        filled = 0
        if receiver.pending:
            data = self._take_pending(len(view))
            filled = len(data)
            view[:filled] = data
        if filled == len(view):
            return filled
        if receiver.closed:
            self._raise_lost(httpx.ReadError)
            return filled
        receiver.target, receiver.filled = view[filled:], 0
        try:
            while receiver.target is not None and not receiver.closed:
                await self._wait(timeout)
            filled += receiver.filled
        finally:
            receiver.target = None  # the caller's buffer is never written after this
        if filled < len(view):
            self._raise_lost(httpx.ReadError)
        return filled

    async def _wait(self, timeout: float | None) -> None:
        """Until the receiver wakes us; `httpx.ReadTimeout` after `timeout` s without a byte."""
        receiver = self._receiver
        waiter = receiver.waiter = self._loop.create_future()
        if timeout is not None:
            receiver.last_progress = self._loop.time()
            self._timer = self._loop.call_at(
                receiver.last_progress + timeout, self._expire, timeout
            )
        try:
            await waiter
        finally:
            receiver.waiter = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _expire(self, timeout: float) -> None:
        receiver = self._receiver
        waiter = receiver.waiter
        if waiter is None or waiter.done():
            return
        due = receiver.last_progress + timeout
        if self._loop.time() < due:  # a byte came since: wait on from there
            self._timer = self._loop.call_at(due, self._expire, timeout)
            return
        waiter.set_exception(httpx.ReadTimeout(f"no data for {timeout} s"))

    def _raise_lost(self, error: type[httpx.TransportError]) -> None:
        """Raise `error` when the connection was lost to a failure (a clean close is not)."""
        failure = self._receiver.error
        if failure is not None:
            raise error(str(failure) or type(failure).__name__) from failure

    async def write(self, data: bytes, timeout: float | None) -> None:
        receiver = self._receiver
        if self._transport.is_closing():
            self._raise_lost(httpx.WriteError)
            raise httpx.WriteError("the connection is closed")
        self._transport.write(data)
        if not receiver.paused_writing:
            return
        drained = receiver.drained = self._loop.create_future()
        try:
            with anyio.fail_after(timeout):
                await drained
        except TimeoutError:
            raise httpx.WriteTimeout(f"could not write for {timeout} s") from None
        finally:
            receiver.drained = None
        if receiver.closed:
            self._raise_lost(httpx.WriteError)

    async def aclose(self) -> None:
        self._receiver.target = None
        transport = self._transport
        transport.close()
        # close() alone keeps the socket, and every byte not sent yet (a cancelled upload),
        # until the peer takes them, which may be never: abort once the close had a chance
        # to go out, as anyio's streams do.
        await asyncio.sleep(0)
        transport.abort()

    def is_readable(self) -> bool:
        receiver = self._receiver
        if receiver.pending or receiver.closed:
            return True
        # Bytes the event loop has not taken off the socket yet (it reads into a body's
        # view no further than the body's end).
        return _socket_readable(self._transport.get_extra_info("socket"))


# -- trio (and anything else anyio runs): anyio's streams ------------------------------------


class _AnyioStream(NetworkStream):
    __slots__ = ("_socket", "_stream")

    def __init__(self, stream: ByteStream) -> None:
        from anyio.abc import SocketAttribute

        self._stream = stream
        self._socket: socket.socket | None = stream.extra(SocketAttribute.raw_socket, None)

    @classmethod
    async def connect(
        cls, host: str, port: int, ssl_context: ssl.SSLContext | None, timeout: float | None
    ) -> _AnyioStream:
        from anyio.streams.tls import TLSStream

        with _connect_errors(host, port), anyio.fail_after(timeout):
            stream: ByteStream = await anyio.connect_tcp(host, port)
            if ssl_context is not None:
                try:
                    stream = await TLSStream.wrap(
                        stream, hostname=host, ssl_context=ssl_context, standard_compatible=False
                    )
                except BaseException:
                    await anyio.aclose_forcefully(stream)
                    raise
        return cls(stream)

    async def read(self, max_bytes: int, timeout: float | None) -> bytes:
        try:
            with anyio.fail_after(timeout):
                return await self._stream.receive(max_bytes)
        except anyio.EndOfStream:
            return b""
        except TimeoutError:
            raise httpx.ReadTimeout(f"no data for {timeout} s") from None
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc

    async def read_into(self, view: memoryview, timeout: float | None) -> int:
        filled = 0
        while filled < len(view):
            data = await self.read(min(READ_SIZE, len(view) - filled), timeout)  # never past it
            if not data:
                break
            view[filled : filled + len(data)] = data
            filled += len(data)
        return filled

    async def write(self, data: bytes, timeout: float | None) -> None:
        try:
            with anyio.fail_after(timeout):
                await self._stream.send(data)
        except TimeoutError:
            raise httpx.WriteTimeout(f"could not write for {timeout} s") from None
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        await anyio.aclose_forcefully(self._stream)

    def is_readable(self) -> bool:
        return _socket_readable(self._socket)


def _socket_readable(sock: Any) -> bool:
    """Whether `sock` has something to read (bytes, or the peer's close); a socket that is
    gone counts as readable, so its connection is not used again."""
    if sock is None or sock.fileno() < 0:
        return True
    if sys.platform == "win32" or not hasattr(select, "poll"):
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _in_trio() -> bool:
    trio: Any = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True
