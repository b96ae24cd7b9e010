"""Item field values as written: Python values -> Podio's write forms (create/update).

`encode_fields({"title": "x", "price": Money("9.50", "EUR"), 142837427: 75})` gives the
`fields` object of POST /item/app/{app_id}/ and PUT /item/{item_id}, keyed by external_id or
field_id (as a string). A value that cannot be sent raises `FieldValueError`, naming the field
and the value, before any request is made.

| Python value                           | sent as                                   | field types       |
|----------------------------------------|-------------------------------------------|-------------------|
| `str`                                  | `"text"`                                  | text, location... |
| `int`, `float`, `Decimal`              | `5`, `2.5`, `"6513.5100"` (Decimal exact) | number, ids       |
| `Money(value, "EUR")`                  | `{"value": "9.50", "currency": "EUR"}`    | money             |
| aware `datetime`                       | `{"start_utc": "YYYY-MM-DD HH:MM:SS"}`    | date              |
| `date`                                 | `{"start_date": "YYYY-MM-DD"}`            | date              |
| `DateRange(start, end)`                | the two forms above with `end_*`          | date              |
| `Ref(4, 5)` or `[4, 5]`                | `[4, 5]` (option/item/profile/file ids)   | category, app,    |
|                                        |                                           | contact, image    |
| `Embed(embed_id, file_id)`             | `[{"embed": 1, "file": 2}]`               | embed             |
| `Location("address", lat=, lng=)`      | `[{"value": "...", "lat": .., "lng": ..}]`| location          |
| `Phone("+45...", "mobile")`, `Email()` | `[{"type": "mobile", "value": "..."}]`    | phone, email      |
| `Duration(seconds)`, `timedelta`       | `93784` (seconds)                         | duration          |
| `Progress(75)`                         | `75`                                      | progress          |
| `None`, `[]`                           | `[]` (clears the field)                   | any               |
| Podio's own write form (a `dict`)      | sent as given, once its keys and value    | see `FORMS`       |
|                                        | types are checked; a list of them too     |                   |
| `Raw(anything)`                        | sent unchanged (a form this module lacks) | any               |

Podio's forms, as its docs and the official clients write them: `{"value": v}`,
`{"value": "10", "currency": "EUR"}`, `{"start_date", "end_date", "start_time", "end_time"}`,
`{"start_utc", "end_utc"}`, `{"start", "end"}`, `{"type": "work", "value": ...}` (phone,
email), `{"embed": id, "file": id}` and `{"url": ...}` (embed), and location dicts
(`{"value", "lat", "lng", "city", ...}`). A dict with an unknown key or a wrong value type
raises `FieldValueError`, which lists the forms.

A naive `datetime` is rejected: Podio's `start_utc` is UTC and guessing a timezone would
silently move the date. Pass an aware datetime, or a `date` for a date-only value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, Protocol

__all__ = [
    "FORMS",
    "DateRange",
    "Duration",
    "Email",
    "Embed",
    "FieldValueError",
    "Location",
    "Money",
    "Phone",
    "Progress",
    "Raw",
    "Ref",
    "WritesFields",
    "encode_field_value",
    "encode_fields",
    "json_default",
]

PhoneType = Literal["mobile", "work", "home", "main", "work_fax", "private_fax", "other"]
EmailType = Literal["work", "home", "other"]

PHONE_TYPES: Final = frozenset(
    {"mobile", "work", "home", "main", "work_fax", "private_fax", "other"}
)
EMAIL_TYPES: Final = frozenset({"work", "home", "other"})
_CURRENCY = re.compile(r"[A-Za-z]{3}\Z")


class FieldValueError(ValueError):
    """A value cannot be written to an item field. Raised before anything is sent."""

    def __init__(self, field: str | int | None, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        where = "field value" if field is None else f"field {field!r}"
        super().__init__(f"{where}: {reason} (got {value!r})")


class _Reject(Exception):
    """Internal: a reason to reject, turned into FieldValueError with the field's name."""


# --------------------------------------------------------------------------- write forms
@dataclass(frozen=True, slots=True)
class Money:
    """A money field value: an amount and an ISO 4217 currency code."""

    value: Decimal | int | float | str
    currency: str


