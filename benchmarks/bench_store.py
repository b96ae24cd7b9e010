"""MirrorStore.write_page: ms per 500-item page of the emulator's Projects app, on SQLite
and on PostgreSQL.

One page (the emulator's `POST /item/app/3002/filter/`, 500 items, about 6.4 MB) is written
to a fresh database per round, then rewritten at a higher revision (the update path), then
sent again unchanged (every item skipped: the incremental run's overlap day). PostgreSQL is
a throwaway cluster with default durability (fsync on), unless `--postgres URL` is given.

Usage: `python benchmarks/bench_store.py [--rounds 7] [--dialect sqlite postgresql]`
Prints, per dialect and case: median wall ms per page (min-max), and the median CPU ms spent
in this process (decoding, converting, the driver), which the machine's load moves less.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import anyio
import httpx
import msgspec

from podiokit import Podio
from podiokit.mirror._store import MirrorStore
from podiokit.testing import Emulator

PROJECTS = 3002


class _RawPage(msgspec.Struct):
    items: list[msgspec.Raw]


async def fetch_page() -> tuple[dict[str, object], list[bytes]]:
    emu = Emulator(items=500)
    creds = emu.credentials
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
    podio = Podio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    )
    try:
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
        app = await podio.request("GET", f"/app/{PROJECTS}")
        assert podio.token is not None
        response = await http.post(
            f"/item/app/{PROJECTS}/filter/",
            json={"limit": 500, "sort_by": "app_item_id"},
            headers={"Authorization": f"OAuth2 {podio.token.access_token}"},
        )
        response.raise_for_status()
        items = [bytes(r) for r in msgspec.json.decode(response.content, type=_RawPage).items]
    finally:
        await podio.aclose()
        await http.aclose()
    return app, items


def bumped(items: list[bytes]) -> list[bytes]:
    # The same JSON one revision later (the bytes change as little as an edit would).
    return [re.sub(rb'"revision": ?0', b'"revision": 1', raw, count=1) for raw in items]


@contextlib.contextmanager
def databases(dialect: str, postgres: str | None) -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty database URLs."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield lambda: f"sqlite:///{tmp}/{uuid.uuid4().hex}.db"
        return
    import psycopg

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.mirror
    from tests.mirror.pgcluster import find_bindir, throwaway_postgres

    def fresh(server: str) -> Callable[[], str]:
        def make() -> str:
            name = f"b_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            return server.rsplit("/", 1)[0] + f"/{name}"

        return make

    if postgres:
        yield fresh(postgres)
        return
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed: pass --postgres URL")
    with throwaway_postgres(bindir, durable=True) as server:
        yield fresh(server)


def timed(call: Callable[[], int]) -> tuple[float, float, int]:
    """Wall ms, this process's CPU ms (the part the database server does not add), result."""
    start, cpu = time.perf_counter(), time.process_time()
    written = call()
    return (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--dialect", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--postgres", help="a server URL to create test databases on")
    args = parser.parse_args()
    app, items = anyio.run(fetch_page)
    newer = bumped(items)
    size = sum(len(r) for r in items) / 1e6
    print(f"page: {len(items)} Projects items, {size:.1f} MB")
    print(f"{'dialect':<11} {'case':<28} {'ms/page (median, min-max)':>28} {'client CPU':>10}")
    for dialect in args.dialect:
        times: dict[str, list[float]] = {"insert": [], "update": [], "skip": []}
        cpus: dict[str, list[float]] = {"insert": [], "update": [], "skip": []}
        with databases(dialect, args.postgres) as new_url:
            for _ in range(args.rounds):
                store = MirrorStore(new_url())
                try:
                    store.prepare_app(app)
                    for case, page, expected in (
                        ("insert", items, len(items)),
                        ("update", newer, len(items)),
                        ("skip", newer, 0),
                    ):
                        ms, cpu, written = timed(partial(store.write_page, PROJECTS, page))
                        assert written == expected, (case, written)
                        times[case].append(ms)
                        cpus[case].append(cpu)
                finally:
                    store.close()
        labels = {
            "insert": "new items (insert)",
            "update": "every item changed (upsert)",
            "skip": "no change (all skipped)",
        }
        for case, values in times.items():
            med = statistics.median(values)
            spread = f"{med:8.1f} ({min(values):.1f}-{max(values):.1f})"
            cpu = statistics.median(cpus[case])
            print(f"{dialect:<11} {labels[case]:<28} {spread:>28} {cpu:10.1f}")


if __name__ == "__main__":
    main()
