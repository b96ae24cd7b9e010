"""Realtime push: Podio's Bayeux service over HTTP long-polling (docs/dev/podio-behaviour.md §8).

    async with podio.push.subscribe(item.push, task.push) as events:
        async for event in events:
            print(event.event, event.ref.type, event.ref.id)

One Bayeux client (one handshake, one long-poll at a time) carries every channel; each channel
is subscribed with its own carrier's `ext.private_pub_signature`/`private_pub_timestamp`
(podio-js signs every channel with the first one's). A dropped poll is retried with
exponential backoff; a server that forgot the client gets a new handshake and every channel
again. Leaving the block (or cancelling) ends the poll and sends `/meta/disconnect`.

Only user-channel events are documented (`event`, `ref: {type, id}`, ...; podio-objc's
tests); item and task channel shapes are inferred (docs/dev/podio-behaviour.md §8). So no
message ends a subscription: one without a usable `event` or `ref` (or whose `data` is not an
object) is delivered as a raw event (`event.is_raw`: `event`/`ref` None where unusable, the
message kept whole in `raw`), or logged and skipped with `subscribe(..., unknown="skip")`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, Protocol

import anyio
import anyio.abc
import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from . import _defaults
from .errors import PodioError

if TYPE_CHECKING:
    from ._pipeline import Pipeline

__all__ = ["PushClient", "PushError", "PushEvent", "PushRef", "PushSubscription"]

logger = logging.getLogger("podiokit.push")

DEFAULT_PUSH_URL = "https://push.podio.com/faye"
_POLL_TIMEOUT = httpx.Timeout(10.0, read=90.0)

#: Every wait (reconnect backoff, renewal) goes through here, and `now` is the clock
#: renewal reads; tests replace both.
sleep: Callable[[float], Awaitable[None]] = anyio.sleep
now: Callable[[], float] = time.time

#: Renew this long before a signature expires (or a tenth of its life, if shorter).
RENEW_MARGIN = 600.0


class PushError(PodioError):
    """The push service refused a handshake or a subscription (a bad or expired signature)."""


class PushRef(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    id: int


class PushEvent(BaseModel):
    """One delivered event: Podio's `data` of a Bayeux message on `channel`.

    A message of a shape podiokit does not know (no `event`, no `ref`, a ref without a
    numeric id, a Bayeux `data` that is not an object) is still delivered, as a raw event:
    `is_raw` is True, `event` and `ref` are None where the message had nothing usable, and
    `raw` holds the message exactly as it came (`raw` is set on every event)."""

    model_config = ConfigDict(extra="allow")
    channel: str
    event: str | None = None
    ref: PushRef | None = None
    created_by: dict[str, Any] | None = None
    created_via: Any = None
    data: Any = None
    #: The Bayeux message's `data` exactly as delivered.
    raw: Any = None

    @property
    def is_raw(self) -> bool:
        """True when the message lacked a usable `event` or `ref` (see the class doc)."""
        return self.event is None or self.ref is None


def _event(channel: str, data: Any) -> PushEvent:
    """`data` of a message on `channel` as a PushEvent; never raises for its shape."""
    if not isinstance(data, dict):
        return PushEvent(channel=channel, raw=data)
    try:
        event = PushEvent.model_validate({**data, "channel": channel, "raw": data})
    except ValidationError:
        pass
    else:
        if not event.is_raw:
            return event
    # Keep what is usable (a ref may be fine when `created_by` is not, say).
    event_name, created_by = data.get("event"), data.get("created_by")
    return PushEvent(
        channel=channel,
        event=event_name if isinstance(event_name, str) else None,
        ref=_ref(data.get("ref")),
        created_by=created_by if isinstance(created_by, dict) else None,
        created_via=data.get("created_via"),
        data=data.get("data"),
        raw=data,
    )


def _ref(value: Any) -> PushRef | None:
    try:
        return PushRef.model_validate(value)
    except ValidationError:
        return None


def _shape(data: Any) -> str:
    # Keys and types only: values may hold what users wrote.
    if isinstance(data, dict):
        return "object with keys " + ", ".join(sorted(map(str, data))[:10])
    return type(data).__name__


class PushSubscription(BaseModel):
    """A carrier's `push` object: what one channel's subscription needs."""

    model_config = ConfigDict(extra="allow")
    channel: str
    signature: str
    timestamp: int
    expires_in: int | None = None


def _subscription(carrier: Any) -> PushSubscription:
    """`item.push`, `item` itself, or the raw `push` dict."""
    value = getattr(carrier, "push", None) if not isinstance(carrier, Mapping) else None
    if value is None:
        value = carrier
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, Mapping) and "push" in value and "channel" not in value:
        value = value["push"]
    if not isinstance(value, Mapping):
        raise TypeError(
            f"subscribe() takes an object's `push` (channel, signature, timestamp), got "
            f"{type(carrier).__name__}"
        )
    missing = [k for k in ("channel", "signature", "timestamp") if value.get(k) in (None, "")]
    if missing:
        raise ValueError(f"push object lacks {', '.join(missing)}: {dict(value)!r}")
    return PushSubscription.model_validate(dict(value))


class _Client(Protocol):
    """What push needs of a `Podio`: its pipeline's API URL and connection pool."""

    @property
    def _pipeline(self) -> Pipeline[Any]: ...


