"""The plan: fixed `app_item_id` ranges per app, plus a final sweep above the highest id.

Offsets move when items are created or deleted during an export; an item's `app_item_id`
never does. Each range is read by keyset (`app_item_id` from the cursor, ascending), so a
range is exact whatever happens elsewhere in the app, and ranges can be read concurrently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SWEEP_HI",
    "Range",
    "Window",
    "first_windows",
    "plan_ranges",
    "plan_with_windows",
    "window_page",
]

#: The sweep's upper bound: Podio ids are 32-bit, and `to` keeps the filter a plain range.
SWEEP_HI = 2**31 - 1
#: Above this share of ids still alive, ranges are one page of ids wide (`plan_ranges`).
_FEW_GONE = 0.97


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
        # A range as wide as a page can never need a second page. A few deletions (a few %)
        # would widen each range by a few ids, and every range that lost fewer than the
        # average (about half of them) would take a second call for its last few items.
        width = page_size if density >= _FEW_GONE else max(1, math.floor(page_size / density))
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
    every item with `lo <= app_item_id <= hi`, `hi - lo + 1` being one page's worth."""

    app_id: int
    lo: int
    hi: int


def first_windows(app_ids: list[int], count: int, page_size: int) -> list[Window]:
    """The windows read together with the probes: `count` of them (the exporter's
    concurrency), so the first pages are on their way before the plan exists.

    With at least `count` apps, the first `count` apps get one window each, ids 1 to
    `page_size`. With fewer apps, each gets a share of `count`: windows `page_size` ids wide
    from 1 up. An app smaller than its windows leaves some of them empty: at most
    `count - 1` calls more than the app needed."""
    apps = app_ids[: max(1, count)]
    if not apps:
        return []
    share, extra = divmod(max(1, count), len(apps))
    windows: list[Window] = []
    for index, app_id in enumerate(apps):
        for k in range(share + (1 if index < extra else 0)):
            windows.append(Window(app_id, k * page_size + 1, (k + 1) * page_size))
    return windows


def plan_with_windows(
    app_id: int, count: int, highest: int, page_size: int, windows: list[Window]
) -> tuple[dict[Window, Range], list[Range], Range]:
    """The ranges of one app once its probe is back (`count` items, `highest` id), its
    windows still in flight: (the range each window's page starts, for the windows that
    reach `highest`; the ranges above the windows; the sweep above `highest`).

    A window's range ends at `highest`: an item above it was created after the probe, and
    the sweep reads those. The pages of the windows are planned for without waiting for
    them (`window_page` says what each one completes when it comes)."""
    starts = {w: Range(app_id, w.lo, min(w.hi, highest), w.lo) for w in windows if w.lo <= highest}
    above = max((w.hi for w in windows), default=0) + 1
    # The share of the app above the windows, at the density the probe gives.
    left = round(count * max(0, highest - above + 1) / highest) if highest > 0 else 0
    *fixed, _ = plan_ranges(app_id, left, highest, page_size, start=above)
    return starts, fixed, Range(app_id, highest + 1, SWEEP_HI, highest + 1)


def window_page(rng: Range, last: int | None) -> tuple[int, bool]:
    """What a window's page (its last id `last`, None when empty) completes of the window's
    range: (the next id to read, done).

    The page holds every item of the window that existed when it was read, in id order,
    and an item created later has an id above every existing one. So the range is done
    when the page reaches its end or goes beyond it (the caller drops the items beyond:
    the sweep reads them); when it stops short, the ids above its last item are read again
    (the probe, answered before or after this page, may count items created in between)."""
    if last is None:
        return rng.lo, False
    if last >= rng.hi:
        return rng.hi + 1, True
    return last + 1, False
