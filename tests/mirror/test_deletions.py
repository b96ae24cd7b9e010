"""Deleted items found by counting windows of creation days (mirror/_deletions.py): the
search against a Podio made of a list, then a mirror run against the emulator."""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from podiokit import Podio
from podiokit.mirror import mirror
from podiokit.mirror._deletions import Search, Stored, find_deleted
from podiokit.testing import Emulator

from ._helpers import COUNT, FILTER, PROJECTS, assert_exact, calls_since, change, routes

pytestmark = pytest.mark.anyio

PAGE = 500
#: As the emulator seeds items: ten minutes apart from here, so 100,000 span 694 days.
EPOCH = datetime(2023, 11, 14, 22, 13, 20)
TODAY = date(2026, 1, 1)


def made(n: int, *, start: datetime = EPOCH, first_id: int = 1) -> list[Stored]:
    return [
        ((start + timedelta(minutes=10 * k)).date(), first_id + k, 10_000_000 + first_id + k)
        for k in range(n)
    ]


class ListPodio:
    """Podio as a list of (creation day, app_item_id, item_id): its count of a window of days
    and its listing of an app_item_id range, each call counted. `shift` moves every item a
    day later in the counts only (another idea of where a day starts)."""

    def __init__(self, items: list[Stored], *, shift: int = 0) -> None:
        self.items = items
        self.days = sorted(d.toordinal() + shift for d, _, _ in items if d is not None)
        self.counts = 0
        self.listings = 0

    async def count(self, first: date, last: date) -> int:
        self.counts += 1
        lo, hi = first.toordinal(), last.toordinal()
        return bisect_right(self.days, hi) - bisect_left(self.days, lo)

    async def listing(self, lo: int, hi: int) -> tuple[set[int], int]:
        ids = {i for _, a, i in self.items if lo <= a <= hi}
        calls = max(1, math.ceil(len(ids) / PAGE))
        self.listings += calls
        return ids, calls


async def search(
    stored: list[Stored],
    podio: ListPodio,
    *,
    expected: int = 1,
    today: date = TODAY,
    concurrency: int = 1,
) -> Search:
    found = await find_deleted(
        stored, today=today, count=podio.count, listing=podio.listing, page_size=PAGE,
        expected=expected, concurrency=concurrency,
    )  # fmt: skip
    # The search reports the calls it made, each of them.
    assert (found.counts, found.listings) == (podio.counts, podio.listings)
    return found


def minus(stored: list[Stored], gone: set[int]) -> list[Stored]:
    return [s for s in stored if s[2] not in gone]


@pytest.mark.parametrize(("n", "d"), [(100_000, 1), (100_000, 10), (100_000, 100), (5_000, 3)])
async def test_finds_exactly_the_deleted_items_in_few_calls(n: int, d: int) -> None:
    stored = made(n)
    gone = {i for _, _, i in random.Random(d).sample(stored, d)}
    found = await search(stored, ListPodio(minus(stored, gone)), expected=d)
    assert found.deleted == gone
    full = n // PAGE  # the full listing: every page of items
    # About one listing call per deleted item (two deletions close together may share a
    # window, or a window of two pages may cost less than splitting it), and a few counts
    # per deletion: each count halves a window (log2 of the windows of one page).
    assert found.listings <= d + d // 10 + 1
    assert found.counts <= d * math.ceil(math.log2(n / PAGE)) + 1
    # Listing calls come from the budget of 250 an hour, counts from the 1,000 one.
    assert found.listings + found.counts / 4 < full


async def test_windows_searched_at_once_cost_the_same_calls() -> None:
    stored = made(100_000)
    gone = {i for _, _, i in random.Random(7).sample(stored, 30)}
    one = await search(stored, ListPodio(minus(stored, gone)), expected=30)
    four = await search(stored, ListPodio(minus(stored, gone)), expected=30, concurrency=4)
    assert one.deleted == four.deleted == gone
    assert (one.counts, one.listings) == (four.counts, four.listings)


async def test_nothing_deleted_costs_one_count() -> None:
    stored = made(20_000)
    found = await search(stored, ListPodio(stored))
    assert found.deleted == set() and (found.counts, found.listings) == (1, 0)


@pytest.mark.parametrize("d", [300, 1_000])
async def test_deletions_everywhere_ask_for_the_full_listing_without_a_call(d: int) -> None:
    stored = made(100_000)
    gone = {i for _, _, i in random.Random(d).sample(stored, d)}
    found = await search(stored, ListPodio(minus(stored, gone)), expected=d)
    assert found.deleted is None and found.calls == 0


