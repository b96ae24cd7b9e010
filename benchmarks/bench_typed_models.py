"""Typed iteration: `podio.items.filter(app_id, model=Project)` against the built-in `Item`.

One of the emulator's demo apps (`--app projects` or `clients`; `--items` items, filter
pages of 500 in the form Podio's filter sends) is saved once; a server in its own process
(pinned to another core when the machine has one, so its CPU is never counted) answers each
filter request with the page for its offset. `Project` (or `Client`) is what `podiokit
typegen` writes for that app.

For each round it walks every item twice, interleaved in a shuffled order:

* `item`: `async for item in podio.items.filter(app_id)` (the lossless `Item` model),
* `typed`: `async for p in podio.items.filter(app_id, model=Project)`,

and measures the client CPU per item (time.process_time of this process). The first round is
a warm-up and is discarded. Reported: the median CPU µs per item of each, and the median over
the rounds of the typed/item ratio (rounds are paired, so a ratio cancels the machine's slow
drifts). It also times the decoding alone (no HTTP: `parse_as(ItemFilterResult)` against
`_typed.read_page` on the same page bytes). Exits 1 when the typed/item ratio exceeds
`--target` (1.2x).

Usage: `python benchmarks/bench_typed_models.py [--app projects|clients] [--items 2000]
[--rounds 15] [--target 1.2]`
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import httpx

HERE = Path(__file__).parent
PAGE = 500
APPS = {"projects": (3002, "Project"), "clients": (3001, "Client")}
APP_ID, CLASS = APPS["projects"]


# --------------------------------------------------------------------------- the server
def serve(port: int, directory: Path) -> None:
    """Answer POST /item/app/{id}/filter/ with the saved page for the body's offset."""
    import uvicorn

    pages = sorted(directory.glob("page-*.json"))
    bodies = [p.read_bytes() for p in pages]
    headers = [(b"content-type", b"application/json; charset=utf-8"),
               (b"x-rate-limit-limit", b"1000000"), (b"x-rate-limit-remaining", b"999999")]  # fmt: skip

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        offset = json.loads(b"".join(chunks) or b"{}").get("offset") or 0
        index = offset // PAGE
        body = bodies[index] if index < len(bodies) else bodies[-1]
        length = (b"content-length", str(len(body)).encode())
        await send({"type": "http.response.start", "status": 200, "headers": [*headers, length]})
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --------------------------------------------------------------------------- the data
async def _save(directory: Path, items: int) -> list[dict[str, Any]]:
    """The emulator's Projects app: its pages and both apps' definitions."""
    from podiokit import Podio
    from podiokit.testing import Emulator

    emu = Emulator(items=items)
    creds = emu.credentials
    transport = httpx.ASGITransport(app=emu.app)
    async with (
        httpx.AsyncClient(transport=transport, base_url=creds["api_url"]) as http,
        Podio(creds["client_id"], creds["client_secret"], api_url=creds["api_url"],
              http_client=http) as podio,
    ):  # fmt: skip
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
        definitions = [await podio.request("GET", f"/app/{a}") for a, _ in APPS.values()]
        for n, offset in enumerate(range(0, items, PAGE)):
            response = await http.post(
                f"/item/app/{APP_ID}/filter/",
                json={"limit": PAGE, "offset": offset},
                headers={"Authorization": f"OAuth2 {podio.token.access_token}"},  # type: ignore[union-attr]
            )
            (directory / f"page-{n:04d}.json").write_bytes(response.content)
    return definitions


def _model(directory: Path, definitions: list[dict[str, Any]]) -> Any:
    from podiokit._typegen import generate

    path = directory / "bench_projects.py"
    path.write_text(generate(definitions), encoding="utf-8")
    sys.path.insert(0, str(directory))
    import bench_projects  # type: ignore[import-not-found]

    return getattr(bench_projects, CLASS)


# --------------------------------------------------------------------------- measuring
def _pin() -> bool:
    return (os.cpu_count() or 1) > 1 and hasattr(os, "sched_setaffinity")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(port: int, directory: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, __file__, "--serve", str(port), str(directory)]
    proc = subprocess.Popen(command)
    if _pin():
        os.sched_setaffinity(proc.pid, {1})
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("benchmark server did not start")


