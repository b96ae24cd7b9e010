"""The plan: fixed `app_item_id` ranges per app, plus a final sweep above the highest id.

Offsets move when items are created or deleted during an export; an item's `app_item_id`
never does. Each range is read by keyset (`app_item_id` from the cursor, ascending), so a
range is exact whatever happens elsewhere in the app, and ranges can be read concurrently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["SWEEP_HI", "Range", "plan_ranges"]

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
