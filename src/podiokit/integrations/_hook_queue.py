"""The webhook receiver's queue: deliveries accepted at once, handled by worker tasks.

Whether Podio retries a delivery that failed or timed out, and when it turns a hook inactive,
is documented nowhere (docs/dev/podio-behaviour.md §7). So the receiver does not hold
Podio's request while a handler runs: it answers as soon as a delivery is accepted, and a
handler that fails is logged and counted, never retried (by us or, knowingly, by Podio).

The queue is bounded. When it is full a delivery is refused (the receiver answers 503, so
the delivery is not acknowledged), rather than dropping one already acknowledged: Podio
believes an acknowledged event was delivered, and it may or may not send a refused one
again. At shutdown no delivery is accepted; the workers finish what is queued for up to
`drain_timeout` seconds, then are cancelled, and what was left is counted as dropped.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .hook_events import HookEvent

__all__ = ["HookQueue", "HookStats"]

log = logging.getLogger("podiokit.integrations.fastapi")

HookHandler = Callable[[HookEvent], Awaitable[Any]]
State = Literal["stopped", "running", "stopping"]


@dataclass(frozen=True)
class HookStats:
    """What a webhook receiver did with the deliveries it got (since it was made).

    Attributes:
        state: "running" while the workers run (the app is serving), "stopping" while they
            finish the queue at shutdown, "stopped" otherwise.
        accepted: events queued for the workers (answered 200).
        handled: events the handler returned from (inline mode included).
        failed: events the handler raised on (logged; never retried).
        refused: events answered 503 because the queue was full or the app was stopping.
        dropped: accepted events not handled when shutdown's `drain_timeout` ran out.
        queued: accepted events not handled yet (waiting, or being handled now).
    """

    state: State
    accepted: int
    handled: int
    failed: int
    refused: int
    dropped: int
    queued: int


class HookQueue:
    """A bounded queue of hook events and the worker tasks that await `handler` on them."""

    def __init__(
        self, handler: HookHandler, *, size: int, workers: int, drain_timeout: float
    ) -> None:
        self.handler = handler
        self.size = size
        self.workers = workers
        self.drain_timeout = drain_timeout
        self.state: State = "stopped"
        self._send: MemoryObjectSendStream[HookEvent] | None = None
        self._depth = 0  # nested `running()` (the router's lifespan and the app's own)
        self._idle: anyio.Event | None = None
        self._overflowing = 0  # deliveries refused since the queue was last found full
        self.accepted = self.handled = self.failed = self.refused = self.dropped = 0
        self.pending = 0

    def stats(self) -> HookStats:
        return HookStats(
            state=self.state, accepted=self.accepted, handled=self.handled, failed=self.failed,
            refused=self.refused, dropped=self.dropped, queued=self.pending,
        )  # fmt: skip

    def offer(self, event: HookEvent) -> bool:
        """Queue `event` for the workers: False (and counted as refused) when the queue is
        full or the receiver is stopping."""
        send = self._send
        if send is None or self.state != "running":
            self.refused += 1
            return False
        try:
            send.send_nowait(event)
        except anyio.WouldBlock:
            self.refused += 1
            if not self._overflowing:
                log.warning(
                    "Podio webhook: the queue is full (%d events); deliveries are refused "
                    "with 503 until the handler catches up", self.size,
                )  # fmt: skip
            self._overflowing += 1
            return False
        if self._overflowing:
            log.warning("Podio webhook: accepting deliveries again (%d refused while the "
                        "queue was full)", self._overflowing)  # fmt: skip
            self._overflowing = 0
        self.accepted += 1
        if self.pending == 0 or self._idle is None:
            self._idle = anyio.Event()
        self.pending += 1
        return True

    async def call(self, event: HookEvent) -> bool:
        """Await the handler on `event`: False if it raised (logged and counted)."""
        try:
            await self.handler(event)
        except Exception:
            self.failed += 1
            # The event's type and hook id only: never its parameters (the hook URL's query
            # travels in them; the shared secret is taken out before, but other values an
            # app put there are not ours to log).
            log.exception("Podio webhook: the handler failed on %s (hook %s); the event is "
                          "not retried", event.type, event.hook_id)  # fmt: skip
            return False
        self.handled += 1
        return True

    async def join(self) -> None:
        """Wait until every accepted event has been handled (or dropped at shutdown)."""
        while self.pending and self._idle is not None:
            await self._idle.wait()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the workers while the block runs; at its end, drain (then cancel)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        send, receive = anyio.create_memory_object_stream[HookEvent](self.size)
        self._depth = 1
        try:
            async with anyio.create_task_group() as tg:
                with receive:
                    for _ in range(self.workers):
                        tg.start_soon(self._work, receive.clone())
                self._send, self.state = send, "running"
                try:
                    yield
                finally:
                    self._stop(tg, send)
        finally:
            self._depth = 0
            self._send, self.state = None, "stopped"
            self._forget_left()

    def _stop(self, tg: TaskGroup, send: MemoryObjectSendStream[HookEvent]) -> None:
        self.state = "stopping"
        # The workers end once the queue is empty; the deadline cancels them if it is not
        # empty in time (a handler stuck for good included).
        send.close()
        tg.cancel_scope.deadline = anyio.current_time() + self.drain_timeout
        if self.pending:
            log.info("Podio webhook: stopping; handling the %d queued events (for up to %g s)",
                     self.pending, self.drain_timeout)  # fmt: skip

    def _forget_left(self) -> None:
        if self.pending:
            log.warning("Podio webhook: %d accepted events were not handled before shutdown "
                        "(drain_timeout %g s)", self.pending, self.drain_timeout)  # fmt: skip
            self.dropped += self.pending
            self.pending = 0
        if self._idle is not None:
            self._idle.set()

    async def _work(self, receive: MemoryObjectReceiveStream[HookEvent]) -> None:
        with receive:
            async for event in receive:
                await self.call(event)
                # Not in a `finally`: a handler cancelled at shutdown stays pending, and is
                # counted as dropped.
                self.pending -= 1
                if self.pending == 0 and self._idle is not None:
                    self._idle.set()
