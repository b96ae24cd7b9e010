"""Filter items (§4.1): filters by field id/external_id and built-in keys, sorting, paging."""

from __future__ import annotations

import json
import re
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from operator import itemgetter
from typing import Any

from ._common import JSON, parse_dt
from ._errors import dumps_text, invalid_value
from ._state import App, Field, Item, World

MAX_LIMIT = 500
NUMERIC = {"number", "money", "progress", "duration", "calculation"}
REFERENCE = {"category": "id", "question": "id", "app": "item_id", "contact": "profile_id"}
BUILTIN_SORTS: dict[str, Callable[[Item], Any]] = {
    "created_on": lambda i: i.created_ts,
    "last_edit_on": lambda i: i.last_edit_ts,
    "app_item_id": lambda i: i.app_item_id,
    "item_id": lambda i: i.item_id,
    "title": lambda i: i.title.lower(),
    # The rest of the documented sort_by values (§4.1, DOC:doc/filters).
    "created_by": lambda i: str(i.created_by.get("name") or "").lower(),
    "last_edit_by": lambda i: str(i.revisions[-1].by.get("name") or "").lower(),
    "activity": lambda i: i.last_event_ts,
    "priority": lambda i: float(i.item_id),  # the `priority` the item is served with
    # Nobody rates in the emulator: every item ties (and keeps creation order).
    "like": lambda i: 0,
    "approved": lambda i: 0,
    "rsvp": lambda i: 0,
    "fivestar": lambda i: 0,
    "yesno": lambda i: 0,
    "thumbs": lambda i: 0,
}
# Every write in the emulator is made "via" Podio itself (auth client 1, see _common.via).
VIA_ID = 1
_RELATIVE = re.compile(r"^([+-]?\d+)(d|dr|w|wr|m|mr|y|yr)$")
_RELATIVE_IN_JSON = re.compile(r'"[+-]?\d+(?:d|dr|w|wr|m|mr|y|yr)"')
Predicate = Callable[[Item], bool]
Predicate_ = Callable[[Any], bool]


def page_params(body: JSON) -> tuple[int, int]:
    limit, offset = body.get("limit", 30), body.get("offset", 0)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise invalid_value(
            f"Invalid value {dumps_text(limit)} for limit: must be between 1 and 500"
        )
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise invalid_value(f"Invalid value {dumps_text(offset)} for offset: must be 0 or more")
    return limit, offset


def _bounds(
    spec: Any, parse: Callable[..., float | None], *, day_end: bool
) -> tuple[float | None, float | None]:
    if not isinstance(spec, dict) or not ({"from", "to"} & spec.keys()):
        raise invalid_value(
            f"Invalid value {dumps_text(spec)}: must be an object with from and/or to"
        )
    low = parse(spec["from"]) if spec.get("from") not in (None, "") else None
    if spec.get("to") in (None, ""):
        high = None
    else:  # a date's "to" names the whole day (or the whole rounded unit)
        high = parse(spec["to"], end=True) if day_end else parse(spec["to"])
    return low, high


def _range(spec: Any, parse: Callable[..., float | None], *, day_end: bool) -> Predicate_:
    low, high = _bounds(spec, parse, day_end=day_end)
    return lambda v: v is not None and (low is None or v >= low) and (high is None or v <= high)


def _date(value: Any, *, end: bool = False) -> float | None:
    """YYYY-MM-DD[ HH:MM:SS], or a relative date such as "-2w" or "1yr" (§4.1): an offset
    from today in days, weeks, months or years; "r" rounds to the whole unit (the start of
    it for `from`, the end for `to`)."""
    text = str(value).strip()
    found = _RELATIVE.match(text)
    if found is not None:
        return _relative(int(found.group(1)), found.group(2), end=end)
    parsed = parse_dt(text)
    if parsed is None:
        raise invalid_value(
            f"Invalid date {dumps_text(value)}: use YYYY-MM-DD or a relative date like -2w"
        )
    if end and len(text) <= 10:
        parsed += 86_399  # "to" names a whole day
    return parsed


