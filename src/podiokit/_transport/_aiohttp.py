"""httpx-aiohttp's transport, made safe for podiokit's retry rules (`podiokit.transports`).

Imported only by `aiohttp_transport()`: it imports aiohttp, which the core must not need.

Three things differ from `httpx_aiohttp.AiohttpTransport` as it is:

* **Failures keep their meaning.** httpx-aiohttp maps every `aiohttp.ClientConnectionError`
  to `httpx.ConnectTimeout`, a server that hung up after reading the request included.
  podiokit retries even a create after a connect failure (it cannot have reached Podio), so
  that mapping would post an item twice. Here only a failure to connect is a connect error
  (or a connect timeout); a dropped connection is a read error, a read timeout a read timeout.
  (A body cut short is already a read error: aiohttp raises ClientPayloadError there.)
* **One aiohttp session per event loop**, made in that loop: a podiokit client may serve
  successive `asyncio.run` calls, as it does with httpx's own transport.
* **Under trio a call raises RuntimeError** saying that aiohttp runs on asyncio only, instead
  of aiohttp's own error about a missing event loop.
"""

from __future__ import annotations

import asyncio
import weakref

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

__all__ = ["PodioAiohttpTransport"]


def running_asyncio_loop() -> asyncio.AbstractEventLoop:
    """The running asyncio loop, or a RuntimeError that says why aiohttp cannot run here."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "podiokit's aiohttp transport runs on asyncio only (aiohttp does not support "
            "trio); under trio use the default transport (leave Podio's `transport` unset)"
        ) from None


def _mapped(exc: httpx.TransportError) -> httpx.TransportError:
    """The httpx error that says what happened to the request, from the aiohttp cause."""
    cause = exc.__cause__
    message = str(exc)
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)  # refused, unreachable, DNS, TLS handshake
    if isinstance(cause, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return httpx.ReadTimeout(message)
    if isinstance(cause, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
        # The request may have reached the server: never "not sent".
        return httpx.ReadError(message)
    return exc


class PodioAiohttpTransport(AiohttpTransport):
    def __init__(self, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, verify=True)
        self._sessions: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, aiohttp.ClientSession
        ] = weakref.WeakKeyDictionary()

    def _session(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        session = self._sessions.get(loop)
        if session is not None and not session.closed:
            return session
        for other, stale in list(self._sessions.items()):
            if other.is_closed():
                # Its loop is gone, so it cannot be closed: let go of it without a warning.
                stale.detach()
                del self._sessions[other]
        self.client = None
        session = self._sessions[loop] = self.get_client()
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # The base class sends through `self.client`; it is set to this loop's session with
        # no await in between, so concurrent calls in one loop all see their own loop's.
        self.client = self._session(running_asyncio_loop())
        try:
            response = await super().handle_async_request(request)
        except httpx.TransportError as exc:
            raise _mapped(exc) from exc.__cause__
        return response

    async def aclose(self) -> None:
        self.client = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None  # trio: no session can have been made in this loop
        for other, session in list(self._sessions.items()):
            del self._sessions[other]
            if other is loop:
                await session.close()
            else:
                session.detach()  # another loop's: it cannot be closed from here
