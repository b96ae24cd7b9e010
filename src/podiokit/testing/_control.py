"""The control API under /_emulator/: expire tokens, reset rate-limit windows, stats, faults,
reset, hook codes, quirks."""

from __future__ import annotations

from typing import Any

from ._errors import ApiError
from ._quirks import Quirks
from ._router import Ctx, Route


async def expire_tokens(ctx: Ctx) -> Any:
    ctx.core.tokens.expire_all()
    return {"expired": len(ctx.core.tokens.by_access)}


async def reset_rate_limits(ctx: Ctx) -> Any:
    # Tests drive the rate-limit window with this instead of waiting for it to pass.
    return {"windows": ctx.core.limiter.start_new_windows()}


async def stats(ctx: Ctx) -> Any:
    return ctx.core.stats()


async def faults(ctx: Ctx) -> Any:
    body = await ctx.json(required=False)
    opts = ctx.core.options
    try:
        ctx.core.set_faults(
            float(body.get("latency", opts.latency)),
            float(body.get("fault_rate", opts.fault_rate)),
            int(body["fault_seed"]) if "fault_seed" in body else None,
        )
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "invalid_value", str(exc)) from None
    return {"latency": opts.latency, "fault_rate": opts.fault_rate}


async def reset(ctx: Ctx) -> Any:
    ctx.core.reset()
    return {"items": len(ctx.core.world.items)}


async def hook_code(ctx: Ctx) -> Any:
    hook = ctx.world.hooks.get(ctx.int_param("hook_id"))
    if hook is None:
        raise ApiError(404, "not_found", "Object not found: hook")
    return {"hook_id": hook.hook_id, "code": hook.code}


async def get_quirks(ctx: Ctx) -> Any:
    return ctx.core.quirks.as_json()


async def set_quirks(ctx: Ctx) -> Any:
    """`POST /_emulator/quirks {"range_filter": "ignore_to", ...}`: only the names given
    change; the answer is every quirk."""
    body = await ctx.json(required=False)
    try:
        return ctx.core.set_quirks(body).as_json()
    except ValueError as exc:
        raise ApiError(400, "invalid_value", str(exc)) from None


async def clear_quirks(ctx: Ctx) -> Any:
    """`DELETE /_emulator/quirks`: every quirk back to its default."""
    return ctx.core.set_quirks(Quirks()).as_json()


ROUTES = [
    Route("POST", "/_emulator/expire-tokens", expire_tokens, auth=False, pool="none"),
    Route("POST", "/_emulator/reset-rate-limits", reset_rate_limits, auth=False, pool="none"),
    Route("GET", "/_emulator/stats", stats, auth=False, pool="none"),
    Route("POST", "/_emulator/faults", faults, auth=False, pool="none"),
    Route("POST", "/_emulator/reset", reset, auth=False, pool="none"),
    Route("GET", "/_emulator/hooks/{hook_id}/code", hook_code, auth=False, pool="none"),
    Route("GET", "/_emulator/quirks", get_quirks, auth=False, pool="none"),
    Route("POST", "/_emulator/quirks", set_quirks, auth=False, pool="none"),
    Route("DELETE", "/_emulator/quirks", clear_quirks, auth=False, pool="none"),
]
