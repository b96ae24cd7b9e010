"""What sharing the rate-limit budget through Redis costs per call.

One `Podio` makes `--calls` calls of `request("GET", "/item/1")` over an in-process
`httpx.MockTransport` (no network: the client's own cost is all there is), in three setups:

* `memory`: MemorySessionStore, nothing shared (the reference);
* `redis, far`: RedisSessionStore, Podio's headers saying 900 of 1,000 calls are left: far
  from the pacing threshold, so the client asks Redis once (its first call) and then never;
* `redis, near`: the same with 100 of 1,000 left: every call reads the shared figures before
  it (one script) and merges its own after it (another), two round trips to a local
  redis-server.

Blocks of each setup are interleaved for `--rounds` rounds; the figure is the median of the
per-block means. Redis script calls are counted from `INFO commandstats`. Starts its own
redis-server on a free loopback port.

Usage: `python benchmarks/bench_shared_budget.py [--calls 500] [--rounds 7]`.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

from podiokit import Podio
from podiokit.sessions import MemorySessionStore, RedisSessionStore


def _server() -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def _transport(remaining: int) -> httpx.MockTransport:
    headers = {"X-Rate-Limit-Limit": "1000", "X-Rate-Limit-Remaining": str(remaining)}
    body = b'{"item_id": 1, "title": "x"}'

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers=headers)

    return httpx.MockTransport(answer)


async def _block(store: Any, remaining: int, calls: int) -> float:
    http = httpx.AsyncClient(transport=_transport(remaining), base_url="https://api.podio.com")
    podio = Podio("client", "secret", session_store=store, http_client=http)
    await podio.set_token({"access_token": "acc", "refresh_token": "ref", "expires_in": 28800})
    await podio.request("GET", "/item/1")  # warm: the first call reads the shared figures
    started = time.perf_counter()
    for _ in range(calls):
        await podio.request("GET", "/item/1")
    elapsed = time.perf_counter() - started
    await podio.aclose()
    await http.aclose()
    return elapsed / calls


async def _scripts(url: str) -> int:
    import redis.asyncio as aioredis

    admin = aioredis.Redis.from_url(url)
    stats = await admin.info("commandstats")
    await admin.aclose()
    return sum(
        int(v["calls"]) for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval")
    )


async def main(calls: int, rounds: int, url: str) -> None:
    setups = {
        "memory": (lambda: MemorySessionStore(), 900),
        "redis, far": (lambda: RedisSessionStore(url, prefix="bench-far:"), 900),
        "redis, near": (lambda: RedisSessionStore(url, prefix="bench-near:"), 100),
    }
    times: dict[str, list[float]] = {name: [] for name in setups}
    scripts: dict[str, int] = dict.fromkeys(setups, 0)
    for _ in range(rounds):
        for name, (make, remaining) in setups.items():
            store = make()
            before = await _scripts(url)
            times[name].append(await _block(store, remaining, calls))
            scripts[name] += await _scripts(url) - before
            if isinstance(store, RedisSessionStore):
                await store.aclose()
    reference = statistics.median(times["memory"])
    print(f"{calls} calls x {rounds} rounds, MockTransport, local redis-server")
    print(f"{'setup':<14}{'us/call':>10}{'vs memory':>11}{'extra us':>10}{'scripts/call':>14}")
    for name in setups:
        per_call = statistics.median(times[name])
        print(
            f"{name:<14}{per_call * 1e6:>10.1f}{per_call / reference:>10.2f}x"
            f"{(per_call - reference) * 1e6:>10.1f}{scripts[name] / (rounds * (calls + 1)):>14.3f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    proc, url = _server()
    try:
        asyncio.run(main(args.calls, args.rounds, url))
    finally:
        proc.terminate()
        proc.wait()