async def _walk(podio: Any, model: Any) -> tuple[float, int]:
    cpu = time.process_time()
    count = 0
    if model is None:
        async for _ in podio.items.filter(APP_ID):
            count += 1
    else:
        async for _ in podio.items.filter(APP_ID, model=model):
            count += 1
    return (time.process_time() - cpu) / count * 1e6, count


async def _run(url: str, model: Any, rounds: int, items: int) -> dict[str, list[float]]:
    from podiokit import OAuthToken, Podio

    token = OAuthToken(
        access_token="bench", expires_at=datetime.now(timezone.utc) + timedelta(hours=8)
    )
    results: dict[str, list[float]] = {"item": [], "typed": []}
    rng = random.Random(8)
    async with Podio("bench", "bench", api_url=url) as podio:
        await podio.set_token(token)
        # The typed walk must see the same items the Item walk sees.
        plain = [i.item_id async for i in podio.items.filter(APP_ID)]
        typed = [p.item_id async for p in podio.items.filter(APP_ID, model=model)]
        assert plain == typed and len(plain) == items, "the two walks differ"
        for round_ in range(rounds + 1):
            order = ["item", "typed"]
            rng.shuffle(order)
            for variant in order:
                cpu, count = await _walk(podio, model if variant == "typed" else None)
                assert count == items
                if round_:  # round 0 warms caches, pools and the allocator
                    results[variant].append(cpu)
    return results


def _decode_only(directory: Path, model: Any, repeat: int) -> tuple[float, float]:
    """µs per item to decode a page: as `ItemFilterResult`, and as `model`."""
    from podiokit._resource import parse_as
    from podiokit._typed import read_page
    from podiokit.models import ItemFilterResult

    body = sorted(directory.glob("page-*.json"))[0].read_bytes()
    response = httpx.Response(200, content=body)
    out = []
    for decode in (
        lambda: parse_as(response, ItemFilterResult),
        lambda: read_page(response, model),
    ):
        decode()
        best = []
        for _ in range(repeat):
            cpu = time.process_time()
            decode()
            best.append(time.process_time() - cpu)
        out.append(statistics.median(best) / PAGE * 1e6)
    return out[0], out[1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--app", choices=sorted(APPS), default="projects", help="demo app")
    parser.add_argument("--items", type=int, default=2000, help="items in the app (pages of 500)")
    parser.add_argument("--rounds", type=int, default=15, help="measured rounds (after 1 warm-up)")
    parser.add_argument("--target", type=float, default=1.2, help="max typed/item CPU ratio")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), Path(args.serve[1]))
        return 0
    global APP_ID, CLASS
    APP_ID, CLASS = APPS[args.app]
    if _pin():
        os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        definitions = anyio.run(_save, directory, args.items)
        model = _model(directory, definitions)
        page_bytes = sorted(directory.glob("page-*.json"))[0].stat().st_size
        port = _free_port()
        server = _start(port, directory)
        try:
            results = anyio.run(_run, f"http://127.0.0.1:{port}", model, args.rounds, args.items)
        finally:
            server.terminate()
            server.wait()
        item_decode, typed_decode = _decode_only(directory, model, 7)
    item, typed = results["item"], results["typed"]
    ratios = sorted(t / i for t, i in zip(typed, item, strict=True))
    ratio = statistics.median(ratios)
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratio] * 3
    print(
        f"{args.items} items of the emulator's {args.app} app, pages of {PAGE} "
        f"({page_bytes:,} bytes a page); client CPU per item, median of {args.rounds} rounds"
    )
    label = f"typed (model={CLASS})"
    print(f"  {'item (Item)':24} {statistics.median(item):8.1f} µs/item")
    print(
        f"  {label:24} {statistics.median(typed):8.1f} µs/item   "
        f"{ratio:.2f}x item ({quartiles[0]:.2f}-{quartiles[2]:.2f})"
    )
    print(
        f"  decoding alone: ItemFilterResult {item_decode:.1f} µs/item, "
        f"{CLASS} {typed_decode:.1f} µs/item ({typed_decode / item_decode:.2f}x)"
    )
    failed = ratio > args.target
    print(f"target: typed iteration within {args.target:.2f}x Item: {'FAIL' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
