"""Items: create, get (by id, app_item_id, external_id), update with revisions, delete,
field values, revisions, count and filter."""

from __future__ import annotations

import re
from typing import Any

from . import _push, _uploads
from ._common import dumps
from ._count import count_index, query_filters
from ._errors import ApiError
from ._files import item_files
from ._filter import page_params
from ._hooks_delivery import changed_fields, item_event
from ._items import create_item, delete_item, update_item
from ._router import Ctx, Reply, Route
from ._state import Item, Revision


def _item(ctx: Ctx, item_id: int | None = None) -> Item:
    item_id = ctx.int_param("item_id") if item_id is None else item_id
    item = ctx.world.items.get(item_id)
    if item is None:
        raise ApiError(404, "not_found", f"Object not found: item {item_id}")
    ctx.check_app(ctx.world.apps[item.app_id])
    return item


def _full(ctx: Ctx, item: Item) -> Reply:
    return Reply(200, ctx.core.serializer.full(item))


async def get_item(ctx: Ctx) -> Reply:
    item = _item(ctx)
    if _wants_micro(ctx, "view(micro)"):
        return Reply(200, dumps(_micro(item)))
    return _full(ctx, item)


def _micro(item: Item) -> dict[str, Any]:
    # §4.1 (§11): the micro view carries these four and nothing else.
    return {"item_id": item.item_id, "app_item_id": item.app_item_id, "title": item.title,
            "revision": item.revision}  # fmt: skip


async def get_item_basic(ctx: Ctx) -> Reply:
    # The basic view also carries `date_election` (samples/items__get_item_basic__1).
    full = ctx.core.serializer.full(_item(ctx))
    return Reply(200, full[:-1] + b',"date_election":null}')


async def get_by_app_item_id(ctx: Ctx) -> Reply:
    app = ctx.app(ctx.int_param("app_id"))
    item_id = ctx.world.app_item_ids.get((app.app_id, ctx.int_param("app_item_id")))
    if item_id is None:
        raise ApiError(404, "not_found", "Object not found: item")
    return _full(ctx, _item(ctx, item_id))


async def get_by_external_id(ctx: Ctx) -> Reply:
    app = ctx.app(ctx.int_param("app_id"))
    item_id = ctx.world.external_ids.get((app.app_id, ctx.params["external_id"]))
    if item_id is None:
        raise ApiError(404, "not_found", "Object not found: item")
    return _full(ctx, _item(ctx, item_id))


async def create(ctx: Ctx) -> Any:
    app = ctx.app(ctx.int_param("app_id"))
    body = await ctx.json()
    files = _uploads.file_ids(ctx.world, body)
    item = create_item(ctx.world, app, body, ctx.byline())
    _uploads.attach_all(ctx.world, "item", item.item_id, files)
    item_event(ctx, "item.create", item, item.values)
    return {"item_id": item.item_id, "title": item.title, "app_item_id": item.app_item_id}


async def update(ctx: Ctx) -> Any:
    item = _item(ctx)
    _updated(ctx, item, await ctx.json())
    return {"revision": item.revision, "title": item.title}


async def delete(ctx: Ctx) -> Reply:
    item = _item(ctx)
    delete_item(ctx.world, item)
    item_event(ctx, "item.delete", item, item.values)
    _push.publish(ctx.core, "item", item.item_id, "delete", ctx.byline(), {})
    return Reply(204, b"", media_type=None)


def _updated(ctx: Ctx, item: Item, body: Any) -> None:
    before = item.values
    if update_item(ctx.world, item, body, ctx.byline()):  # no new revision: no hook
        item_event(ctx, "item.update", item, changed_fields(before, item.values))
        _push.publish(ctx.core, "item", item.item_id, "update", ctx.byline(),
                      {"revision": item.revision, "title": item.title})  # fmt: skip


async def get_values(ctx: Ctx) -> Any:
    return ctx.core.serializer.field_values(_item(ctx))


async def get_field_values(ctx: Ctx) -> Any:
    item = _item(ctx)
    field = ctx.world.apps[item.app_id].field(ctx.params["field"])
    if field is None:
        raise ApiError(404, "not_found", f"Object not found: field {ctx.params['field']}")
    return item.values.get(field.field_id, [])


async def update_field_values(ctx: Ctx) -> Any:
    item = _item(ctx)
    values = await ctx.json_any()
    _updated(ctx, item, {"fields": {ctx.params["field"]: values}})
    return {"revision": item.revision}


async def update_values(ctx: Ctx) -> Any:
    item = _item(ctx)
    _updated(ctx, item, {"fields": await ctx.json_any()})
    return {"revision": item.revision}


async def revisions(ctx: Ctx) -> Any:
    return [r.as_json() for r in _item(ctx).revisions]


def _revision(ctx: Ctx, item: Item, name: str) -> Revision:
    number = ctx.int_param(name)
    for rev in item.revisions:
        if rev.revision == number:
            return rev
    raise ApiError(404, "not_found", f"Object not found: item revision {number}")


async def get_revision(ctx: Ctx) -> Any:
    item = _item(ctx)
    return _revision(ctx, item, "revision").as_json()


async def revision_difference(ctx: Ctx) -> Any:
    """ItemDiff per changed field: {field_id, type, external_id, label, config, from, to}
    (podio-php PodioItemDiff, podio-rb ItemDiff, podio-dotnet ItemDiff)."""
    item = _item(ctx)
    old = _revision(ctx, item, "revision_from").values or {}
    new = _revision(ctx, item, "revision_to").values or {}
    out = []
    for field in ctx.world.apps[item.app_id].fields:
        before, after = old.get(field.field_id, []), new.get(field.field_id, [])
        if before != after:
            entry = field.as_json()
            del entry["status"]
            out.append({**entry, "from": before, "to": after})
    return out


