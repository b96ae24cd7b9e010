"""Podio's push service (docs/dev/podio-behaviour.md §8): Bayeux over HTTP long-polling at `/faye`.

Carriers (items, tasks, files, the user status) carry `push: {channel, timestamp,
expires_in, signature}`; a client subscribes to the channel with `ext.private_pub_signature`
and `ext.private_pub_timestamp`. The signature is SHA1(secret + channel + timestamp), the
private_pub scheme Podio's push mirrors (INFERRED, §8); a wrong or expired one is refused.
Events are published when items, comments and tasks change (`publish`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from ._common import JSON
from ._errors import ApiError
from ._router import Ctx, Reply, Route

if TYPE_CHECKING:
    from ._core import Core

PUSH_SECRET = "emulator-push-secret"
EXPIRES_IN = 21_600  # 6 h, as Podio's carriers say
#: How long a /meta/connect is held open without events (seconds); Faye's default is 45.
CONNECT_TIMEOUT = 25.0


def signature(channel: str, timestamp: int) -> str:
    return hashlib.sha1(f"{PUSH_SECRET}{channel}{timestamp}".encode()).hexdigest()


def push_object(channel: str) -> JSON:
    """The `push` member of a carrier, signed now: Podio stamps it when it serves the object
    (a cached item keeps its stamp until it changes, well inside the 6 h)."""
    ts = int(time.time())
    return {"timestamp": ts, "expires_in": EXPIRES_IN, "channel": channel,
            "signature": signature(channel, ts)}  # fmt: skip


@dataclass
class _Client:
    client_id: str
    channels: set[str] = field(default_factory=set)
    queue: list[JSON] = field(default_factory=list)
    wake: anyio.Event | None = None


class PushHub:
    def __init__(self) -> None:
        self.clients: dict[str, _Client] = {}
        self._ids = itertools.count(1)
        self.connect_timeout = CONNECT_TIMEOUT
        self.drops = 0  # polls ended by `drop_polls`
        self._dropping = False
        self.published = 0
        self.created = 0
        self.subscribes = 0

    def stats(self) -> dict[str, int]:
        return {"clients": len(self.clients), "clients_created": self.created,
                "drops": self.drops, "published": self.published,
                "subscribes": self.subscribes}  # fmt: skip

    def publish(self, channel: str, data: Any) -> None:
        for client in self.clients.values():
            if channel in client.channels:
                client.queue.append({"channel": channel, "data": data})
                if client.wake is not None:
                    client.wake.set()
        self.published += 1

    def drop_polls(self) -> None:
        """End every held /meta/connect with a 502, as a proxy dropping the poll would."""
        self._dropping = True
        for client in self.clients.values():
            if client.wake is not None:
                client.wake.set()

    async def handle(self, message: JSON) -> list[JSON] | None:
        channel = message.get("channel")
        mid = message.get("id")
        base: JSON = {"channel": channel}
        if mid is not None:
            base["id"] = mid
        if channel == "/meta/handshake":
            self.created += 1
            client_id = f"emu{next(self._ids):08d}"
            self.clients[client_id] = _Client(client_id)
            return [{**base, "successful": True, "version": "1.0", "clientId": client_id,
                     "supportedConnectionTypes": ["long-polling"],
                     "advice": {"reconnect": "retry", "interval": 0,
                                "timeout": int(self.connect_timeout * 1000)}}]  # fmt: skip
        client = self.clients.get(str(message.get("clientId")))
        if client is None:
            return [{**base, "successful": False, "error": "401::Unknown client",
                     "advice": {"reconnect": "handshake", "interval": 0}}]  # fmt: skip
        base["clientId"] = client.client_id
        if channel == "/meta/subscribe":
            return [self._subscribe(client, message, base)]
        if channel == "/meta/unsubscribe":
            client.channels.discard(str(message.get("subscription")))
            return [{**base, "successful": True, "subscription": message.get("subscription")}]
        if channel == "/meta/disconnect":
            self.clients.pop(client.client_id, None)
            return [{**base, "successful": True}]
        if channel == "/meta/connect":
            return await self._connect(client, base)
        return [{**base, "successful": False, "error": "403::Publishing is not allowed"}]

    def _subscribe(self, client: _Client, message: JSON, base: JSON) -> JSON:
        channel = message.get("subscription")
        ext = message.get("ext") or {}
        sig, ts = ext.get("private_pub_signature"), ext.get("private_pub_timestamp")
        reply = {**base, "subscription": channel}
        if not isinstance(channel, str) or not isinstance(sig, str):
            return {**reply, "successful": False, "error": "403::Missing signature"}
        try:
            ts_int = int(ts)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return {**reply, "successful": False, "error": "403::Missing timestamp"}
        if sig != signature(channel, ts_int):
            return {**reply, "successful": False, "error": "403::Invalid signature"}
        if ts_int + EXPIRES_IN < time.time():
            return {**reply, "successful": False, "error": "403::Signature has expired"}
        client.channels.add(channel)
        self.subscribes += 1
        return {**reply, "successful": True}

    async def _connect(self, client: _Client, base: JSON) -> list[JSON] | None:
        if not client.queue:
            client.wake = anyio.Event()
            with anyio.move_on_after(self.connect_timeout):
                await client.wake.wait()
            client.wake = None
            if self._dropping:
                return None
        out, client.queue = client.queue, []
        return [*out, {**base, "successful": True,
                       "advice": {"reconnect": "retry", "interval": 0}}]  # fmt: skip


def hub(core: Core) -> PushHub:
    found = getattr(core, "_push_hub", None)
    if found is None:
        found = PushHub()
        core._push_hub = found  # type: ignore[attr-defined]
    return found


async def faye(ctx: Ctx) -> Any:
    raw = await ctx.raw_body()
    try:
        messages = json.loads(raw)
    except ValueError:
        return Reply(400, b'{"error":"invalid_json"}')
    if isinstance(messages, dict):
        messages = [messages]
    if not isinstance(messages, list):
        return Reply(400, b'{"error":"invalid_json"}')
    push = hub(ctx.core)
    out: list[JSON] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        answer = await push.handle(message)
        if answer is None:  # the poll was dropped
            push.drops += 1
            push._dropping = any(c.wake is not None for c in push.clients.values())
            return Reply(502, b"<html><body>502 Bad Gateway</body></html>", {},
                         "text/html")  # fmt: skip
        out.extend(answer)
    return out


def publish(core: Core, ref_type: str, ref_id: int, event: str, by: JSON, data: JSON) -> None:
    """An event on `/{ref_type}/{ref_id}` in Podio's delivered shape (§8)."""
    channel = f"/{ref_type}/{ref_id}"
    message = {
        "event": event,
        "ref": {"type": ref_type, "id": ref_id},
        "created_by": {"type": by.get("type", "user"), "id": by.get("id")},
        "created_via": 1,
        "data": data,
    }
    push = hub(core)
    if core.options.quirks.push_unknown_shapes:
        for odd in unknown_shapes(message):
            push.publish(channel, odd)
    push.publish(channel, message)