@dataclass(frozen=True, slots=True)
class DateRange:
    """A date field value with an optional end. Both ends are dates, or both aware datetimes."""

    start: date | datetime
    end: date | datetime | None = None


class Ref(tuple[int, ...]):
    """Ids for a category (option ids), app (item ids), contact (profile ids) or image
    (file ids) field: `Ref(4, 5)`. A plain list of ints means the same."""

    __slots__ = ()

    def __new__(cls, *ids: int) -> Ref:
        return super().__new__(cls, ids)


@dataclass(frozen=True, slots=True)
class Embed:
    """An embed field value: an embed created with POST /embed/, and optionally its thumbnail."""

    embed_id: int
    file_id: int | None = None


@dataclass(frozen=True, slots=True)
class Location:
    """A location field value: an address, coordinates, or both."""

    value: str | None = None
    lat: float | None = None
    lng: float | None = None


@dataclass(frozen=True, slots=True)
class Phone:
    """A phone field value."""

    value: str
    type: PhoneType = "work"


@dataclass(frozen=True, slots=True)
class Email:
    """An email field value."""

    value: str
    type: EmailType = "work"


@dataclass(frozen=True, slots=True)
class Duration:
    """A duration field value in whole seconds."""

    seconds: int


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress field value, 0 to 100."""

    value: int


@dataclass(frozen=True, slots=True)
class Raw:
    """Sent exactly as given: for a write form this module does not model."""

    value: Any


# --------------------------------------------------------------------------- encoding
class WritesFields(Protocol):
    """What `encode_fields` takes besides a mapping: an object giving its own field values
    (a typed app model, `podiokit.typed.AppModel`)."""

    def __podio_fields__(self) -> Mapping[int, Any]: ...


def encode_fields(values: Mapping[str | int, Any] | WritesFields) -> dict[str, Any]:
    """The `fields` object of an item create/update body.

    Keys are external_ids (str) or field_ids (int); values are encoded as in the module table.
    A typed app model (`podiokit.typed.AppModel`, made by `podiokit typegen`) stands for the
    attributes it was given or assigned, keyed by field id.
    """
    given: Any = values
    if not isinstance(given, Mapping) and hasattr(type(given), "__podio_fields__"):
        given = given.__podio_fields__()  # a typed app model: its own write forms
    if not isinstance(given, Mapping):
        raise FieldValueError(None, given, "fields must be a mapping of field -> value")
    out: dict[str, Any] = {}
    for key, value in given.items():
        name = _key(key, value)
        if name in out:
            raise FieldValueError(key, value, "the same field is given twice")
        out[name] = encode_field_value(value, field=key)
    return out


def encode_field_value(value: Any, *, field: str | int | None = None) -> Any:
    """One field's write form (also the body of PUT /item/{item_id}/value/{field})."""
    try:
        return _encode(value)
    except _Reject as exc:
        raise FieldValueError(field, value, str(exc)) from None


def _key(key: object, value: object) -> str:
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise FieldValueError(None, value, f"field key {key!r} must be an external_id or field_id")
    if isinstance(key, int):
        if key <= 0:
            raise FieldValueError(key, value, "a field_id is a positive int")
        return str(key)
    if not key:
        raise FieldValueError(key, value, "an external_id cannot be empty")
    return key


