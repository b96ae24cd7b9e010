"""Tokens in Redis, with a Redis lock so processes on many machines share one refresh, and
Podio's rate-limit figures shared per session key so they share one hourly budget."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit

from .. import _ratelimit
from ..errors import SessionStoreError
from ._base import RateLimitShare

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from ..auth import OAuthToken

__all__ = ["RedisSessionStore"]

logger = logging.getLogger("podiokit")

_T = TypeVar("_T")

# Both scripts read Redis's own clock (TIME): processes on several machines then agree on the
# reset time whatever their clocks say. Numbers go back as strings (Lua numbers would be cut
# to integers).
#
# One response's figures. Within a window the lowest remaining wins (responses of several
# processes arrive out of order); a figure more than `slack` above the stored one means a new
# window began (as _ratelimit.py reads it); a 420's wait is the exact reset, with nothing left.
_UPDATE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit, rem, wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window, slack = tonumber(ARGV[4]), tonumber(ARGV[5])
local cur = redis.call('HMGET', KEYS[1], 'limit', 'remaining', 'reset_at')
local climit, crem, creset = tonumber(cur[1]), tonumber(cur[2]), tonumber(cur[3])
if limit == nil then limit = climit end
local reset = creset
if wait ~= nil then
  rem = 0
  reset = now + wait
  redis.call('HSET', KEYS[1], 'blocked_until', tostring(reset))
elseif rem ~= nil then
  local open = creset ~= nil and now < creset
  local went_up = crem ~= nil and rem > crem + slack
  if went_up then
    reset = now + window
  elseif open then
    if crem ~= nil and crem < rem then rem = crem end
  elseif limit ~= nil and limit > 0 then
    reset = now + window * math.min(math.max(rem, 0), limit) / limit
  end
else
  rem = crem
end
if limit ~= nil then redis.call('HSET', KEYS[1], 'limit', limit) end
if rem ~= nil then redis.call('HSET', KEYS[1], 'remaining', rem) end
local reset_in = ''
if reset ~= nil then
  redis.call('HSET', KEYS[1], 'reset_at', tostring(reset))
  reset_in = tostring(math.max(reset - now, 0))
end
local ttl = window
if reset ~= nil and reset - now > ttl then ttl = reset - now end
redis.call('EXPIRE', KEYS[1], math.ceil(ttl))
return {tostring(limit or ''), tostring(rem or ''), reset_in}
"""

# Before a call: the figures, and how long this caller waits. After a 420 (Podio's exact
# "Please wait N seconds"): until then. At most `threshold` left: the next paced slot,
# reserved here, so processes take turns instead of each spacing its calls over the budget.
# With nothing left but no 420 yet, no wait: that call's 420 tells everyone the exact reset.
_GET = """
local cur = redis.call('HMGET', KEYS[1], 'limit', 'remaining', 'reset_at', 'next_at', 'blocked_until')
local limit, rem, reset = tonumber(cur[1]), tonumber(cur[2]), tonumber(cur[3])
local nxt, blocked = tonumber(cur[4]), tonumber(cur[5])
if rem == nil then return false end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local threshold = tonumber(ARGV[1])
local wait, is_block = 0, '0'
local reset_in = ''
if blocked ~= nil and blocked > now then
  wait, is_block = blocked - now, '1'
  reset_in = tostring(wait)
elseif reset ~= nil then
  local left = reset - now
  reset_in = tostring(math.max(left, 0))
  if left > 0 and rem > 0 and threshold ~= nil and limit ~= nil and limit > 0
      and rem <= limit * threshold then
    local slot = math.max(nxt or 0, now)
    if slot > reset then slot = reset end
    wait = slot - now
    redis.call('HSET', KEYS[1], 'next_at', tostring(slot + math.min(left, left / math.max(rem, 1))))
  end
end
return {tostring(limit or ''), tostring(rem), reset_in, tostring(wait), is_block}
"""


