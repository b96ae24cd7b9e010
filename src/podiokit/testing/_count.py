"""Get item count (§4.1): `GET /item/app/{app_id}/count`, with the filters in the query.

Podio's doc page (items/get-item-count-34819997) takes each filter as a query parameter
`{key}=value` in the GET form of a filter (ranges as `from-to`, for example
`created_on=2010-12-01-2011-01-01`; lists `1;2`), the same forms the legacy GET listing
takes. A count over one `created_on` range (how a mirror looks for deleted items, window by
window) is answered from a sorted index of the app's creation times, as a database would;
any other filter goes through the filter engine.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from typing import Any
from weakref import finalize

from ._filter import _bounds, _date
from ._state import App, World

__all__ = ["CountIndex", "count_index", "query_filters"]

#: Query parameters of the count that are not filters.
_NOT_FILTERS = {"view_id", "oauth_token", "fields"}

Matcher = Callable[[Mapping[str, Any]], list[int]]


class CountIndex:
    """The app's creation times in order, per app version (rebuilt after any change)."""

    def __init__(self) -> None:
        self._created: dict[int, tuple[int, list[float]]] = {}

    def count(self, world: World, app: App, filters: Mapping[str, Any], match: Matcher) -> int:
        """Items of `app` matching `filters` (already in the filter engine's form);
        `match` answers any query this index does not."""
        if not filters:
            return len(app.item_ids)
        if filters.keys() == {"created_on"} and isinstance(filters["created_on"], dict):
            low, high = _bounds(filters["created_on"], _date, day_end=True)
            times = self._times(world, app)
            start = 0 if low is None else bisect_left(times, low)
            stop = len(times) if high is None else bisect_right(times, high)
            return max(0, stop - start)
        return len(match(filters))

    def _times(self, world: World, app: App) -> list[float]:
        cached = self._created.get(app.app_id)
        if cached is None or cached[0] != app.version:
            items = world.items
            cached = (app.version, sorted(items[i].created_ts for i in app.item_ids))
            self._created[app.app_id] = cached
        return cached[1]


def query_filters(params: Mapping[str, str], parse: Callable[[str], Any]) -> dict[str, Any]:
    """The filters a count's query string names (`parse`: the GET form of one value)."""
    return {k: parse(v) for k, v in params.items() if k not in _NOT_FILTERS}


#: id(world) -> its index (a World compares by value, so it cannot be a weak key itself).
_INDEXES: dict[int, CountIndex] = {}


def count_index(world: World) -> CountIndex:
    """The world's count index (made on first use, dropped with the world)."""
    key = id(world)
    index = _INDEXES.get(key)
    if index is None:
        index = _INDEXES[key] = CountIndex()
        finalize(world, _INDEXES.pop, key, None)
    return index
