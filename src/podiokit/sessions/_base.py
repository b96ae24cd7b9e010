"""The SessionStore protocol: where tokens live between calls, processes and runs."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..auth import OAuthToken

__all__ = ["RateLimitShare", "SessionStore", "SharedRateLimits"]


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


@dataclass(frozen=True)
class RateLimitShare:
    """One pool's budget as every process sharing a session key sees it.

    `remaining` is the lowest `X-Rate-Limit-Remaining` any of them saw in the current window,
    `reset_in` the seconds left until the estimated reset (None: unknown), and `wait` the
    seconds the asking process should wait before its call: its paced slot, or, when
    `blocked`, the time to the reset a 420 announced to one of them."""

    limit: int | None
    remaining: int | None
    reset_in: float | None
    wait: float = 0.0
    blocked: bool = False


@runtime_checkable
class SharedRateLimits(Protocol):
    """An optional capability of a store: Podio's rate-limit figures shared per session key,
    so processes acting as the same identity pace and wait together (RedisSessionStore has
    it; the memory and file stores keep the figures in each process).

    `pool` names a budget by its ceiling, the `X-Rate-Limit-Limit` its answers carry
    ("1000", "250" for Podio's "rate limited" operations). The client asks only
    when its own figures are stale or near the pacing threshold, so a store round trip is
    not added to calls made while the budget is far from spent.
    """

    async def rate_limit_get(
        self, key: str, pool: str, *, pace_threshold: float | None
    ) -> RateLimitShare | None:
        """The shared figures (None when no process has any), and the caller's wait: with
        `pace_threshold`, a paced slot is reserved once at most that share is left."""
        ...

    async def rate_limit_update(
        self,
        key: str,
        pool: str,
        *,
        limit: int | None,
        remaining: int | None,
        wait: float | None = None,
    ) -> RateLimitShare:
        """Merge one response's figures (`wait`: a 420's "Please wait N seconds"); return
        the merged figures."""
        ...
