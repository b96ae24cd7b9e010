"""The event loop behind `SyncPodio`: one asyncio loop on a daemon thread per client.

The sync face runs the async engine (auth, refresh, retries, rate limits, stores) instead of a
second copy of it: a blocking call submits the coroutine to this loop and waits for the
result. `asyncio.run_coroutine_threadsafe` is used rather than anyio's `BlockingPortal`: the
loop is private, so backend independence buys nothing, and the portal's task group and cancel
scope made a no-op hop several times dearer (benchmarks/bench_sync.py measures both).

Every caller thread submits to the same loop, so the engine's single-flight refresh, its
concurrency limit and its per-key rate-limit state hold across threads unchanged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .. import _instrument

__all__ = ["LoopThread"]

T = TypeVar("T")

_closing: set[asyncio.Task[object]] = set()

#: How long closing (at `close()`, garbage collection or interpreter exit) may take before
#: the loop is abandoned: a hung close must never keep a script from exiting.
CLOSE_TIMEOUT = 5.0


def _submit(
    coro: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop
) -> concurrent.futures.Future[T]:
    """`run_coroutine_threadsafe` in an empty context. The task would otherwise inherit the
    caller's context variables, and a caller inside `trio.run` carries the variable that
    tells anyio (and sniffio) "this is trio", which is false on this asyncio loop. With
    OpenTelemetry instrumentation on, the caller's trace context alone is carried over, so
    the span current in the calling thread is the parent of the call's spans."""
    context = contextvars.Context()
    if _instrument.carrying:
        from .._otel import carry_context

        carry_context(context)
    return context.run(asyncio.run_coroutine_threadsafe, coro, loop)


class LoopThread:
    """An asyncio event loop running forever on its own daemon thread."""

    __slots__ = ("_closed", "_lock", "_loop", "_thread")

    def __init__(self, name: str = "podiokit-sync") -> None:
        self._loop = asyncio.new_event_loop()
        self._closed = False
        self._lock = threading.Lock()
        # A daemon thread: a client nobody closed cannot keep the interpreter alive.
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop and block until it finishes; its exception propagates."""
        if self._closed:
            coro.close()  # never awaited: close it so Python does not warn
            raise RuntimeError("this SyncPodio is closed")
        if threading.current_thread() is self._thread:
            coro.close()
            # Waiting here would wait for ourselves forever.
            raise RuntimeError(
                "a SyncPodio call was made from its own event loop (inside a callback the "
                "client is running); use the async Podio there"
            )
        future = _submit(coro, self._loop)
        try:
            return future.result()
        except BaseException:
            # KeyboardInterrupt (or any exit) in the caller: cancel the call on the loop too.
            future.cancel()
            raise

    def _stop_after(self, task: asyncio.Task[object]) -> None:
        _closing.discard(task)
        self._loop.stop()

    def close(self, final: Coroutine[Any, Any, object] | None = None) -> None:
        """Run `final` (closing the pool), then stop the loop. Idempotent; never waits more
        than CLOSE_TIMEOUT, and never raises from a loop that is already gone."""
        with self._lock:
            if self._closed:
                if final is not None:
                    final.close()
                return
            self._closed = True
        if threading.current_thread() is self._thread:
            # Closed from a callback on the loop: let the loop finish the close itself.
            if final is None:
                self._loop.stop()
                return
            task = self._loop.create_task(final)
            _closing.add(task)  # the loop keeps only a weak reference to its tasks
            task.add_done_callback(self._stop_after)
            return
        try:
            if final is not None and self._loop.is_running():
                future = _submit(final, self._loop)
                try:
                    future.result(CLOSE_TIMEOUT)
                except concurrent.futures.TimeoutError:
                    future.cancel()
            elif final is not None:
                final.close()
        finally:
            if not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(CLOSE_TIMEOUT)
