"""Requests sent ahead of the code that will read their answers (page prefetch).

An iteration over every element (`AsyncPage`, `SyncPage`) asks for the next pages while its
caller works on the current one. Each request ahead runs as a task of its own, started here
and owned by an `Ahead`: not a child of the caller's task group, because an iteration is an
async generator, and a task group (a cancel scope) must never stay open across a `yield`
(the caller may cancel, break out, or finish the generator from another task). The owner
cancels and waits for its tasks when the iteration ends, however it ends, so none outlives
it; a failed request raises where its page is read, in the caller's task.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Sequence
from functools import partial
from typing import Any, Generic, TypeVar

import anyio

__all__ = ["Ahead"]

T = TypeVar("T")
Key = TypeVar("Key", bound=Hashable)

#: Tasks started on asyncio (the loop keeps only weak references to its tasks).
_running: set[asyncio.Task[None]] = set()


class _Job(Generic[T]):
    """One request ahead: its task, its answer or error, and a way to cancel it."""

    __slots__ = ("answered", "done", "error", "result", "scope")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.scope = anyio.CancelScope()
        self.result: T | None = None
        self.answered = False
        self.error: Exception | None = None

    async def run(self, call: Callable[[], Awaitable[T]]) -> None:
        try:
            with self.scope:
                self.result = await call()
                self.answered = True
        except Exception as exc:  # noqa: BLE001 - raised again where the page is read
            self.error = exc
        finally:
            self.done.set()


class Ahead(Generic[Key, T]):
    """Calls started ahead, in the order they will be read, each under its key (the
    request it makes)."""

    __slots__ = ("_call", "_jobs")

    def __init__(self, call: Callable[[Key], Awaitable[T]]) -> None:
        self._call = call
        self._jobs: list[tuple[Key, _Job[T]]] = []

    def __len__(self) -> int:
        return len(self._jobs)

    def keep(self, keys: Sequence[Key]) -> None:
        """Have exactly `keys` in flight (or answered and not read yet), in this order:
        calls already started for them are kept, others are cancelled, missing ones
        started."""
        kept: list[tuple[Key, _Job[T]]] = []
        for n, (key, old) in enumerate(self._jobs):
            if n < len(keys) and keys[n] == key and len(kept) == n:
                kept.append((key, old))
            else:
                old.scope.cancel()
        for key in keys[len(kept) :]:
            job: _Job[T] = _Job()
            _spawn(job.run, partial(self._call, key))
            kept.append((key, job))
        self._jobs = kept

    async def take(self, key: Key) -> T:
        """The answer to `key`'s call (started now if it is not the next one in flight);
        its error, if it failed."""
        if not self._jobs or self._jobs[0][0] != key:
            self.keep([key])
        _, job = self._jobs[0]
        await job.done.wait()  # cancelled here, the job stays for `close` to cancel
        self._jobs.pop(0)
        if job.error is not None:
            error, job.error = job.error, None
            raise error
        if not job.answered:  # its task was cancelled from outside (the loop closing)
            return await self._call(key)
        result, job.result = job.result, None
        return result  # type: ignore[return-value]

    async def close(self) -> None:
        """Cancel every call still ahead and wait until their tasks have ended."""
        jobs, self._jobs = self._jobs, []
        for _, job in jobs:
            job.scope.cancel()
        with anyio.CancelScope(shield=True):
            for _, job in jobs:
                await job.done.wait()


def _spawn(
    run: Callable[[Any], Coroutine[Any, Any, None]], call: Callable[[], Awaitable[Any]]
) -> None:
    """Start `run(call)` as a task of the running event loop (asyncio or trio), in a copy of
    the current context, outside the caller's cancel scopes."""
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass  # trio is imported, but this is not a trio task
        else:
            trio.lowlevel.spawn_system_task(run, call, context=contextvars.copy_context())
            return
    task: asyncio.Task[None] = asyncio.get_running_loop().create_task(run(call))
    _running.add(task)
    task.add_done_callback(_running.discard)