def _encode(value: Any) -> Any:
    # Order matters: bool is an int, datetime is a date, Ref is a tuple.
    if value is None:
        return []
    if isinstance(value, Raw):
        return value.value
    if isinstance(value, bool):
        raise _Reject("True/False is not a Podio field value (yes/no fields are categories)")
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Reject("a number must be finite")
        return value
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, datetime):
        return {"start_utc": _utc_text(value)}
    if isinstance(value, date):
        return {"start_date": value.isoformat()}
    if isinstance(value, timedelta):
        return _seconds(value)
    if isinstance(value, Money):
        return _money(value)
    if isinstance(value, DateRange):
        return _date_range(value)
    if isinstance(value, Ref):
        return [_id(v, "id") for v in value]
    if isinstance(value, (Embed, Location, Phone, Email)):
        return [_part(value)]
    if isinstance(value, Duration):
        if isinstance(value.seconds, bool) or not isinstance(value.seconds, int):
            raise _Reject("Duration takes whole seconds (an int)")
        if value.seconds < 0:
            raise _Reject("a duration cannot be negative")
        return value.seconds
    if isinstance(value, Progress):
        progress = value.value
        if isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= 100:
            raise _Reject("progress is an int from 0 to 100")
        return progress
    if isinstance(value, (list, tuple)):
        return _list(value)
    if isinstance(value, Mapping):
        return _podio_form(value)
    raise _Reject(f"{type(value).__name__} is not a supported field value")


def json_default(value: object) -> Any:
    """`default=` for `json.dumps` of request bodies (filters, any `json=`): a date, datetime
    or Decimal anywhere in a body takes the same text as in a field value, so a filter accepts
    what create/update accept and what the models return. Anything else is a TypeError."""
    try:
        if isinstance(value, datetime):
            return _utc_text(value)  # "YYYY-MM-DD HH:MM:SS" in UTC
        if isinstance(value, date):
            return value.isoformat()  # "YYYY-MM-DD"
        if isinstance(value, Decimal):
            return _decimal_text(value)  # exact, never exponent notation
    except _Reject as exc:
        raise ValueError(f"cannot send {value!r} in a request body: {exc}") from None
    raise TypeError(
        f"Object of type {type(value).__name__} is not JSON serializable "
        "(a body takes JSON values, date, datetime and Decimal)"
    )


def _list(values: Sequence[Any]) -> list[Any]:
    if not values:
        return []  # clears the field
    kinds = {type(v) for v in values}
    if len(kinds) > 1:
        names = ", ".join(sorted(k.__name__ for k in kinds))
        raise _Reject(f"a list must hold one kind of value, not {names}")
    first = values[0]
    if isinstance(first, int) and not isinstance(first, bool):
        return [_id(v, "id") for v in values]
    if isinstance(first, (Embed, Location, Phone, Email)):
        return [_part(v) for v in values]
    if isinstance(first, Mapping):
        return [_podio_form(v) for v in values]
    raise _Reject(
        "a list holds ids (int), Podio write forms (dict), Embed, Location, Phone or Email "
        f"values, not {type(first).__name__}"
    )


def _id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _Reject(f"an {what} is a positive int")
    return value


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise _Reject("a number must be finite")
    return format(value, "f")  # never exponent notation, which Podio would not read


