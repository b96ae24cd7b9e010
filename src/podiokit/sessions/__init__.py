"""Session stores: where each session key's OAuth token is kept.

`MemorySessionStore` is the default; `FileSessionStore` keeps tokens between runs of a
script and across processes; `RedisSessionStore` shares them (and the refresh lock)
across machines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base import RateLimitShare, SessionStore, SharedRateLimits
from .file import FileSessionStore
from .memory import MemorySessionStore

if TYPE_CHECKING:
    from .redis import RedisSessionStore

__all__ = [
    "FileSessionStore",
    "MemorySessionStore",
    "RateLimitShare",
    "RedisSessionStore",
    "SessionStore",
    "SharedRateLimits",
]


def __getattr__(name: str) -> Any:
    # redis is an optional dependency: import it only when the Redis store is asked for.
    if name == "RedisSessionStore":
        from .redis import RedisSessionStore

        return RedisSessionStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
