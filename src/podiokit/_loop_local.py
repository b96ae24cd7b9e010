"""Primitives bound to the running event loop, created lazily inside it.

anyio locks and semaphores must not outlive the loop that made them: a client kept in a
module global survives successive `asyncio.run` calls, and the same client may run under
trio. `LoopLocal` makes a fresh value the first time it is asked for in a new loop.

The per-loop storage is anyio's own `RunVar` (scoped to the running event loop, asyncio or
trio), so nothing beyond anyio is needed to tell loops apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from anyio.lowlevel import RunVar

__all__ = ["LoopLocal"]

T = TypeVar("T")

# One table per running loop: LoopLocal -> its value in that loop. Weak keys, so a client
# dropped while the loop keeps running takes its primitives with it; the table itself goes
# with the loop.
_values: RunVar[WeakKeyDictionary[LoopLocal[Any], Any]] = RunVar("podiokit_loop_local")


class LoopLocal(Generic[T]):
    """One value per event loop, made by `factory` on first use inside that loop."""

    __slots__ = ("__weakref__", "_factory")

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory

    def get(self) -> T:
        table = _values.get(None)
        if table is None:
            table = WeakKeyDictionary()
            _values.set(table)
        try:
            value: T = table[self]
            return value
        except KeyError:
            made = table[self] = self._factory()
            return made
