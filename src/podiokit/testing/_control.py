"""The control API under /_emulator/: expire tokens, reset rate-limit windows, stats, faults,
reset, hook codes."""

from __future__ import annotations

from typing import Any

from ._errors import ApiError
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


ROUTES = [
    Route("POST", "/_emulator/expire-tokens", expire_tokens, auth=False, pool="none"),
    Route("POST", "/_emulator/reset-rate-limits", reset_rate_limits, auth=False, pool="none"),
    Route("GET", "/_emulator/stats", stats, auth=False, pool="none"),
    Route("POST", "/_emulator/faults", faults, auth=False, pool="none"),
    Route("POST", "/_emulator/reset", reset, auth=False, pool="none"),
    Route("GET", "/_emulator/hooks/{hook_id}/code", hook_code, auth=False, pool="none"),
]
