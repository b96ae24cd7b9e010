"""Typed iteration against raw iteration over the same pages of `items.filter`.

The emulator runs as `podiokit emulator` in its own process (pinned to CPU 1 when there are
two; rate limit lifted), the client here (pinned to CPU 0). Over one app of `--items` items,
in rounds (the order shuffled each round; the first round warms up and is left out):

* `raw`: `podio.request("POST", ".../filter/", json={"limit": 500, "offset": ...})`, page
  after page (the JSON decoded to dicts), every item handed to the consumer;
* `typed`: `async for item in podio.items.filter(app_id)` (pydantic `Item` models), with
  the page object's default prefetch (one page ahead);
* `typed, no prefetch`: the same with `prefetch=0` (one page at a time, as before).

The consumer does `--work` µs of CPU per item (0: it only counts); `--latency` ms are added
by the emulator to every answer (Podio takes far longer than the emulator to answer a page:
what prefetch hides). Reported: wall seconds
per run (median of the rounds), items per second, and the median of the per-round ratios to
raw. The script exits 1 when typed exceeds `--target` (1.2x raw).

Usage: `python benchmarks/bench_iterate.py [--items 20000] [--rounds 5] [--work 0]
[--latency 0] [--target 1.2]`
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

PROJECTS = 3002


def _pin(cpu: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(cpu)]
    return []


def _start_emulator(items: int, latency: float) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    argv = [*_pin(1), sys.executable, "-m", "podiokit.cli", "emulator", "--port", "0",
            "--items", str(items), "--rate-limit", "10000000", "--latency", str(latency)]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("the emulator did not start")
    return proc, json.loads(line)


def _spin(micros: float) -> None:
    """`micros` µs of CPU: the consumer's work on one item."""
    if micros <= 0:
        return
    end = time.perf_counter() + micros / 1e6
    while time.perf_counter() < end:
        pass


async def _bench(creds: dict[str, Any], args: argparse.Namespace) -> dict[str, list[float]]:
    from podiokit import Podio

    token = {a["app_id"]: a["app_token"] for a in creds["apps"]}[PROJECTS]
    async with Podio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], timeout=120
    ) as podio:
        await podio.authenticate_with_app(PROJECTS, token)
        path = f"/item/app/{PROJECTS}/filter/"

        async def raw() -> int:
            seen, offset = 0, 0
            while True:
                body = {"limit": 500, "offset": offset}
                page = await podio.request("POST", path, json=body)
                items = page["items"]
                for _item in items:
                    _spin(args.work)
                    seen += 1
                offset += len(items)
                if not items or offset >= page["filtered"]:
                    return seen

        async def typed(prefetch: int | None) -> int:
            seen = 0
            pages = podio.items.filter(PROJECTS)
            if prefetch is not None:
                pages = pages.prefetch(prefetch)
            async for _item in pages:
                _spin(args.work)
                seen += 1
            return seen

        runs: dict[str, Callable[[], Awaitable[int]]] = {
            "raw": raw,
            "typed": lambda: typed(None),
            "typed, no prefetch": lambda: typed(0),
        }
        results: dict[str, list[float]] = {name: [] for name in runs}
        order = list(runs)
        rng = random.Random(30)
        for round_ in range(args.rounds + 1):
            rng.shuffle(order)
            for name in order:
                started = time.perf_counter()
                seen = await runs[name]()
                wall = time.perf_counter() - started
                if seen != args.items:
                    raise SystemExit(f"{name} saw {seen} items, not {args.items}")
                if round_:  # round 0 warms the emulator's caches and the client
                    results[name].append(wall)
        return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=float, default=0.0, help="consumer CPU µs per item")
    parser.add_argument("--target", type=float, default=1.2, help="max typed/raw wall ratio")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="ms the emulator adds to every answer"
    )
    args = parser.parse_args()
    if _pin(0):
        os.sched_setaffinity(0, {0})
    proc, creds = _start_emulator(args.items, args.latency)
    try:
        results = anyio.run(_bench, creds, args)
    finally:
        proc.terminate()
        proc.wait()
    raw = results["raw"]
    print(f"{args.items:,} items, pages of 500, consumer {args.work:g} µs/item, emulator "
          f"latency {args.latency:g} ms; median of {args.rounds} rounds")  # fmt: skip
    print("| iteration | wall s | items/s | vs raw |")
    print("|---|---|---|---|")
    failed = False
    for name, walls in results.items():
        ratio = statistics.median(w / r for w, r in zip(walls, raw, strict=True))
        wall = statistics.median(walls)
        print(f"| {name} | {wall:.2f} | {args.items / wall:,.0f} | {ratio:.2f}x |")
        if name == "typed" and ratio > args.target:
            failed = True
    verdict = "FAIL" if failed else "ok"
    print(f"target: typed iteration within {args.target:.2f}x raw: {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
