"""Concurrent tasks that fail as one: the first error, itself, not an exception group."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import anyio

__all__ = ["run_all"]


async def run_all(tasks: Sequence[Callable[[], Awaitable[None]]]) -> None:
    """Run `tasks` concurrently; on the first failure cancel the others and raise that
    error itself (not an exception group: callers catch `PodioError` and the like)."""
    errors: list[Exception] = []

    async with anyio.create_task_group() as tg:

        async def guarded(task: Callable[[], Awaitable[None]]) -> None:
            try:
                await task()
            except Exception as exc:  # noqa: BLE001 - the first one is raised below
                errors.append(exc)
                tg.cancel_scope.cancel()

        for task in tasks:
            tg.start_soon(guarded, task)
    if errors:
        raise errors[0]