class RedisSessionStore:
    """`RedisSessionStore("redis://localhost:6379/0")` or `RedisSessionStore(redis_client)`.

    Each key is one Redis string holding the token's JSON under `prefix + key`; `lock(key)`
    is a `redis.asyncio` lock (`prefix + key + ":lock"`) with a timeout, so a process that
    dies mid-refresh cannot hold it forever.

    It also shares Podio's rate-limit figures per session key (`SharedRateLimits`): one hash
    per budget, named by its ceiling (`prefix + key + ":rate:1000"` / `":rate:250"`),
    holding the lowest remaining seen this window and the estimated reset, kept for the
    window. Processes acting as the same identity then pace together and, after a 420 seen
    by any of them, wait for the same reset instead of each collecting one.

    Redis being unreachable is a `SessionStoreError` naming the server (never its password).
    Needs the `redis` extra, and asyncio: redis.asyncio does not run under trio (use
    `FileSessionStore` there).
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
            self._where = _safe_url(url_or_client)
        else:
            self._redis = url_or_client
            self._owns = False
            self._where = _client_location(url_or_client)
        self._prefix = prefix
        self._lock_timeout = lock_timeout
        self._lock_wait = lock_wait
        self._update_script: Any = None
        self._get_script: Any = None

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

    def _unreachable(self, exc: Exception) -> NoReturn:
        # redis-py's messages name host and port, never the password; keep them short.
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise SessionStoreError(
            f"cannot use Redis at {self._where}: {type(exc).__name__}"
            + (f": {reason}" if reason else ""),
            location=self._where,
        ) from None

    async def _call(self, op: Callable[[], Awaitable[_T]]) -> _T:
        from redis.exceptions import RedisError

        self._require_asyncio()
        try:
            return await op()
        except RedisError as exc:
            self._unreachable(exc)
        except OSError as exc:  # a socket error redis-py did not wrap
            self._unreachable(exc)

    async def get(self, key: str) -> OAuthToken | None:
        from ..auth import OAuthToken

        name = self._prefix + key
        raw: Any = await self._call(lambda: self._redis.get(name))
        if raw is None:
            return None
        try:
            return OAuthToken.from_storage(json.loads(raw))
        except ValueError as exc:  # JSONDecodeError too; never show the value
            problem = "is not JSON" if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise SessionStoreError(f"Redis key {name!r} holds a bad token: {problem}", location=name)

    async def set(self, key: str, token: OAuthToken) -> None:
        value = json.dumps(token.to_storage())
        await self._call(lambda: self._redis.set(self._prefix + key, value))

    async def delete(self, key: str) -> None:
        await self._call(lambda: self._redis.delete(self._prefix + key))

    def lock(self, key: str) -> AbstractAsyncContextManager[object]:
        return self._lock(key)

    @asynccontextmanager
    async def _lock(self, key: str) -> AsyncIterator[object]:
        from redis.exceptions import LockError, RedisError

        self._require_asyncio()
        name = self._prefix + key + ":lock"
        lock = self._redis.lock(name, timeout=self._lock_timeout, blocking_timeout=self._lock_wait)
        if not await self._call(lock.acquire):
            raise SessionStoreError(
                f"Redis lock {name!r} at {self._where} still held after {self._lock_wait:g} s",
                location=self._where,
            )
        try:
            yield lock
        finally:
            try:
                await lock.release()
            except LockError:
                # Held longer than lock_timeout: it expired and may be someone else's now.
                # What it guarded is done and saved; say so rather than fail the call.
                logger.warning(
                    "Redis lock %r expired before it was released (lock_timeout=%g s)",
                    name,
                    self._lock_timeout,
                )
            except (RedisError, OSError) as exc:
                # Redis went away: the lock expires by itself after lock_timeout, and what it
                # guarded (a refreshed token) is kept; failing the call would lose nothing less.
                logger.warning(
                    "Redis lock %r at %s could not be released (%s); it expires in %g s",
                    name,
                    self._where,
                    type(exc).__name__,
                    self._lock_timeout,
                )

    # -- SharedRateLimits ----------------------------------------------------------------

    def _scripts(self) -> tuple[Any, Any]:
        if self._update_script is None:
            self._update_script = self._redis.register_script(_UPDATE)
            self._get_script = self._redis.register_script(_GET)
        return self._update_script, self._get_script

    async def rate_limit_get(
        self, key: str, pool: str, *, pace_threshold: float | None
    ) -> RateLimitShare | None:
        _, script = self._scripts()
        keys = [self._prefix + key + ":rate:" + pool]
        args = ["" if pace_threshold is None else repr(pace_threshold)]
        reply = await self._call(lambda: script(keys=keys, args=args))
        if not reply:
            return None
        return _share(reply, wait=float(reply[3]), blocked=_num(reply[4]) == 1)

    async def rate_limit_update(
        self,
        key: str,
        pool: str,
        *,
        limit: int | None,
        remaining: int | None,
        wait: float | None = None,
    ) -> RateLimitShare:
        script, _ = self._scripts()
        keys = [self._prefix + key + ":rate:" + pool]
        slack = max(2, (limit or 0) // 50)  # in-flight responses of other processes
        args = [
            _arg(limit),
            _arg(remaining),
            _arg(wait),
            repr(_ratelimit.WINDOW_SECONDS),
            str(slack),
        ]
        reply = await self._call(lambda: script(keys=keys, args=args))
        return _share(reply)

    async def aclose(self) -> None:
        if self._owns:
            await self._redis.aclose()

    def __repr__(self) -> str:
        return f"RedisSessionStore({self._where!r}, prefix={self._prefix!r})"


def _arg(value: float | None) -> str:
    return "" if value is None else repr(value)


def _num(raw: Any) -> float | None:
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return float(text) if text else None


def _share(reply: Any, *, wait: float = 0.0, blocked: bool = False) -> RateLimitShare:
    limit, remaining, reset_in = (_num(v) for v in reply[:3])
    return RateLimitShare(
        limit=int(limit) if limit is not None else None,
        remaining=int(remaining) if remaining is not None else None,
        reset_in=reset_in,
        wait=max(wait, 0.0),
        blocked=blocked,
    )


def _safe_url(url: str) -> str:
    """The URL without its password (a username, host, port and db stay)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the configured Redis URL"
    user = f"{parts.username}@" if parts.username else ""
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit((parts.scheme, f"{user}{host}{port}", parts.path, "", ""))


def _client_location(client: Any) -> str:
    try:
        kwargs = client.connection_pool.connection_kwargs
    except AttributeError:
        return "the given Redis client"
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    return f"redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
