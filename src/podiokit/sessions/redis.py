"""Tokens in Redis, with a Redis lock so processes on many machines share one refresh."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from ..errors import SessionStoreError

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from ..auth import OAuthToken

__all__ = ["RedisSessionStore"]


class RedisSessionStore:
    """`RedisSessionStore("redis://localhost:6379/0")` or `RedisSessionStore(redis_client)`.

    Each key is one Redis string holding the token's JSON under `prefix + key`; `lock(key)`
    is a `redis.asyncio` lock (`prefix + key + ":lock"`) with a timeout, so a process that
    dies mid-refresh cannot hold it forever. Needs the `redis` extra, and asyncio:
    redis.asyncio does not run under trio (use `FileSessionStore` there).
    """

    def __init__(
        self,
        url_or_client: str | Redis,
        *,
        prefix: str = "podiokit:session:",
        lock_timeout: float = 30.0,
        lock_wait: float = 60.0,
    ) -> None:
        if isinstance(url_or_client, str):
            from redis.asyncio import Redis as _Redis

            self._redis: Redis = _Redis.from_url(url_or_client)
            self._owns = True
        else:
            self._redis = url_or_client
            self._owns = False
        self._prefix = prefix
        self._lock_timeout = lock_timeout
        self._lock_wait = lock_wait

    def _require_asyncio(self) -> None:
        # redis.asyncio needs a running asyncio loop; under trio it fails deep inside with
        # "no running event loop". Say what is wrong instead.
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise SessionStoreError(
                "RedisSessionStore needs asyncio (redis.asyncio does not run under trio); "
                "run the client under asyncio, or use FileSessionStore or MemorySessionStore",
                location=self._prefix,
            ) from None

    async def get(self, key: str) -> OAuthToken | None:
        from ..auth import OAuthToken

        self._require_asyncio()
        name = self._prefix + key
        raw: Any = await self._redis.get(name)
        if raw is None:
            return None
        try:
            return OAuthToken.from_storage(json.loads(raw))
        except ValueError as exc:  # JSONDecodeError too; never show the value
            problem = "is not JSON" if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise SessionStoreError(f"Redis key {name!r} holds a bad token: {problem}", location=name)

    async def set(self, key: str, token: OAuthToken) -> None:
        self._require_asyncio()
        await self._redis.set(self._prefix + key, json.dumps(token.to_storage()))

    async def delete(self, key: str) -> None:
        self._require_asyncio()
        await self._redis.delete(self._prefix + key)

    def lock(self, key: str) -> AbstractAsyncContextManager[object]:
        return self._lock(key)

    @asynccontextmanager
    async def _lock(self, key: str) -> AsyncIterator[object]:
        self._require_asyncio()
        lock = self._redis.lock(
            self._prefix + key + ":lock",
            timeout=self._lock_timeout,
            blocking_timeout=self._lock_wait,
        )
        async with lock:
            yield lock

    async def aclose(self) -> None:
        if self._owns:
            await self._redis.aclose()

    def __repr__(self) -> str:
        return f"RedisSessionStore(prefix={self._prefix!r})"
