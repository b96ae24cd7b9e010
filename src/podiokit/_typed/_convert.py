"""One field's values, both ways: Podio's read form -> the attribute's value (`reader`), the
attribute's value -> the write forms of `podiokit.fields` (`write_value`), back to the read
form (`render_values`, for a changed attribute in `to_item`), and a filter's value
(`filter_value`).

Readers run once per field of every item read, so each is a small closure chosen once per
field: no dispatch on the type per value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel

from .. import fields as _fields
from ..fields import FieldValueError
from ._field import READ_ONLY_TYPES, PodioField
from ._values import (
    LOCATION_KEYS,
    Contact,
    DateRange,
    EmbedRef,
    FileRef,
    ItemRef,
    Location,
    Money,
    Option,
)

__all__ = ["filter_value", "reader", "render_values", "write_value"]

JSON = dict[str, Any]
Values = list[Any]
Reader = Callable[[Values], Any]
_UTC = timezone.utc
_from_iso = datetime.fromisoformat


# --------------------------------------------------------------------------- reading
def _decimal(value: Any) -> Any:
    if type(value) is str:
        try:
            return Decimal(value)
        except InvalidOperation:
            return value  # kept as sent: never lose what Podio said
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def _when(entry: Mapping[str, Any], end: str) -> date | None:
    """One end of a date value: an aware UTC datetime when it has a time, else a date."""
    utc = entry.get(end + "_utc")
    if type(utc) is str:
        if len(utc) == 19:
            try:
                return _from_iso(utc + "+00:00")
            except ValueError:
                pass
        elif len(utc) == 10:
            try:
                return date.fromisoformat(utc)
            except ValueError:
                pass
    day, clock = entry.get(end + "_date_utc"), entry.get(end + "_time_utc")
    if type(day) is str and type(clock) is str:
        try:
            return _from_iso(f"{day} {clock}+00:00")
        except ValueError:
            pass
    day = entry.get(end + "_date") or day
    if type(day) is str:
        try:
            return date.fromisoformat(day)
        except ValueError:
            return None
    return None


def _option(options: type[Option] | None) -> Callable[[Any], Any]:
    def read(entry: Mapping[str, Any]) -> Any:
        value = entry.get("value")
        if isinstance(value, Mapping):
            option_id, text = value.get("id"), value.get("text")
        else:  # a question's value may be the bare option id
            option_id, text = value, None
        if options is None or not isinstance(option_id, int):
            return value
        return options.from_podio(option_id, text)

    return read


def _file(value: Mapping[str, Any] | None) -> FileRef | None:
    if not isinstance(value, Mapping) or value.get("file_id") is None:
        return None
    return FileRef(
        value["file_id"], value.get("name"), value.get("mimetype"), value.get("size"),
        value.get("link"), value,
    )  # fmt: skip


def _contact(entry: Mapping[str, Any]) -> Any:
    value: Any = entry.get("value")
    if not isinstance(value, Mapping):
        return Contact(value) if isinstance(value, int) else value
    profile_id: Any = value.get("profile_id")
    return Contact(
        profile_id, value.get("name"), value.get("type"), value.get("user_id"),
        tuple(value.get("mail") or ()), value,
    )  # fmt: skip


def _image(entry: Mapping[str, Any]) -> Any:
    value = entry.get("value")
    return _file(value) or value


def _embed(entry: Mapping[str, Any]) -> EmbedRef:
    embed = entry.get("embed") or {}
    return EmbedRef(
        embed.get("embed_id"), embed.get("url") or embed.get("original_url"),
        embed.get("title"), _file(entry.get("file")), entry,
    )  # fmt: skip


def _location(entry: Mapping[str, Any]) -> Location:
    get = entry.get
    return Location(
        get("value"), get("formatted"), get("street_address"), get("city"), get("state"),
        get("postal_code"), get("country"), get("lat"), get("lng"), entry,
    )  # fmt: skip


def _typed(cls: type[Any]) -> Callable[[Mapping[str, Any]], Any]:
    def read(entry: Mapping[str, Any]) -> Any:
        return cls(entry.get("value"), entry.get("type") or "other")

    return read


def _ref(resolve: Callable[[int | None], type[Any] | None]) -> Callable[[Any], Any]:
    def read(entry: Mapping[str, Any]) -> Any:
        value = entry.get("value")
        if not isinstance(value, Mapping):
            return ItemRef(value) if isinstance(value, int) else value
        app = value.get("app")
        app_id = app.get("app_id") if isinstance(app, Mapping) else None
        item_id: Any = value.get("item_id")
        return ItemRef(
            item_id, title=value.get("title"), app_id=app_id,
            model=resolve(app_id), raw=value,
        )  # fmt: skip

    return read


def _date(pf: PodioField) -> Callable[[Mapping[str, Any]], Any]:
    if pf.has_end:
        return lambda entry: DateRange(_when(entry, "start"), _when(entry, "end"))
    return lambda entry: _when(entry, "start")


def _one(pf: PodioField, resolve: Callable[[int | None], type[Any] | None]) -> Callable[[Any], Any]:
    """How one entry of `values` becomes one value of the attribute."""
    kind = pf.type
    if kind in ("text", "tel"):
        return lambda entry: entry.get("value")
    if kind == "number":
        return lambda entry: _decimal(entry.get("value"))
    if kind == "money":
        return lambda entry: Money(_decimal(entry.get("value")), entry.get("currency"))
    if kind == "progress":
        return lambda entry: entry.get("value")
    if kind == "duration":
        return lambda entry: timedelta(seconds=entry["value"])
    if kind == "calculation":
        if pf.returns == "date":
            return lambda entry: _when(entry, "start")
        if pf.returns == "number":
            return lambda entry: _decimal(entry.get("value"))
        return lambda entry: entry.get("value")
    if kind in ("category", "question"):
        return _option(pf.options)
    if kind == "app":
        return _ref(resolve)
    if kind == "contact":
        return _contact
    if kind == "image":
        return _image
    if kind == "embed":
        return _embed
    if kind == "location":
        return _location
    if kind == "phone":
        return _typed(_fields.Phone)
    if kind == "email":
        return _typed(_fields.Email)
    if kind == "date":
        return _date(pf)
    return lambda entry: entry  # a type this version does not know: as sent


def reader(pf: PodioField, resolve: Callable[[int | None], type[Any] | None]) -> Reader:
    """The attribute's value from the field's `values` (as Podio sent them)."""
    one = _one(pf, resolve)
    if pf.is_list:
        return lambda values: [one(entry) for entry in values]

    def single(values: Values) -> Any:
        return one(values[0]) if values else None

    return single


def empty(pf: PodioField) -> Any:
    """The attribute's value when the item has none for the field."""
    return [] if pf.is_list else None