class PushClient:
    """`podio.push`: subscriptions to Podio's push service."""

    def __init__(
        self,
        podio: _Client | None = None,
        *,
        url: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        backoff_base: float = _defaults.BACKOFF_BASE,
        backoff_cap: float = _defaults.BACKOFF_CAP,
        max_buffer: int = 1000,
    ) -> None:
        if url is None:
            api = podio._pipeline.config.api_url if podio is not None else ""
            # Podio's own API talks to push.podio.com; an emulator serves /faye itself.
            url = DEFAULT_PUSH_URL if api in ("", _defaults.API_URL) else f"{api}/faye"
        self.url = url
        self._http = http_client
        self._podio = podio
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_buffer = max_buffer

    @asynccontextmanager
    async def subscribe(
        self,
        *carriers: Any,
        refetch: Callable[[str], Awaitable[Any]] | None = None,
        unknown: Literal["deliver", "skip"] = "deliver",
    ) -> AsyncIterator[AsyncIterator[PushEvent]]:
        """Events for every carrier's channel. A signature lasts `expires_in` (6 h); with
        `refetch`, an async callable given the channel that returns the object again (say
        `lambda _: podio.items.get(item_id)`), each channel is re-signed before it expires.
        A message of an unknown shape is delivered as a raw event (`event.is_raw`), or with
        `unknown="skip"` logged (logger `podiokit.push`, WARNING) and skipped."""
        if not carriers:
            raise ValueError("subscribe() needs at least one object's `push`")
        if unknown not in ("deliver", "skip"):
            raise ValueError(f"unknown must be 'deliver' or 'skip', not {unknown!r}")
        subs = {s.channel: s for s in map(_subscription, carriers)}
        http = self._http
        if http is None and self._podio is not None:
            http = self._podio._pipeline.http  # the client's pool (and its transport)
        own = http is None
        if http is None:
            http = httpx.AsyncClient()
        send, receive = anyio.create_memory_object_stream[PushEvent](self.max_buffer)
        session = _Session(self, http, subs, send, skip_unknown=unknown == "skip")
        try:
            await session.start()
            async with anyio.create_task_group() as tg:
                tg.start_soon(session.run)
                if refetch is not None:
                    tg.start_soon(session.renew, refetch)

                async def events() -> AsyncIterator[PushEvent]:
                    async with receive:
                        async for event in receive:
                            yield event

                try:
                    yield events()
                finally:
                    tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await session.disconnect()
                if own:
                    await http.aclose()


