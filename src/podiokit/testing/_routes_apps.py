"""Changing an app's fields: add, update and delete a field (Podio's app-field operations).

Each change bumps the app's `current_revision` (`_app_defs`), and every cached form of the
app's items is dropped: items carry each field's label and settings, and the app's revision.
"""

from __future__ import annotations

from typing import Any

from . import _app_defs
from ._errors import ApiError, invalid_value
from ._router import Ctx, Route
from ._serialize import Serializer
from ._state import App, Field


def _changed(ctx: Ctx, app: App) -> None:
    world = ctx.world
    for item_id in app.item_ids:
        item = world.items.get(item_id)
        if item is not None:
            item.invalidate()
    ctx.core.serializer = Serializer(world)  # its field and app caches hold the old shapes


def _field(ctx: Ctx, app: App) -> Field:
    field = app.field(ctx.params["field_id"])
    if field is None:
        raise ApiError(404, "not_found", f"Object not found: field {ctx.params['field_id']}")
    return field


async def add_field(ctx: Ctx) -> Any:
    app = ctx.app(ctx.int_param("app_id"))
    try:
        field = _app_defs.add_field(ctx.world, app, await ctx.json())
    except ValueError as exc:
        raise invalid_value(str(exc)) from None
    _changed(ctx, app)
    return {"field_id": field.field_id}


async def update_field(ctx: Ctx) -> Any:
    app = ctx.app(ctx.int_param("app_id"))
    field = _field(ctx, app)
    try:
        _app_defs.update_field(ctx.world, app, field, await ctx.json())
    except ValueError as exc:
        raise invalid_value(str(exc)) from None
    _changed(ctx, app)
    return {"revision": app.revision}


async def delete_field(ctx: Ctx) -> Any:
    app = ctx.app(ctx.int_param("app_id"))
    _app_defs.delete_field(ctx.world, app, _field(ctx, app))
    _changed(ctx, app)
    return {"revision": app.revision}


ROUTES = [
    Route("POST", "/app/{app_id}/field/", add_field),
    Route("PUT", "/app/{app_id}/field/{field_id}", update_field),
    Route("DELETE", "/app/{app_id}/field/{field_id}", delete_field),
]