async def test_the_last_days_are_listed_not_counted() -> None:
    """Items created from yesterday on may be in Podio's counts and not yet in the mirror
    (created while the run reads): those days are listed, and a new item is no deletion."""
    old = made(3_000)
    recent = made(40, start=datetime(2025, 12, 31, 0, 0), first_id=5_000)
    stored = old + recent
    gone = {old[100][2], recent[5][2], recent[39][2]}
    new = made(3, start=datetime(2026, 1, 1, 9, 0), first_id=9_000)  # not in the mirror
    podio = ListPodio(minus(stored, gone) + new)
    found = await search(stored, podio, expected=2)  # the mirror's count less Podio's
    assert found.deleted == gone
    listed_days = [w for w in found.windows if w[1] >= date(2025, 12, 31)]
    assert listed_days == [(date(2025, 12, 31), date(2025, 12, 31))]  # one listing


async def test_counts_that_do_not_add_up_ask_for_the_full_listing() -> None:
    """A Podio whose days start elsewhere (its counts shifted by a day) never makes the
    search delete an item it still has: the search gives up and asks for the full listing."""
    stored = made(20_000)
    gone = {stored[7_000][2], stored[12_345][2]}
    podio = ListPodio(minus(stored, gone), shift=1)
    found = await search(stored, podio, expected=2)
    assert found.deleted is None


async def test_podio_counting_more_than_the_mirror_holds_asks_for_the_full_listing() -> None:
    stored = made(20_000)
    extra = made(5, start=EPOCH + timedelta(days=30), first_id=50_000)
    found = await search(stored, ListPodio(stored + extra), expected=1)
    assert found.deleted is None


async def test_a_deletion_between_a_count_and_a_listing_is_found_too() -> None:
    stored = made(20_000)
    gone = {stored[15_000][2]}
    podio = ListPodio(minus(stored, gone))
    later = stored[15_001][2]
    listing = podio.listing

    async def listing_after_another_deletion(lo: int, hi: int) -> tuple[set[int], int]:
        podio.items = [s for s in podio.items if s[2] != later]
        return await listing(lo, hi)

    podio.listing = listing_after_another_deletion  # type: ignore[method-assign]
    found = await search(stored, podio, expected=1)
    assert found.deleted == gone | {later}


@pytest.mark.parametrize("stored", [[], [(None, 1, 11), *made(10)]], ids=["empty", "no-day"])
async def test_what_cannot_be_counted_asks_for_the_full_listing(stored: list[Stored]) -> None:
    found = await search(stored, ListPodio([]))
    assert found.deleted is None and found.calls == 0


# --- the mirror run -------------------------------------------------------------------------


@pytest.fixture
def emu() -> Emulator:
    return Emulator(items=6_000)


async def test_a_run_finds_deletions_by_counting(
    emu: Emulator, podio: Podio, db_url: str, tmp_path: Path
) -> None:
    """3 deletions among 6,000 items: counts of windows and a listing of each deleted
    item's window, not the 12 pages of a full listing; the mirror equals a fresh export."""
    await mirror(podio, [PROJECTS], db_url)
    doomed = [await item_id_at(podio, n) for n in (10, 2_345, 5_999)]  # three different days
    await change(podio, PROJECTS, update=5, create=2)
    for item_id in doomed:
        await podio.request("DELETE", f"/item/{item_id}")
    before = routes(emu)
    result = (await mirror(podio, [PROJECTS], db_url)).apps[PROJECTS]
    calls = calls_since(emu, before)
    assert (result.created, result.updated, result.deleted) == (2, 5, 3)
    assert not result.listed and result.calls == sum(calls.values())
    # The count, the edits (one page), then the search: counts and 3 small listings.
    assert result.search_calls == calls[COUNT] - 1 + calls[FILTER] - 1
    assert calls[FILTER] - 1 <= 3 + 1  # each deleted item's window, and the last days
    assert calls[COUNT] - 1 <= 3 * math.ceil(math.log2(6_000 / PAGE)) + 1
    await assert_exact(podio, db_url, PROJECTS, tmp_path)


async def item_id_at(podio: Podio, offset: int) -> int:
    body = {"sort_by": "app_item_id", "sort_desc": False, "limit": 1, "offset": offset}
    page = await podio.request("POST", f"/item/app/{PROJECTS}/filter/", json=body)
    return int(page["items"][0]["item_id"])
