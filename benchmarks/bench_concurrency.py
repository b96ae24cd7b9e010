"""Client CPU per request: podiokit against raw httpx, and the effect of `max_concurrency`.

httpx's pool costs more CPU per request the more requests contend for it (perf-baselines.md
§1). podiokit holds callers on an anyio semaphore so fewer requests are in flight than the
pool would take. This benchmark measures, in one run against one loopback server:

* raw `httpx.AsyncClient` at concurrency 1 and 64 (the reference),
* podiokit at concurrency 1 (the per-call overhead of the pipeline),
* podiokit with 64 callers and `max_concurrency` None / 4 / 8 / 16 / 32.

Usage: `python benchmarks/bench_concurrency.py [--requests 3000] [--rounds 3]`.
Reports CPU ms per request (time.process_time of this process) and req/s; the ratios to raw
httpx at the same caller concurrency are the figures to compare.
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

import anyio
import httpx

from podiokit import OAuthToken, Podio

HERE = Path(__file__).parent


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


async def _raw_httpx(url: str, n: int, concurrency: int) -> tuple[float, float]:
    async with httpx.AsyncClient(base_url=url) as client:
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
    args = parser.parse_args()
    if _has("taskset") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})  # client on CPU 0, server on CPU 1
    port = _free_port()
    server = _start_server(port)
    url = f"http://127.0.0.1:{port}"
    configs: list[tuple[str, int, Callable[[], Awaitable[tuple[float, float]]]]] = [
        ("raw httpx", 1, lambda: _raw_httpx(url, args.requests, 1)),
        ("podiokit", 1, lambda: _podiokit(url, args.requests, 1, None)),
        ("raw httpx", 64, lambda: _raw_httpx(url, args.requests, 64)),
    ]
    for limit in (None, 4, 8, 16, 32):
        configs.append(
            (
                f"podiokit max_concurrency={limit}",
                64,
                lambda limit=limit: _podiokit(url, args.requests, 64, limit),
            )
        )  # type: ignore[misc]
    results: dict[tuple[str, int], list[tuple[float, float]]] = {}
    try:
        for _ in range(args.rounds):
            for name, conc, run in configs:
                results.setdefault((name, conc), []).append(anyio.run(run))
    finally:
        server.terminate()
        server.wait()
    print(f"{'client':34} {'callers':>7} {'CPU ms/req':>11} {'req/s':>8} {'CPU vs raw httpx':>17}")
    base = {conc: statistics.median(c for c, _ in results[("raw httpx", conc)]) for conc in (1, 64)}
    for (name, conc), runs in results.items():
        cpu = statistics.median(c for c, _ in runs)
        rps = statistics.median(r for _, r in runs)
        print(f"{name:34} {conc:>7} {cpu:>11.3f} {rps:>8.0f} {cpu / base[conc]:>16.2f}x")


if __name__ == "__main__":
    main()