def _relative(offset: int, unit: str, *, end: bool) -> float:
    today = datetime.fromtimestamp(time.time(), timezone.utc).date()
    kind, rounded = unit[0], unit.endswith("r")
    if kind == "d":
        day = today + timedelta(days=offset)
        first, last = day, day
    elif kind == "w":
        day = today + timedelta(weeks=offset)
        first = day - timedelta(days=day.weekday()) if rounded else day
        last = first + timedelta(days=6) if rounded else day
    else:
        months = offset * (12 if kind == "y" else 1)
        index = today.year * 12 + today.month - 1 + months
        year, month = divmod(index, 12)
        day = today.replace(year=year, month=month + 1, day=min(today.day, 28))
        if not rounded:
            first = last = day
        elif kind == "m":
            first = day.replace(day=1)
            nxt = (first + timedelta(days=32)).replace(day=1)
            last = nxt - timedelta(days=1)
        else:
            first, last = day.replace(month=1, day=1), day.replace(month=12, day=31)
    chosen = last if end else first
    start = datetime(chosen.year, chosen.month, chosen.day, tzinfo=timezone.utc).timestamp()
    return start + 86_399 if end else start


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise invalid_value(f"Invalid value {dumps_text(value)}: must be a number") from None


def _ids(spec: Any) -> set[Any]:
    values = spec if isinstance(spec, list) else [spec]
    out: set[Any] = set()
    for v in values:
        out.add(v.get("id") if isinstance(v, dict) else v)
    return {int(v) if isinstance(v, str) and v.isdigit() else v for v in out}


def _field_value(field: Field, entry: JSON) -> Any:
    value = entry.get("value")
    if field.type in NUMERIC:
        return float(value) if value is not None else None
    if field.type == "date":
        return parse_dt(entry.get("start_utc") or entry.get("start") or "")
    key = REFERENCE.get(field.type)
    if key is not None and isinstance(value, dict):
        return value.get(key)
    return value


def _field_predicate(field: Field, spec: Any) -> Predicate:
    # Plain loops, not any(<genexpr>): a first filter over 100,000 items stays near 50 ms.
    fid = field.field_id
    if field.type in REFERENCE:
        wanted = _ids(spec)
        sub = REFERENCE[field.type]

        def refers(item: Item) -> bool:
            for entry in item.values.get(fid, ()):
                value = entry["value"]
                if (value if sub is None else value.get(sub)) in wanted:
                    return True
            return False

        return refers
    if field.type in NUMERIC:
        test = _range(spec, _num, day_end=False)
        read: Callable[[JSON], Any] = lambda e: float(e["value"])  # noqa: E731
    elif field.type == "date":
        test = _range(spec, _date, day_end=True)
        read = lambda e: _field_value(field, e)  # noqa: E731
    else:
        needle = str(spec).lower()
        test = lambda v: needle in v  # noqa: E731
        read = lambda e: str(e.get("value", "")).lower()  # noqa: E731

    def matches(item: Item) -> bool:
        for entry in item.values.get(fid, ()):  # noqa: SIM110 - a loop beats any(<genexpr>)
            if test(read(entry)):
                return True
        return False

    return matches