# --------------------------------------------------------------------------- writing
def _date_checked(pf: PodioField, name: str, value: Any, when: date | None) -> None:
    if when is None:
        return
    if isinstance(when, datetime):
        if pf.time == "disabled":
            raise FieldValueError(name, value, "takes dates, not datetimes (its time is off)")
    elif pf.time == "required":
        raise FieldValueError(name, value, "takes aware datetimes (its time is required)")


def _date_write(pf: PodioField, name: str, value: Any) -> Any:
    if isinstance(value, DateRange):
        start, end = value.start, value.end
    elif isinstance(value, date):
        start, end = value, None
    else:
        raise FieldValueError(name, value, "takes a date, a datetime or a DateRange")
    if end is not None and pf.end == "disabled":
        raise FieldValueError(name, value, "takes no end (its end setting is disabled)")
    if end is None and pf.end == "required":
        raise FieldValueError(name, value, "needs an end (its end setting is required)")
    _date_checked(pf, name, value, start)
    _date_checked(pf, name, value, end)
    return _fields.DateRange(start, end) if end is not None else start


def _ids(values: Iterable[Any], name: str, kind: type[Any], attr: str) -> _fields.Ref:
    ids = []
    for value in values:
        if not isinstance(value, kind):
            raise FieldValueError(name, value, f"takes {kind.__name__} values")
        ids.append(getattr(value, attr))
    return _fields.Ref(*ids)


def _options(pf: PodioField, name: str, values: list[Any]) -> _fields.Ref:
    ids = []
    for value in values:
        if pf.options is not None and not isinstance(value, pf.options):
            raise FieldValueError(
                name, value, f"takes {pf.options.__qualname__} members (the app's options)"
            )
        if not isinstance(value, Option):
            raise FieldValueError(name, value, "takes the field's option enum")
        ids.append(value.value)
    return _fields.Ref(*ids)


def _location_write(value: Location) -> Any:
    parts = {k: getattr(value, k) for k in LOCATION_KEYS if getattr(value, k) is not None}
    if set(parts) == {"value"}:
        return parts["value"]
    return [parts]


def _embed_write(value: EmbedRef) -> Any:
    if value.embed_id is not None:
        file_id = value.file.file_id if value.file is not None else None
        return {"embed": value.embed_id, "file": file_id}
    return {"url": value.url}


