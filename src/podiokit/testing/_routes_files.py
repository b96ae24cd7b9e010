"""Files as Podio lists them (§6; samples/files__get_files__1): GET one, list per app/space."""

from __future__ import annotations

from typing import Any

from ._common import EPOCH, JSON, fmt_dt, via
from ._errors import ApiError
from ._router import Ctx, Route
from ._state import Item, World
from ._values import item_mini

FILE_RIGHTS = ["download", "view", "delete", "update"]


def _holders(world: World, app_ids: list[int]) -> dict[int, Item]:
    """file_id -> the first item (in creation order) whose image field holds it."""
    out: dict[int, Item] = {}
    for app_id in app_ids:
        app = world.apps[app_id]
        images = [f.field_id for f in app.fields if f.type == "image"]
        for item_id in app.item_ids:
            item = world.items[item_id]
            for field_id in images:
                for entry in item.values.get(field_id, ()):
                    out.setdefault(entry["value"]["file_id"], item)
    return out


def _item_data(world: World, item: Item) -> JSON:
    mini = item_mini(world, item)
    del mini["space"], mini["files"]
    app = world.apps[item.app_id]
    first = next((f for f in app.fields if f.field_id in item.values and f.type != "text"), None)
    excerpt = None
    if first is not None:
        value = item.values[first.field_id][0].get("value")
        text = value.get("text") or value.get("title") or value.get("name") if isinstance(
            value, dict) else value  # fmt: skip
        excerpt = {"label": first.label, "text": str(text)}
    return {**mini, "excerpt": excerpt}


def _context(world: World, item: Item | None) -> JSON | None:
    if item is None:
        return None
    return {
        "type": "item",
        "id": item.item_id,
        "type_name": "PodioItem",
        "title": item.title,
        "link": world.item_link(item),
        "created_on": fmt_dt(item.created_ts),
        "created_by": item.created_by,
        "created_via": via(),
        "data": _item_data(world, item),
    }


def file_full(world: World, mini: JSON, holder: Item | None) -> JSON:
    by = holder.created_by if holder else world.users[world.demo_user_id].byline()
    created = holder.created_ts if holder else EPOCH
    file_id = mini["file_id"]
    return {
        **mini,
        "context": _context(world, holder),
        "created_on": fmt_dt(created),
        "created_by": by,
        "created_via": via(),
        "replaces": [],
        "rights": FILE_RIGHTS,
        "push": {"timestamp": int(created), "expires_in": 21600, "channel": f"/file/{file_id}",
                 "signature": f"{file_id:040x}"},
        "presence": None,
    }  # fmt: skip


def _listing(ctx: Ctx, app_ids: list[int]) -> list[JSON]:
    world = ctx.world
    holders = _holders(world, app_ids)
    ids = sorted(holders, reverse=True)  # newest first, as Podio lists
    offset, limit = ctx.int_query("offset", 0), ctx.int_query("limit", 20)
    return [file_full(world, world.files[i], holders[i]) for i in ids[offset : offset + limit]]


async def get_file(ctx: Ctx) -> Any:
    file_id = ctx.int_param("file_id")
    mini = ctx.world.files.get(file_id)
    if mini is None:
        raise ApiError(404, "not_found", f"Object not found: file {file_id}")
    holder = _holders(ctx.world, list(ctx.world.apps)).get(file_id)
    return file_full(ctx.world, mini, holder)


async def get_app_files(ctx: Ctx) -> Any:
    app = ctx.app(ctx.int_param("app_id"))
    return _listing(ctx, [app.app_id])


async def get_space_files(ctx: Ctx) -> Any:
    space_id = ctx.int_param("space_id")
    if space_id not in ctx.world.spaces:
        raise ApiError(404, "not_found", f"Object not found: space {space_id}")
    apps = [a.app_id for a in ctx.world.apps.values() if a.space_id == space_id]
    return _listing(ctx, apps)


ROUTES = [
    Route("GET", "/file/app/{app_id}/", get_app_files),
    Route("GET", "/file/space/{space_id}/", get_space_files),
    Route("GET", "/file/{file_id}", get_file),
]