class _Session:
    def __init__(
        self,
        owner: PushClient,
        http: httpx.AsyncClient,
        subs: dict[str, PushSubscription],
        send: anyio.abc.ObjectSendStream[PushEvent],
        *,
        skip_unknown: bool = False,
    ) -> None:
        self.owner = owner
        self.http = http
        self.subs = subs
        self.send = send
        self.skip_unknown = skip_unknown
        self.client_id: str | None = None
        self._ids = 0

    def _message(self, channel: str, **members: Any) -> dict[str, Any]:
        self._ids += 1
        message = {"channel": channel, "id": str(self._ids), **members}
        if self.client_id is not None:
            message["clientId"] = self.client_id
        return message

    async def _post(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # A long poll is held up to the server's advice (Faye: 45 s): read with a margin.
        response = await self.http.post(self.owner.url, json=messages, timeout=_POLL_TIMEOUT)
        if response.status_code >= 300:
            raise _Retry(f"push service answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise _Retry("push service answered with no JSON") from None
        return [m for m in body if isinstance(m, dict)] if isinstance(body, list) else []

    async def start(self) -> None:
        """Handshake, then every channel with its own signature. A refusal raises."""
        self.client_id = None
        handshake = self._message(
            "/meta/handshake",
            version="1.0",
            minimumVersion="1.0",
            supportedConnectionTypes=["long-polling"],
        )
        answers = [
            m for m in await self._post([handshake]) if m.get("channel") == "/meta/handshake"
        ]
        reply = answers[0] if answers else {}
        if not reply.get("successful") or not reply.get("clientId"):
            raise PushError(f"push handshake refused: {reply.get('error') or 'no answer'}")
        self.client_id = str(reply["clientId"])
        await self._subscribe(list(self.subs.values()))

    async def _subscribe(self, subs: list[PushSubscription]) -> None:
        messages = [
            self._message(
                "/meta/subscribe",
                subscription=s.channel,
                ext={"private_pub_signature": s.signature, "private_pub_timestamp": s.timestamp},
            )
            for s in subs
        ]
        replies = {
            m.get("subscription"): m
            for m in await self._post(messages)
            if m.get("channel") == "/meta/subscribe"
        }
        for channel in (s.channel for s in subs):
            answer = replies.get(channel, {})
            if not answer.get("successful"):
                raise PushError(
                    f"push subscription to {channel} refused: {answer.get('error') or 'no answer'}"
                )

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                replies = await self._post(
                    [self._message("/meta/connect", connectionType="long-polling")]
                )
                for message in replies:
                    channel = message.get("channel", "")
                    if channel == "/meta/connect":
                        if not message.get("successful"):
                            advice = message.get("advice")
                            if isinstance(advice, dict) and advice.get("reconnect") == "handshake":
                                await self.start()
                            else:
                                raise _Retry(str(message.get("error")))
                        continue
                    if isinstance(channel, str) and channel in self.subs:
                        await self._deliver(channel, message.get("data"))
                failures = 0
            except (_Retry, httpx.TransportError):
                delay = min(self.owner.backoff_cap, self.owner.backoff_base * 2**failures)
                failures += 1
                await sleep(delay * (0.5 + random.random() / 2))

    async def _deliver(self, channel: str, data: Any) -> None:
        try:
            event = _event(channel, data)
        except Exception:  # noqa: BLE001 - a shape even the raw path cannot hold
            event = PushEvent.model_construct(channel=channel, raw=data)
        if event.is_raw:
            if self.skip_unknown:
                logger.warning("push: skipped a message of unknown shape on %s (%s)",
                               channel, _shape(data))  # fmt: skip
                return
            logger.debug("push: a message of unknown shape on %s (%s)", channel, _shape(data))
        await self.send.send(event)

    async def renew(self, refetch: Callable[[str], Awaitable[Any]]) -> None:
        """Re-subscribe each channel with a fresh signature before the old one expires."""
        while True:
            channel, due = min(
                ((c, _renew_at(s)) for c, s in self.subs.items()), key=lambda pair: pair[1]
            )
            wait = due - now()
            if wait > 0:
                await sleep(wait)
                continue  # re-read the clock: a replaced sleep may return early
            fresh = _subscription(await refetch(channel))
            if fresh.channel != channel:
                raise PushError(f"refetch for {channel} returned {fresh.channel}'s push object")
            await self._subscribe([fresh])
            self.subs[channel] = fresh

    async def disconnect(self) -> None:
        await self.send.aclose()
        if self.client_id is None:
            return
        try:
            with anyio.move_on_after(5):
                await self._post([self._message("/meta/disconnect")])
        except (_Retry, httpx.HTTPError):
            pass  # the server forgets idle clients anyway
        self.client_id = None


def _renew_at(sub: PushSubscription) -> float:
    life = sub.expires_in if sub.expires_in is not None else 21_600
    return sub.timestamp + life - min(RENEW_MARGIN, life / 10)


class _Retry(Exception):
    """A poll that should be retried after a backoff."""
