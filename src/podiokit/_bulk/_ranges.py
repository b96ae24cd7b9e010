"""The range reader: ranges read page by page, `concurrency` pages at once, every page handed
to one writer in a worker thread.

Fetchers read ranges by keyset and hand each page to the writer through a bounded stream,
then ask for their next page at once: pages are requested while earlier ones are written,
and memory holds at most `concurrency` pages being fetched plus `concurrency` queued.
The exporter writes its file here (podiokit.export), the mirror its database
(podiokit.mirror). A writer with CPU work of its own before its I/O (the mirror builds its
rows, then waits for the database) gives that part as `prepare`: it runs in a worker thread
of its own, one page ahead of the writer, so a page's rows are built while the page before
it is being written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
from anyio import to_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from . import _fetch
from ._args import MAX_PAGE_SIZE
from ._buffers import PageBuffers
from ._plan import Range, Window, window_page
from ._tasks import run_all

if TYPE_CHECKING:
    import msgspec

    from .._client import Podio

__all__ = ["FetchedPage", "Prefetch", "checked_page", "copy_ranges"]


@dataclass
class FetchedPage:
    """One fetched page on its way to the writer: the items of `range` from its cursor, up
    to `cursor` (the next `app_item_id` to read); `done` when the range is complete;
    `compact` when no item holds a raw line break (see `Page`)."""

    range: Range
    items: list[msgspec.Raw]
    cursor: int
    done: bool
    compact: bool = False
    #: The reused buffer the items are views of (`PageBuffers`), given back once written.
    buffer: bytearray | None = None
    #: What `prepare` made of the items (they are dropped once it has run).
    prepared: Any = None
    #: Calls the page cost (the offset reader counts its calls itself: 0).
    calls: int = 1


class Prefetch:
    """A window's page, read from the start of the export (`first_windows`). `range` is
    the range the plan gives the page (None when the window lies above the app's highest
    id: its items, if any, were created since the probe, and the sweep reads them)."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self.page: _fetch.Page | None = None
        self.range: Range | None = None
        self.ready = anyio.Event()
        #: The page broke its range (checked as any page is): raised if the range
        #: strategy reads the app, ignored if the offset one does (`range` None then).
        self.violation: _fetch.RangeFilterError | None = None

    async def read(self, session: Podio, page_size: int, buffers: PageBuffers) -> None:
        w = self.window
        page: _fetch.Page | None = None
        try:
            page = await _fetch.fetch_page(
                session, w.app_id, w.lo, w.hi, page_size, buffers=buffers
            )
            page.items = checked_page(page.items, w.lo, w.hi, w.app_id)
            self.page = page
        except _fetch.RangeFilterError as exc:
            self.violation = exc
            if page is not None and page.buffer is not None:
                buffer, page.buffer, page.items = page.buffer, None, []
                buffers.give(buffer)
        finally:
            self.ready.set()  # a failed read fails the export; nothing waits in vain