async def count(ctx: Ctx) -> Any:
    """The items matching the filters in the query (_count.py), all of them without any."""
    app = ctx.app(ctx.int_param("app_id"))
    filters = query_filters(ctx.request.query_params, _query_filter)

    def match(given: Any) -> list[int]:
        return ctx.core.filters.matches(ctx.world, app, {"filters": dict(given)})

    return {"count": count_index(ctx.world).count(ctx.world, app, filters, match)}


async def filter_items(ctx: Ctx) -> Reply:
    app = ctx.app(ctx.int_param("app_id"))
    body = await ctx.json()
    limit, offset = page_params(body)
    quirks = ctx.core.options.quirks
    matched = ctx.core.filters.matches(ctx.world, app, body, range_filter=quirks.range_filter)
    items, short = ctx.world.items, ctx.core.serializer.short
    chosen = [items[i] for i in matched[offset : offset + limit]]
    if _wants_micro(ctx, "items.view(micro)"):
        rows = [dumps(_micro(i)) for i in chosen]
    elif _wants_files(ctx):
        # §4.1: files come only with ?fields=items.fields(files).
        world = ctx.world
        rows = [short(i)[:-1] + b',"files":' + dumps(item_files(world, i)) + b"}" for i in chosen]
    else:
        rows = [short(i) for i in chosen]
    head = f'{{"total":{len(app.item_ids)},"filtered":{len(matched)},"items":['.encode()
    # One join, one copy of a page that can be megabytes.
    parts = [head]
    for row in rows:
        parts += (row, b",")
    parts[-1:] = [b"]}"] if rows else [head, b"]}"]
    return Reply(200, b"".join(parts))


def _wants_micro(ctx: Ctx, bundle: str) -> bool:
    """`fields=items.view(micro)` on a listing (`view(micro)` on one item), unless the quirk
    `micro_view=ignored` makes the emulator a Podio that ignores it."""
    if ctx.core.options.quirks.micro_view == "ignored":
        return False
    bundles = ctx.request.query_params.get("fields", "").replace(" ", "").split(",")
    return bundle in bundles


def _wants_files(ctx: Ctx) -> bool:
    bundles = ctx.request.query_params.get("fields", "").replace(" ", "")
    return "items.fields(files)" in bundles


# Query parameters of the legacy GET listing that are not filters.
_LISTING_PARAMS = {"limit", "offset", "sort_by", "sort_desc", "fields", "oauth_token", "remember"}
_DAY = r"\d{4}-\d\d-\d\d"
_DATE_RANGE = re.compile(rf"^({_DAY})?-({_DAY})?$")
_NUMBER_RANGE = re.compile(r"^(-?[\d.]+)?-(-?[\d.]+)?$")


def _query_filter(value: str) -> Any:
    """The GET form of a filter value (§4.1; podio-java getItems): `from-to` ranges (dates
    or numbers, either end open), `1;2;3` (or comma) id lists, else the text itself."""
    found = _DATE_RANGE.match(value) or _NUMBER_RANGE.match(value)
    if found is not None and (found.group(1) or found.group(2)):
        return {"from": found.group(1) or None, "to": found.group(2) or None}
    parts = [p for p in re.split(r"[;,]", value) if p]
    if parts and all(p.isdigit() for p in parts):
        return [int(p) for p in parts]
    return value


async def list_items(ctx: Ctx) -> Reply:
    """The legacy GET listing: the same filter, with parameters in the query string."""
    q = ctx.request.query_params
    body: dict[str, Any] = {
        "limit": ctx.int_query("limit", 30),
        "offset": ctx.int_query("offset", 0),
    }
    if "sort_by" in q:
        body["sort_by"] = q["sort_by"]
    if "sort_desc" in q:
        body["sort_desc"] = q["sort_desc"]
    filters = {k: _query_filter(v) for k, v in q.items() if k not in _LISTING_PARAMS}
    if filters:
        body["filters"] = filters
    ctx._body = dumps(body)
    return await filter_items(ctx)


ROUTES = [
    Route("POST", "/item/app/{app_id}/filter/", filter_items, pool="limited"),
    Route("GET", "/item/app/{app_id}/count", count),
    Route("GET", "/item/app/{app_id}/external_id/{external_id}", get_by_external_id),
    Route("GET", "/item/app/{app_id}/", list_items, pool="limited"),
    Route("POST", "/item/app/{app_id}/", create),
    Route("GET", "/app/{app_id}/item/{app_item_id}", get_by_app_item_id),
    Route("GET", "/item/{item_id}", get_item),
    Route("GET", "/item/{item_id}/basic", get_item_basic),
    Route("PUT", "/item/{item_id}", update),
    Route("DELETE", "/item/{item_id}", delete),
    Route("GET", "/item/{item_id}/value", get_values),
    Route("PUT", "/item/{item_id}/value", update_values),
    Route("GET", "/item/{item_id}/value/{field}", get_field_values),
    Route("PUT", "/item/{item_id}/value/{field}", update_field_values),
    Route("GET", "/item/{item_id}/revision", revisions),
    Route("GET", "/item/{item_id}/revision/{revision}", get_revision),
    Route("GET", "/item/{item_id}/revision/{revision_from}/{revision_to}", revision_difference),
]
