"""Iteration reads ahead (`AsyncPage.prefetch`, `SyncPage.prefetch`): the next pages are
fetched while the caller works, never more than `prefetch` of them, errors raise where their
page is reached, and leaving the loop leaves no request running. asyncio and trio; the sync
face on its event-loop thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import aclosing
from dataclasses import dataclass, field

import anyio
import pytest

from podiokit.pagination import AsyncPage, SyncPage
from podiokit.sync._runner import LoopThread

pytestmark = pytest.mark.anyio

SIZE = 10


@dataclass
class Page:
    filtered: int
    items: list[int]


class Boom(Exception):
    pass


@dataclass
class Server:
    """`rows` served `SIZE` a page, each answer after `delay` seconds; it records which
    pages were asked for, which are running, and the most pages ever fetched (or being
    fetched) ahead of the one the caller is reading (`reading`, set by the test)."""

    rows: int
    delay: float = 0.0
    fail_at: int | None = None
    #: Pages from this offset on never come (in a test's time).
    stuck_from: int | None = None
    calls: list[int] = field(default_factory=list)
    running: set[int] = field(default_factory=set)
    cancelled: list[int] = field(default_factory=list)
    reading: int = 0  # the caller waits for the first page from the start
    most_ahead: int = 0
    #: Elements the caller had read when each page was asked for (offset -> count).
    read: int = 0
    asked_after: dict[int, int] = field(default_factory=dict)

    async def page(self, offset: int | None, limit: int | None) -> Page:
        start = offset or 0
        self.calls.append(start)
        self.asked_after[start] = self.read
        self.most_ahead = max(self.most_ahead, start // SIZE - self.reading)
        self.running.add(start)
        stuck = self.stuck_from is not None and start >= self.stuck_from
        try:
            await anyio.sleep(3_600 if stuck else self.delay)
        except anyio.get_cancelled_exc_class():
            self.cancelled.append(start)
            raise
        finally:
            self.running.discard(start)
        if self.fail_at is not None and start >= self.fail_at:
            raise Boom(f"page at {start}")
        return Page(self.rows, list(range(start, min(start + (limit or SIZE), self.rows))))


def pages(server: Server, prefetch: int | None = None) -> AsyncPage[Page, int]:
    listing = AsyncPage(
        server.page, items=lambda p: p.items, filtered=lambda p: p.filtered, max_limit=SIZE
    )
    return listing if prefetch is None else listing.prefetch(prefetch)


async def read_slowly(listing: AsyncPage[Page, int], server: Server, work: float) -> list[int]:
    """Every element, `work` seconds of awaited work each: the caller is busy on a page.
    Once done with a page's last element it is on the next page (waiting for it)."""
    seen = []
    async for element in listing:
        server.reading = element // SIZE
        seen.append(element)
        await anyio.sleep(work)
        server.read += 1
        if element % SIZE == SIZE - 1:
            server.reading += 1
    return seen


@pytest.mark.parametrize("depth", [None, 0, 1, 2, 4])
async def test_never_more_than_prefetch_pages_ahead(depth: int | None) -> None:
    server = Server(rows=100, delay=0.001)
    seen = await read_slowly(pages(server, depth), server, work=0.002)
    assert seen == list(range(100))
    assert sorted(server.calls) == list(range(0, 100, SIZE))  # each page once, none more
    # The page read (or waited for) and `depth` more at most (1 by default).
    assert server.most_ahead <= (1 if depth is None else depth)


async def test_the_next_page_is_fetched_while_the_caller_works() -> None:
    server = Server(rows=30, delay=0.01)
    seen = await read_slowly(pages(server), server, work=0.001)
    assert seen == list(range(30))
    # Each page after the first is asked for as soon as the one before it arrives, before
    # the caller has read any of that one's elements.
    assert server.asked_after == {0: 0, 10: 0, 20: 10}


async def test_no_prefetch_asks_for_a_page_only_when_the_last_one_is_read() -> None:
    server = Server(rows=30, delay=0.001)
    await read_slowly(pages(server, 0), server, work=0.001)
    assert server.most_ahead == 0
    assert server.asked_after == {0: 0, 10: 10, 20: 20}


async def test_a_failed_page_raises_after_every_element_before_it() -> None:
    server = Server(rows=50, delay=0.001, fail_at=30)
    seen: list[int] = []
    with pytest.raises(Boom, match="page at 30"):
        async for element in pages(server, 2):
            seen.append(element)
    assert seen == list(range(30))
    assert not server.running  # the page after it was cancelled, not left running


