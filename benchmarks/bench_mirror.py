"""Mirror benchmark: the first (full) run and an incremental run after 50 edits.

The emulator runs as `podiokit emulator` in its own process (pinned to CPU 1 when there are
two; rate limit lifted); the mirror runs here (pinned to CPU 0) into a fresh SQLite file, or into a fresh database
made on the PostgreSQL server `--db postgresql://...` names. For each size:

1. full run: `mirror(podio, [Projects], db)` on an empty database;
2. 50 items edited through the API (PUT /item/{id}), then an incremental run;
3. a run with no change;
4. the issue's case: 50 edited, 30 created, 10 deleted, then an incremental run (the
   counts disagree, so the ids are listed).

Each run reports wall time, the calls the mirror counted and the calls the emulator
answered (they must agree). After the last run the mirror is checked against a fresh full
export: the same items, every `raw` identical byte for byte to the export's JSONL line.

Usage: `python benchmarks/bench_mirror.py [--items 20000 100000] [--edits 50]
[--db postgresql://user@host/postgres]`
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx

PROJECTS = 3002


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


def _routes(creds: dict[str, Any]) -> dict[str, int]:
    stats = httpx.get(creds["control_url"] + "/stats").json()
    skip = ("POST /oauth", "GET /_emulator", "POST /_emulator")
    return {r: int(n) for r, n in stats["routes"].items() if not r.startswith(skip)}


def _api_calls(creds: dict[str, Any]) -> int:
    """API requests the emulator answered (OAuth and its control routes left out)."""
    return sum(_routes(creds).values())


async def _change(podio: Any, edits: int, creates: int, deletes: int) -> None:
    """Edit the first `edits` items, delete the next `deletes`, create `creates`."""
    body = {"sort_by": "app_item_id", "sort_desc": False, "limit": edits + deletes}
    page = await podio.request("POST", f"/item/app/{PROJECTS}/filter/", json=body)
    ids = [int(i["item_id"]) for i in page["items"]]
    for item_id in ids[:edits]:
        fields = {"title": f"edited {item_id} at {time.time():.3f}"}
        await podio.request("PUT", f"/item/{item_id}", json={"fields": fields})
    for item_id in ids[edits:]:
        await podio.request("DELETE", f"/item/{item_id}")
    for n in range(creates):
        await podio.request(
            "POST", f"/item/app/{PROJECTS}/", json={"fields": {"title": f"new {n}"}}
        )


async def _bench(creds: dict[str, Any], db: str, items: int, edits: int) -> list[dict[str, Any]]:
    from podiokit import Podio
    from podiokit.mirror import mirror

    token = {a["app_id"]: a["app_token"] for a in creds["apps"]}[PROJECTS]
    rows: list[dict[str, Any]] = []
    async with Podio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], timeout=120
    ) as podio:
        await podio.authenticate_with_app(PROJECTS, token)

        async def run(name: str) -> None:
            before = _api_calls(creds)
            started = time.perf_counter()
            result = await mirror(podio, [PROJECTS], db)
            wall = time.perf_counter() - started
            answered = _api_calls(creds) - before
            app = result.apps[PROJECTS]
            if app.calls != answered:
                raise SystemExit(
                    f"{name}: the mirror counted {app.calls}, the emulator {answered}: "
                    f"{_routes(creds)}"
                )
            rows.append({"items": items, "run": name, "mode": app.mode, "wall": wall,
                         "calls": app.calls, "created": app.created, "updated": app.updated,
                         "deleted": app.deleted})  # fmt: skip

        await run("full")
        await _change(podio, edits, 0, 0)
        await run(f"incremental, {edits} edits")
        await run("no change")
        await _change(podio, edits, 30, 10)
        await run(f"incremental, {edits} edits, 30 created, 10 deleted")
        # Check: the mirror equals a fresh full export, every `raw` byte for byte.
        held = await anyio.to_thread.run_sync(_stored, db)
        fresh = await _exported(podio)
        if held != fresh:
            missing, extra = fresh.keys() - held.keys(), held.keys() - fresh.keys()
            differ = [i for i in fresh.keys() & held.keys() if fresh[i] != held[i]]
            raise SystemExit(
                f"the mirror differs from a fresh export: {len(missing)} missing, "
                f"{len(extra)} extra, {len(differ)} with other bytes"
            )
        rows[-1]["checked"] = len(held)
    return rows


def _stored(db: str) -> dict[int, bytes]:
    """item_id -> the mirror's `raw`, as bytes."""
    from sqlalchemy import select

    from podiokit.mirror._engine import open_engine
    from podiokit.mirror._options import DEFAULT_PREFIX
    from podiokit.mirror._schema import Tables

    items = Tables.named(DEFAULT_PREFIX).items
    engine, _ = open_engine(db)
    try:
        with engine.connect() as conn:
            query = select(items.c.item_id, items.c.raw).where(items.c.app_id == PROJECTS)
            return {int(i): raw.encode() for i, raw in conn.execute(query)}
    finally:
        engine.dispose()


async def _exported(podio: Any) -> dict[int, bytes]:
    """item_id -> the line a fresh full export writes for it."""
    import msgspec

    from podiokit.export import export

    class _Id(msgspec.Struct):
        item_id: int

    decode = msgspec.json.Decoder(_Id).decode
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fresh.jsonl"
        await export(podio, [PROJECTS], out)
        lines = out.read_bytes().splitlines()
    fresh = {decode(line).item_id: line for line in lines}
    if len(fresh) != len(lines):
        raise SystemExit("the fresh export wrote an item twice")
    return fresh


@contextmanager
def _database(server: str | None, tmp: str) -> Iterator[str]:
    """A fresh SQLite file in `tmp`, or a fresh database on the PostgreSQL `server` (dropped
    afterwards)."""
    if server is None:
        yield f"sqlite:///{Path(tmp) / 'mirror.db'}"
        return
    import psycopg

    name = f"bench_mirror_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, nargs="+", default=[20_000])
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument(
        "--db",
        default=None,
        help="a PostgreSQL server URL (a fresh database is made on it per size); "
        "default: a fresh SQLite file",
    )
    args = parser.parse_args()
    if _pin(0):
        os.sched_setaffinity(0, {0})
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for items in args.items:
        proc, creds = _start_emulator(items)
        try:
            with tempfile.TemporaryDirectory() as tmp, _database(args.db, tmp) as db:
                rows += anyio.run(_bench, creds, db, items, args.edits)
                if not args.db:
                    size = Path(tmp, "mirror.db").stat().st_size
                    notes.append(f"{items:,} items: SQLite file {size / 1e6:.0f} MB")
        finally:
            proc.terminate()
            proc.wait()
    print(f"database: {'PostgreSQL' if args.db else 'SQLite (a file in a temporary directory)'}")
    print("| items | run | wall s | API calls | created | updated | deleted |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['items']:,} | {r['run']} | {r['wall']:.2f} | {r['calls']} | {r['created']} "
              f"| {r['updated']} | {r['deleted']} |")  # fmt: skip
    checked = [r for r in rows if "checked" in r]
    for r in checked:
        notes.append(f"{r['items']:,} items: after the last run, all {r['checked']:,} raw "
                     "values identical to a fresh full export")  # fmt: skip
    print("\n".join(notes))


if __name__ == "__main__":
    main()
