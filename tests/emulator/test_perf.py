"""The emulator stays cheap: it must never dominate a test or an export benchmark.

benchmarks/bench_emulator.py measures at 100,000 items; this guards the same paths at a size
a test run affords, with headroom for a loaded CI machine.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import httpx
import pytest

from podiokit.testing import Emulator

from .conftest import app_token

pytestmark = pytest.mark.anyio
BUDGET_MS = 50.0


async def serve_page(emu: Emulator, token: str, offset: int) -> tuple[float, bytes]:
    body = json.dumps({"limit": 500, "offset": offset}).encode()
    scope: dict[str, Any] = {
        "type": "http", "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/item/app/3002/filter/", "raw_path": b"", "query_string": b"",
        "root_path": "", "server": ("podio.emulator", 80), "client": ("127.0.0.1", 1),
        "headers": [(b"authorization", f"OAuth2 {token}".encode())],
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    started = time.perf_counter()
    await emu.app(scope, receive, send)
    return (time.perf_counter() - started) * 1000, sent[1]["body"]


async def test_a_500_item_filter_page_is_served_within_budget():
    started = time.perf_counter()
    emu = Emulator(items=5_000)
    assert time.perf_counter() - started < 5.0  # 100,000 seed in ~1-2 s; see the benchmark
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://podio.emulator") as http:
        token = (await app_token(http, emu))["access_token"]
    await serve_page(emu, token, 0)  # the query's one sort
    cold = [(await serve_page(emu, token, o))[0] for o in (1000, 2000, 3000)]
    warm = [(await serve_page(emu, token, 0))[0] for _ in range(7)]
    _, body = await serve_page(emu, token, 0)
    assert len(json.loads(body)["items"]) == 500
    assert statistics.median(warm) < BUDGET_MS
    assert statistics.median(cold) < 2 * BUDGET_MS  # first serialisation; ~25 ms measured
