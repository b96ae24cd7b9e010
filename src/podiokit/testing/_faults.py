"""Injected faults: gateway errors (some with HTML bodies) and dropped connections."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.types import Receive

from ._errors import ApiError, envelope
from ._router import Reply

KINDS = ("502", "503", "504", "drop")

_HTML = (
    "<html>\r\n<head><title>{code} {text}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {text}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def fault_reply(kind: str, path: str, query: str, method: str) -> Reply:
    if kind == "503":
        # Podio's own maintenance answer is JSON; the nginx front end answers in HTML.
        err = ApiError(503, "unavailable", "The service is temporarily unavailable")
        return Reply(503, envelope(err, path=path, query=query, method=method))
    text = "Bad Gateway" if kind == "502" else "Gateway Time-out"
    html = _HTML.format(code=kind, text=text).encode()
    return Reply(int(kind), html, media_type="text/html")


class DroppedConnection(httpx.RemoteProtocolError):
    """In process (httpx.ASGITransport) a drop surfaces as httpx's own transport error."""

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a response.")


def drop(receive: Receive) -> bool:
    """Abort the socket under uvicorn. False when not on a real socket (ASGITransport)."""
    cycle: Any = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    transport.abort()  # RST: the client sees the connection die with no response
    if hasattr(cycle, "disconnected"):
        cycle.disconnected = True  # stops uvicorn from writing its 500 afterwards
    return True
