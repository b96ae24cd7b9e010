"""The plan: fixed `app_item_id` ranges per app, plus a final sweep above the highest id.

Offsets move when items are created or deleted during an export; an item's `app_item_id`
never does. Each range is read by keyset (`app_item_id` from the cursor, ascending), so a
range is exact whatever happens elsewhere in the app, and ranges can be read concurrently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["SWEEP_HI", "Range", "Window", "first_windows", "plan_after_windows", "plan_ranges"]

#: The sweep's upper bound: Podio ids are 32-bit, and `to` keeps the filter a plain range.
SWEEP_HI = 2**31 - 1


@dataclass
class Range:
    """`app_item_id` from `lo` to `hi` (inclusive) of one app. `cursor` is the first id not
    yet written, `done` once every item of the range is in the output."""

    app_id: int
    lo: int
    hi: int
    cursor: int
    done: bool = False

    @property
    def sweep(self) -> bool:
        return self.hi == SWEEP_HI

    def as_json(self) -> list[Any]:
        return [self.app_id, self.lo, self.hi, self.cursor, self.done]

    @classmethod
    def from_json(cls, raw: list[Any]) -> Range:
        app_id, lo, hi, cursor, done = raw
        return cls(int(app_id), int(lo), int(hi), int(cursor), bool(done))


def plan_ranges(
    app_id: int, count: int, highest: int, page_size: int, *, start: int = 1
) -> list[Range]:
    """Ranges of `[start, highest]` (holding about `count` items) expected to hold about one
    page each (from the density: deleted items leave gaps), then the sweep above both."""
    ranges: list[Range] = []
    span = highest - start + 1
    if count > 0 and span > 0:
        density = min(1.0, count / span)
        width = max(1, math.floor(page_size / density))
        lo = start
        while lo <= highest:
            hi = min(highest, lo + width - 1)
            ranges.append(Range(app_id, lo, hi, lo))
            lo = hi + 1
    above = max(highest + 1, start, 1)
    ranges.append(Range(app_id, above, SWEEP_HI, above))
    return ranges


@dataclass(frozen=True)
class Window:
    """A range read while the probes are still out (the plan does not know the app yet):
    the first `limit` items with `lo <= app_item_id <= hi`. `hi` is SWEEP_HI for an app's
    last window."""

    app_id: int
    lo: int
    hi: int


def first_windows(app_ids: list[int], count: int, page_size: int) -> list[Window]:
    """The windows read together with the probes: `count` of them (the exporter's
    concurrency), so the fetchers' first round trip overlaps the probes' instead of
    following it.

    With at least `count` apps, the first `count` apps get one window each, from
    `app_item_id` 1 up. With fewer apps, each gets a share of `count`: windows `page_size`
    ids wide from 1 up, its last one open above (so it holds a full page even in a sparse
    app). An app smaller than its windows leaves some of them empty: at most `count - 1`
    calls more than the app needed."""
    apps = app_ids[: max(1, count)]
    if not apps:
        return []
    share, extra = divmod(max(1, count), len(apps))
    windows: list[Window] = []
    for index, app_id in enumerate(apps):
        count = share + (1 if index < extra else 0)
        for k in range(count):
            hi = SWEEP_HI if k == count - 1 else (k + 1) * page_size
            windows.append(Window(app_id, k * page_size + 1, hi))
    return windows


def plan_after_windows(
    app_id: int,
    count: int,
    highest: int,
    page_size: int,
    read: list[tuple[Window, int | None, int]],
) -> tuple[list[Range], list[Range], Range]:
    """The ranges of one app once its probe (`count` items, `highest` id) and its windows
    are back: (one range per window that held items, the ranges still to read, the sweep).

    `read` holds (window, last `app_item_id` in its page or None when empty, items in it).
    A window's page holds every item with `lo <= app_item_id <= last` that existed when it
    was read, and an item created later has an id above every existing one, so that span
    is complete for good. Every other id up to the highest seen (the probe's, or a later
    one a window saw) is planned; the sweep covers everything above. Nothing relies on
    the order in which the probe and the windows were answered."""
    covered = sorted((window.lo, last, items) for window, last, items in read if last is not None)
    heads = [Range(app_id, lo, last, lo) for lo, last, _ in covered]
    end = max([highest, *(last for _, last, _ in covered)])
    todo: list[Range] = []
    position = 1
    for lo, last, _ in covered:
        if lo > position:  # ids the windows did not hold: deleted, or created meanwhile
            todo.append(Range(app_id, position, lo - 1, position))
        position = last + 1
    left = max(0, count - sum(items for _, _, items in covered))
    *fixed, sweep = plan_ranges(app_id, left, end, page_size, start=position)
    return heads, todo + fixed, sweep
