"""A bare ASGI server answering fixed bytes: `GET /item/{n}` returns the n-th body file.

Run as `python benchmarks/_fixed_server.py PORT FILE [FILE ...]`. Bodies are read once and
sent as they are, so the server costs next to nothing and never touches the client's CPU
(it runs in its own process, pinned to another core when the machine has one).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

BODIES: list[bytes] = []
NOT_FOUND = b'{"error":"not_found","error_description":"No such body"}'


def _headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"x-rate-limit-limit", b"1000000"),
        (b"x-rate-limit-remaining", b"999999"),
    ]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    index = scope["path"].rstrip("/").rsplit("/", 1)[-1]
    status, body = 404, NOT_FOUND
    if index.isdigit() and int(index) < len(BODIES):
        status, body = 200, BODIES[int(index)]
    await send({"type": "http.response.start", "status": status, "headers": _headers(body)})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    import uvicorn

    BODIES.extend(Path(name).read_bytes() for name in sys.argv[2:])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
