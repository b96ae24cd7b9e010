"""Mirror benchmark: the first (full) run against an export of the same app, incremental
runs, and the calls spent finding deleted items against the full listing.

The emulator runs as `podiokit emulator` in its own process (pinned to CPU 1 when there are
two; rate limit lifted); the exporter and the mirror run here (pinned to CPU 0), the mirror
into a fresh SQLite file, or into a fresh database made on the PostgreSQL server
`--db postgresql://...` names. For each size:

0. an export of the app to a JSONL file (`podiokit.export.export`): the reference;
1. full run: `mirror(podio, [Projects], db)` on an empty database; its wall time over the
   export's is the mirror/export ratio (goal: 3x at most);
2. 50 items edited through the API (PUT /item/{id}), then an incremental run;
3. a run with no change;
4. the issue's case: 50 edited, 30 created, 10 deleted, then an incremental run;
5. for each of `--deletions` (10, 100, 1000): that many items deleted at random, then an
   incremental run: the calls it spent finding them (counts of creation-day windows and
   listings of the windows that differ) against the full listing (the first run's pages).

Each run reports wall time, the calls the mirror counted and the calls the emulator
answered (they must agree). After the last run the mirror is checked against a fresh full
export: the same items, every `raw` identical byte for byte to the export's JSONL line.

Usage: `python benchmarks/bench_mirror.py [--items 20000 100000] [--edits 50]
[--deletions 10 100 1000] [--db postgresql://user@host/postgres]`
"""

from __future__ import annotations

import argparse
import json
import os
import random
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


COUNT = "GET /item/app/{app_id}/count"
FILTER = "POST /item/app/{app_id}/filter/"


async def _delete_at_random(podio: Any, db: str, n: int, rng: random.Random) -> None:
    """Delete `n` of the app's items, chosen at random among those the mirror holds."""
    held = sorted(await anyio.to_thread.run_sync(_stored_ids, db))
    for item_id in rng.sample(held, n):
        await podio.request("DELETE", f"/item/{item_id}")


async def _export_once(podio: Any) -> dict[str, float]:
    from podiokit.export import export

    with tempfile.TemporaryDirectory() as tmp:
        cpu, started = time.process_time(), time.perf_counter()
        await export(podio, [PROJECTS], Path(tmp) / "reference.jsonl")
        return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu}


async def _bench(
    creds: dict[str, Any], db: str, items: int, edits: int, deletions: list[int]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from podiokit import Podio
    from podiokit.mirror import mirror

    token = {a["app_id"]: a["app_token"] for a in creds["apps"]}[PROJECTS]
    rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {"items": items, "deletions": []}
    async with Podio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], timeout=120
    ) as podio:
        await podio.authenticate_with_app(PROJECTS, token)

        async def run(name: str) -> dict[str, Any]:
            before = _routes(creds)
            cpu, started = time.process_time(), time.perf_counter()
            result = await mirror(podio, [PROJECTS], db)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            after = _routes(creds)
            made = {r: n - before.get(r, 0) for r, n in after.items() if n != before.get(r, 0)}
            app = result.apps[PROJECTS]
            if app.calls != sum(made.values()):
                raise SystemExit(
                    f"{name}: the mirror counted {app.calls}, the emulator {sum(made.values())}:"
                    f" {made}"
                )
            row = {"items": items, "run": name, "mode": app.mode, "wall": wall, "cpu": cpu,
                   "calls": app.calls, "created": app.created, "updated": app.updated,
                   "deleted": app.deleted, "made": made, "listed": app.listed,
                   "search_calls": app.search_calls}  # fmt: skip
            rows.append(row)
            return row

        summary["export"] = await _export_once(podio)
        full = await run("full")
        summary["full"] = full
        await _change(podio, edits, 0, 0)
        await run(f"incremental, {edits} edits")
        await run("no change")
        await _change(podio, edits, 30, 10)
        await run(f"incremental, {edits} edits, 30 created, 10 deleted")
        # The full listing reads the first run's ranges again (less GET /app and the cursor).
        listing = full["made"].get(FILTER, 0) - 1
        rng = random.Random(30)
        for n in deletions:
            await _delete_at_random(podio, db, n, rng)
            row = await run(f"{n} deleted at random")
            if row["deleted"] != n:
                raise SystemExit(f"{n} deleted, the mirror found {row['deleted']}")
            made = row["made"]
            summary["deletions"].append({
                "deleted": n, "listed": row["listed"], "search": row["search_calls"],
                # The run's own count and its one page of edits are not the search's.
                "counts": made.get(COUNT, 0) - 1, "listings": made.get(FILTER, 0) - 1,
                "full_listing": listing,
            })  # fmt: skip
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
    return rows, summary


