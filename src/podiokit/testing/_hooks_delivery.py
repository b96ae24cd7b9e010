"""Hook deliveries: `hook.verify` on create and on verify/request, events to active hooks.

Podio POSTs `application/x-www-form-urlencoded` parameters: always `type` and `hook_id`,
plus the event's ids; a query string in the hook URL is moved into the body
(docs/dev/podio-behaviour.md §7). Nothing documents that Podio retries a failed delivery, nor when a hook
turns inactive (§7, §11): by default the emulator makes one attempt, as the documented
behaviour goes no further. The quirks `hook_retries` (or `deliver_hooks_to(attempts=)`)
add tries with exponential backoff (`backoff` seconds, doubled each time), and
`hook_inactive_after=N` turns a hook inactive after N failed deliveries in a row. A non-2xx
answer, a refused connection and a timeout are all failed attempts.

Deliveries run after the triggering response has been sent, as Starlette's background
tasks do: over a socket the API caller has its answer first, as with Podio; in process
(`httpx.ASGITransport` waits for the app to return) the call returns once its hooks have
been delivered, so tests need no waiting.

`target` says where deliveries go: None sends to the hook's own URL when it is a loopback
one and to nowhere otherwise (status "skipped": an emulator in a test suite must not POST to
the internet); a base URL string (`http://127.0.0.1:8001`) keeps the hook URL's path but
sends to that host (Podio only takes ports 80 and 443, a test server rarely listens there);
an ASGI app receives them in process.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import anyio
import httpx

from ._common import JSON
from ._errors import ApiError
from ._router import Ctx, Route
from ._state import Hook, Item

if TYPE_CHECKING:
    from ._core import Core

log = logging.getLogger("podiokit.emulator.hooks")


@dataclass
class Delivery:
    """One hook invocation and what became of it."""

    hook_id: int
    url: str
    params: dict[str, str]
    status: str = "pending"  # "delivered" | "failed" | "skipped"
    # One entry per attempt: the HTTP status, or the transport error's class name.
    attempts: list[int | str] = field(default_factory=list)
    hook: Hook | None = field(default=None, repr=False)

    def as_json(self) -> JSON:
        # The verify code stays out: it is what activates the hook.
        params = {k: v for k, v in self.params.items() if k != "code"}
        return {
            "hook_id": self.hook_id,
            "url": self.url,
            "type": self.params.get("type"),
            "params": params,
            "status": self.status,
            "attempts": list(self.attempts),
        }


class HookDelivery:
    """The outbox: queued by API handlers, flushed by the app once the response is sent."""

    def __init__(self) -> None:
        self.target: Any = None
        self.attempts = 1  # no retries unless asked (quirk hook_retries)
        # Failed deliveries in a row after which a hook turns inactive (0: never), and the
        # running count per hook.
        self.inactive_after = 0
        self.failures: dict[int, int] = {}
        self.backoff = 1.0
        self.timeout = 15.0
        self.outbox: list[Delivery] = []
        self.history: deque[Delivery] = deque(maxlen=1000)

    def configure(
        self,
        target: Any,
        *,
        attempts: int | None = None,
        backoff: float | None = None,
        timeout: float | None = None,
    ) -> None:
        if attempts is not None and attempts < 1:
            raise ValueError(f"attempts must be >= 1, not {attempts!r}")
        if backoff is not None and backoff < 0:
            raise ValueError(f"backoff must be >= 0 seconds, not {backoff!r}")
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, not {timeout!r}")
        if isinstance(target, str) and not target.startswith(("http://", "https://")):
            raise ValueError(f"target must be an http(s) base URL or an ASGI app, not {target!r}")
        self.target = target
        self.attempts = attempts if attempts is not None else self.attempts
        self.backoff = backoff if backoff is not None else self.backoff
        self.timeout = timeout if timeout is not None else self.timeout

    def queue(self, hook: Hook, params: dict[str, str]) -> None:
        parts = urlsplit(hook.url)
        # Query parameters of the hook URL travel in the body, never in the URL (§7).
        body = dict(parse_qsl(parts.query, keep_blank_values=True))
        body.update(params, type=params["type"], hook_id=str(hook.hook_id))
        url = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))
        self.outbox.append(Delivery(hook.hook_id, url, body, hook=hook))

    async def flush(self) -> None:
        if not self.outbox:
            return
        pending, self.outbox = self.outbox, []
        async with self._client() as client:
            for delivery in pending:
                await self._deliver(client, delivery)

    def _client(self) -> httpx.AsyncClient:
        if self.target is None or isinstance(self.target, str):
            return httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        # A receiver that crashes answers 500 here, as it would over a socket.
        transport = httpx.ASGITransport(app=self.target, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, follow_redirects=False)

    def _url(self, url: str) -> str:
        if not isinstance(self.target, str):
            return url
        base, parts = urlsplit(self.target), urlsplit(url)
        return urlunsplit((base.scheme, base.netloc, parts.path, "", ""))

    async def _deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        self.history.append(delivery)
        if self.target is None and not _loopback(delivery.url):
            delivery.status = "skipped"
            return
        for attempt in range(self.attempts):
            if attempt:
                await anyio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                # ASGITransport has no timeouts of its own.
                with anyio.fail_after(self.timeout):
                    response = await client.post(self._url(delivery.url), data=delivery.params)
            except (httpx.HTTPError, TimeoutError) as exc:
                delivery.attempts.append(type(exc).__name__)
                continue
            delivery.attempts.append(response.status_code)
            if response.is_success:
                delivery.status = "delivered"
                self.failures.pop(delivery.hook_id, None)
                return
        delivery.status = "failed"
        log.warning(
            "hook %s: %s not delivered to %s after %d attempts (%s)",
            delivery.hook_id, delivery.params.get("type"), delivery.url, self.attempts,
            delivery.attempts,
        )  # fmt: skip
        self._count_failure(delivery)

    def _count_failure(self, delivery: Delivery) -> None:
        hook = delivery.hook
        if hook is None or delivery.params.get("type") == "hook.verify":
            return  # an unverified hook is inactive already
        failed = self.failures[hook.hook_id] = self.failures.get(hook.hook_id, 0) + 1
        if self.inactive_after and failed >= self.inactive_after and hook.status == "active":
            hook.status = "inactive"
            self.failures.pop(hook.hook_id, None)
            log.warning("hook %s: inactive after %d failed deliveries", hook.hook_id, failed)


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def delivery(core: Core) -> HookDelivery:
    return core.hook_delivery


def send_verify(ctx: Ctx, hook: Hook) -> None:
    """`hook.verify` with the code, whatever the hook's status (on create, on request)."""
    delivery(ctx.core).queue(hook, {"type": "hook.verify", "code": hook.code})


