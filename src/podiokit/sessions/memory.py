"""The default store: tokens in this process's memory."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from ._locks import KeyedLocks

if TYPE_CHECKING:
    from ..auth import OAuthToken

__all__ = ["MemorySessionStore"]


class MemorySessionStore:
    """Tokens kept in a dict; gone when the process ends. Safe for many tasks in one loop."""

    def __init__(self) -> None:
        self._tokens: dict[str, OAuthToken] = {}
        self._locks = KeyedLocks()

    async def get(self, key: str) -> OAuthToken | None:
        return self._tokens.get(key)

    async def set(self, key: str, token: OAuthToken) -> None:
        self._tokens[key] = token

    async def delete(self, key: str) -> None:
        self._tokens.pop(key, None)

    def lock(self, key: str) -> AbstractAsyncContextManager[object]:
        return self._locks.get(key)

    def __repr__(self) -> str:
        return f"MemorySessionStore(keys={sorted(self._tokens)!r})"