def _builtin_predicate(key: str, spec: Any) -> Predicate | None:
    if key in ("created_on", "last_edit_on"):
        test = _range(spec, _date, day_end=True)
        attr = BUILTIN_SORTS[key]
        return lambda item: bool(test(attr(item)))
    if key in ("app_item_id", "item_id"):
        attr = BUILTIN_SORTS[key]
        if isinstance(spec, dict):
            num = _range(spec, _num, day_end=False)
            return lambda item: bool(num(attr(item)))
        wanted = _ids(spec)
        return lambda item: attr(item) in wanted
    if key == "external_id":
        wanted = set(spec) if isinstance(spec, list) else {spec}
        return lambda item: item.external_id in wanted
    if key == "title":
        needle = str(spec).lower()
        return lambda item: needle in item.title.lower()
    if key in ("created_by", "last_edit_by"):
        wanted = _ids(spec)
        if key == "created_by":
            return lambda item: item.created_by.get("id") in wanted
        return lambda item: item.revisions[-1].by.get("id") in wanted
    if key in ("created_via", "last_edit_via"):
        wanted = _ids(spec)
        return lambda item: VIA_ID in wanted
    if key == "tags":
        wanted = set(spec) if isinstance(spec, list) else {spec}
        return lambda item: bool(wanted.intersection(item.tags))
    return None


def _filters(app: App, raw: Any) -> list[Predicate]:
    """`filters` as an object {key: value} or as a list [{"key": k, "values": v}]."""
    if raw is None:
        return []
    if isinstance(raw, list):
        pairs = [(e.get("key"), e.get("values")) for e in raw if isinstance(e, dict)]
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        raise invalid_value(f"Invalid value {dumps_text(raw)}: filters must be object")
    out = []
    for key, spec in pairs:
        pred = _builtin_predicate(str(key), spec)
        if pred is None:
            field = app.field(str(key))
            if field is None:
                raise invalid_value(f"Invalid filter key {dumps_text(key)}")
            pred = _field_predicate(field, spec)
        out.append(pred)
    return out


def _sort_key(app: App, sort_by: Any) -> Callable[[Item], Any]:
    if sort_by in BUILTIN_SORTS:
        return BUILTIN_SORTS[sort_by]
    field = app.field(sort_by) if sort_by is not None else None
    if field is None or field.type in ("image", "embed", "email", "phone"):
        raise invalid_value(f"Invalid value {dumps_text(sort_by)} for sort_by")

    fid = field.field_id
    if field.type in NUMERIC:

        def number(item: Item) -> Any:
            entries = item.values.get(fid)
            return float(entries[0]["value"]) if entries else None

        return number

    def key(item: Item) -> Any:
        entries = item.values.get(fid)
        value = _field_value(field, entries[0]) if entries else None
        if isinstance(value, dict):  # a contact or app reference sorts by its name/title
            value = value.get("name") or value.get("title")
        return value.lower() if isinstance(value, str) else value

    return key


class FilterCache:
    """Matched, sorted item ids per (app version, query): paging re-uses one sort.

    A range of `app_item_id` sorted by `app_item_id` (how exporters read by keyset, each
    call a new range) is answered from an index of the app's ids instead: like Podio's
    database, a range scan, not a scan of the whole app per call."""

    def __init__(self) -> None:
        self._hits: dict[tuple[int, int, str], list[int]] = {}
        # app_id -> (app version, app_item_ids ascending, the item ids in the same order)
        self._index: dict[int, tuple[int, list[int], list[int]]] = {}

    def matches(
        self, world: World, app: App, body: JSON, *, range_filter: str = "honoured"
    ) -> list[int]:
        if range_filter != "honoured":
            body = _quirk_range(body, ignore_from=range_filter == "ignored")
        keyset = _keyset_range(body)
        if keyset is not None:
            return self._range(world, app, *keyset)
        query = {k: body.get(k) for k in ("filters", "sort_by", "sort_desc")}
        text = json.dumps(query, sort_keys=True, default=str)
        if _RELATIVE_IN_JSON.search(text):  # "-2w" means another range tomorrow
            text += time.strftime("|%Y-%m-%d", time.gmtime())
        cache_key = (app.app_id, app.version, text)
        hit = self._hits.get(cache_key)
        if hit is not None:
            return hit
        if len(self._hits) > 64:
            self._hits.clear()
        hit = self._hits[cache_key] = _compute(world, app, body)
        return hit

    def _range(
        self, world: World, app: App, low: float | None, high: float | None, desc: bool
    ) -> list[int]:
        index = self._index.get(app.app_id)
        if index is None or index[0] != app.version:
            items = world.items
            pairs = sorted((items[i].app_item_id, i) for i in app.item_ids)
            index = (app.version, [k for k, _ in pairs], [i for _, i in pairs])
            self._index[app.app_id] = index
        _, keys, ids = index
        start = 0 if low is None else bisect_left(keys, low)
        stop = len(keys) if high is None else bisect_right(keys, high)
        chosen = ids[start:stop]
        return chosen[::-1] if desc else chosen


