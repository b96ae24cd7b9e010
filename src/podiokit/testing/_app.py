"""The ASGI app: routing, auth, rate limits, faults, latency, the error envelope, stats."""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope, Send

from . import (
    _control,
    _hooks_delivery,
    _oauth,
    _push,
    _routes_apps,
    _routes_core,
    _routes_files,
    _routes_items,
    _routes_work,
    _uploads,
)
from ._common import dumps
from ._core import Core
from ._errors import ApiError, envelope, not_found
from ._faults import KINDS, DroppedConnection, drop, fault_reply
from ._router import Ctx, Reply, Router
from ._state import Token

log = logging.getLogger("podiokit.emulator")

API_ROUTES = [
    *_oauth.ROUTES,
    *_routes_items.ROUTES,
    *_routes_core.ROUTES,
    *_routes_apps.ROUTES,
    *_routes_work.ROUTES,
    *_routes_files.ROUTES,
    # Last: files.podio.com's `GET /{file_id}` would shadow nothing, but stays out of the way.
    *_uploads.ROUTES,
    *_push.ROUTES,
]
_GONE = Reply(499)  # nginx's "client closed request": never sent
_EXPIRED = 'Bearer realm="podio", error="expired_token"'
_INVALID = 'Bearer realm="podio", error="invalid_token"'


class EmulatorApp:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.api = Router(API_ROUTES)
        self.control = Router(
            [*_control.ROUTES, *_hooks_delivery.CONTROL_ROUTES, *_push.CONTROL_ROUTES]
        )
        self._request_ids = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        path = request.url.path
        if path.startswith("/_emulator/"):
            reply = await self._dispatch(request, self.control, faults=False)
        else:
            reply = await self._dispatch(request, self.api, faults=True)
        if reply is None:  # a dropped connection
            if not drop(receive):
                raise DroppedConnection()
            return
        if reply is not _GONE:  # else nobody to answer
            await self._send(reply, send)
        # After the response, as Podio calls hooks once the write is done (_hooks_delivery).
        await self.core.hook_delivery.flush()

    async def _dispatch(self, request: Request, router: Router, *, faults: bool) -> Reply | None:
        core = self.core
        core.requests += 1
        method, path = request.method, request.url.path
        if faults:
            if core.options.latency:
                await anyio.sleep(core.options.latency / 1000)
            if core.options.fault_rate and core.rng.random() < core.options.fault_rate:
                kind = KINDS[core.rng.randrange(len(KINDS))]
                core.faults[kind] += 1
                if kind == "drop":
                    return None
                return fault_reply(kind, path, request.url.query, method)
        found = router.match(method, path)
        core.routes[found[0].name if found else f"{method} (no route)"] += 1
        ctx = Ctx(core, request, found[1] if found else {})
        try:
            if found is None:
                ctx.rate_headers = self._peek_headers(request)
                raise not_found()
            route = found[0]
            if route.auth:
                ctx.token = self._authenticate(request, ctx)
            if route.pool in ("general", "limited"):
                identity = ctx.token.identity if ctx.token else ("anonymous", 0)
                pool = route.pool
                if route.name in core.options.quirks.budget_swap:  # quirk: the other budget
                    pool = "general" if pool == "limited" else "limited"
                ctx.rate_headers = core.limiter.take((identity, _client(ctx)), pool)
            result = await route.handler(ctx)
        except ClientDisconnect:
            # The client timed out or was cancelled (during injected latency, say) before
            # its body was read: normal for a server, so no traceback and no answer.
            core.client_disconnects += 1
            log.debug("client went away: %s %s", method, path)
            return _GONE
        except ApiError as err:
            body = envelope(err, path=path, query=request.url.query, method=method)
            return Reply(err.status, body, {**ctx.rate_headers, **err.headers})
        except Exception:
            log.exception("emulator handler failed: %s %s", method, path)
            crash = ApiError(500, "server_error", "An unexpected error occurred")
            body = envelope(crash, path=path, query=request.url.query, method=method)
            return Reply(500, body, ctx.rate_headers)
        if isinstance(result, Reply):
            result.headers = {**ctx.rate_headers, **result.headers}
            return result
        if result is None:
            return Reply(204, b"", ctx.rate_headers, media_type=None)
        return Reply(200, dumps(result), ctx.rate_headers)

    def _authenticate(self, request: Request, ctx: Ctx) -> Token:
        access = _access_token(request)
        tokens = self.core.tokens
        token = tokens.by_access.get(access) if access else None
        if token is None:
            ctx.rate_headers = self.core.limiter.peek((("anonymous", 0), ""), "general")
            # No token and a garbage token alike: §2.3's recommended body (UNCONFIRMED).
            raise ApiError(401, "unauthorized", "invalid_token",
                           headers={"WWW-Authenticate": _INVALID})  # fmt: skip
        if token.expires_at <= time.time():
            ctx.rate_headers = self.core.limiter.peek((token.identity, token.client_id), "general")
            # Both headers as observed on the real API (§2.3).
            headers = {"WWW-Authenticate": _EXPIRED, "Authorization": _EXPIRED}
            raise ApiError(401, "unauthorized", "expired_token", headers=headers)
        return token

    def _peek_headers(self, request: Request) -> dict[str, str]:
        access = _access_token(request)
        token = self.core.tokens.by_access.get(access) if access else None
        identity = (token.identity, token.client_id) if token else (("anonymous", 0), "")
        return self.core.limiter.peek(identity, "general")

    async def _send(self, reply: Reply, send: Send) -> None:
        headers = [
            (b"server", b"nginx"),
            (b"x-podio-request-id", f"{next(self._request_ids):08x}".encode()),
        ]
        if reply.stream is None:
            headers.append((b"content-length", str(len(reply.body)).encode()))
        if reply.media_type:
            headers.append((b"content-type", reply.media_type.encode()))
        headers.extend((k.lower().encode(), v.encode()) for k, v in reply.headers.items())
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        if reply.stream is not None:
            async for chunk in reply.stream:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": reply.body})


def _client(ctx: Ctx) -> str:
    return ctx.token.client_id if ctx.token else ""


def _access_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() in ("oauth2", "bearer") and value.strip():
        return value.strip()
    return request.query_params.get("oauth_token")


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message: Any = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
