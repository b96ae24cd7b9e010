"""The export: plan (or resume), fetch ranges concurrently, write pages in one task, commit.

Fetchers read ranges by keyset and hand each page to the writer through a bounded stream,
then ask for their next page at once: pages are requested while earlier ones are written,
and memory holds at most `concurrency` pages being fetched plus `concurrency` queued.
The writer alone touches the file and the checkpoint, so the checkpoint always describes
exactly the bytes before its offset.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from anyio import to_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from . import _fetch
from ._buffers import PageBuffers
from ._checkpoint import Checkpoint
from ._output import Output
from ._plan import Range, Window, first_windows, plan_with_windows, window_page
from ._sinks import Sink, make_sink

if TYPE_CHECKING:
    import msgspec

    from .._client import Podio

__all__ = [
    "ExportProgress",
    "ExportResult",
    "FetchedPage",
    "copy_ranges",
    "export",
    "open_sessions",
    "output_paths",
]

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class ExportProgress:
    """A snapshot after each page (and while waiting for the rate limit)."""

    items: int
    #: Items the apps held when the export started (items created since come on top).
    total: int
    calls: int
    elapsed: float
    #: The lowest `X-Rate-Limit-Remaining` among the sessions (None before any response).
    calls_left: int | None
    #: Seconds the exporter is waiting for the rate limit, 0 when it is not.
    waiting: float = 0.0


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    items: int
    per_app: dict[int, int]
    calls: int
    elapsed: float
    resumed: bool


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


@dataclass
class _State:
    checkpoint: Checkpoint
    sessions: dict[int, Podio]
    started: float
    waiting: float = 0.0


def output_paths(out: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    """(output, temporary file, checkpoint): the last two beside the output."""
    path = Path(out)
    return path, path.with_name(path.name + ".part"), path.with_name(path.name + ".checkpoint")


def checked_args(
    app_ids: int | Iterable[int], concurrency: int, page_size: int, *, verb: str
) -> list[int]:
    """The app ids as a list, once each; a clear ValueError for any bad argument."""
    ids = [app_ids] if isinstance(app_ids, int) else [int(a) for a in app_ids]
    if not ids:
        raise ValueError(f"app_ids is empty: name at least one app to {verb}")
    if len(set(ids)) != len(ids):
        raise ValueError(f"app_ids has duplicates: {ids}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, not {concurrency!r}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size!r}")
    return ids


async def export(
    podio: Podio,
    app_ids: int | Sequence[int],
    out: str | os.PathLike[str],
    *,
    format: str = "jsonl",
    app_tokens: Mapping[int, str] | None = None,
    app_sessions: Mapping[int, Podio] | None = None,
    concurrency: int = 4,
    resume: bool = False,
    page_size: int = MAX_PAGE_SIZE,
    on_progress: Callable[[ExportProgress], None] | None = None,
) -> ExportResult:
    """Export every item of `app_ids` to `out` (JSONL: one item per line, the JSON Podio
    sent; or CSV).

    Each app is read as its own session (`podio.session(f"app:{app_id}")`, signed in with
    its token) when `app_tokens` names it, as the session `app_sessions` gives for it
    (already signed in: an app's session restored from the store, say) when that names it,
    otherwise as `podio` itself (a user who can see every app). The output is written to
    `<out>.part` and renamed to `out` once complete; `<out>.checkpoint` records progress,
    and `resume=True` continues an interrupted export from it without duplicates or gaps.
    """
    ids = checked_args(app_ids, concurrency, page_size, verb="export")
    sink = make_sink(format)
    path, part, checkpoint_path = output_paths(out)
    sessions = await open_sessions(podio, ids, app_tokens or {}, app_sessions or {})
    started = time.monotonic()
    # Pages in flight, queued, being written, and the first ones read with the probes.
    buffers = PageBuffers(keep=2 * concurrency + 2)

    output = Output(path, part, checkpoint_path)
    resumed = resume and checkpoint_path.exists() and part.exists()
    planned: list[Checkpoint] = []

    async def run(checkpoint: Checkpoint, prefetches: Sequence[_Prefetch] = ()) -> None:
        state = _State(checkpoint, sessions, started)
        await _run(state, sink, output, concurrency, page_size, on_progress, prefetches, buffers)

    try:
        if resumed:
            checkpoint = Checkpoint.load(checkpoint_path)
            checkpoint.check_matches(checkpoint_path, format, ids)
            sink.restore(checkpoint.sink_state)
            planned.append(checkpoint)
            await to_thread.run_sync(output.reopen, checkpoint)
            await run(checkpoint)
        else:
            # The first pages are asked for now, with the probes: they are on their way
            # while the plan is made, and the fetchers start as soon as it is.
            windows = first_windows(ids, _window_count(sessions, ids, concurrency, sink), page_size)
            prefetches = [_Prefetch(window) for window in windows]

            async def plan_and_run() -> None:
                checkpoint, header = await _plan(sessions, ids, sink, format, page_size, prefetches)
                planned.append(checkpoint)
                await to_thread.run_sync(output.create, checkpoint, header)
                await run(checkpoint, prefetches)

            reads = [
                partial(p.read, sessions[p.window.app_id], page_size, buffers) for p in prefetches
            ]
            await _all([plan_and_run, *reads])
        await to_thread.run_sync(output.commit)
    finally:
        output.close()
    checkpoint = planned[0]
    return ExportResult(
        path=path,
        format=format,
        items=checkpoint.items,
        per_app={a: checkpoint.per_app.get(a, 0) for a in ids},
        calls=checkpoint.calls,
        elapsed=time.monotonic() - started,
        resumed=resumed,
    )


async def open_sessions(
    podio: Podio,
    ids: Sequence[int],
    tokens: Mapping[int, str],
    given: Mapping[int, Podio] | None = None,
) -> dict[int, Podio]:
    """The session each app is read with: its own (`app:<id>`, signed in with its app token
    unless already signed in) when `tokens` names it, the one in `given` when that names it,
    otherwise `podio`. An app in both is a ValueError: which identity to use is ambiguous."""
    given = given or {}
    both = sorted(set(tokens) & set(given))
    if both:
        raise ValueError(f"app(s) {both} are in both app_tokens and app_sessions: give one")
    sessions: dict[int, Podio] = {}
    for app_id in ids:
        if app_id in given:
            sessions[app_id] = given[app_id]
            continue
        token = tokens.get(app_id)
        if token is None:
            sessions[app_id] = podio
            continue
        session = podio.session(f"app:{app_id}")
        if not await session.is_authenticated():
            await session.authenticate_with_app(app_id, token)
        sessions[app_id] = session
    return sessions


class _Prefetch:
    """A window's page, read from the start of the export (`first_windows`). `range` is
    the range the plan gives the page (None when the window lies above the app's highest
    id: its items, if any, were created since the probe, and the sweep reads them)."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self.page: _fetch.Page | None = None
        self.range: Range | None = None
        self.ready = anyio.Event()

    async def read(self, session: Podio, page_size: int, buffers: PageBuffers) -> None:
        w = self.window
        try:
            self.page = await _fetch.fetch_page(
                session, w.app_id, w.lo, w.hi, page_size, buffers=buffers
            )
        finally:
            self.ready.set()  # a failed read fails the export; nothing waits in vain


async def _plan(
    sessions: dict[int, Podio],
    ids: list[int],
    sink: Sink,
    format: str,
    page_size: int,
    prefetches: Sequence[_Prefetch] = (),
) -> tuple[Checkpoint, bytes]:
    """The checkpoint of a new export and the file's header, from the probes (and the
    apps' definitions for CSV). The windows' pages are not waited for: each window is the
    start of a range (`plan_with_windows`), finished when its page comes."""
    probes: dict[int, tuple[int, int]] = {}
    apps: dict[int, Any] = {}

    async def probe(app_id: int) -> None:
        probes[app_id] = await _fetch.probe(sessions[app_id], app_id)

    async def definition(app_id: int) -> None:
        apps[app_id] = await sessions[app_id].request("GET", f"/app/{app_id}")

    calls = [partial(probe, app_id) for app_id in ids]
    if sink.needs_apps:
        calls += [partial(definition, app_id) for app_id in ids]
    await _all(calls)
    ranges: list[Range] = []
    sweeps: list[Range] = []
    above = 0
    for app_id in ids:
        count, highest = probes[app_id]
        mine = [p for p in prefetches if p.window.app_id == app_id]
        starts, fixed, sweep = plan_with_windows(
            app_id, count, highest, page_size, [p.window for p in mine]
        )
        for p in mine:
            p.range = starts.get(p.window)
            above += p.range is None
        ranges += [*starts.values(), *fixed]
        sweeps.append(sweep)
    header = sink.prepare([apps[a] for a in ids]) if sink.needs_apps else sink.prepare([])
    checkpoint = Checkpoint(
        format=format,
        app_ids=ids,
        # Sweeps last: the later they run, the more items created meanwhile they pick up.
        ranges=ranges + sweeps,
        # Pages are counted as they are written; a window above its app is counted here.
        calls=len(ids) * (2 if sink.needs_apps else 1) + above,
        totals={a: probes[a][0] for a in ids},
        sink_state=sink.state(),
    )
    return checkpoint, header


#: Windows beyond one per app are requested only while this many times the first round's
#: calls are left of the hourly budget: they are wasted on an app smaller than them.
_SPARE_BUDGET = 10


def _window_count(
    sessions: Mapping[int, Podio], ids: Sequence[int], concurrency: int, sink: Sink
) -> int:
    """How many windows to read with the probes: `concurrency`, or one per app (for the
    first `concurrency` apps) when a session's latest rate-limit figure (the sign-in's,
    in Podio's 250/hour pool) says the budget is too short to spend calls on a guess."""
    one_each = min(concurrency, len(ids))
    calls = len(ids) * (2 if sink.needs_apps else 1) + concurrency
    for app_id in ids[:one_each]:
        left = sessions[app_id].rate_limit.remaining
        if left is not None and left < _SPARE_BUDGET * calls:
            return one_each
    return concurrency


async def _run(
    state: _State,
    sink: Sink,
    output: Output,
    concurrency: int,
    page_size: int,
    on_progress: Callable[[ExportProgress], None] | None,
    prefetches: Sequence[_Prefetch] = (),
    buffers: PageBuffers | None = None,
) -> None:
    checkpoint = state.checkpoint

    def progress() -> None:
        if on_progress is not None:
            on_progress(_progress(state))

    def on_wait(seconds: float) -> None:
        state.waiting = seconds
        progress()

    def write(page: FetchedPage) -> None:
        rng = page.range
        data = sink.encode(rng.app_id, page.items, compact=page.compact)
        rng.cursor = page.cursor
        rng.done = page.done
        checkpoint.items += len(page.items)
        checkpoint.calls += 1
        per_app = checkpoint.per_app
        per_app[rng.app_id] = per_app.get(rng.app_id, 0) + len(page.items)
        state.waiting = 0.0
        output.append(checkpoint, data)

    started = {id(p.range) for p in prefetches if p.range is not None}
    todo = [r for r in checkpoint.ranges if not r.done and id(r) not in started]
    await copy_ranges(
        state.sessions, todo, write, concurrency=concurrency, page_size=page_size,
        on_written=progress, on_wait=on_wait, buffers=buffers, prefetched=prefetches,
    )  # fmt: skip
    progress()


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
    prefetched: Sequence[_Prefetch] = (),
) -> None:
    """Read `ranges` (each app by its session in `sessions`) page by page, `concurrency`
    pages at once, and hand every page to `write`: called in a worker thread, one page at a
    time and in each range's order, so it may block (file or database I/O) while the next
    pages are fetched. `write` must record the page's `cursor`/`done` itself if it wants to
    resume. The exporter writes to its file here; the mirror (podiokit.mirror) to its
    database. `prefetched`: windows being read already (not in `ranges`); each one's page
    is written as it comes, and its range read on from there if the page left ids to read.
    The sweeps start once every window is in."""
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
            done = len(page.items) < page_size or page.last >= rng.hi
            cursor = page.last + 1
            fetched = FetchedPage(rng, page.items, cursor, done, page.compact, page.buffer)
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

    async def window(send: MemoryObjectSendStream[FetchedPage], prefetch: _Prefetch) -> None:
        async with send:
            try:
                await prefetch.ready.wait()
                page, rng, prefetch.page = prefetch.page, prefetch.range, None
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

    async def written(page: FetchedPage) -> None:
        # In a worker thread: the event loop keeps fetching meanwhile. Only this task
        # writes, so the thread never races another writer.
        await to_thread.run_sync(write, page)
        buffer, page.buffer, page.items = page.buffer, None, []
        if buffer is not None and buffers is not None:
            buffers.give(buffer)  # the items are dropped: the buffer can take another page
        if on_written is not None:
            on_written()

    async def writer(receive: MemoryObjectReceiveStream[FetchedPage]) -> None:
        async with receive:
            async for page in receive:
                await written(page)

    count = concurrency if prefetched else max(1, min(concurrency, len(todo)))
    tasks = [partial(fetcher, send.clone()) for _ in range(count)]
    tasks += [partial(window, send.clone(), p) for p in prefetched]
    send.close()
    await _all([partial(writer, receive), *tasks])


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


async def _all(tasks: Sequence[Callable[[], Awaitable[None]]]) -> None:
    """Run `tasks` concurrently; on the first failure cancel the others and raise that
    error itself (not an exception group: callers catch `PodioError` and the like)."""
    errors: list[Exception] = []

    async with anyio.create_task_group() as tg:

        async def guarded(task: Callable[[], Awaitable[None]]) -> None:
            try:
                await task()
            except Exception as exc:  # noqa: BLE001 - the first one is raised below
                errors.append(exc)
                tg.cancel_scope.cancel()

        for task in tasks:
            tg.start_soon(guarded, task)
    if errors:
        raise errors[0]


def _progress(state: _State) -> ExportProgress:
    checkpoint = state.checkpoint
    left = [s.rate_limit.remaining for s in set(state.sessions.values())]
    known = [n for n in left if n is not None]
    return ExportProgress(
        items=checkpoint.items,
        total=sum(checkpoint.totals.values()),
        calls=checkpoint.calls,
        elapsed=time.monotonic() - state.started,
        calls_left=min(known) if known else None,
        waiting=state.waiting,
    )