def write_value(pf: PodioField, name: str, value: Any) -> Any:
    """The value `podiokit.fields.encode_fields` sends for the attribute `name`; raises
    `FieldValueError` for what the field would refuse."""
    if pf.type in READ_ONLY_TYPES:
        raise FieldValueError(name, value, f"a {pf.type} field is read-only")
    if value is None or (isinstance(value, list) and not value):
        if pf.required:
            raise FieldValueError(name, value, "is required: it cannot be cleared")
        return None  # [] clears the field
    values = value if isinstance(value, list) else [value]
    if not pf.is_list and isinstance(value, list):
        raise FieldValueError(name, value, "takes one value")
    if pf.is_list and not isinstance(value, list):
        raise FieldValueError(name, value, "takes a list")
    kind = pf.type
    if kind in ("category", "question"):
        return _options(pf, name, values)
    if kind == "app":
        return _ids(values, name, ItemRef, "item_id")
    if kind == "contact":
        return _ids(values, name, Contact, "profile_id")
    if kind == "image":
        return _ids(values, name, FileRef, "file_id")
    if kind == "embed":
        return [_embed_write(_check(name, v, EmbedRef)) for v in values]
    if kind in ("phone", "email"):
        cls = _fields.Phone if kind == "phone" else _fields.Email
        return [_check(name, v, cls) for v in values]
    if kind == "money":
        money = _check(name, value, Money)
        if pf.currencies and money.currency not in pf.currencies:
            allowed = ", ".join(pf.currencies)
            raise FieldValueError(name, value, f"takes a currency from {allowed}")
        return _fields.Money(money.value, money.currency)
    if kind == "date":
        return _date_write(pf, name, value)
    if kind == "location":
        return _location_write(_check(name, value, Location))
    if kind == "progress":
        return _fields.Progress(value)
    if kind == "duration":
        return _check(name, value, timedelta)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (Decimal, int, float)):
            raise FieldValueError(name, value, "takes a number")
        return value
    if kind in ("text", "tel"):
        return _check(name, value, str)
    return _fields.Raw(value)  # a type this version does not know: as given


def _check(name: str, value: Any, cls: type[Any]) -> Any:
    if not isinstance(value, cls):
        raise FieldValueError(name, value, f"takes {cls.__name__} values")
    return value


# --------------------------------------------------------------------------- read form again
def _date_form(end: str, when: date) -> JSON:
    if isinstance(when, datetime):
        utc = when.astimezone(_UTC)
        return {
            f"{end}_utc": utc.strftime("%Y-%m-%d %H:%M:%S"),
            f"{end}_date_utc": utc.date().isoformat(),
            f"{end}_time_utc": utc.time().isoformat("seconds"),
        }
    day = when.isoformat()
    return {f"{end}_date": day, f"{end}_date_utc": day, f"{end}_utc": day}


def _render_one(pf: PodioField, value: Any) -> JSON:
    kind = pf.type
    if isinstance(value, Option):
        return {"value": {"id": value.value, "text": value.text, "status": "active"}}
    if isinstance(value, Money):
        return {"currency": value.currency, "value": format(value.value, "f")}
    if isinstance(value, Decimal):
        return {"value": format(value, "f")}
    if isinstance(value, timedelta):
        return {"value": int(value.total_seconds())}
    if isinstance(value, (ItemRef, Contact, FileRef)):
        return {"value": value.as_json()}
    if isinstance(value, (EmbedRef, Location)):
        return value.as_json()
    if isinstance(value, (_fields.Phone, _fields.Email)):
        return {"type": value.type, "value": value.value}
    if kind in ("date", "calculation") and isinstance(value, (date, DateRange)):
        start, end = (value.start, value.end) if isinstance(value, DateRange) else (value, None)
        form = _date_form("start", start)
        if end is not None:
            form.update(_date_form("end", end))
        return form
    if isinstance(value, Mapping):
        return dict(value)
    return {"value": value}


def render_values(pf: PodioField, value: Any) -> list[JSON]:
    """The field's `values` as Podio would serve them for this attribute value (date values
    carry the UTC keys and the day only: a user's local time is Podio's to say)."""
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [_render_one(pf, v) for v in values]


# --------------------------------------------------------------------------- filters
_NUMBERS = frozenset({"number", "money", "progress", "duration", "calculation"})


def _bound(pf: PodioField, name: str, value: Any) -> Any:
    if value is None or isinstance(value, str):  # a relative date ("-2w") is Podio's
        return value
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, Money):
        return value.value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise FieldValueError(name, value, "a naive datetime has no timezone")
        return value.astimezone(_UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise FieldValueError(name, value, "a range bound is a number, a date or None")
    return value


def _range(pf: PodioField, name: str, value: Any) -> JSON:
    if isinstance(value, DateRange):
        value = (value.start, value.end)
    if not isinstance(value, tuple) or len(value) != 2:
        raise FieldValueError(name, value, "filters with a (from, to) pair; None leaves one open")
    low, high = _bound(pf, name, value[0]), _bound(pf, name, value[1])
    if low is None and high is None:
        raise FieldValueError(name, value, "a range needs from, to or both")
    out: JSON = {}
    if low is not None:
        out["from"] = low
    if high is not None:
        out["to"] = high
    return out


def _many(value: Any) -> list[Any]:
    """One value, or each of an iterable of them (a model is iterable, but one value)."""
    if isinstance(value, (str, bytes, Mapping, BaseModel)) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def filter_value(pf: PodioField, name: str, value: Any) -> Any:
    """The value of the field's key in Podio's `filters` object."""
    kind = pf.type
    many = _many(value)
    if kind in ("category", "question"):
        return list(_options(pf, name, many))
    if kind == "app":
        return [ItemRef._check(v).item_id for v in many]
    if kind == "contact":
        return [Contact._check(v).profile_id for v in many]
    if kind in _NUMBERS or kind == "date":
        return _range(pf, name, value)
    if kind in ("text", "tel") and isinstance(value, str):
        return value
    raise FieldValueError(name, value, f"Podio cannot filter {kind} fields by value")