def _utc_text(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise _Reject("a naive datetime has no timezone; pass an aware datetime or a date")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _seconds(value: timedelta) -> int:
    if value < timedelta(0):
        raise _Reject("a duration cannot be negative")
    if value.microseconds:
        raise _Reject("a duration is whole seconds")
    return value.days * 86400 + value.seconds


def _money(value: Money) -> dict[str, str]:
    amount = value.value
    if isinstance(amount, bool):
        raise _Reject("a money amount is a number")
    if isinstance(amount, float):
        if not math.isfinite(amount):
            raise _Reject("a money amount must be finite")
        amount = Decimal(repr(amount))  # the shortest text that is this float
    elif isinstance(amount, (int, str)):
        try:
            amount = Decimal(amount)
        except InvalidOperation:
            raise _Reject("a money amount is a number") from None
    elif not isinstance(amount, Decimal):
        raise _Reject("a money amount is a number")
    currency = value.currency
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise _Reject("a currency is a 3-letter ISO 4217 code such as 'EUR'")
    return {"value": _decimal_text(amount), "currency": currency.upper()}


def _date_range(value: DateRange) -> dict[str, str]:
    start, end = value.start, value.end
    if not isinstance(start, date):
        raise _Reject("DateRange.start is a date or an aware datetime")
    timed = isinstance(start, datetime)
    if end is not None:
        if not isinstance(end, date) or isinstance(end, datetime) != timed:
            raise _Reject("DateRange start and end are both dates or both datetimes")
        if end < start:
            raise _Reject("DateRange ends before it starts")
    if isinstance(start, datetime):
        out = {"start_utc": _utc_text(start)}
        if isinstance(end, datetime):
            out["end_utc"] = _utc_text(end)
        return out
    out = {"start_date": start.isoformat()}
    if end is not None:
        out["end_date"] = end.isoformat()
    return out


def _part(value: Embed | Location | Phone | Email) -> dict[str, Any]:
    if isinstance(value, Embed):
        embed_id = _id(value.embed_id, "embed_id")
        file_id = None if value.file_id is None else _id(value.file_id, "file_id")
        return {"embed": embed_id, "file": file_id}
    if isinstance(value, Location):
        return _location(value)
    kinds = PHONE_TYPES if isinstance(value, Phone) else EMAIL_TYPES
    label = "phone" if isinstance(value, Phone) else "email"
    if not isinstance(value.value, str) or not value.value.strip():
        raise _Reject(f"a {label} value is a non-empty string")
    if value.type not in kinds:
        raise _Reject(f"a {label} type is one of {', '.join(sorted(kinds))}")
    if isinstance(value, Email) and "@" not in value.value:
        raise _Reject("an email address contains '@'")
    return {"type": value.type, "value": value.value}


def _location(value: Location) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if value.value is not None:
        if not isinstance(value.value, str) or not value.value.strip():
            raise _Reject("a location address is a non-empty string")
        out["value"] = value.value
    if (value.lat is None) != (value.lng is None):
        raise _Reject("a location needs both lat and lng, or neither")
    if value.lat is not None and value.lng is not None:
        for name, coord, limit in (("lat", value.lat, 90), ("lng", value.lng, 180)):
            if (
                isinstance(coord, bool)
                or not isinstance(coord, (int, float))
                or not math.isfinite(coord)
                or abs(coord) > limit
            ):
                raise _Reject(f"{name} is a number within ±{limit}")
            out[name] = coord
    if not out:
        raise _Reject("a location needs an address or lat/lng")
    return out


# --------------------------------------------------------------------------- Podio's own forms
# The dicts Podio's docs and the official clients write (docs/dev/podio-behaviour.md §5.5), passed through
# after their keys and value types are checked: a typo'd key or a wrong type fails here, before
# a request is sent, instead of as a 400 from Podio.
_DATE_LOCAL: Final = frozenset({"start_date", "end_date", "start_time", "end_time"})
_DATE_UTC: Final = frozenset({"start_utc", "end_utc"})
_DATE_PLAIN: Final = frozenset({"start", "end"})
_LOCATION_TEXT: Final = frozenset(
    {"formatted", "street_number", "street_name", "street_address", "postal_code", "city",
     "state", "country"}
)  # fmt: skip
_LOCATION: Final = _LOCATION_TEXT | {"value", "lat", "lng"}
FORMS: Final = (
    '{"value": v} (any field; v a string, number or id)',
    '{"value", "currency"} (money)',
    '{"start_date", "end_date", "start_time", "end_time"} (date)',
    '{"start_utc", "end_utc"} (date, UTC)',
    '{"start", "end"} (date, local time)',
    '{"type", "value"} (phone, email)',
    '{"embed", "file"} or {"url"} (embed)',
    '{"value", "lat", "lng", "formatted", "street_address", "city", ...} (location)',
)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?\Z")


def _podio_form(value: Mapping[Any, Any]) -> dict[str, Any]:
    keys = set(value)
    if all(isinstance(k, str) for k in keys):
        if keys == {"value"}:
            return {"value": _scalar(value["value"])}
        if keys == {"value", "currency"}:
            return _money(Money(value["value"], value["currency"]))
        if keys <= _DATE_LOCAL and keys:
            return _date_local(value)
        if keys <= _DATE_UTC and keys:
            return _date_text(value, "_utc")
        if keys <= _DATE_PLAIN and keys:
            return _date_text(value, "")
        if "type" in keys and keys <= {"type", "value"}:
            return _typed(value)
        if "embed" in keys and keys <= {"embed", "file"}:
            out: dict[str, Any] = {"embed": _id(value["embed"], "embed id")}
            if "file" in value:
                file_id = value["file"]
                out["file"] = None if file_id is None else _id(file_id, "file id")
            return out
        if keys == {"url"}:
            url = value["url"]
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise _Reject('{"url": ...} takes an http(s) URL string')
            return {"url": url}
        if keys <= _LOCATION and keys - {"value"}:
            return _location_form(value)
    shown = ", ".join(sorted(map(repr, keys))) or "none"
    raise _Reject(
        f"a dict must be one of Podio's write forms: {'; '.join(FORMS)}; its keys ({shown}) "
        "match none (or use a typed value such as Money, or Raw)"
    )


def _scalar(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        raise _Reject('{"value": v} takes a string, a number or an id')
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Reject("a number must be finite")
        return value
    if isinstance(value, Decimal):
        return _decimal_text(value)
    raise _Reject('{"value": v} takes a string, a number or an id')


def _day(value: Any, key: str) -> str:
    if not isinstance(value, str) or not _DAY.match(value):
        raise _Reject(f"{key} is a 'YYYY-MM-DD' string")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise _Reject(f"{key} is not a real date") from None
    return value


def _date_local(value: Mapping[str, Any]) -> dict[str, Any]:
    if "start_date" not in value:
        raise _Reject("a date needs start_date")
    if "end_time" in value and "end_date" not in value:
        raise _Reject("end_time needs end_date")
    out: dict[str, Any] = {}
    for key in ("start_date", "start_time", "end_date", "end_time"):
        if key not in value:
            continue
        raw = value[key]
        if key.endswith("_time"):
            if raw is not None and (not isinstance(raw, str) or not _CLOCK.match(raw)):
                raise _Reject(f"{key} is an 'HH:MM:SS' string (or null)")
            out[key] = raw
        else:
            out[key] = _day(raw, key)
    if "end_date" in out:
        start = (out["start_date"], out.get("start_time") or "")
        end = (out["end_date"], out.get("end_time") or "99")  # a date-only end lasts all day
        if end < start:
            raise _Reject("a date cannot end before it starts")
    return out


def _date_text(value: Mapping[str, Any], suffix: str) -> dict[str, Any]:
    start_key, end_key = f"start{suffix}", f"end{suffix}"
    if start_key not in value:
        raise _Reject(f"a date needs {start_key}")
    out: dict[str, Any] = {}
    for key in (start_key, end_key):
        if key in value:
            raw = value[key]
            if not isinstance(raw, str) or not _is_when(raw):
                raise _Reject(f"{key} is a 'YYYY-MM-DD HH:MM:SS' or 'YYYY-MM-DD' string")
            out[key] = raw
    if end_key in out:
        start, end = out[start_key], out[end_key]
        if len(start) != len(end):  # one end is date-only: compare days
            start, end = start[:10], end[:10]
        if end < start:
            raise _Reject("a date cannot end before it starts")
    return out


def _is_when(text: str) -> bool:
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            datetime.strptime(text, pattern)
        except ValueError:
            continue
        return len(text) in (10, 19)  # strptime would take "2024-1-5"
    return False


def _typed(value: Mapping[str, Any]) -> dict[str, Any]:
    kind = value["type"]
    if kind not in PHONE_TYPES | EMAIL_TYPES:
        kinds = ", ".join(sorted(PHONE_TYPES | EMAIL_TYPES))
        raise _Reject(f"a phone/email type is one of {kinds}")
    text = value.get("value")
    if not isinstance(text, str) or not text.strip():
        raise _Reject('{"type", "value"} takes a non-empty string value')
    return {"type": kind, "value": text}


def _location_form(value: Mapping[str, Any]) -> dict[str, Any]:
    address = value.get("value")
    # Coordinates and the address go through the Location helper's checks.
    out = _location(Location(address, lat=value.get("lat"), lng=value.get("lng")))
    for key in sorted(_LOCATION_TEXT & set(value)):
        if value[key] is not None and not isinstance(value[key], str):
            raise _Reject(f"a location's {key} is a string")
        out[key] = value[key]
    return out