def _quirk_range(body: JSON, *, ignore_from: bool) -> JSON:
    """The quirk `range_filter` (_quirks.py): the body as a Podio that ignores an
    `app_item_id` range (`ignore_from`), or only its `to`, would read it."""
    raw = body.get("filters")

    def kept(spec: Any) -> Any:
        if not isinstance(spec, dict):
            return spec  # a list of ids is not a range
        if ignore_from or spec.get("from") in (None, ""):
            return None
        return {"from": spec["from"]}

    if isinstance(raw, dict) and "app_item_id" in raw:
        filters: Any = {k: v for k, v in raw.items() if k != "app_item_id"}
        spec = kept(raw["app_item_id"])
        if spec is not None:
            filters["app_item_id"] = spec
    elif isinstance(raw, list):
        filters = []
        for entry in raw:
            if isinstance(entry, dict) and entry.get("key") == "app_item_id":
                spec = kept(entry.get("values"))
                if spec is None:
                    continue
                entry = {**entry, "values": spec}
            filters.append(entry)
    else:
        return body
    return {**body, "filters": filters}


def _keyset_range(body: JSON) -> tuple[float | None, float | None, bool] | None:
    """(from, to, descending) when the query is only an `app_item_id` range sorted by
    `app_item_id`, else None (the general path). Checks the values as that path does."""
    if body.get("sort_by") != "app_item_id":
        return None
    raw = body.get("filters")
    if isinstance(raw, dict) and raw.keys() == {"app_item_id"}:
        spec = raw["app_item_id"]
    elif (
        isinstance(raw, list)
        and len(raw) == 1
        and isinstance(raw[0], dict)
        and raw[0].get("key") == "app_item_id"
    ):
        spec = raw[0].get("values")
    else:
        return None
    if not isinstance(spec, dict):
        return None  # a list of ids: the general path
    low, high = _bounds(spec, _num, day_end=False)
    return low, high, _sort_desc(body.get("sort_desc", True))


def _sort_desc(value: Any) -> bool:
    """true/false, 1/0 or their strings: "false" sorts ascending (not truthy as a string)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0"):
        return value.strip().lower() in ("true", "1")
    raise invalid_value(f"Invalid value {dumps_text(value)} for sort_desc: must be a boolean")


def _compute(world: World, app: App, body: JSON) -> list[int]:
    preds = _filters(app, body.get("filters"))
    sort_by = body.get("sort_by") or "created_on"
    # Podio lists newest first unless told otherwise.
    desc = _sort_desc(body.get("sort_desc", True))
    key = _sort_key(app, sort_by)
    items = world.items
    matched = [items[i] for i in app.item_ids]
    for pred in preds:
        matched = [item for item in matched if pred(item)]
    if sort_by in BUILTIN_SORTS:
        # Never empty; a stable sort keeps creation order among equals, so pages are stable.
        matched.sort(key=key, reverse=desc)
        return [item.item_id for item in matched]
    keyed = [(key(item), item.item_id) for item in matched]
    present = [pair for pair in keyed if pair[0] is not None]
    missing = [item_id for k, item_id in keyed if k is None]
    present.sort(key=itemgetter(0), reverse=desc)  # stable: ties stay in creation order
    # Items without a value for the sort field go last in either direction.
    return [item_id for _, item_id in present] + missing
