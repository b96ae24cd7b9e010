"""The SessionStore protocol: where tokens live between calls, processes and runs."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..auth import OAuthToken

__all__ = ["SessionStore"]


@runtime_checkable
class SessionStore(Protocol):
    """Keeps one `OAuthToken` per session key.

    `lock(key)` is the per-token lock that makes refresh single-flight: the client holds it
    while it re-reads the stored token, refreshes, and saves the new pair. A store shared
    by several processes (file, Redis) must make the lock hold across them.

    `get` returns what `set` was given, all of it: a store that serialises tokens should use
    `OAuthToken.to_storage()`/`from_storage()`, which keep the `dead` mark a refused refresh
    leaves (so every process knows the token is dead without asking Podio again). A stored
    value that cannot be read should raise `podiokit.SessionStoreError` naming where it is.
    """

    async def get(self, key: str) -> OAuthToken | None: ...

    async def set(self, key: str, token: OAuthToken) -> None: ...

    async def delete(self, key: str) -> None: ...

    def lock(self, key: str) -> AbstractAsyncContextManager[object]: ...
