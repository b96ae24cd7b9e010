"""Client CPU per call at concurrency 64: podiokit against the best hand-written httpx.

64 tasks share one client and make `--calls` calls per block against a loopback server that
answers fixed bytes (benchmarks/_fixed_server.py, its own process, pinned to CPU 1; this
client on CPU 0), so the CPU counted (time.process_time of this process) is the client's
alone. The body is the ~3 KB item of bench_typed.py.

Variants, each run by 64 tasks unless named otherwise:

* `raw httpx`: one `httpx.AsyncClient` with a pool sized for 64 (64 connections, 64 kept
  alive) and `orjson.loads(response.content)`: the reference, per backend;
* `podiokit request`: `podio.request("GET", ...)` at the default `max_concurrency` (8);
* `podiokit items.get`: the same through the typed `podio.items.get(...)`;
* `... [aiohttp]`: the same over httpx-aiohttp's `AiohttpTransport` (asyncio only; podiokit
  through `transport=podiokit.transports.aiohttp_transport()`), and podiokit's `request` over
  either transport at 1, 16 and 64 tasks.

Every variant runs once per round, in a shuffled order; the first round warms pools and
caches and is discarded. Reported: CPU µs per call (median over rounds) and the median of the
per-round ratios to `raw httpx` at 64 tasks on the same backend (a ratio per round cancels the
machine's slow drifts: the variants of one round run within seconds of each other), and the
ratio of the least disturbed blocks (min vs min: raw httpx at 64 tasks is bimodal on a shared
machine, about 1.5 ms or 3-5 ms per call, and this column compares with its good blocks). The script
exits 1 when `podiokit request` or `podiokit items.get` at 64 tasks is above `--target` (0.6x)
of raw httpx on any backend measured.

Usage: `python benchmarks/bench_cpu64.py [--calls 1280] [--rounds 15] [--target 0.6]
       [--backends asyncio trio]`
       `python benchmarks/bench_cpu64.py --profile "asyncio:podiokit request:64"` (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta, timezone
from importlib.util import find_spec
from pathlib import Path

import anyio
import httpx
import orjson
from bench_typed import SAMPLE, _free_port, _pin, _start_server, small_item

from podiokit import OAuthToken, Podio

TASKS = 64
HEADERS = {"Authorization": "OAuth2 bench"}
TOKEN_TTL = timedelta(hours=8)
HAS_AIOHTTP = find_spec("httpx_aiohttp") is not None

Call = Callable[[], Awaitable[object]]
#: (backend, variant, tasks) -> how to make the call, inside the running loop.
Key = tuple[str, str, int]


def _aiohttp_transport(pool: int) -> httpx.AsyncBaseTransport:
    from httpx_aiohttp import AiohttpTransport

    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    return AiohttpTransport(limits=limits)


async def _podio(
    stack: AsyncExitStack, url: str, *, aiohttp: bool, max_concurrency: int | None
) -> Podio:
    transport = None
    if aiohttp:
        from podiokit.transports import aiohttp_transport

        transport = aiohttp_transport()  # the one-liner the aiohttp extra documents
    options = {} if max_concurrency is None else {"max_concurrency": max_concurrency}
    podio = await stack.enter_async_context(Podio("bench", "bench", api_url=url, transport=transport, **options))  # type: ignore[arg-type]  # fmt: skip
    token = OAuthToken(access_token="bench", expires_at=datetime.now(timezone.utc) + TOKEN_TTL)
    await podio.set_token(token)
    return podio


@asynccontextmanager
async def _variants(
    url: str, backend: str, max_concurrency: int | None
) -> AsyncIterator[dict[Key, Call]]:
    """Every client this backend measures, open for the whole run."""
    calls: dict[Key, Call] = {}
    async with AsyncExitStack() as stack:
        limits = httpx.Limits(max_connections=TASKS, max_keepalive_connections=TASKS)
        raw = await stack.enter_async_context(
            httpx.AsyncClient(base_url=url, limits=limits, timeout=60.0)
        )

        async def raw_get() -> object:
            return orjson.loads((await raw.get("/item/0", headers=HEADERS)).content)

        calls[(backend, "raw httpx", TASKS)] = raw_get
        podio = await _podio(stack, url, aiohttp=False, max_concurrency=max_concurrency)

        async def request() -> object:
            return await podio.request("GET", "/item/0")

        async def typed() -> object:
            return await podio.items.get(0)

        calls[(backend, "podiokit request", TASKS)] = request
        calls[(backend, "podiokit items.get", TASKS)] = typed
        if backend == "asyncio":
            for tasks in (1, 16):
                calls[(backend, "raw httpx", tasks)] = raw_get
                calls[(backend, "podiokit request", tasks)] = request
        if backend == "asyncio" and HAS_AIOHTTP:
            raw_aio = await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, transport=_aiohttp_transport(TASKS), timeout=60.0)
            )

            async def raw_aio_get() -> object:
                return orjson.loads((await raw_aio.get("/item/0", headers=HEADERS)).content)

            podio_aio = await _podio(stack, url, aiohttp=True, max_concurrency=max_concurrency)

            async def request_aio() -> object:
                return await podio_aio.request("GET", "/item/0")

            async def typed_aio() -> object:
                return await podio_aio.items.get(0)

            calls[(backend, "raw httpx [aiohttp]", TASKS)] = raw_aio_get
            calls[(backend, "podiokit items.get [aiohttp]", TASKS)] = typed_aio
            for tasks in (1, 16, TASKS):
                calls[(backend, "podiokit request [aiohttp]", tasks)] = request_aio
        yield calls


async def _block(call: Call, calls: int, tasks: int) -> float:
    """CPU µs per call of `calls` calls made by `tasks` tasks sharing the work."""
    todo = iter(range(calls))

    async def worker() -> None:
        for _ in todo:
            await call()

    cpu0 = time.process_time()
    async with anyio.create_task_group() as tg:
        for _ in range(tasks):
            tg.start_soon(worker)
    return (time.process_time() - cpu0) / calls * 1e6


async def _run(url: str, backend: str, args: argparse.Namespace) -> dict[Key, list[float]]:
    async with _variants(url, backend, args.max_concurrency) as calls:
        for key, call in calls.items():
            # Every variant must decode the same item before it is timed.
            item = await call()
            data = item if isinstance(item, dict) else item.model_dump(mode="json", by_alias=True, exclude_unset=True)  # type: ignore[attr-defined]  # fmt: skip
            assert data["item_id"] == small_item(json.loads(SAMPLE.read_bytes()))["item_id"], key
        if args.profile:
            key = tuple(args.profile.split(":"))
            call = calls[(key[0], key[1], int(key[2]))]
            await _block(call, args.calls, int(key[2]))  # warm
            profiler = cProfile.Profile()
            profiler.enable()
            await _block(call, args.calls * 2, int(key[2]))
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(30)
            stats.sort_stats("cumulative").print_stats(45)
            return {}
        wanted = args.only or [""]
        order = [k for k in calls if any(w in ":".join(map(str, k)) for w in wanted)]
        if (backend, "raw httpx", TASKS) not in order:
            order.append((backend, "raw httpx", TASKS))  # every ratio needs it
        rng = random.Random(64)
        results: dict[Key, list[float]] = {key: [] for key in order}
        for round_ in range(args.rounds + 1):
            rng.shuffle(order)
            for key in order:
                # The server closes connections idle for 5 s (uvicorn's keep-alive), so each
                # block first refills its pool: the figure is the steady state, not reconnects.
                await _block(calls[key], key[2] * 2, key[2])
                cpu = await _block(calls[key], args.calls, key[2])
                if round_:  # round 0 warms pools, caches and the allocator
                    results[key].append(cpu)
        return results


def _report(results: dict[Key, list[float]], args: argparse.Namespace) -> bool:
    print(
        f"client CPU µs per call: median of {args.rounds} rounds x {args.calls} calls; "
        f"vs raw: median of the per-round ratios to raw httpx at {TASKS} tasks, same backend"
    )
    print(f"{'backend':8} {'variant':30} {'tasks':>5} {'CPU µs/call':>12} {'(min-max)':>13} "
          f"{'vs raw@64':>10} {'(p25-p75)':>12} {'min vs min':>11}")  # fmt: skip
    failed, checked = False, False
    for key in sorted(results, key=lambda k: (k[0], k[2], k[1])):
        backend, variant, tasks = key
        runs = results[key]
        if not runs:
            continue
        raw = results[(backend, "raw httpx", TASKS)]
        ratios = sorted(v / r for v, r in zip(runs, raw, strict=True))
        ratio = statistics.median(ratios)
        q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratio] * 3
        print(
            f"{backend:8} {variant:30} {tasks:>5} {statistics.median(runs):12.0f} "
            f"{f'({min(runs):.0f}-{max(runs):.0f})':>13} {ratio:9.2f}x "
            f"{f'({q[0]:.2f}-{q[2]:.2f})':>12} {min(runs) / min(raw):10.2f}x"
        )
        if tasks == TASKS and variant in ("podiokit request", "podiokit items.get"):
            failed |= ratio > args.target
            checked = True
    verdict = ("FAIL" if failed else "ok") if checked else "not measured (--only)"
    print(f"target: podiokit request and items.get at {TASKS} tasks within {args.target:.2f}x "
          f"raw httpx: {verdict}")  # fmt: skip
    if not HAS_AIOHTTP:
        print("httpx-aiohttp not installed: the [aiohttp] rows skipped")
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1280, help="calls per block")
    parser.add_argument("--rounds", type=int, default=15, help="measured rounds (after 1 warm-up)")
    parser.add_argument("--target", type=float, default=0.6, help="max podiokit/raw CPU ratio")
    parser.add_argument("--backends", nargs="+", default=["asyncio", "trio"])
    parser.add_argument("--profile", metavar="BACKEND:VARIANT:TASKS", help="cProfile one variant")
    parser.add_argument(
        "--max-concurrency", type=int, help="podiokit's max_concurrency (default: its own)"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="TEXT", help="measure only variants whose key has TEXT"
    )
    args = parser.parse_args()
    if _pin():
        os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory() as tmp:
        body = Path(tmp) / "item_3k.json"
        body.write_bytes(json.dumps(small_item(json.loads(SAMPLE.read_bytes()))).encode())
        port = _free_port()
        server = _start_server(port, [body])
        results: dict[Key, list[float]] = {}
        try:
            backends = [args.profile.split(":")[0]] if args.profile else args.backends
            for backend in backends:
                results |= anyio.run(_run, f"http://127.0.0.1:{port}", backend, args, backend=backend)  # fmt: skip
        finally:
            server.terminate()
            server.wait()
    if args.profile:
        return 0
    return 1 if _report(results, args) else 0


if __name__ == "__main__":
    sys.exit(main())
