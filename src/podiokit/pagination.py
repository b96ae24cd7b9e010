"""Page objects: awaitable for one page, async-iterable for every element.

A paginated resource method (`podio.items.filter(app_id)`) is not a coroutine: it returns an
`AsyncPage` at once, and the caller chooses::

    page = await podio.items.filter(app_id, limit=100)      # one request: .total .filtered .items
    async for item in podio.items.filter(app_id):           # every item, page by page

Iteration asks for the largest page Podio allows for the operation (`max_limit`, 500 for
filter) unless the caller passed `limit=`, keeps one page in memory at a time, and stops when
Podio's count of matching elements is reached, or, for listings without a count, on a short or
empty page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Hashable, Sequence
from typing import Any, Generic, TypeVar

__all__ = ["AsyncPage"]

PageT = TypeVar("PageT")
ItemT = TypeVar("ItemT")


class AsyncPage(Generic[PageT, ItemT]):
    """One paginated listing.

    `fetch(offset, limit)` requests one page (None leaves the value to Podio's default);
    `items(page)` returns the page's elements; `filtered(page)`, when given, the number of
    elements matching in all (Podio's `filtered` for item filters). `key(element)`, when given,
    identifies an element so iteration never yields it twice when rows shift between pages
    (an item created during the export moves later ones one place down).
    """

    __slots__ = ("_fetch", "_filtered", "_items", "_key", "_limit", "_max_limit", "_offset")

    def __init__(
        self,
        fetch: Callable[[int | None, int | None], Awaitable[PageT]],
        *,
        items: Callable[[PageT], Sequence[ItemT]],
        max_limit: int,
        offset: int | None = None,
        limit: int | None = None,
        filtered: Callable[[PageT], int | None] | None = None,
        key: Callable[[ItemT], Hashable] | None = None,
    ) -> None:
        if max_limit <= 0:
            raise ValueError("max_limit must be positive")
        if limit is not None and limit <= 0:
            raise ValueError("limit must be positive")
        if offset is not None and offset < 0:
            raise ValueError("offset must not be negative")
        self._fetch = fetch
        self._items = items
        self._max_limit = max_limit
        self._offset = offset
        self._limit = limit
        self._filtered = filtered
        self._key = key

    def __await__(self) -> Generator[Any, None, PageT]:
        # One page, exactly as the caller asked (Podio's defaults for what they left out).
        return self._fetch(self._offset, self._limit).__await__()

    def __aiter__(self) -> AsyncIterator[ItemT]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[ItemT]:
        offset = self._offset or 0
        size = self._limit if self._limit is not None else self._max_limit
        seen: set[Hashable] | None = set() if self._key is not None else None
        while True:
            page = await self._fetch(offset, size)
            elements = self._items(page)
            total = self._filtered(page) if self._filtered is not None else None
            count = len(elements)
            for element in elements:
                if seen is not None and self._key is not None:
                    ident = self._key(element)
                    if ident is not None:  # no identity (a partial response): never skip
                        if ident in seen:
                            continue
                        seen.add(ident)
                yield element
            del page, elements  # one page in memory: drop it before fetching the next
            offset += count
            if count == 0:
                break
            if total is not None:
                # A count is authoritative: a page shorter than asked (a server-side cap
                # below `size`) must not end the walk early and drop elements.
                if offset >= total:
                    break
            elif count < size:
                break

    def __repr__(self) -> str:
        return f"<AsyncPage offset={self._offset} limit={self._limit} max_limit={self._max_limit}>"