async def copy_ranges(
    sessions: Mapping[int, Podio],
    ranges: Sequence[Range],
    write: Callable[[FetchedPage], None],
    *,
    concurrency: int,
    page_size: int = MAX_PAGE_SIZE,
    on_written: Callable[[], None] | None = None,
    on_wait: Callable[[float], None] | None = None,
    buffers: PageBuffers | None = None,
    prefetched: Sequence[Prefetch] = (),
    prepare: Callable[[FetchedPage], Any] | None = None,
    writers: int = 1,
) -> None:
    """Read `ranges` (each app by its session in `sessions`) page by page, `concurrency`
    pages at once, and hand every page to `write`: called in a worker thread, one page at a
    time and in each range's order, so it may block (file or database I/O) while the next
    pages are fetched. `write` must record the page's `cursor`/`done` itself if it wants to
    resume. The exporter writes to its file here; the mirror (podiokit.mirror) to its
    database. `prefetched`: windows being read already (not in `ranges`); each one's page
    is written as it comes, and its range read on from there if the page left ids to read.
    The sweeps start once every window is in.

    `prepare`, when given, is called in a worker thread with each page before `write`, one
    page at a time and in the same order; its result is the page's `prepared` and its
    `items` are dropped (its buffer given back) before `write` sees it. One page waits
    between the two, so `prepare` works on the next page while `write` writes this one.

    `writers`: pages written at once, each call of `write` in a worker thread of its own;
    above 1, pages are written in no particular order (a database that takes concurrent
    transactions; the exporter's file needs 1)."""
    todo: list[tuple[Range, int]] = [(r, r.cursor) for r in ranges]
    # Sweeps wait for the windows: they run last, and a window may leave ids to read again.
    held = [t for t in todo if t[0].sweep] if prefetched else []
    if held:
        todo = [t for t in todo if not t[0].sweep]
    settled = anyio.Event()
    unsettled = [len(prefetched)]
    if not prefetched:
        settled.set()
    # One page waiting for the writer is enough: writing a page takes a fraction of the
    # time fetching one does, and every page buffered is ~4 MB more held.
    send, receive = anyio.create_memory_object_stream[FetchedPage](1)

    async def fetch(send: MemoryObjectSendStream[FetchedPage], rng: Range, cursor: int) -> None:
        session = sessions[rng.app_id]
        done = False
        while not done:
            page = await _fetch.fetch_page(
                session, rng.app_id, cursor, rng.hi, page_size, on_wait=on_wait,
                buffers=buffers,
            )  # fmt: skip
            full = len(page.items) >= page_size
            items = checked_page(page.items, cursor, rng.hi, rng.app_id)
            done = not full or page.last >= rng.hi
            cursor = min(page.last, rng.hi) + 1
            fetched = FetchedPage(rng, items, cursor, done, page.compact, page.buffer)
            del items
            del page  # the fetched page alone refers to the items now
            await send.send(fetched)

    async def fetcher(send: MemoryObjectSendStream[FetchedPage]) -> None:
        async with send:
            while True:
                if todo:
                    await fetch(send, *todo.pop(0))
                elif settled.is_set():
                    return
                else:
                    await settled.wait()

    async def window(send: MemoryObjectSendStream[FetchedPage], prefetch: Prefetch) -> None:
        async with send:
            try:
                await prefetch.ready.wait()
                page, rng, prefetch.page = prefetch.page, prefetch.range, None
                if prefetch.violation is not None and rng is not None:
                    raise prefetch.violation
                if page is None:
                    return  # the read failed: that error ends the export
                if rng is None:  # above the app's highest id: the sweep reads those items
                    if page.buffer is not None and buffers is not None:
                        buffer = page.buffer
                        del page
                        buffers.give(buffer)
                    return
                cursor, done = window_page(rng, page.last if page.items else None)
                items = page.items
                if items and page.last > rng.hi:
                    items = _up_to(items, rng.hi, rng.app_id)
                fetched = FetchedPage(rng, items, cursor, done, page.compact, page.buffer)
                del page, items
                await send.send(fetched)
                if not done:
                    todo.insert(0, (rng, cursor))
            finally:
                unsettled[0] -= 1
                if unsettled[0] == 0:
                    todo.extend(held)
                    settled.set()

    def release(page: FetchedPage) -> None:
        buffer, page.buffer, page.items = page.buffer, None, []
        if buffer is not None and buffers is not None:
            buffers.give(buffer)  # the items are dropped: the buffer can take another page

    async def written(page: FetchedPage) -> None:
        # In a worker thread: the event loop keeps fetching meanwhile. With one writer (the
        # exporter), only this task writes, so the thread never races another writer.
        await to_thread.run_sync(write, page)
        release(page)
        page.prepared = None
        if on_written is not None:
            on_written()

    async def writer(receive: MemoryObjectReceiveStream[FetchedPage]) -> None:
        async with receive:
            async for page in receive:
                await written(page)

    async def preparer(
        receive: MemoryObjectReceiveStream[FetchedPage],
        send: MemoryObjectSendStream[FetchedPage],
    ) -> None:
        assert prepare is not None
        async with receive, send:
            async for page in receive:
                page.prepared = await to_thread.run_sync(prepare, page)
                release(page)
                await send.send(page)

    stages: list[Callable[[], Awaitable[None]]]
    if prepare is None:
        ready = receive
        stages = []
    else:
        send_prepared, ready = anyio.create_memory_object_stream[FetchedPage](1)
        stages = [partial(preparer, receive, send_prepared)]
    stages += [partial(writer, ready.clone()) for _ in range(max(1, writers))]
    ready.close()

    count = concurrency if prefetched else max(1, min(concurrency, len(todo)))
    tasks = [partial(fetcher, send.clone()) for _ in range(count)]
    tasks += [partial(window, send.clone(), p) for p in prefetched]
    send.close()
    await run_all([*stages, *tasks])


#: Items of a page whose ids `checked_page` reads (evenly spaced, the first and last among
#: them): reading every item's id costs a pass over the whole page (`bench_export.py`).
_SAMPLE = 16


def checked_page(items: list[msgspec.Raw], lo: int, hi: int, app_id: int) -> list[msgspec.Raw]:
    """A page of the range `[lo, hi]` checked against it: the first item at or above `lo`
    and the ids ascending (else RangeFilterError: the range filter is not honoured, and
    writing the page could write items twice), those above `hi` trimmed (a Podio ignoring
    `to`). The order is read at the first and last item and evenly between them: sorting by
    `app_item_id` is documented (docs/dev/podio-behaviour.md §4.1), the range is not, and a
    Podio ignoring `from` sends a first item below it."""
    if not items:
        return items
    last = len(items) - 1
    previous = lo - 1
    for index in sorted({*range(0, last, max(1, last // _SAMPLE)), last}):
        current = _fetch._app_item_id(items[index], app_id)
        if current <= previous:
            raise _fetch.RangeFilterError(
                f"filter of app {app_id} answered app_item_id {current} for the range "
                f"{lo}..{hi} after {previous}",
                method="POST",
                path=f"/item/app/{app_id}/filter/",
            )
        previous = current
    if previous > hi:
        return _up_to(items, hi, app_id)
    return items


def _up_to(items: list[msgspec.Raw], hi: int, app_id: int) -> list[msgspec.Raw]:
    """The leading items of an id-ordered page with `app_item_id <= hi` (a binary search:
    a few items' ids are read, not every item's)."""
    lo, end = 0, len(items)
    while lo < end:
        mid = (lo + end) // 2
        if _fetch._app_item_id(items[mid], app_id) <= hi:
            lo = mid + 1
        else:
            end = mid
    return items[:lo]
