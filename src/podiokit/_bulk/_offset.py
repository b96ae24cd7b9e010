"""The offset reader: an app's items by offset pages sorted by `app_item_id` ascending, the
strategy resting on documented behaviour only (docs/dev/podio-behaviour.md §4.1), used
when Podio does not honour an `app_item_id` range (`_strategy.py`). Also `list_light`, the
ids and revisions of an app the same way, asking for micro items.

Offsets move when items are deleted while the app is read: the next page would start
past items not read yet. So each page overlaps the previous one by a few items, and a
page whose first id lies above the highest id read so far has moved: it is read again
further back. An item created meanwhile gets an id above every existing one and comes at
the end. Every item that exists throughout is read; some are read twice, and the reader
de-duplicates by `item_id`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

import msgspec

from ..errors import PodioResponseError
from ._fetch import _post_filter
from ._plan import Range
from ._ranges import FetchedPage

if TYPE_CHECKING:
    from .._client import Podio

__all__ = ["LightItem", "copy_offset", "list_light", "offset_pages"]

#: Items each page shares with the previous one: deletions of up to this many items
#: between two pages cost nothing more; more make the reader step back a page.
OVERLAP = 8
#: Pages read again when the count check finds a gap, before the gap is reported.
REPAIR_PASSES = 2


class _Rev(msgspec.Struct):
    revision: int = 0


class _Key(msgspec.Struct):
    """The keys of an item the readers need; msgspec skips the rest (a full item, when
    Podio ignores the micro view, costs bytes but does no harm)."""

    item_id: int
    app_item_id: int
    revision: int | None = None
    current_revision: _Rev | None = None


class _Page(msgspec.Struct):
    items: list[msgspec.Raw]
    filtered: int = 0


_page = msgspec.json.Decoder(_Page)
_key = msgspec.json.Decoder(_Key)


@dataclass(frozen=True)
class LightItem:
    """An item as a light listing gives it: enough to find deletions and changes."""

    item_id: int
    app_item_id: int
    revision: int


@dataclass
class OffsetPage:
    items: list[msgspec.Raw]
    keys: list[_Key]
    #: Items in the app matching the listing when the page was read.
    filtered: int
    compact: bool


def _error(app_id: int, message: str) -> PodioResponseError:
    return PodioResponseError(
        f"filter of app {app_id} {message}", method="POST", path=f"/item/app/{app_id}/filter/"
    )


async def _read(
    session: Podio,
    app_id: int,
    offset: int,
    limit: int,
    *,
    micro: bool,
    on_wait: Callable[[float], None] | None,
) -> OffsetPage:
    body = {"sort_by": "app_item_id", "sort_desc": False, "limit": limit, "offset": offset}
    content = await _post_filter(session, app_id, body, on_wait, micro=micro)
    try:
        page = _page.decode(content)
        keys = [_key.decode(raw) for raw in page.items]
    except msgspec.DecodeError as exc:
        raise _error(app_id, f"answered a body that is not a page of items: {exc}") from None
    for before, after in pairwise(keys):
        if after.app_item_id <= before.app_item_id:
            raise _error(app_id, "answered a page not sorted by app_item_id ascending")
    compact = b"\n" not in content and b"\r" not in content
    return OffsetPage(page.items, keys, page.filtered, compact)


async def offset_pages(
    session: Podio,
    app_id: int,
    *,
    page_size: int,
    micro: bool = False,
    on_wait: Callable[[float], None] | None = None,
    on_call: Callable[[], None] | None = None,
) -> AsyncIterator[OffsetPage]:
    """Every item of the app in `app_item_id` order, page by page (see the module's
    docstring: pages overlap, items may come twice)."""
    overlap = min(OVERLAP, page_size - 1)
    offset = 0
    last: int | None = None  # the highest app_item_id read so far
    while True:
        page = await _read(session, app_id, offset, page_size, micro=micro, on_wait=on_wait)
        if on_call is not None:
            on_call()
        if offset > 0 and last is not None and (not page.keys or page.keys[0].app_item_id > last):
            # Items before this page were deleted: it moved past items not read yet (or,
            # empty, past the end). Step back; a static app never gets here.
            offset = max(0, min(offset, page.filtered) - page_size)
            continue
        yield page
        if len(page.items) < page_size:
            return
        last = page.keys[-1].app_item_id
        offset += page_size - overlap


async def copy_offset(
    session: Podio,
    app_id: int,
    ranges: Sequence[Range],
    emit: Callable[[FetchedPage], Awaitable[None]],
    *,
    page_size: int,
    on_wait: Callable[[float], None] | None = None,
    on_call: Callable[[], None] | None = None,
    written: set[int] | None = None,
) -> None:
    """Read the items of `ranges` (one app's, each from its cursor) by offset pages and hand
    them to `emit` as the range reader would: `FetchedPage`s of each range's items in id
    order, each item once, the range's cursor after them (`calls` 0: `on_call` counts).

    Then the count check: a pass must have seen at least as many items as Podio counted on
    its last page (items deleted meanwhile are seen and not counted). If not, the app is
    read again and the items this run has not written yet are emitted (their range's cursor
    kept: they lie below it), up to `REPAIR_PASSES` times; a gap that remains raises
    PodioResponseError. The last range is marked done only once the check passes, so an
    export interrupted before it reads the app again when resumed.

    `written`: the ids of the items already in the output (a resumed export's, read back
    from its file). A cursor is not proof that every item below it was written: a pass
    that missed an item moves past it, and the gap shows only at the count check. So a
    resumed app is read from the start of its ranges, and only the items not in `written`
    are emitted."""
    pending = sorted((r for r in ranges if not r.done), key=lambda r: r.lo)
    if not pending:
        return
    written = set() if written is None else written
    for attempt in range(1 + REPAIR_PASSES):
        read: set[int] = set()
        filtered = 0
        async for page in offset_pages(
            session, app_id, page_size=page_size, on_wait=on_wait, on_call=on_call
        ):
            filtered = page.filtered
            groups: dict[int, list[msgspec.Raw]] = {}
            tops: dict[int, int] = {}
            for raw, key in zip(page.items, page.keys, strict=True):
                read.add(key.item_id)
                if key.item_id in written:
                    continue
                for index, rng in enumerate(pending):
                    if rng.lo <= key.app_item_id <= rng.hi:
                        written.add(key.item_id)
                        groups.setdefault(index, []).append(raw)
                        tops[index] = key.app_item_id
                        break
            top = page.keys[-1].app_item_id if page.keys else 0
            for index, rng in enumerate(pending):
                items = groups.get(index, [])
                # A range the pass is past is done (the last one waits for the check).
                done = rng.done or top >= rng.hi
                if not items and done == rng.done:
                    continue
                # A repaired item below the cursor keeps it; one above moves it.
                cursor = rng.hi + 1 if done else max(rng.cursor, tops.get(index, 0) + 1)
                await emit(FetchedPage(rng, items, cursor, done, page.compact, calls=0))
                rng.done, rng.cursor = done, cursor
        if len(read) >= filtered:
            for rng in pending:
                if not rng.done:
                    await emit(FetchedPage(rng, [], rng.hi + 1, True, calls=0))
                    rng.done, rng.cursor = True, rng.hi + 1
            return
        if attempt == REPAIR_PASSES:
            raise _error(
                app_id,
                f"listed {len(read)} of its {filtered} items by offset pages, "
                f"{1 + REPAIR_PASSES} times: items moved faster than they could be read",
            )


async def list_light(
    session: Podio,
    app_id: int,
    *,
    page_size: int,
    on_wait: Callable[[float], None] | None = None,
    on_call: Callable[[], None] | None = None,
) -> dict[int, LightItem]:
    """Every item of the app as `LightItem`s, by `item_id`: offset pages asking for
    `fields=items.view(micro)` (§4.1, §11). A Podio that ignores the micro view sends
    full items: only the keys needed are read from them. Items deleted while the listing
    runs may be in it; every item that exists throughout is."""
    out: dict[int, LightItem] = {}
    async for page in offset_pages(
        session, app_id, page_size=page_size, micro=True, on_wait=on_wait, on_call=on_call
    ):
        for key in page.keys:
            out[key.item_id] = LightItem(key.item_id, key.app_item_id, _revision(key))
    return out


def _revision(key: _Key) -> int:
    if key.revision is not None:
        return key.revision
    return key.current_revision.revision if key.current_revision is not None else 0
