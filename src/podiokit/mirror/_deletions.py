"""Which stored items Podio no longer has, found by counting instead of listing every item.

Podio's item count takes a `created_on` range (`GET /item/app/{app_id}/count?created_on=
2024-01-01-2024-03-31`, docs/dev/podio-behaviour.md §4.1), and an item's creation time
never changes. So the mirror compares Podio's count of a window of creation days with its
own count of the same window: equal means nothing in it was deleted; a window that differs
is split in two at the day that halves its stored items, the left half counted (the right
one's count is the difference), and so on down. A window is listed (its items' ids, by
`app_item_id` range) once listing costs no more calls than splitting it further would, or
when it is one day. With d deleted items among N that is about d·log2(N/(500·d)) counts
plus one listing call per deleted item's window, instead of N/500 listing calls; when the
estimate says otherwise (deletions everywhere), `None` asks for the full listing.

Only what a listing shows missing is deleted: a count can decide where to look, never what
to delete. The days from yesterday on are always listed, never counted (items created while
the run reads are in Podio's count but not yet in the mirror). Whatever does not add up
(Podio counting more items in a window than the mirror holds, or a listing finding fewer
missing items than the counts promised: another idea of a day's bounds, items deleted or
created between two calls) also answers `None`: the run lists every item instead, as
before.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache, partial

from .._bulk import run_all

__all__ = ["Search", "find_deleted"]

#: Podio's count of the items created from day `first` to day `last` (both included).
Count = Callable[[date, date], Awaitable[int]]
#: The ids of the items with `lo <= app_item_id <= hi`, and the calls it took.
Listing = Callable[[int, int], Awaitable[tuple[set[int], int]]]
#: A stored item: (creation day, app_item_id, item_id), sorted by day then app_item_id.
Stored = tuple[date | None, int, int]


@dataclass
class Search:
    """What one search found and what it cost."""

    #: Stored item ids Podio no longer has (None: the full listing is needed).
    deleted: set[int] | None = None
    counts: int = 0
    listings: int = 0
    #: The windows that were listed.
    windows: list[tuple[date, date]] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return self.counts + self.listings


class _Inconsistent(Exception):
    """The counts and the listings do not add up: the full listing decides."""


async def find_deleted(
    stored: Sequence[Stored],
    *,
    today: date,
    count: Count,
    listing: Listing,
    page_size: int,
    expected: int = 1,
    concurrency: int = 1,
) -> Search:
    """The stored items (`stored`, every item of the app the mirror holds) that Podio no
    longer has, `today` being the current UTC day. `expected`: about how many (the
    mirror's count less Podio's): when listing every item costs less than searching for
    that many, no call is made and the answer is the full listing. `concurrency`: windows
    searched at once."""
    search = Search()
    if not stored or any(day is None for day, _, _ in stored):
        return search  # nothing stored, or an item without a creation time: list them all
    if not _worth_splitting(len(stored), max(1, expected), page_size):
        return search
    days = [day.toordinal() for day, _, _ in stored]  # type: ignore[union-attr]
    # Items created from yesterday on may be in Podio's counts but not yet in the mirror.
    tail_from = (today - timedelta(days=1)).toordinal()
    tail = bisect_left(days, tail_from)
    deleted: set[int] = set()
    try:
        todo = await _root(search, days, tail, count, page_size) if tail else []
        if tail < len(stored):
            deleted |= await _list(search, stored, tail, len(stored), listing, None)
        await _bisect(
            search, stored, days, tail, todo, count, listing, page_size, deleted, concurrency
        )
    except _Inconsistent:
        return search
    search.deleted = deleted
    return search


async def _root(
    search: Search, days: list[int], end: int, count: Count, page_size: int
) -> list[tuple[int, int, int]]:
    """The first window, every day before the tail, if searching it pays."""
    first, last = days[0], days[end - 1]
    podio = await _count(search, count, first, last)
    missing = end - podio
    if missing < 0:
        raise _Inconsistent
    if missing and not _worth_splitting(end, missing, page_size):
        raise _Inconsistent  # deletions everywhere: the full listing costs less
    return [(first, last, podio)]


async def _bisect(
    search: Search,
    stored: Sequence[Stored],
    days: list[int],
    end: int,
    todo: list[tuple[int, int, int]],
    count: Count,
    listing: Listing,
    page_size: int,
    deleted: set[int],
    concurrency: int,
) -> None:
    """Search the windows in `todo`, each (first day, last day, Podio's count), over
    `stored[:end]`, up to `concurrency` windows at once (the calls are the same whatever
    the order)."""

    async def visit(window: tuple[int, int, int]) -> None:
        lo_day, hi_day, podio = window
        lo, hi = bisect_left(days, lo_day, 0, end), bisect_right(days, hi_day, 0, end)
        held = hi - lo
        missing = held - podio
        if missing < 0:
            raise _Inconsistent
        if missing == 0:
            return
        if days[lo] == days[hi - 1] or not _worth_splitting(held, missing, page_size):
            deleted.update(await _list(search, stored, lo, hi, listing, missing))
            return
        # Split at the day of the middle stored item (the left half ends the day before).
        split = days[(lo + hi) // 2]
        if split == days[lo]:
            split = days[bisect_right(days, split, lo, hi)]
        left = await _count(search, count, lo_day, split - 1)
        todo.append((split, hi_day, podio - left))
        todo.append((lo_day, split - 1, left))

    while todo:
        batch = [todo.pop() for _ in range(min(len(todo), max(1, concurrency)))]
        await run_all([partial(visit, window) for window in batch])


async def _count(search: Search, count: Count, first: int, last: int) -> int:
    search.counts += 1
    return await count(date.fromordinal(first), date.fromordinal(last))


async def _list(
    search: Search,
    stored: Sequence[Stored],
    lo: int,
    hi: int,
    listing: Listing,
    missing: int | None,
) -> set[int]:
    """The items of `stored[lo:hi]` Podio no longer lists (`missing`: how many the counts
    say; fewer found is an inconsistency, more are items deleted meanwhile)."""
    window = stored[lo:hi]
    ids = {item_id for _, _, item_id in window}
    low = min(app_item_id for _, app_item_id, _ in window)
    high = max(app_item_id for _, app_item_id, _ in window)
    listed, calls = await listing(low, high)
    search.listings += calls
    first, last = window[0][0], window[-1][0]
    assert first is not None and last is not None
    search.windows.append((first, last))
    gone = ids - listed
    if missing is not None and len(gone) < missing:
        raise _Inconsistent
    return gone


#: What a count costs against a listing call: a listing is a filter call, from the budget of
#: 250 calls an hour; a count comes from the general one of 1,000 (docs/dev/podio-behaviour.md
#: §3). A tie goes to the counts.
COUNT_COST = 250 / 1000


def _worth_splitting(held: int, missing: int, page_size: int) -> bool:
    """Whether splitting a window of `held` stored items, `missing` of them deleted, is
    expected to cost no more than listing it (in listing calls)."""
    if held <= page_size:
        return False  # one page: splitting cannot beat one call
    return _split_cost(held, missing, page_size) <= _list_cost(held - missing, page_size)


def _list_cost(items: float, page_size: int) -> int:
    return max(1, math.ceil(items / page_size))


@lru_cache(maxsize=4096)
def _estimate(held: int, missing: float, page_size: int) -> float:
    """Expected calls to find `missing` deleted items among `held` (deletions spread evenly):
    the cheaper of listing the window and splitting it."""
    if missing <= 0:
        return 0.0
    if missing < 1:  # a window that holds a deletion with this probability
        return missing * _estimate(held, 1.0, page_size)
    listing = float(_list_cost(held - missing, page_size))
    if held <= page_size:
        return listing  # one page: splitting cannot beat one call
    return min(listing, _split_cost(held, missing, page_size))


def _split_cost(held: int, missing: float, page_size: int) -> float:
    """One count for the left half, then each half searched."""
    half, share = held // 2, round(missing / 2, 3)
    return (
        COUNT_COST
        + _estimate(half, share, page_size)
        + _estimate(held - half, round(missing - share, 3), page_size)
    )
