"""Page objects: awaitable for one page, async-iterable for every element.

A paginated resource method (`podio.items.filter(app_id)`) is not a coroutine: it returns an
`AsyncPage` at once, and the caller chooses::

    page = await podio.items.filter(app_id, limit=100)      # one request: .total .filtered .items
    async for item in podio.items.filter(app_id):           # every item, page by page

Iteration asks for the largest page Podio allows for the operation (`max_limit`, 500 for
filter) unless the caller passed `limit=`, and stops when Podio's count of matching elements is
reached, or, for listings without a count, on a short or empty page.

Iteration reads ahead: while the caller works on one page's elements, the next page is
already being fetched (and parsed into models), so the network and the caller's work overlap.
`prefetch(n)` sets how many pages may be fetched ahead of the one being read: 1 by default,
0 for one page at a time; memory holds the current page plus at most `n` more. A page that
fails raises where the iteration reaches it, after every element before it; leaving the loop
(break, an exception, cancellation) cancels the requests still ahead and waits for them.
"""

from __future__ import annotations

from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Hashable,
    Iterator,
    Sequence,
)
from contextlib import suppress
from typing import Any, Generic, Protocol, TypeVar

import anyio.lowlevel

from ._ahead import Ahead
from ._defaults import PREFETCH_PAGES

__all__ = ["AsyncPage", "SyncPage"]

PageT = TypeVar("PageT")
_T = TypeVar("_T")
ItemT = TypeVar("ItemT")


class AsyncPage(Generic[PageT, ItemT]):
    """One paginated listing.

    `fetch(offset, limit)` requests one page (None leaves the value to Podio's default);
    `items(page)` returns the page's elements; `filtered(page)`, when given, the number of
    elements matching in all (Podio's `filtered` for item filters). `key(element)`, when given,
    identifies an element so iteration never yields it twice when rows shift between pages
    (an item created during the export moves later ones one place down). `prefetch`: pages
    iteration may fetch ahead of the one being read (`prefetch(n)` gives a copy with
    another value).
    """

    __slots__ = (
        "_fetch", "_filtered", "_items", "_key", "_limit", "_max_limit", "_offset", "_prefetch",
    )  # fmt: skip

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
        prefetch: int = PREFETCH_PAGES,
    ) -> None:
        _check_prefetch(prefetch)
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
        self._prefetch = prefetch

    def prefetch(self, pages: int) -> AsyncPage[PageT, ItemT]:
        """This listing, iterated with up to `pages` pages fetched ahead of the one being
        read (0: one page at a time). A copy: this page object keeps its own setting.

        ```python
        async for item in podio.items.filter(app_id).prefetch(3):
            ...
        ```
        """
        _check_prefetch(pages)
        copy: AsyncPage[PageT, ItemT] = AsyncPage.__new__(AsyncPage)
        for name in AsyncPage.__slots__:
            setattr(copy, name, getattr(self, name))
        copy._prefetch = pages
        return copy

    def __await__(self) -> Generator[Any, None, PageT]:
        # One page, exactly as the caller asked (Podio's defaults for what they left out).
        return self._fetch(self._offset, self._limit).__await__()

    def __aiter__(self) -> AsyncGenerator[ItemT, None]:
        return self._iterate()

    async def _iterate(self) -> AsyncGenerator[ItemT, None]:
        pages = self._pages()
        try:
            async for elements, _ in pages:
                for element in elements:
                    yield element
                del elements
        finally:
            await pages.aclose()  # its requests ahead are cancelled now, not when collected

    async def _pages(
        self, first: PageT | None = None
    ) -> AsyncGenerator[tuple[list[ItemT], bool], None]:
        """Each page's elements to yield (and whether more pages follow), fetching up to
        `prefetch` pages ahead of the one being read; `first`: the first page, fetched
        already."""
        walk = _Walk(self)
        depth = self._prefetch
        fetch = self._fetch
        ahead: Ahead[tuple[int, int], PageT] = Ahead(lambda request: fetch(*request))
        page = first
        try:
            while walk.request is not None:
                if page is None:
                    if depth:
                        # The caller waits for this page: nothing more is asked for now (a
                        # second request would share the server and the link with the one
                        # awaited, and arrive later itself).
                        ahead.keep(walk.plan(depth))
                        page = await ahead.take(walk.request)
                    else:
                        page = await fetch(*walk.request)
                elements = walk.take(page)
                page = None  # only its elements are kept while they are read
                if depth and walk.request is not None:
                    ahead.keep(walk.plan(depth))
                    await anyio.lowlevel.checkpoint()  # the requests leave before the caller works
                yield elements, walk.request is not None
                del elements
        finally:
            if len(ahead):
                await ahead.close()

    def __repr__(self) -> str:
        return f"<AsyncPage offset={self._offset} limit={self._limit} max_limit={self._max_limit}>"


