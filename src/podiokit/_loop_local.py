"""Primitives bound to the running event loop, created lazily inside it.

anyio locks and semaphores must not outlive the loop that made them: a client kept in a
module global survives successive `asyncio.run` calls, and the same client may run under
trio. `LoopLocal` makes a fresh value the first time it is asked for in a new loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import sniffio

__all__ = ["LoopLocal", "current_loop"]

T = TypeVar("T")


def current_loop() -> object:
    """An object that identifies the running event loop (asyncio loop or trio run)."""
    library = sniffio.current_async_library()
    if library == "trio":
        import trio

        return trio.lowlevel.current_trio_token()
    import asyncio

    return asyncio.get_running_loop()


class LoopLocal(Generic[T]):
    """One value per event loop; only the latest loop's value is kept (a client runs in one
    loop at a time, and keeping old loops alive would leak them)."""

    __slots__ = ("_factory", "_loop", "_value")

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._loop: object | None = None
        self._value: T | None = None

    def get(self) -> T:
        loop = current_loop()
        if self._loop is not loop or self._value is None:
            self._value = self._factory()
            self._loop = loop
        return self._value
