"""Client CPU per request: podiokit against raw httpx, and the effect of `max_concurrency`.

httpx's pool costs more CPU per request the more requests contend for it (perf-baselines.md
§1). podiokit holds callers on an anyio semaphore so fewer requests are in flight than the
pool would take. This benchmark measures, in one run against one loopback server:

* raw `httpx.AsyncClient` at concurrency 1 and 64 (the reference),
* podiokit at concurrency 1 (the per-call overhead of the pipeline),
* podiokit with 64 callers and `max_concurrency` None / 4 / 8 / 16 / 32.

Like with like: raw httpx gets the same pool limits as the podiokit client it is compared
with (podiokit sizes its pool max(max_concurrency, 20) for both connections and keep-alive;
httpx's default, 100 connections and 20 kept alive, changes raw httpx's own cost at 64
callers by a quarter). A first round warms the server, the pools and the caches, and is
discarded.

Usage: `python benchmarks/bench_concurrency.py [--requests 3000] [--rounds 3] [--warmup 1]`.
Reports CPU ms per request (time.process_time of this process) and req/s, medians of the
rounds; the ratio to raw httpx at the same caller concurrency and pool is the figure to
compare.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import httpx

from podiokit import OAuthToken, Podio

HERE = Path(__file__).parent
LIMITS = (None, 4, 8, 16, 32)  # max_concurrency values measured with 64 callers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, str(HERE / "_item_server.py"), str(port)]
    if os.cpu_count() and os.cpu_count() > 1 and _has("taskset"):  # type: ignore[operator]
        cmd = ["taskset", "-c", "1", *cmd]
    proc = subprocess.Popen(cmd)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("benchmark server did not start")


def _has(tool: str) -> bool:
    from shutil import which

    return which(tool) is not None


async def _drive(
    call: Callable[[int], Awaitable[object]], n: int, concurrency: int
) -> tuple[float, float]:
    """Run n calls with `concurrency` callers; return (cpu ms per call, req/s)."""
    next_id = iter(range(n))

    async def worker() -> None:
        for i in next_id:
            await call(i)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return cpu / n * 1000, n / wall


def pool_for(max_concurrency: int | None) -> int:
    """The pool podiokit gives its own client (`Podio.__init__`)."""
    return max(max_concurrency or 0, 20)


async def _raw_httpx(url: str, n: int, concurrency: int, pool: int) -> tuple[float, float]:
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    async with httpx.AsyncClient(base_url=url, limits=limits) as client:
        headers = {"Authorization": "OAuth2 bench"}

        async def call(i: int) -> object:
            response = await client.get(f"/item/{i}", headers=headers)
            return response.json()

        await _drive(call, 300, concurrency)  # warm the pool
        return await _drive(call, n, concurrency)


async def _podiokit(
    url: str, n: int, concurrency: int, max_concurrency: int | None
) -> tuple[float, float]:
    async with Podio("bench", "bench", api_url=url, max_concurrency=max_concurrency) as podio:
        await podio.set_token(
            OAuthToken(
                access_token="bench", expires_at=datetime.now(timezone.utc) + timedelta(hours=8)
            )
        )

        async def call(i: int) -> object:
            return await podio.request("GET", f"/item/{i}")

        await _drive(call, 300, concurrency)
        return await _drive(call, n, concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="rounds run and discarded first")
    args = parser.parse_args()
    if _has("taskset") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})  # client on CPU 0, server on CPU 1
    port = _free_port()
    server = _start_server(port)
    url = f"http://127.0.0.1:{port}"
    # (name, callers, pool, run)
    configs: list[tuple[str, int, int, Callable[[], Awaitable[tuple[float, float]]]]] = []

    def add(name: str, callers: int, pool: int, run: Callable[[], Awaitable[Any]]) -> None:
        configs.append((name, callers, pool, run))

    add("raw httpx", 1, 20, lambda: _raw_httpx(url, args.requests, 1, 20))
    add("podiokit", 1, pool_for(None), lambda: _podiokit(url, args.requests, 1, None))
    for pool in sorted({pool_for(limit) for limit in LIMITS}):
        add("raw httpx", 64, pool, lambda pool=pool: _raw_httpx(url, args.requests, 64, pool))
    for limit in LIMITS:
        add(
            f"podiokit max_concurrency={limit}",
            64,
            pool_for(limit),
            lambda limit=limit: _podiokit(url, args.requests, 64, limit),
        )
    results: dict[tuple[str, int, int], list[tuple[float, float]]] = {}
    try:
        for round_ in range(args.warmup + args.rounds):
            for name, callers, pool, run in configs:
                measured = anyio.run(run)
                if round_ >= args.warmup:
                    results.setdefault((name, callers, pool), []).append(measured)
    finally:
        server.terminate()
        server.wait()
    print(
        f"{'client':34} {'callers':>7} {'pool':>5} {'CPU ms/req':>11} {'req/s':>8} "
        f"{'CPU vs raw httpx':>17}"
    )
    base = {
        (callers, pool): statistics.median(c for c, _ in runs)
        for (name, callers, pool), runs in results.items()
        if name == "raw httpx"
    }
    for (name, callers, pool), runs in results.items():
        cpu = statistics.median(c for c, _ in runs)
        rps = statistics.median(r for _, r in runs)
        ratio = cpu / base[(callers, pool)]
        print(f"{name:34} {callers:>7} {pool:>5} {cpu:>11.3f} {rps:>8.0f} {ratio:>16.2f}x")


if __name__ == "__main__":
    main()
