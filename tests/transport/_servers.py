"""Scripted loopback servers for the transport matrix: each connection is handed to a plain
function with the accepted socket, so a test can answer with any bytes at all (bad framing,
an early answer, a hang-up mid-handshake) at any moment.

Bounded: every socket has a timeout, every wait is bounded, the server listens on 127.0.0.1
only, and `close()` ends its threads (a handler should return within a few seconds)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

#: Longest any server-side socket operation waits (a stuck test fails instead of hanging).
SOCKET_TIMEOUT = 5.0

Handler = Callable[["Conn"], None]


class Conn:
    """One accepted connection, with what the tests need to script it."""

    def __init__(self, sock: socket.socket, server: Server) -> None:
        self.sock: Any = sock
        self.server = server
        self.buffered = b""

    def read_head(self) -> bytes:
        """The request head, up to its blank line (bytes past it stay buffered); b"" when
        the client closed first."""
        data = self.buffered
        while b"\r\n\r\n" not in data:
            chunk = self._recv()
            if not chunk:
                return b""
            data += chunk
        head, _, self.buffered = data.partition(b"\r\n\r\n")
        self.server.heads.append(head)
        return head

    def read_body(self, head: bytes) -> bytes:
        """The body the head announces (Content-Length or chunked), read whole."""
        lower = head.lower()
        if b"transfer-encoding: chunked" in lower:
            while not self.buffered.endswith(b"0\r\n\r\n"):
                chunk = self._recv()
                if not chunk:
                    break
                self.buffered += chunk
            body, self.buffered = self.buffered, b""
            return body
        length = 0
        for line in lower.split(b"\r\n"):
            if line.startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        while len(self.buffered) < length:
            chunk = self._recv()
            if not chunk:
                break
            self.buffered += chunk
        body, self.buffered = self.buffered[:length], self.buffered[length:]
        return body

    def read_request(self) -> bytes:
        head = self.read_head()
        if head:
            self.read_body(head)
        return head

    def send(self, data: bytes) -> None:
        with contextlib.suppress(OSError):  # the client went away: part of many tests
            self.sock.sendall(data)

    def _recv(self) -> bytes:
        try:
            data: bytes = self.sock.recv(65536)
        except (OSError, ssl.SSLError):
            return b""
        return data

    def wait_closed(self, timeout: float = SOCKET_TIMEOUT) -> bool:
        """Until the client closes (or `timeout`): True when it did."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (OSError, ssl.SSLError):
            return False


def answer(status: int = 200, body: bytes = b"ok", *extra: str, version: str = "1.1") -> bytes:
    """A whole response with a Content-Length."""
    lines = [f"HTTP/{version} {status} X", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Server:
    """A threaded loopback server: `handler(conn)` runs for each connection in a thread.
    With `tls` (a server `ssl.SSLContext`), connections are wrapped before the handler runs,
    unless `wrap=False` (the handler then sees the raw socket: handshake failures)."""

    def __init__(
        self,
        handler: Handler,
        *,
        tls: ssl.SSLContext | None = None,
        wrap: bool = True,
        rcvbuf: int | None = None,
    ) -> None:
        self.handler = handler
        self.tls = tls if wrap else None
        self.connections = 0
        self.heads: list[bytes] = []
        self.stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        if rcvbuf is not None:  # accepted sockets inherit it: a peer that fills up fast
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self._listener.settimeout(SOCKET_TIMEOUT)  # close() wakes it sooner (shutdown)
        self.port: int = self._listener.getsockname()[1]
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        self._open: list[socket.socket] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            sock.settimeout(SOCKET_TIMEOUT)
            self._open.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            if self.tls is not None:
                try:
                    sock = self.tls.wrap_socket(sock, server_side=True)
                except (OSError, ssl.SSLError):
                    return  # the client refused our certificate: its test checks that
                self._open.append(sock)
            with contextlib.suppress(OSError):  # the client hung up: part of many tests
                self.handler(Conn(sock, self))
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepter (Linux)
        self._accepter.join(SOCKET_TIMEOUT)
        self._listener.close()
        for sock in self._open:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a handler blocked in recv
                sock.close()
            except OSError:
                pass
        for thread in self._threads:
            thread.join(SOCKET_TIMEOUT)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