async def test_cancelled_while_pages_are_ahead_leaves_nothing_running() -> None:
    server = Server(rows=1_000, stuck_from=0)  # no page ever comes
    with anyio.move_on_after(0.05) as scope:
        async for _ in pages(server, 3):
            pass
    assert scope.cancelled_caught
    assert not server.running and server.cancelled == [0]
    # The same after the first page came: the caller is reading, pages are ahead.
    # Cancelled in its own code, the caller leaves the generator open: Python finalizes it
    # at the event loop's next turns (`aclosing` would close it at once).
    server = Server(rows=1_000, delay=0.01, stuck_from=SIZE)
    with anyio.move_on_after(0.1) as scope:
        async for _ in pages(server, 3):
            await anyio.sleep(1)
    assert scope.cancelled_caught
    with anyio.fail_after(5):
        while server.running:  # noqa: ASYNC110 - polls a plain attribute
            await anyio.sleep(0.001)
    assert sorted(server.cancelled) == [10, 20, 30]


async def test_leaving_the_loop_cancels_the_pages_ahead() -> None:
    server = Server(rows=1_000, delay=0.01, stuck_from=SIZE)
    async with aclosing(pages(server, 2).__aiter__()) as elements:
        async for element in elements:
            if element == 3:
                break
    assert not server.running and sorted(server.cancelled) == [10, 20]


async def test_prefetch_is_a_copy_and_checks_its_value() -> None:
    server = Server(rows=5)
    listing = pages(server)
    assert listing.prefetch(3) is not listing
    assert [x async for x in listing.prefetch(0)] == [0, 1, 2, 3, 4]
    for bad in (-1, 1.5, True, "2", None):
        with pytest.raises(ValueError, match="prefetch must be a number of pages"):
            listing.prefetch(bad)  # type: ignore[arg-type]


async def test_short_pages_under_a_count_still_give_every_element_once() -> None:
    """A server that caps pages below the size asked: the pages planned ahead (full ones,
    from the count) are at the wrong offsets; they are dropped and asked for again."""

    async def capped(offset: int | None, limit: int | None) -> Page:
        start = offset or 0
        await anyio.sleep(0.001)
        return Page(95, list(range(start, min(start + 7, 95))))

    listing = AsyncPage(
        capped, items=lambda p: p.items, filtered=lambda p: p.filtered, max_limit=SIZE
    )
    assert [x async for x in listing.prefetch(3)] == list(range(95))


# --- the sync face ------------------------------------------------------------------------


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    runner = LoopThread()
    yield runner
    runner.close()


def sync_pages(loop: LoopThread, server: Server, depth: int | None = None) -> SyncPage[Page, int]:
    listing = SyncPage(loop.run, pages(server))
    return listing if depth is None else listing.prefetch(depth)


def test_sync_iteration_fetches_ahead_on_its_loop(loop: LoopThread) -> None:
    server = Server(rows=30, delay=0.01)
    listing = sync_pages(loop, server)  # the first page is fetched now
    seen = []
    for element in listing:
        server.reading = element // SIZE
        seen.append(element)
        time.sleep(0.002)  # the caller's work, in this thread, while the loop fetches
        server.read += 1
        if element % SIZE == SIZE - 1:
            server.reading += 1
    assert seen == list(range(30))
    assert sorted(server.calls) == [0, 10, 20] and server.most_ahead <= 1
    # Page 3 was asked for while this thread read page 2 (not after it), on the loop.
    assert server.asked_after[20] < 20
    assert threading.current_thread() is threading.main_thread()


def test_sync_iteration_errors_and_break(loop: LoopThread) -> None:
    server = Server(rows=50, delay=0.001, fail_at=30)
    seen = []
    with pytest.raises(Boom, match="page at 30"):
        for element in sync_pages(loop, server, 2):
            seen.append(element)
    assert seen == list(range(30))
    server = Server(rows=1_000, delay=0.01, stuck_from=2 * SIZE)
    elements = iter(sync_pages(loop, server, 2))
    for element in elements:
        if element == 12:
            break
    elements.close()  # as a for loop's end does when nothing else holds the iterator
    assert not server.running and sorted(server.cancelled) == [20, 30]


def test_sync_prefetch_keeps_the_first_page(loop: LoopThread) -> None:
    server = Server(rows=25, delay=0.001)
    listing = sync_pages(loop, server)
    assert listing.prefetch(0).items == listing.items == list(range(10))
    assert server.calls == [0]  # neither the copy nor `.items` asked again
    assert list(listing.prefetch(0)) == list(range(25))