def unknown_shapes(message: JSON) -> list[Any]:
    """The quirk `push_unknown_shapes`: messages of shapes nobody documents (item and task
    channel events are inferred, §8), sent before each event."""
    ref = message["ref"]
    return [
        {k: v for k, v in message.items() if k != "event"},  # no event
        {k: v for k, v in message.items() if k != "ref"},  # no ref
        {**message, "ref": {"type": ref["type"], "id": str(ref["id"])}},  # a string id
        {**message, "ref": {"type": ref["type"]}},  # a ref without an id
        {**message, "event": 7, "ref": [ref["type"], ref["id"]]},  # wrong types
        {**message, "data": "not an object", "presence": {"online": True}},  # extra keys
        f"{message['event']} on {ref['type']} {ref['id']}",  # data that is not an object
        None,
    ]


async def publish_raw(ctx: Ctx) -> Any:
    """`POST /_emulator/push/publish {"channel": "/item/1", "data": <any JSON>}`: deliver
    `data` as it is to the channel's subscribers (shapes the emulator never makes itself)."""
    body = await ctx.json()
    channel = body.get("channel")
    if not isinstance(channel, str) or not channel.startswith("/"):
        raise ApiError(
            400, "invalid_value", f"channel must be a path such as /item/1, not {channel!r}"
        )
    if "data" not in body:
        raise ApiError(400, "invalid_value", "data is required (any JSON value)")
    hub(ctx.core).publish(channel, body["data"])
    return {"channel": channel}


ROUTES = [Route("POST", "/faye", faye, auth=False, pool="none")]
CONTROL_ROUTES = [
    Route("POST", "/_emulator/push/publish", publish_raw, auth=False, pool="none"),
]
