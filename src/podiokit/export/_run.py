"""The export: plan (or resume), fetch ranges concurrently, write pages in one task, commit.

The ranges are read by the bulk engine's range reader (`podiokit._bulk.copy_ranges`), which
hands each page to one writer. The writer alone touches the file and the checkpoint, so a
checkpoint always describes exactly the bytes before its offset. Before any of it, the
output is checked and locked (`_paths`, `_lock`): one export per output.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import anyio
from anyio import to_thread

from .. import _instrument
from .._bulk import (
    MAX_PAGE_SIZE,
    SWEEP_HI,
    ExportProgress,
    FetchedPage,
    PageBuffers,
    Prefetch,
    Range,
    calls_left,
    check_strategy,
    checked_args,
    choose,
    copy_offset,
    copy_ranges,
    first_windows,
    open_sessions,
    plan_with_windows,
    probe,
    run_all,
)
from ._checkpoint import Checkpoint
from ._lock import OutputLock
from ._output import Destination, Output, StreamOutput
from ._paths import checked_path, output_paths, resumable
from ._sinks import Sink, make_sink
from ._written import written_ids

if TYPE_CHECKING:
    from .._client import Podio

__all__ = ["ExportResult", "export"]


@dataclass(frozen=True)
class ExportResult:
    #: The file written; None when the export went to a stream.
    path: Path | None
    format: str
    items: int
    per_app: dict[int, int]
    calls: int
    elapsed: float
    resumed: bool
    #: How each app was read: "ranges" (app_item_id ranges, verified) or "offset"
    #: (offset pages, the fallback resting on documented behaviour only).
    strategies: dict[int, str] = field(default_factory=dict)

    @property
    def strategy(self) -> str:
        """The strategy every app was read with ("ranges" or "offset"), or "mixed"."""
        used = set(self.strategies.values())
        return used.pop() if len(used) == 1 else ("mixed" if used else "ranges")


@dataclass
class _State:
    checkpoint: Checkpoint
    sessions: dict[int, Podio]
    started: float
    waiting: float = 0.0
    #: app -> "ranges" or "offset"
    strategies: dict[int, str] = field(default_factory=dict)


@_instrument.job("export")
async def export(
    podio: Podio,
    app_ids: int | Sequence[int],
    out: str | os.PathLike[str] | BinaryIO,
    *,
    format: str = "jsonl",
    excel: bool = False,
    app_tokens: Mapping[int, str] | None = None,
    app_sessions: Mapping[int, Podio] | None = None,
    concurrency: int = 4,
    resume: bool = False,
    force: bool = False,
    page_size: int = MAX_PAGE_SIZE,
    on_progress: Callable[[ExportProgress], None] | None = None,
    strategy: str = "auto",
) -> ExportResult:
    """Export every item of `app_ids` to `out` (JSONL: one item per line, the JSON Podio
    sent; or CSV, with `excel=True` made for spreadsheets: a byte order mark, and cells
    that would run as formulas escaped).

    Each app is read as its own session (`podio.session(f"app:{app_id}")`, signed in with
    its token) when `app_tokens` names it, as the session `app_sessions` gives for it
    (already signed in: an app's session restored from the store, say) when that names it,
    otherwise as `podio` itself (a user who can see every app).

    The output is written to `<out>.part` and renamed to `out` once complete;
    `<out>.checkpoint` records progress, and `resume=True` continues an interrupted export
    from it without duplicates or gaps. A checkpoint left by an interrupted export is
    never discarded silently: without `resume`, give `force=True` to start over. One export
    at a time writes an output (`<out>.lock`): a second raises `OutputBusyError`. The path
    is checked before the first call (`OutputError`). `out` may also be a binary stream
    (`sys.stdout.buffer`): written as the pages come, with nothing to resume.

    `strategy`: "ranges" reads each app by `app_item_id` ranges, concurrently; "offset" by
    offset pages sorted by `app_item_id` (documented behaviour only, one page at a time per
    app); "auto" (the default) probes once per session and API URL that Podio honours
    ranges (three calls) and falls back to "offset" when it does not.
    `ExportResult.strategies` says which ran.
    """
    ids = checked_args(app_ids, concurrency, page_size, verb="export")
    strategy = check_strategy(strategy)
    sink = make_sink(format, excel=excel)
    if resume and force:
        raise ValueError("resume continues an export, force starts it over: give one")
    lock: OutputLock | None = None
    found: Checkpoint | None = None
    path: Path | None = None
    output: Destination
    if isinstance(out, (str, os.PathLike)):
        path = checked_path(out)
        _, part, checkpoint_path = output_paths(path)
        lock = OutputLock.acquire(path)
        try:
            state = sink.state()
            found = resumable(
                path, ids, format=format, sink_state=state, resume=resume, force=force
            )
        except BaseException:
            lock.release()
            raise
        output = Output(path, part, checkpoint_path)
    else:
        if resume or force:
            raise ValueError("an export to a stream cannot be resumed: give a file for resume")
        output = StreamOutput(out)
    try:
        return await _export(
            podio, ids, sink, format, output, found, path, app_tokens, app_sessions,
            concurrency, page_size, on_progress, strategy,
        )  # fmt: skip
    finally:
        try:
            output.close()
        finally:
            if lock is not None:
                lock.release()


async def _export(
    podio: Podio,
    ids: list[int],
    sink: Sink,
    format: str,
    output: Destination,
    found: Checkpoint | None,
    path: Path | None,
    app_tokens: Mapping[int, str] | None,
    app_sessions: Mapping[int, Podio] | None,
    concurrency: int,
    page_size: int,
    on_progress: Callable[[ExportProgress], None] | None,
    strategy: str,
) -> ExportResult:
    sessions = await open_sessions(podio, ids, app_tokens or {}, app_sessions or {})
    started = time.monotonic()
    # Pages in flight, queued, being written, and the first ones read with the probes.
    buffers = PageBuffers(keep=2 * concurrency + 2)
    resumed = found is not None
    planned: list[Checkpoint] = []
    strategies: dict[int, str] = {}

    async def run(
        checkpoint: Checkpoint, prefetches: Sequence[Prefetch] = (), written: set[int] | None = None
    ) -> None:
        state = _State(checkpoint, sessions, started, strategies=strategies)
        await _run(
            state, sink, output, concurrency, page_size, on_progress, prefetches, buffers, written
        )  # fmt: skip

    if found is not None:
        sink.restore(found.sink_state)
        planned.append(found)
        await to_thread.run_sync(output.reopen, found)
        found.calls += await _resumed_strategies(sessions, ids, strategy, strategies)
        written: set[int] | None = None
        if isinstance(output, Output) and any(
            not r.done and strategies.get(r.app_id) == "offset" for r in found.ranges
        ):
            # An app read by offset pages resumes from its start, skipping what is written.
            written = await to_thread.run_sync(written_ids, output.part, format, found.offset)
        await run(found, written=written)
    else:
        # The first pages are asked for now, with the probes: they are on their way
        # while the plan is made, and the fetchers start as soon as it is.
        # (None when offset pages are asked for: they read from offset 0, not by window.)
        count = _window_count(sessions, ids, concurrency, sink)
        windows = first_windows(ids, count, page_size) if strategy != "offset" else []
        prefetches = [Prefetch(window) for window in windows]

        async def plan_and_run() -> None:
            checkpoint, header = await _plan(
                sessions, ids, sink, format, page_size, prefetches, strategy, strategies
            )
            planned.append(checkpoint)
            await to_thread.run_sync(output.create, checkpoint, header)
            await run(checkpoint, prefetches)

        reads = [partial(p.read, sessions[p.window.app_id], page_size, buffers) for p in prefetches]
        await run_all([plan_and_run, *reads])
    await to_thread.run_sync(output.commit)
    checkpoint = planned[0]
    return ExportResult(
        path=path,
        format=format,
        items=checkpoint.items,
        per_app={a: checkpoint.per_app.get(a, 0) for a in ids},
        calls=checkpoint.calls,
        elapsed=time.monotonic() - started,
        resumed=resumed,
        strategies={a: strategies.get(a, "ranges") for a in ids},
    )


async def _resumed_strategies(
    sessions: Mapping[int, Podio], ids: Sequence[int], strategy: str, out: dict[int, str]
) -> int:
    """A resumed export's strategy for each app, into `out`; the calls spent ("auto"
    reads each app's highest id beside the ranges probe: the checkpoint has none)."""
    highs: dict[int, int] = {}
    calls = [0]

    async def highest(app_id: int) -> int:
        if app_id not in highs:
            highs[app_id] = (await probe(sessions[app_id], app_id))[1]
            calls[0] += 1
        return highs[app_id]

    chosen, spent = await choose(strategy, sessions, ids, highest)
    out.update(chosen)
    return calls[0] + spent


async def _plan(
    sessions: dict[int, Podio],
    ids: list[int],
    sink: Sink,
    format: str,
    page_size: int,
    prefetches: Sequence[Prefetch] = (),
    strategy: str = "auto",
    strategies: dict[int, str] | None = None,
) -> tuple[Checkpoint, bytes]:
    """The checkpoint of a new export and the file's header, from the probes (and the
    apps' definitions for CSV). The windows' pages are not waited for: each window is the
    start of a range (`plan_with_windows`), finished when its page comes."""
    probes: dict[int, tuple[int, int]] = {}
    apps: dict[int, Any] = {}
    probed = {app_id: anyio.Event() for app_id in ids}
    chosen: dict[int, str] = {} if strategies is None else strategies
    spent = [0]

    async def probe_app(app_id: int) -> None:
        try:
            probes[app_id] = await probe(sessions[app_id], app_id)
        finally:
            probed[app_id].set()

    async def highest_of(app_id: int) -> int:
        await probed[app_id].wait()
        return probes.get(app_id, (0, 0))[1]  # a failed probe fails the export itself

    async def choose_strategies() -> None:
        # Beside the probes: the ranges check adds calls, not a round trip.
        found, spent[0] = await choose(strategy, sessions, ids, highest_of)
        chosen.update(found)

    async def definition(app_id: int) -> None:
        apps[app_id] = await sessions[app_id].request("GET", f"/app/{app_id}")

    calls = [partial(probe_app, app_id) for app_id in ids]
    if sink.needs_apps:
        calls += [partial(definition, app_id) for app_id in ids]
    await run_all([*calls, choose_strategies])
    ranges: list[Range] = []
    sweeps: list[Range] = []
    above = 0
    for app_id in ids:
        count, highest = probes[app_id]
        mine = [p for p in prefetches if p.window.app_id == app_id]
        if chosen[app_id] == "offset":
            # One range for the whole app, read by offset pages; the windows are dropped.
            above += len(mine)
            sweeps.append(Range(app_id, 1, SWEEP_HI, 1))
            continue
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
        calls=len(ids) * (2 if sink.needs_apps else 1) + above + spent[0],
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
    output: Destination,
    concurrency: int,
    page_size: int,
    on_progress: Callable[[ExportProgress], None] | None,
    prefetches: Sequence[Prefetch] = (),
    buffers: PageBuffers | None = None,
    written: set[int] | None = None,
) -> None:
    """`written`: the ids of the items a resumed export's file holds (`copy_offset`)."""
    checkpoint = state.checkpoint

    def progress() -> None:
        if on_progress is not None:
            on_progress(_progress(state))

    def on_wait(seconds: float) -> None:
        state.waiting = seconds
        progress()

    lock = threading.Lock()  # the range reader's writer and the offset readers' pages

    def write(page: FetchedPage) -> None:
        with lock:
            _write(page)

    def _write(page: FetchedPage) -> None:
        rng = page.range
        data = sink.encode(rng.app_id, page.items, compact=page.compact)
        rng.cursor = page.cursor
        rng.done = page.done
        checkpoint.items += len(page.items)
        _instrument.count_page("export", len(page.items))
        checkpoint.calls += page.calls
        per_app = checkpoint.per_app
        per_app[rng.app_id] = per_app.get(rng.app_id, 0) + len(page.items)
        state.waiting = 0.0
        output.append(checkpoint, data)

    started = {id(p.range) for p in prefetches if p.range is not None}
    todo = [r for r in checkpoint.ranges if not r.done and id(r) not in started]
    offset = {a for a, s in state.strategies.items() if s == "offset"}
    by_offset = [r for r in todo if r.app_id in offset]
    todo = [r for r in todo if r.app_id not in offset]

    async def emit(page: FetchedPage) -> None:
        await to_thread.run_sync(write, page)
        progress()

    async def ranges() -> None:
        await copy_ranges(
            state.sessions, todo, write, concurrency=concurrency, page_size=page_size,
            on_written=progress, on_wait=on_wait, buffers=buffers, prefetched=prefetches,
        )  # fmt: skip

    def called() -> None:
        with lock:  # the writer's thread adds the range reader's calls
            checkpoint.calls += 1

    async def by_offsets(app_id: int) -> None:
        mine = [r for r in by_offset if r.app_id == app_id]
        await copy_offset(
            state.sessions[app_id], app_id, mine, emit, page_size=page_size, on_wait=on_wait,
            on_call=called, written=written,
        )  # fmt: skip

    await run_all([ranges, *[partial(by_offsets, a) for a in sorted(offset)]])
    progress()


def _progress(state: _State) -> ExportProgress:
    checkpoint = state.checkpoint
    return ExportProgress(
        items=checkpoint.items,
        total=sum(checkpoint.totals.values()),
        calls=checkpoint.calls,
        elapsed=time.monotonic() - state.started,
        calls_left=calls_left(state.sessions),
        waiting=state.waiting,
    )
