"""The small interface the generated sync resources (`sync/resources/`) use.

A sync resource wraps the async resource of the same area: each method builds the async
call (same arguments, same request, same parsing) and hands the coroutine to the client's
`_run`, which blocks until the engine has finished it. Nothing about requests, auth or
retries is known here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, Protocol, TypeVar

from .._resource import Requester

__all__ = ["SyncAPIResource", "SyncRequester"]

T = TypeVar("T")


class SyncRequester(Protocol):
    """What a sync resource needs from `SyncPodio`: the async client it drives, and a way to
    run one of its coroutines to completion."""

    @property
    def _async_client(self) -> Requester: ...

    def _run(self, coro: Coroutine[Any, Any, T]) -> T: ...

    def _iterate(self, source: AsyncIterator[T]) -> Iterator[T]: ...


class SyncAPIResource:
    """Base of every generated sync resource class (`SyncPodio().items`, ...)."""

    __slots__ = ("_client",)

    def __init__(self, client: SyncRequester) -> None:
        self._client = client