class _Walk(Generic[PageT, ItemT]):
    """Where an iteration over every element stands: the next (offset, limit) to ask for,
    the identities seen, and when to stop. Shared by `AsyncPage` and `SyncPage`, so both
    faces page alike."""

    __slots__ = ("_page", "_seen", "_size", "_total", "request")

    def __init__(self, page: AsyncPage[PageT, ItemT]) -> None:
        self._page = page
        self._size = page._limit if page._limit is not None else page._max_limit
        self._seen: set[Hashable] | None = set() if page._key is not None else None
        #: The count of matching elements the last page gave (None before one, or without).
        self._total: int | None = None
        #: The next page to fetch as (offset, limit); None once the walk is over.
        self.request: tuple[int, int] | None = (page._offset or 0, self._size)

    def plan(self, count: int) -> list[tuple[int, int]]:
        """The next `count` requests at most: the next one, then, when the count of matching
        elements is known, the full pages after it that it says exist. (A listing without a
        count is never asked beyond its next page: that could only cost calls at its end.)"""
        if self.request is None or count <= 0:
            return []
        offset, size = self.request
        planned = [self.request]
        total = self._total
        if total is not None:
            while len(planned) < count and offset + size * len(planned) < total:
                planned.append((offset + size * len(planned), size))
        return planned

    def take(self, page: PageT) -> list[ItemT]:
        """The elements of `page` to yield (none seen before), and the next request."""
        assert self.request is not None
        source = self._page
        elements = source._items(page)
        total = source._filtered(page) if source._filtered is not None else None
        self._total = total
        count = len(elements)
        fresh: list[ItemT] = []
        seen, key = self._seen, source._key
        for element in elements:
            if seen is not None and key is not None:
                ident = key(element)
                if ident is not None:  # no identity (a partial response): never skip
                    if ident in seen:
                        continue
                    seen.add(ident)
            fresh.append(element)
        offset = self.request[0] + count
        if count == 0:
            self.request = None
        elif total is not None:
            # A count is authoritative: a page shorter than asked (a server-side cap below
            # the size asked) must not end the walk early and drop elements.
            self.request = None if offset >= total else (offset, self._size)
        else:
            self.request = None if count < self._size else (offset, self._size)
        return fresh


class SyncPage(Generic[PageT, ItemT]):
    """A paginated listing on the sync face (`SyncPodio`): the first page, already fetched,
    and iterable over every element.

    ```python
    page = podio.items.filter(app_id, limit=100)   # one request
    page.items, page.total, page.filtered          # the first page
    for item in podio.items.filter(app_id):        # every item, page by page
        ...
    ```

    The first page asks for `limit` elements, or the most Podio allows (`max_limit`) when
    `limit` is not given, so iterating goes on from it without asking again. Iteration
    fetches the next page while the caller works on this one (`prefetch(n)`: up to `n` pages
    ahead, 1 by default, 0 for one at a time); once it moves past the first page, that page
    is dropped (reading `.page` or `.items` again fetches it again).
    """

    __slots__ = ("_first", "_run", "_source", "_total")

    def __init__(
        self,
        run: _Runner,
        source: AsyncPage[PageT, ItemT],
        *,
        total: Callable[[PageT], int | None] | None = None,
    ) -> None:
        self._run = run
        self._source = source
        self._total = total
        self._first: PageT | None = None
        self._first = self.page  # the first request happens now, as the call's result

    def _fetch_first(self) -> PageT:
        request = _Walk(self._source).request
        assert request is not None
        return self._run(_as_coroutine(self._source._fetch(*request)))

    @property
    def page(self) -> PageT:
        """The first page as Podio sent it (the operation's return model)."""
        first = self._first
        if first is None:
            first = self._first = self._fetch_first()
        return first

    @property
    def items(self) -> list[ItemT]:
        """The elements of the first page."""
        return list(self._source._items(self.page))

    @property
    def filtered(self) -> int | None:
        """How many elements match in all (Podio's `filtered`), when the listing says."""
        filtered = self._source._filtered
        return filtered(self.page) if filtered is not None else None

    @property
    def total(self) -> int | None:
        """How many elements exist in all (Podio's `total`), when the listing says."""
        return self._total(self.page) if self._total is not None else None

    def prefetch(self, pages: int) -> SyncPage[PageT, ItemT]:
        """This listing, iterated with up to `pages` pages fetched ahead of the one being
        read (0: one page at a time); the first page is not asked for again."""
        copy: SyncPage[PageT, ItemT] = SyncPage.__new__(SyncPage)
        copy._run, copy._total, copy._first = self._run, self._total, self._first
        copy._source = self._source.prefetch(pages)
        return copy

    def __iter__(self) -> Iterator[ItemT]:
        # The pages come from the async walk, run on the client's event loop: the requests
        # ahead are tasks there, so they go on while this thread reads a page's elements.
        pages = self._source._pages(self._first)
        try:
            while True:
                try:
                    elements, more = self._run(_as_coroutine(pages.__anext__()))
                except StopAsyncIteration:
                    return
                if more:
                    self._first = None  # moving past the first page: it is not kept
                yield from elements
                del elements
        finally:
            with suppress(RuntimeError):  # the client was closed first: nothing runs on
                self._run(_as_coroutine(pages.aclose()))

    def __repr__(self) -> str:
        source = self._source
        return (
            f"<SyncPage offset={source._offset} limit={source._limit} "
            f"max_limit={source._max_limit}>"
        )


class _Runner(Protocol):
    """Runs a coroutine on the sync client's event loop and returns its result."""

    def __call__(self, coro: Coroutine[Any, Any, _T], /) -> _T: ...


async def _as_coroutine(awaitable: Awaitable[_T]) -> _T:
    return await awaitable


def _check_prefetch(pages: Any) -> None:
    if not isinstance(pages, int) or isinstance(pages, bool) or pages < 0:
        raise ValueError(f"prefetch must be a number of pages, 0 or more, not {pages!r}")
