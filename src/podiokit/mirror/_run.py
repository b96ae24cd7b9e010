"""The mirror run: what it asks Podio, in which order, and what it writes.

First run of an app: GET /app/{id} (the typed table's fields), one call for the latest edit
(the cursor), then the full copy through the bulk engine the exporter uses (`copy_ranges`: its
ranges, pages of 500, concurrency, rate-limit waits; or its offset pages when Podio does not
honour ranges: `strategy`), each page's rows built in one worker thread (`prepare`) while the
page before is written in another, one `write_prepared` transaction per page, and only then
`full_done`. A crash mid-copy leaves `full_done` False: the next run copies again, upserting.

Later runs: GET /item/app/{id}/count (1 call), then `items.filter` on `last_edit_on` from the
cursor's day minus one day (Podio filters dates by day), newest edit first, pages of 500,
stopping at the first page that reaches edits older than the cursor. Revisions already stored
are skipped. Only when Podio's count and the mirror's disagree after that are deleted items
looked for: counts of windows of creation days, bisected where they differ, and listings of
the smallest windows (_deletions.py; micro items by `app_item_id` range); or, when that would
cost more, does not add up, or Podio does not honour ranges, the ids of every item listed
light (micro items by offset pages, docs/dev/podio-behaviour.md §4.2). What Podio no longer
has is deleted; should the full listing show an item the mirror lacks or holds at an older
revision, every item is copied instead. A run with no change costs 2 calls per app.

The cursor is the latest edit time Podio had when the run began (the newest item's
`current_revision.created_on`, read before anything else): every later edit carries a time at
or after it, so the next run's window starts there and misses nothing, even for an item
edited while this run was reading it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import msgspec
from anyio import to_thread

from .. import _instrument
from .._bulk import (
    FILTER,
    MAX_PAGE_SIZE,
    SWEEP_HI,
    ExportProgress,
    FetchedPage,
    PageBuffers,
    Range,
    RangeFilterError,
    calls_left,
    check_strategy,
    checked_args,
    checked_page,
    choose,
    copy_offset,
    copy_ranges,
    fetch_page,
    known,
    list_light,
    open_sessions,
    plan_ranges,
    probe,
    run_all,
    wait_out,
)
from ..errors import PodioRateLimitError, PodioResponseError
from ._deletions import Search, find_deleted
from ._errors import MirrorError
from ._options import LOCK_TIMEOUT, check_lock_timeout, check_prefix
from ._rows import Item, decode_items
from ._store import MirrorStore, PreparedPage

if TYPE_CHECKING:
    from .._client import Podio

__all__ = ["AppResult", "MirrorProgress", "MirrorResult", "mirror"]

#: The mirror reports progress with the exporter's snapshot (items, calls, rate limit).
MirrorProgress = ExportProgress


@dataclass(frozen=True)
class AppResult:
    """What one run did to one app. `created + updated + unchanged == items`: every item the
    mirror holds after the run is in exactly one of the three."""

    app_id: int
    #: "full" (the first copy, or a copy interrupted before) or "incremental".
    mode: str
    #: Items the mirror did not hold before (written).
    created: int
    #: Items the mirror held at an older revision (rewritten).
    updated: int
    #: Items the mirror holds that this run did not write (whether Podio sent them or not).
    unchanged: int
    #: Items removed because Podio no longer has them.
    deleted: int
    #: API calls made for this app (each request once; the pipeline's retries not counted).
    calls: int
    elapsed: float
    #: GET /app was called and the typed table checked against the app's fields.
    fields_checked: bool = False
    #: Every item's id was listed to find deletions (Podio's count and the mirror's
    #: disagreed, and counting windows of creation days did not pay or did not add up).
    listed: bool = False
    #: Calls spent counting windows of creation days and listing those that differed, to
    #: find deleted items (included in `calls`).
    search_calls: int = 0
    #: Items of the app the mirror holds after the run.
    items: int = 0
    #: Items Podio sent in this run, each counted once: the created and updated ones, and
    #: those whose revision the mirror already had (an incremental run reads the edits from
    #: the day before its cursor, as Podio filters by day: those are read again and skipped).
    read: int = 0
    #: How every item was read (the full copy, or the id listing): "ranges"
    #: (app_item_id ranges, verified), "offset" (the documented fallback), or None when
    #: the run did not read every item.
    strategy: str | None = None


@dataclass(frozen=True)
class MirrorResult:
    apps: dict[int, AppResult]
    #: The database, password masked.
    db: str
    #: Seconds from the call to the end, waits for a locked database included.
    elapsed: float
    #: The prefix of the tables written ('' for a mirror made before table prefixes).
    table_prefix: str = "podio_"

    @property
    def calls(self) -> int:
        return sum(a.calls for a in self.apps.values())

    @property
    def strategy(self) -> str | None:
        """The strategy every item read in full was read with ("ranges" or "offset"),
        "mixed", or None when no app was read in full."""
        used = {a.strategy for a in self.apps.values() if a.strategy is not None}
        return used.pop() if len(used) == 1 else ("mixed" if used else None)


class _Id(msgspec.Struct):
    item_id: int


_ids = msgspec.json.Decoder(_Id)


class _EditedPage(msgspec.Struct):
    items: list[msgspec.Raw]
    filtered: int = 0


_edited_page = msgspec.json.Decoder(_EditedPage)


@dataclass
class _App:
    """One app's run, as it goes."""

    app_id: int
    session: Podio
    mode: str = "incremental"
    created: int = 0
    updated: int = 0
    #: Items Podio sent whose revision the mirror already had.
    skipped: int = 0
    deleted: int = 0
    calls: int = 0
    fields_checked: bool = False
    listed: bool = False
    search_calls: int = 0
    known_fields: frozenset[int] = frozenset()
    unknown_field: bool = False
    #: Item ids Podio sent in this pass (the full copy, or the id listing).
    seen: set[int] = field(default_factory=set)
    #: The mirror held no item of the app when the run began.
    empty: bool = False
    #: Item ids counted in created/updated/skipped this run.
    counted: set[int] = field(default_factory=set)
    strategy: str | None = None
    started: float = field(default_factory=time.monotonic)

    def result(self, held: int) -> AppResult:
        """The app's result, `held` the items the mirror holds now."""
        return AppResult(
            app_id=self.app_id, mode=self.mode, created=self.created, updated=self.updated,
            unchanged=max(0, held - self.created - self.updated), deleted=self.deleted,
            calls=self.calls, elapsed=time.monotonic() - self.started,
            fields_checked=self.fields_checked, listed=self.listed, items=held,
            read=self.created + self.updated + self.skipped, strategy=self.strategy,
            search_calls=self.search_calls,
        )  # fmt: skip