def _stored_ids(db: str) -> list[int]:
    from sqlalchemy import select

    from podiokit.mirror._engine import open_engine
    from podiokit.mirror._options import DEFAULT_PREFIX
    from podiokit.mirror._schema import Tables

    items = Tables.named(DEFAULT_PREFIX).items
    engine, _ = open_engine(db)
    try:
        with engine.connect() as conn:
            query = select(items.c.item_id).where(items.c.app_id == PROJECTS)
            return [int(i) for (i,) in conn.execute(query)]
    finally:
        engine.dispose()


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
        "--deletions", type=int, nargs="*", default=[10, 100, 1000],
        help="items deleted at random before each of the last runs",
    )  # fmt: skip
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
    summaries: list[dict[str, Any]] = []
    notes: list[str] = []
    for items in args.items:
        proc, creds = _start_emulator(items)
        try:
            with tempfile.TemporaryDirectory() as tmp, _database(args.db, tmp) as db:
                found, summary = anyio.run(_bench, creds, db, items, args.edits, args.deletions)
                rows += found
                summaries.append(summary)
                if not args.db:
                    size = Path(tmp, "mirror.db").stat().st_size
                    notes.append(f"{items:,} items: SQLite file {size / 1e6:.0f} MB")
        finally:
            proc.terminate()
            proc.wait()
    print(f"database: {'PostgreSQL' if args.db else 'SQLite (a file in a temporary directory)'}")
    print("\nThe full mirror against an export of the same app (wall; CPU of this process):")
    print("| items | export s | full mirror s | mirror/export | export CPU s | mirror CPU s |")
    print("|---|---|---|---|---|---|")
    for s in summaries:
        e, m = s["export"], s["full"]
        print(f"| {s['items']:,} | {e['wall']:.2f} | {m['wall']:.2f} | "
              f"{m['wall'] / e['wall']:.2f}x | {e['cpu']:.2f} | {m['cpu']:.2f} |")  # fmt: skip
    print("\nEvery run:")
    print("| items | run | wall s | API calls | created | updated | deleted |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['items']:,} | {r['run']} | {r['wall']:.2f} | {r['calls']} | {r['created']} "
              f"| {r['updated']} | {r['deleted']} |")  # fmt: skip
    if any(s["deletions"] for s in summaries):
        print("\nFinding deleted items: the search's calls against the full listing's:")
        print("| items | deleted | counts | listing calls | search calls | full listing calls |")
        print("|---|---|---|---|---|---|")
        for s in summaries:
            for d in s["deletions"]:
                how = (f"{d['search']} then the full listing" if d["listed"]
                       else str(d["search"]))  # fmt: skip
                print(f"| {s['items']:,} | {d['deleted']} | {d['counts']} | {d['listings']} | "
                      f"{how} | {d['full_listing']} |")  # fmt: skip
    checked = [r for r in rows if "checked" in r]
    for r in checked:
        notes.append(f"{r['items']:,} items: after the last run, all {r['checked']:,} raw "
                     "values identical to a fresh full export")  # fmt: skip
    print("\n".join(notes))


if __name__ == "__main__":
    main()
