"""Files as Podio lists them (§6; samples/files__get_files__1): GET one, list per app/space."""

from __future__ import annotations

from typing import Any

from ._common import JSON
from ._errors import ApiError
from ._files import file_full, holders
from ._router import Ctx, Route


def _listing(ctx: Ctx, app_ids: list[int]) -> list[JSON]:
    world = ctx.world
    held = holders(world, app_ids)
    ids = sorted(held, reverse=True)  # newest first, as Podio lists
    offset, limit = ctx.int_query("offset", 0), ctx.int_query("limit", 20)
    return [file_full(world, world.files[i], held[i]) for i in ids[offset : offset + limit]]


async def get_file(ctx: Ctx) -> Any:
    file_id = ctx.int_param("file_id")
    mini = ctx.world.files.get(file_id)
    if mini is None:
        raise ApiError(404, "not_found", f"Object not found: file {file_id}")
    holder = holders(ctx.world, list(ctx.world.apps)).get(file_id)
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