@dataclass
class _Run:
    store: MirrorStore
    page_size: int
    concurrency: int
    on_progress: Callable[[ExportProgress], None] | None
    sessions: dict[int, Podio]
    started: float
    strategy: str = "auto"
    items: int = 0
    total: int = 0
    calls: int = 0
    waiting: float = 0.0
    #: Page bodies are read into these (no page faults for fresh memory on every page):
    #: pages being fetched, one queued, one being prepared.
    buffers: PageBuffers = field(init=False)
    #: Pages may be written by several threads at once (`MirrorStore.writers`).
    counting: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.buffers = PageBuffers(keep=self.concurrency + 2)

    async def db(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await to_thread.run_sync(partial(func, *args, **kwargs))

    def progress(self) -> None:
        if self.on_progress is None:
            return
        self.on_progress(
            ExportProgress(
                items=self.items,
                total=max(self.total, self.items),
                calls=self.calls,
                elapsed=time.monotonic() - self.started,
                calls_left=calls_left(self.sessions),
                waiting=self.waiting,
            )
        )

    def on_wait(self, seconds: float) -> None:
        self.waiting = seconds
        self.progress()

    def called(self, app: _App) -> None:
        app.calls += 1
        self.calls += 1

    # --- writing pages (in a worker thread) -------------------------------------------------

    def write(self, app: _App, page: Sequence[Item], *, cursor: str | None = None) -> None:
        """One page: count what is new, changed or already stored, note unknown fields, and
        upsert what changed in ONE transaction (`cursor` advanced in the same one)."""
        fresh = self.sort(app, page)
        if fresh or cursor is not None:
            self.store.write_items(app.app_id, fresh, cursor=cursor)
        self.items += len(page)
        _instrument.count_page("mirror", len(page))

    def sort(self, app: _App, page: Sequence[Item]) -> list[Item]:
        """Count a page's items as new, changed or already stored (each item once a run);
        the new and changed ones, to write."""
        # A first copy into an empty mirror has nothing stored to compare with.
        stored = (
            {} if app.empty else self.store.stored_revisions(app.app_id, [i.item_id for i in page])
        )
        fresh: list[Item] = []
        for item in page:
            app.seen.add(item.item_id)
            had = stored.get(item.item_id)
            if had is not None and had >= item.rev:
                if item.item_id not in app.counted:  # an item sent twice counts once
                    app.skipped += 1
                    app.counted.add(item.item_id)
                continue
            app.counted.add(item.item_id)
            if had is None:
                app.created += 1
            else:
                app.updated += 1
            fresh.append(item)
            if not app.unknown_field and any(
                f.field_id not in app.known_fields for f in item.fields
            ):
                app.unknown_field = True
        return fresh

    # --- Podio calls ----------------------------------------------------------------------

    async def get_app(self, app: _App) -> None:
        """GET /app/{id} and (re)build the typed table if the fields changed."""
        definition = await app.session.request("GET", f"/app/{app.app_id}")
        self.called(app)
        app.fields_checked = True
        await self.db(self.store.prepare_app, definition)
        app.known_fields = await self.db(self.store.field_ids, app.app_id)

    async def filter(self, app: _App, body: dict[str, Any]) -> _EditedPage:
        path = f"/item/app/{app.app_id}/filter/"
        while True:
            try:
                response = await app.session._send(
                    "POST", path, json=body, idempotent=True, rate_limited=True, operation=FILTER
                )
            except PodioRateLimitError as exc:
                # As the range reader: a long 420 is waited for, not failed on.
                await wait_out(exc, self.on_wait)
                continue
            self.called(app)
            self.waiting = 0.0
            try:
                return _edited_page.decode(response.content)
            except msgspec.DecodeError as exc:
                raise PodioResponseError(
                    f"filter of app {app.app_id} answered a body that is not a page of items: "
                    f"{exc}",
                    method="POST",
                    path=path,
                ) from None

    async def latest_edit(self, app: _App) -> str | None:
        """The time of the app's latest edit now (one call): the cursor of a full copy."""
        body = {"sort_by": "last_edit_on", "sort_desc": True, "limit": 1}
        page = await self.filter(app, body)
        return decode_items(app.app_id, page.items[:1])[0].edited if page.items else None

    async def copy(self, app: _App) -> None:
        """Every item, through the bulk engine: app_item_id ranges, or offset pages when
        Podio does not honour ranges (`strategy`, checked beside the probe)."""
        probed = anyio.Event()
        found: list[tuple[int, int]] = []

        async def read_probe() -> None:
            try:
                found.append(await probe(app.session, app.app_id, on_wait=self.on_wait))
                self.called(app)
            finally:
                probed.set()

        async def highest(_: int) -> int:
            await probed.wait()
            return found[0][1] if found else 0

        async def pick() -> None:
            chosen, spent = await choose(
                self.strategy, {app.app_id: app.session}, [app.app_id], highest,
                on_wait=self.on_wait,
            )  # fmt: skip
            app.strategy = chosen[app.app_id]
            app.calls += spent
            self.calls += spent

        await run_all([read_probe, pick])
        count, highest_id = found[0]
        self.total += count
        if app.strategy == "offset":

            def write_items(page: FetchedPage) -> None:
                self.write(app, decode_items(app.app_id, page.items))

            async def emit(page: FetchedPage) -> None:
                self.waiting = 0.0
                await self.db(write_items, page)
                self.progress()

            await copy_offset(
                app.session, app.app_id, [Range(app.app_id, 1, SWEEP_HI, 1)], emit,
                page_size=self.page_size, on_wait=self.on_wait, on_call=lambda: self.called(app),
            )  # fmt: skip
            return
        ranges = plan_ranges(app.app_id, count, highest_id, self.page_size)

        def prepare(page: FetchedPage) -> tuple[int, PreparedPage]:
            # A worker thread of its own: this page's rows are built while the page before
            # it is written (copy_ranges' `prepare`).
            self.called(app)  # one page, one call
            self.waiting = 0.0
            items = decode_items(app.app_id, page.items)
            return len(items), self.store.prepare_items(app.app_id, self.sort(app, items))

        def write(page: FetchedPage) -> None:
            count, prepared = page.prepared
            if prepared.items:
                self.store.write_prepared(prepared)
            with self.counting:
                self.items += count
            _instrument.count_page("mirror", count)

        await copy_ranges(
            {app.app_id: app.session}, ranges, write, concurrency=self.concurrency,
            page_size=self.page_size, on_written=self.progress, on_wait=self.on_wait,
            prepare=prepare, buffers=self.buffers, writers=self.store.writers,
        )  # fmt: skip

    async def count(self, app: _App, **filters: str) -> int:
        """GET /item/app/{id}/count, with filters in the query (one call)."""
        path = f"/item/app/{app.app_id}/count"
        body = await app.session.request("GET", path, params=filters or None)
        self.called(app)
        found = body.get("count") if isinstance(body, dict) else None
        if not isinstance(found, int) or isinstance(found, bool) or found < 0:
            raise PodioResponseError(
                f"the item count of app {app.app_id} answered {body!r}, not a count",
                method="GET",
                path=path,
            )
        return found

    async def find_deletions(self, app: _App, expected: int) -> None:
        """Podio's count and the mirror's disagree: find the deleted items by counting
        windows of creation days (_deletions.py, its windows listed by `app_item_id`
        range), or, when that does not pay, does not add up or Podio does not honour ranges
        (`strategy`), from a light listing of every item (`delete_unlisted`)."""
        search = None
        if self.strategy != "offset" and known(app.session) is not False:
            try:
                search = await self.search_deletions(app, expected)
            except RangeFilterError:  # a window's listing: ranges are not honoured here
                search = None
        if search is None or search.deleted is None:
            app.listed = True
            if not await self.delete_unlisted(app):
                app.seen.clear()
                await self.copy(app)
                await self.delete_missing(app)
        elif search.deleted:
            app.deleted += await self.db(self.store.delete_items, app.app_id, search.deleted)

    async def search_deletions(self, app: _App, expected: int) -> Search:
        stored = await self.db(self.store.created_index, app.app_id)

        async def count(first: date, last: date) -> int:
            return await self.count(app, created_on=f"{first.isoformat()}-{last.isoformat()}")

        async def listing(lo: int, hi: int) -> tuple[set[int], int]:
            return await self.list_ids(app, lo, hi)

        today = datetime.now(timezone.utc).date()
        search = await find_deleted(
            stored, today=today, count=count, listing=listing, page_size=self.page_size,
            expected=expected, concurrency=self.concurrency,
        )  # fmt: skip
        app.search_calls += search.calls
        return search

    async def list_ids(self, app: _App, lo: int, hi: int) -> tuple[set[int], int]:
        """The ids of the items with `lo <= app_item_id <= hi`, by keyset pages (and the
        calls it took)."""
        # Micro items: only the ids are read, whatever view Podio sends (§4.2). Each page
        # is checked against its range (a Podio ignoring `from` raises RangeFilterError).
        ids: set[int] = set()
        calls = 0
        cursor = lo
        while cursor <= hi:
            page = await fetch_page(
                app.session, app.app_id, cursor, hi, self.page_size, on_wait=self.on_wait,
                micro=True,
            )  # fmt: skip
            self.called(app)
            calls += 1
            self.waiting = 0.0
            items = checked_page(page.items, cursor, hi, app.app_id)
            ids.update(_ids.decode(raw).item_id for raw in items)
            if len(page.items) < self.page_size:
                break
            cursor = page.last + 1
        return ids, calls

    async def delete_missing(self, app: _App) -> None:
        """After a pass over every item: delete what the mirror has and Podio did not send."""
        stored: set[int] = await self.db(self.store.item_ids, app.app_id)
        gone = stored - app.seen
        if gone:
            app.deleted += await self.db(self.store.delete_items, app.app_id, gone)

    async def delete_unlisted(self, app: _App) -> bool:
        """Find deletions from a light listing (ids and revisions: micro items, §4.2) and
        delete what the mirror has and the listing lacks. False, with nothing deleted, when
        the listing shows an item the mirror lacks or holds at an older revision: the
        caller then copies every item instead."""
        listed = await list_light(
            app.session, app.app_id, page_size=self.page_size, on_wait=self.on_wait,
            on_call=lambda: self.called(app),
        )  # fmt: skip
        held = await self.db(self.store.stored_revisions, app.app_id, list(listed))
        if any(held.get(i, -1) < item.revision for i, item in listed.items()):
            return False
        # An item deleted while the listing ran may still be in it: the next run deletes it.
        gone = await self.db(self.store.item_ids, app.app_id) - set(listed)
        if gone:
            app.deleted += await self.db(self.store.delete_items, app.app_id, gone)
        return True

    # --- one app ----------------------------------------------------------------------------

    async def full(self, app: _App) -> None:
        app.mode = "full"
        app.empty = await self.db(self.store.count, app.app_id) == 0
        await self.get_app(app)
        cursor = await self.latest_edit(app)
        await self.copy(app)
        await self.delete_missing(app)
        if app.unknown_field:  # the app gained a field during the copy
            await self.get_app(app)
        await self.db(self.store.set_state, app.app_id, cursor=cursor, full_done=True)

    async def incremental(self, app: _App, cursor: str | None, refresh_fields: bool) -> None:
        if refresh_fields:
            await self.get_app(app)
        else:
            # A typed table built by an older podiokit gets this one's columns (no API call).
            await self.db(self.store.upgrade, app.app_id)
            app.known_fields = await self.db(self.store.field_ids, app.app_id)
        podio_count = await self.count(app)
        self.total += podio_count
        await self.edited_since(app, cursor)
        held = await self.db(self.store.count, app.app_id)
        if held != podio_count:
            await self.find_deletions(app, held - podio_count)
        if app.unknown_field and not app.fields_checked:
            # An item carries a field the typed table has no column for: the app changed.
            await self.get_app(app)

    async def edited_since(self, app: _App, cursor: str | None) -> None:
        """Items edited at or after `cursor`, newest edit first, page by page; the last
        page's transaction advances the cursor to the newest edit seen on the first."""
        body: dict[str, Any] = {"sort_by": "last_edit_on", "sort_desc": True}
        if cursor is not None:
            body["filters"] = {"last_edit_on": {"from": _day_before(cursor)}}
        offset = 0
        newest: str | None = None
        filtered: int | None = None
        while True:
            page = await self.filter(app, {**body, "limit": self.page_size, "offset": offset})
            if filtered is not None and page.filtered < filtered:
                # Items of the window were deleted meanwhile: the rest moved up by at most
                # that many places; read again from there so none is skipped.
                back = filtered - page.filtered
                filtered = page.filtered
                offset = max(0, offset - back)
                continue
            filtered = page.filtered
            items: list[Item] = await self.db(decode_items, app.app_id, page.items)
            if newest is None and items:
                newest = items[0].edited
            older = cursor is not None and bool(items) and items[-1].edited < cursor
            last = len(items) < self.page_size or older
            await self.db(self.write, app, items, cursor=newest if last else None)
            self.progress()
            if last:
                return
            offset += len(page.items)


def _day_before(cursor: str) -> str:
    """The day before the cursor's ("YYYY-MM-DD"): Podio filters dates by whole days."""
    try:
        day = datetime.strptime(cursor[:10], "%Y-%m-%d").date()
    except ValueError:
        raise MirrorError(f"stored cursor {cursor!r} is not a Podio time") from None
    return (day - timedelta(days=1)).isoformat()


@_instrument.job("mirror")
async def mirror(
    podio: Podio,
    app_ids: int | Sequence[int],
    db_url: str = "sqlite:///podio-mirror.db",
    *,
    app_tokens: Mapping[int, str] | None = None,
    app_sessions: Mapping[int, Podio] | None = None,
    concurrency: int = 4,
    on_progress: Callable[[ExportProgress], None] | None = None,
    refresh_fields: bool = False,
    page_size: int = MAX_PAGE_SIZE,
    table_prefix: str | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    strategy: str = "auto",
) -> MirrorResult:
    """Bring the database copy of `app_ids` up to date (`db_url`: `sqlite:///path.db` or
    `postgresql://user:password@host/db`).

    The first run of an app copies every item (as the exporter does: pages of 500,
    `concurrency` at once); later runs read only the items edited since the last one, and
    look for deleted items only when Podio's item count and the mirror's disagree (counts of
    creation-day windows, bisected where they differ; the ids listed when that does not
    pay). Each
    app is read as its own session when `app_tokens` names it, as the session
    `app_sessions` gives for it (already signed in) when that names it, otherwise as `podio`.
    Apps are brought up to date one after the other.

    The tables are `<table_prefix>items`, `<table_prefix>mirror_state` and
    `<table_prefix>app_<app_id>`; None (the default) means `podio_`, or no prefix for a
    database holding a mirror made before prefixes. Tables of those names that the mirror did
    not make raise MirrorError before anything is written. A lock held by another connection
    is waited for `lock_timeout` seconds (SQLite's busy timeout, PostgreSQL's lock_timeout),
    then MirrorError.

    `strategy` reads every item (the first copy, the id listing) as the exporter's does:
    "ranges", "offset", or "auto" (ranges when a probe of three calls, once per session
    and API URL, finds Podio honours them); `AppResult.strategy` says which ran.
    """
    started = time.monotonic()  # a wait for the database counts in the elapsed time
    ids = checked_args(app_ids, concurrency, page_size, verb="mirror")
    if table_prefix is not None:
        check_prefix(table_prefix)
    check_lock_timeout(lock_timeout)
    strategy = check_strategy(strategy)
    opened = partial(MirrorStore, db_url, table_prefix=table_prefix, lock_timeout=lock_timeout)
    store: MirrorStore = await to_thread.run_sync(opened)
    try:
        sessions = await open_sessions(podio, ids, app_tokens or {}, app_sessions or {})
        run = _Run(store, page_size, concurrency, on_progress, sessions, started, strategy)
        results: dict[int, AppResult] = {}
        for app_id in ids:
            app = _App(app_id, sessions[app_id])
            state = await run.db(store.state, app_id)
            if state is None or not state.full_done:
                await run.full(app)
            else:
                await run.incremental(app, state.cursor, refresh_fields)
            results[app_id] = app.result(await run.db(store.count, app_id))
        run.progress()
        return MirrorResult(
            apps=results, db=store.url, elapsed=time.monotonic() - started,
            table_prefix=store.table_prefix,
        )  # fmt: skip
    finally:
        await to_thread.run_sync(store.close)
