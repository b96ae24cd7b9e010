"""Export benchmark: `podiokit.export` against the best hand-written loop, side by side.

The emulator runs as `podiokit emulator` in its own process (pinned to CPU 1 when there are
two); each export runs in a fresh client process (pinned to CPU 0), so peak RSS is that
export's own. Both sides export the Projects app (`--items` items) to JSONL, and every run
is checked: one line per item, each item exactly once.

* podiokit: `podiokit.export.export(...)` (app_item_id ranges, `--concurrency` pages in
  flight, msgspec.Raw slices written as they are, pages written in a worker thread).
* hand-written: httpx + orjson, pages of 500 by offset, the next page requested while the
  current one is written (orjson.loads the page, orjson.dumps each item), JSONL.

Usage: `python benchmarks/bench_export.py [--items 10000 100000] [--rounds 3] [--concurrency 4]`
Prints one table row per (size, side): median wall time (min-max), calls, peak RSS.

`python benchmarks/bench_export.py --parse` times the choice behind "copy, don't parse" on one
500-item page of the emulator's items: the exporter's msgspec.Raw slicing against orjson
loads + dumps per item (CPU ms per page, median of 15).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx

PROJECTS = 3002
FILTER_ROUTE = "POST /item/app/{app_id}/filter/"


# -- the two exporters (run in a child process) ------------------------------------------


async def _token(http: httpx.AsyncClient, creds: dict[str, Any]) -> str:
    app = creds["apps"][0]
    data = {"grant_type": "app", "app_id": app["app_id"], "app_token": app["app_token"],
            "client_id": creds["client_id"], "client_secret": creds["client_secret"]}  # fmt: skip
    response = await http.post("/oauth/token", data=data)
    response.raise_for_status()
    return str(response.json()["access_token"])


async def hand_written(creds: dict[str, Any], out: Path, _concurrency: int) -> None:
    import orjson

    async with httpx.AsyncClient(base_url=creds["api_url"], timeout=60) as http:
        headers = {"Authorization": f"OAuth2 {await _token(http, creds)}"}
        path = f"/item/app/{PROJECTS}/filter/"

        async def page(offset: int) -> bytes:
            body = {"limit": 500, "offset": offset, "sort_by": "item_id", "sort_desc": False}
            response = await http.post(path, json=body, headers=headers)
            response.raise_for_status()
            return response.content

        send, receive = anyio.create_memory_object_stream[list[Any]](1)

        async def fetcher() -> None:
            # Always one page in flight ahead of the one being written.
            async with send:
                offset = 0
                while True:
                    items = orjson.loads(await page(offset))["items"]
                    await send.send(items)
                    if len(items) < 500:
                        return
                    offset += 500

        with open(out, "wb") as f:  # noqa: ASYNC230 - the blocking write a hand-written loop does
            async with anyio.create_task_group() as tg:
                tg.start_soon(fetcher)
                async with receive:
                    async for items in receive:
                        f.write(b"".join([orjson.dumps(i) + b"\n" for i in items]))


async def with_podiokit(creds: dict[str, Any], out: Path, concurrency: int) -> None:
    from podiokit import Podio
    from podiokit.export import export

    app = creds["apps"][0]
    async with Podio(creds["client_id"], creds["client_secret"], api_url=creds["api_url"]) as p:
        await export(p, [PROJECTS], out, app_tokens={app["app_id"]: app["app_token"]},
                     concurrency=concurrency)  # fmt: skip


SIDES = {"podiokit": with_podiokit, "hand-written": hand_written}


def child(side: str, creds_json: str, out: str, concurrency: int) -> None:
    creds = json.loads(creds_json)
    started = time.perf_counter()
    anyio.run(SIDES[side], creds, Path(out), concurrency)
    wall = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "rss_mb": rss_mb, "cpu": time.process_time()}))


# -- copy, don't parse --------------------------------------------------------------------


def parse_costs(rounds: int = 15) -> None:
    import orjson

    from podiokit._bulk._fetch import _page_decoder
    from podiokit.export._sinks import JsonlSink
    from podiokit.testing import Emulator

    emu = Emulator(items=500)

    async def one_page() -> bytes:
        creds = emu.credentials
        transport = httpx.ASGITransport(app=emu.app)
        async with httpx.AsyncClient(transport=transport, base_url=creds["api_url"]) as http:
            headers = {"Authorization": f"OAuth2 {await _token(http, creds)}"}
            body = {"limit": 500, "sort_by": "app_item_id", "sort_desc": False}
            response = await http.post(f"/item/app/{PROJECTS}/filter/", json=body, headers=headers)
            return response.content

    page = anyio.run(one_page)
    sink = JsonlSink()

    def sliced() -> bytes:
        return sink.encode(PROJECTS, _page_decoder.decode(page).items)

    def reparsed() -> bytes:
        return b"".join([orjson.dumps(i) + b"\n" for i in orjson.loads(page)["items"]])

    assert [orjson.loads(x) for x in sliced().splitlines()] == orjson.loads(page)["items"]
    print(f"one page: {len(page) / 1e6:.2f} MB, 500 items; CPU ms per page, median of {rounds}")
    for name, fn in (("msgspec.Raw slices (podiokit)", sliced), ("orjson loads + dumps", reparsed)):
        times = []
        for _ in range(rounds):
            started = time.process_time()
            fn()
            times.append((time.process_time() - started) * 1000)
        print(f"  {name}: {statistics.median(times):.1f} ms (min {min(times):.1f})")


# -- the driver ------------------------------------------------------------------------


def _pin(cpu: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(cpu)]
    return []


def _start_emulator(items: int) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    argv = [*_pin(1), sys.executable, "-m", "podiokit.cli", "emulator", "--port", "0",
            "--items", str(items), "--rate-limit", "10000000"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("the emulator did not start")
    return proc, json.loads(line)


def _filter_calls(creds: dict[str, Any]) -> int:
    stats = httpx.get(creds["control_url"] + "/stats").json()
    return int(stats["routes"].get(FILTER_ROUTE, 0))


def _check(out: Path, items: int) -> None:
    ids = [json.loads(line)["item_id"] for line in out.open("rb")]
    if len(ids) != items or len(set(ids)) != items:
        raise SystemExit(f"{out}: {len(ids)} lines, {len(set(ids))} distinct, expected {items}")


def _run(side: str, creds: dict[str, Any], out: Path, concurrency: int) -> dict[str, Any]:
    before = _filter_calls(creds)
    argv = [*_pin(0), sys.executable, __file__, "--child", side, json.dumps(creds), str(out),
            str(concurrency)]  # fmt: skip
    result = json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)
    result["calls"] = _filter_calls(creds) - before
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, nargs="+", default=[10_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--parse", action="store_true", help="time page slicing vs orjson")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.parse:
        parse_costs()
        return
    if args.child:
        side, creds_json, out, concurrency = args.child
        child(side, creds_json, out, int(concurrency))
        return
    rows = []
    for items in args.items:
        proc, creds = _start_emulator(items)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "export.jsonl"
                _run("hand-written", creds, out, args.concurrency)  # warm the emulator's caches
                results: dict[str, list[dict[str, Any]]] = {s: [] for s in SIDES}
                for _ in range(args.rounds):
                    for side in SIDES:
                        results[side].append(_run(side, creds, out, args.concurrency))
                        _check(out, items)
                        out.unlink()
        finally:
            proc.terminate()
            proc.wait()
        base = statistics.median(r["wall"] for r in results["hand-written"])
        for side, runs in results.items():
            walls = [r["wall"] for r in runs]
            wall = statistics.median(walls)
            rows.append(
                f"| {items:,} | {side} | {wall:.2f} ({min(walls):.2f}-{max(walls):.2f}) "
                f"| {wall / base:.2f}x | {statistics.median(r['cpu'] for r in runs):.2f} "
                f"| {statistics.median(r['calls'] for r in runs):.0f} "
                f"| {statistics.median(r['rss_mb'] for r in runs):.0f} |"
            )
    print(f"concurrency (podiokit) {args.concurrency}, {args.rounds} rounds")
    print("| items | exporter | wall s median (min-max) | vs hand-written | client CPU s "
          "| filter calls | peak RSS MB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
