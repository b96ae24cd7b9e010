"""Per-key anyio locks, created lazily in the running loop."""

from __future__ import annotations

import anyio

from .._loop_local import LoopLocal

__all__ = ["KeyedLocks"]


class KeyedLocks:
    """`locks.get(key)` returns the anyio.Lock for `key` in the current event loop."""

    __slots__ = ("_locks",)

    def __init__(self) -> None:
        self._locks: LoopLocal[dict[str, anyio.Lock]] = LoopLocal(dict)

    def get(self, key: str) -> anyio.Lock:
        locks = self._locks.get()
        lock = locks.get(key)
        if lock is None:
            lock = locks[key] = anyio.Lock()
        return lock
