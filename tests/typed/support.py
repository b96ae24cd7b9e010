"""Shared by the typed-model tests: app definitions (the emulator's demo apps and the real
ones in tests/fixtures/samples), generated modules imported from a directory, and a client
signed in to an emulator."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx

from podiokit import Podio
from podiokit._typegen import generate
from podiokit.testing import Emulator

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
PROJECTS, CLIENTS = 3002, 3001
#: The real app of samples/apps__get_app__2.json (items__get_item_basic__1 is one of its items).
TESTING_APP = 6686618
#: The items of samples/items__filter_items__1.json carry no app: one is made up for them.
FILTER_SAMPLE_APP = 1
ITEM_SAMPLES = (
    "items__get_item__1.json",
    "items__get_item__2.json",
    "items__get_item__3.json",
    "items__get_item__4.json",
    "items__get_item__5.json",
    "items__get_item_basic__1.json",
)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def sample_items() -> list[tuple[str, dict[str, Any]]]:
    """Every real item in the samples: (where it comes from, its JSON)."""
    out = [(name, sample(name)) for name in ITEM_SAMPLES]
    for n, item in enumerate(sample("items__filter_items__1.json")["items"]):
        out.append((f"items__filter_items__1.json[{n}]", item))
    return out


def item_app_id(item: dict[str, Any]) -> int:
    app = item.get("app")
    return app["app_id"] if isinstance(app, dict) else FILTER_SAMPLE_APP


def definitions_from_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """App definitions made of the field definitions real items carry (each item field has
    its field's `config`), one per app: the union of the fields its items show.

    One sample (items__get_item__5) shows three fields under one field id; the first is kept,
    and the reader leaves the others, of other types, in the item's JSON."""
    apps: dict[int, dict[str, Any]] = {}
    for item in items:
        app_id = item_app_id(item)
        app = item.get("app") or {"config": {"name": "Filtered", "item_name": "Filtered"}}
        entry = apps.setdefault(
            app_id,
            {
                "app_id": app_id,
                "current_revision": 0,
                "config": {
                    "name": app.get("config", {}).get("name") or app.get("name"),
                    "item_name": app.get("config", {}).get("item_name") or app.get("item_name"),
                },
                "fields": [],
            },
        )
        entry["current_revision"] = max(entry["current_revision"], app.get("current_revision", 0))
        known = {f["field_id"] for f in entry["fields"]}
        for field in item["fields"]:
            if field["field_id"] not in known:
                known.add(field["field_id"])
                entry["fields"].append({k: v for k, v in field.items() if k != "values"})
    return list(apps.values())


def sample_definitions() -> list[dict[str, Any]]:
    """The real app definitions of the samples: apps__get_app__2 (app 6686618) and the apps
    of the sample items, from the field definitions they carry."""
    real = sample("apps__get_app__2.json")
    derived = [
        d
        for d in definitions_from_items([item for _, item in sample_items()])
        if d["app_id"] != real["app_id"]
    ]
    return [real, *derived]


def older_testing_app() -> dict[str, Any]:
    """App 6686618 as an earlier GET /app showed it: samples apps__get_app_field_*__1 are its
    fields then (the question field was a question, the date field had no time setting)."""
    real = sample("apps__get_app__2.json")
    order = {f["field_id"]: n for n, f in enumerate(real["fields"])}
    fields = [sample(p.name) for p in sorted(SAMPLES.glob("apps__get_app_field_*__1.json"))]
    fields.sort(key=lambda f: order[f["field_id"]])
    return {**real, "current_revision": 3, "fields": fields}


def demo_definitions() -> list[dict[str, Any]]:
    """GET /app of the emulator's demo apps, Projects then Clients."""

    async def read() -> list[dict[str, Any]]:
        emu = Emulator(items=0)
        async with signed_in(emu) as podio:
            return [await podio.request("GET", f"/app/{a}") for a in (PROJECTS, CLIENTS)]

    return anyio.run(read)


def build_module(definitions: list[dict[str, Any]], directory: Path, name: str) -> ModuleType:
    """Generate a module for `definitions` into `directory`, import it as `name` (kept in
    sys.modules: its classes resolve their references through it)."""
    path = directory / f"{name}.py"
    path.write_text(generate(definitions), encoding="utf-8")
    return import_path(path, name)


def import_path(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@asynccontextmanager
async def signed_in(emu: Emulator, *, app_id: int | None = None) -> AsyncIterator[Podio]:
    """A client of `emu`, as the demo user (or as the app `app_id`, with its token)."""
    creds = emu.credentials
    transport = httpx.ASGITransport(app=emu.app)
    async with (
        httpx.AsyncClient(transport=transport, base_url=creds["api_url"]) as http,
        Podio(
            creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
        ) as podio,
    ):
        if app_id is None:
            await podio.authenticate_with_credentials(creds["username"], creds["password"])
        else:
            token = next(a["app_token"] for a in creds["apps"] if a["app_id"] == app_id)
            await podio.authenticate_with_app(app_id, token)
        yield podio
