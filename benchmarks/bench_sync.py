"""Sync against async: per-call wall time, one call at a time, on a loopback emulator.

`SyncPodio` runs the async engine on an event loop thread; each call pays one thread hop
there and back. This measures what that costs next to `Podio` awaited directly, and sets it
beside the alternatives it was chosen over:

* `async`: `await podio.<call>` on the caller's event loop (the reference);
* `sync`: `SyncPodio` (`asyncio.run_coroutine_threadsafe` onto its loop thread);
* `portal`: the same `Podio` driven through anyio's `BlockingPortal.call` (the other way to
  run the engine on a thread);
* `raw AsyncClient` / `raw Client`: bare httpx GETs with the token, no SDK: the floor of each
  face, and for `raw Client` the floor a second, unasync-generated engine over
  `httpx.Client` could reach;
* the hop alone: a no-op coroutine through `run_coroutine_threadsafe` and through the portal.

Two calls: `items.get` (a typed `Item`, pydantic validation included) and
`request("GET", "/app/{id}")` (JSON only, so the hop weighs most). Blocks of `--calls` calls
of each variant are interleaved for `--rounds` rounds, so load from other processes falls on
all of them alike; the figure is the median of the per-block means, and `sync/async` their
ratio. The emulator runs in its own process (`podiokit emulator`, pinned to CPU 1 when
`taskset` exists).

Usage: `python benchmarks/bench_sync.py [--calls 25] [--rounds 20]`.
Target: sync within 1.3x of async (goal 1.1x); exits 1 when `items.get` is above 1.3x.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
from anyio.from_thread import start_blocking_portal

from podiokit import Podio, SyncPodio

TARGET = 1.3


def _start_emulator() -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    cmd = [sys.executable, "-m", "podiokit.cli", "emulator", "--port", "0", "--items", "50",
           "--rate-limit", "100000000"]  # fmt: skip
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        cmd = ["taskset", "-c", "1", *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError("the emulator did not start")
    return proc, json.loads(line)


def _block(call: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - start) / n * 1000


async def _ablock(call: Callable[[], Awaitable[object]], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await call()
    return (time.perf_counter() - start) / n * 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=25, help="calls per block")
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds")
    args = parser.parse_args()
    proc, creds = _start_emulator()
    try:
        return _run(creds, args.calls, args.rounds)
    finally:
        proc.kill()
        proc.wait()


def _run(creds: dict[str, Any], n: int, rounds: int) -> int:
    api, app = creds["api_url"], creds["apps"][0]
    app_id = int(app["app_id"])
    key = (creds["client_id"], creds["client_secret"])

    async def signed_in() -> Podio:
        podio = Podio(*key, api_url=api)
        await podio.authenticate_with_app(app_id, app["app_token"])
        return podio

    results: dict[str, list[float]] = {}

    def record(name: str, ms: float) -> None:
        results.setdefault(name, []).append(ms)

    # The async face's loop lives across rounds (asyncio.Runner), so its pool stays warm
    # while the sync variants run from this plain thread in between.
    with asyncio.Runner() as runner, start_blocking_portal() as portal:
        podio = runner.run(signed_in())

        async def first_item() -> int:
            page = await podio.items.filter(app_id, limit=1)
            return page.items[0].item_id

        item_id = runner.run(first_item())
        token = podio.token
        assert token is not None
        auth = {"Authorization": f"OAuth2 {token.access_token}"}
        raw_async = httpx.AsyncClient()
        raw_sync = httpx.Client()
        sync = SyncPodio(*key, api_url=api)
        sync.authenticate_with_app(app_id, app["app_token"])
        portal_podio = portal.call(signed_in)
        loop = asyncio.new_event_loop()
        hop_thread = threading.Thread(target=loop.run_forever, daemon=True)
        hop_thread.start()

        async def noop() -> None:
            return None

        item_url, app_path = f"{api}/item/{item_id}", f"/app/{app_id}"
        variants_async: dict[str, Callable[[], Awaitable[object]]] = {
            "items.get  async": lambda: podio.items.get(item_id),
            "request    async": lambda: podio.request("GET", app_path),
            "raw AsyncClient GET /item": lambda: raw_async.get(item_url, headers=auth),
        }
        variants_sync: dict[str, Callable[[], object]] = {
            "items.get  sync": lambda: sync.items.get(item_id),
            "items.get  portal": lambda: portal.call(portal_podio.items.get, item_id),
            "request    sync": lambda: sync.request("GET", app_path),
            "request    portal": lambda: portal.call(portal_podio.request, "GET", app_path),
            "raw Client GET /item": lambda: raw_sync.get(item_url, headers=auth),
            "hop only   run_coroutine_threadsafe": lambda: asyncio.run_coroutine_threadsafe(
                noop(), loop
            ).result(),
            "hop only   BlockingPortal.call": lambda: portal.call(anyio.sleep, 0),
        }

        async def async_round(count: int) -> None:
            for name, acall in variants_async.items():
                record(name, await _ablock(acall, count))

        # Warm-up: connections open, adapters built, code paths hot.
        runner.run(async_round(5))
        for call in variants_sync.values():
            _block(call, 5)
        results.clear()
        for _ in range(rounds):
            runner.run(async_round(n))
            for name, call in variants_sync.items():
                record(name, _block(call, n))

        sync.close()
        portal.call(portal_podio.aclose)
        raw_sync.close()
        runner.run(raw_async.aclose())
        runner.run(podio.aclose())
        loop.call_soon_threadsafe(loop.stop)

    med = {name: statistics.median(v) for name, v in results.items()}
    print(f"per-call wall time, ms (median of {rounds} blocks of {n} calls, one at a time)")
    for name in sorted(med):
        print(f"  {name:40s} {med[name]:7.3f}")
    ratios = {}
    for call in ("items.get", "request"):
        base = med[f"{call:10s} async"]
        for face in ("sync", "portal"):
            ratios[(call, face)] = med[f"{call:10s} {face}"] / base
            print(f"  {call} {face}/async: {ratios[(call, face)]:.3f}x")
    ok = ratios[("items.get", "sync")] <= TARGET
    print(f"target sync/async <= {TARGET}x on items.get: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
