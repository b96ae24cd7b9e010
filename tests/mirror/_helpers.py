"""Helpers for the mirror run tests: a client on the in-process emulator, changes made through
the API, and what the mirror holds against a fresh full export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from podiokit import Podio
from podiokit.export import export
from podiokit.mirror._engine import open_engine
from podiokit.mirror._options import DEFAULT_PREFIX
from podiokit.mirror._schema import Tables
from podiokit.testing import Emulator

PROJECTS = 3002
CLIENTS = 3001
FILTER = "POST /item/app/{app_id}/filter/"
COUNT = "GET /item/app/{app_id}/count"
GET_APP = "GET /app/{app_id}"


def make_podio(emu: Emulator, **options: Any) -> tuple[Podio, httpx.AsyncClient]:
    creds = emu.credentials
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
    podio = Podio(
        creds["client_id"],
        creds["client_secret"],
        api_url=creds["api_url"],
        http_client=http,
        **options,
    )
    return podio, http


def app_tokens(emu: Emulator) -> dict[int, str]:
    return {a["app_id"]: a["app_token"] for a in emu.credentials["apps"]}


def routes(emu: Emulator) -> dict[str, int]:
    """Requests the emulator answered per route, OAuth left out (the API calls)."""
    counted: dict[str, int] = emu.stats()["routes"]
    return {k: v for k, v in counted.items() if not k.startswith("POST /oauth")}


def calls_since(emu: Emulator, before: dict[str, int]) -> dict[str, int]:
    now = routes(emu)
    return {k: now[k] - before.get(k, 0) for k in now if now[k] != before.get(k, 0)}


async def item_ids(podio: Podio, app_id: int, n: int) -> list[int]:
    """The first `n` item ids by app_item_id."""
    ids: list[int] = []
    while len(ids) < n:
        limit = min(500, n - len(ids))
        body = {"sort_by": "app_item_id", "sort_desc": False, "limit": limit, "offset": len(ids)}
        page = await podio.request("POST", f"/item/app/{app_id}/filter/", json=body)
        ids.extend(int(i["item_id"]) for i in page["items"])
        if len(page["items"]) < limit:
            break
    return ids


async def change(
    podio: Podio, app_id: int, *, update: int = 0, create: int = 0, delete: int = 0
) -> None:
    """Update the first `update` items, delete the next `delete`, create `create`, all
    through the API."""
    ids = await item_ids(podio, app_id, update + delete)
    for item_id in ids[:update]:
        body = {"fields": {"title": f"edited {item_id}"}}
        await podio.request("PUT", f"/item/{item_id}", json=body)
    for item_id in ids[update:]:
        await podio.request("DELETE", f"/item/{item_id}")
    for n in range(create):
        await podio.request("POST", f"/item/app/{app_id}/", json={"fields": {"title": f"new {n}"}})


def stored(db_url: str, app_id: int, prefix: str = DEFAULT_PREFIX) -> dict[int, bytes]:
    """item_id -> `<prefix>items.raw` as the mirror holds it."""
    items = Tables.named(prefix).items
    engine, _ = open_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(items.c.item_id, items.c.raw).where(items.c.app_id == app_id)
            )
            return {int(i): str(raw).encode() for i, raw in rows}
    finally:
        engine.dispose()


async def exported(podio: Podio, app_id: int, tmp_path: Path) -> dict[int, bytes]:
    """item_id -> the JSONL line a fresh full export writes for it."""
    import msgspec

    out = tmp_path / f"fresh-{app_id}.jsonl"
    out.unlink(missing_ok=True)
    await export(podio, [app_id], out)
    lines = out.read_bytes().splitlines()
    return {int(msgspec.json.decode(line)["item_id"]): line for line in lines}


async def assert_exact(podio: Podio, db_url: str, app_id: int, tmp_path: Path) -> None:
    """The mirror holds exactly the items a fresh export writes, each `raw` byte for byte
    the exporter's line."""
    fresh = await exported(podio, app_id, tmp_path)
    mine = stored(db_url, app_id)
    assert set(mine) == set(fresh), (
        f"missing {sorted(set(fresh) - set(mine))[:5]}, extra {sorted(set(mine) - set(fresh))[:5]}"
    )
    different = [i for i in fresh if mine[i] != fresh[i]]
    assert not different, f"{len(different)} items differ, e.g. {different[:5]}"