def _emit(ctx: Ctx, kind: str, refs: set[tuple[str, int]], params: dict[str, str]) -> None:
    out = delivery(ctx.core)
    for hook in list(ctx.world.hooks.values()):
        if hook.status == "active" and hook.type == kind and (hook.ref_type, hook.ref_id) in refs:
            out.queue(hook, {"type": kind, **params})


def item_event(ctx: Ctx, kind: str, item: Item, fields: Iterable[int] = ()) -> None:
    """item.create/update/delete to the app's hooks and to app_field hooks on `fields`
    (the fields the write touched)."""
    refs = {("app", item.app_id)} | {("app_field", f) for f in fields}
    params = {
        "item_id": str(item.item_id),
        "item_revision_id": str(item.revisions[-1].item_revision_id),
        "external_id": item.external_id or "",
    }
    _emit(ctx, kind, refs, params)


def changed_fields(before: dict[int, list[JSON]], after: dict[int, list[JSON]]) -> set[int]:
    return {f for f in before.keys() | after.keys() if before.get(f) != after.get(f)}


def comment_event(ctx: Ctx, kind: str, comment: JSON) -> None:
    """comment.create/delete on an item: to the item's app hooks."""
    ref = comment["ref"]
    item = ctx.world.items.get(ref["id"]) if ref["type"] == "item" else None
    if item is None:
        return
    params = {"item_id": str(item.item_id), "comment_id": str(comment["comment_id"])}
    _emit(ctx, kind, {("app", item.app_id)}, params)


async def set_target(ctx: Ctx) -> Any:
    """`POST /_emulator/hooks/target {"url": "http://127.0.0.1:8001", "attempts": 1,
    "backoff": 1.0}`: where a `podiokit emulator` process sends hooks (`url: null`: the
    hooks' own URLs)."""
    body = await ctx.json(required=False)
    out = delivery(ctx.core)
    try:
        out.configure(
            body.get("url"),
            attempts=int(body["attempts"]) if "attempts" in body else None,
            backoff=float(body["backoff"]) if "backoff" in body else None,
            timeout=float(body["timeout"]) if "timeout" in body else None,
        )
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "invalid_value", str(exc)) from None
    return {"url": out.target, "attempts": out.attempts, "backoff": out.backoff}


async def deliveries(ctx: Ctx) -> Any:
    return [d.as_json() for d in delivery(ctx.core).history]


CONTROL_ROUTES = [
    Route("POST", "/_emulator/hooks/target", set_target, auth=False, pool="none"),
    Route("GET", "/_emulator/hooks/deliveries", deliveries, auth=False, pool="none"),
]
