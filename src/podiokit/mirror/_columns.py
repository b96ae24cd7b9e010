"""Which typed columns an app field becomes, and the values an item puts in them.

An app's fields are first reduced to a *spec* (what decides the columns: id, external_id,
type and a few settings), which is stored with the mirror's state so a later run rebuilds the
same columns without asking Podio for the app. Readable text comes from the code the CSV sink
uses too (`podiokit._bulk`), so a category reads the same in a CSV file and in the database.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .._bulk import JOIN, readable, to_decimal

__all__ = [
    "FIXED_COLUMNS",
    "Column",
    "FieldColumns",
    "field_specs",
    "fingerprint",
    "identifier",
    "plan_columns",
    "to_datetime",
]

#: Bump when the columns a spec produces change: every typed table is then rebuilt (from
#: items.raw, no API call). 2: money amounts exact on SQLite (text, not REAL).
SCHEMA_VERSION = 2

#: Columns every `app_<app_id>` table starts with (from the item itself, not its fields).
FIXED_COLUMNS = ("item_id", "app_item_id", "revision", "created_on", "last_event_on")

#: PostgreSQL cuts identifiers at 63 bytes; room is kept for "_currency" and a "_NN" suffix.
_BASE_LENGTH = 48

Spec = dict[str, Any]
Values = Sequence[Any]


@dataclass(frozen=True)
class Column:
    name: str
    #: "text" | "numeric" | "money" | "integer" | "bigint" | "date" | "datetime"
    kind: str


@dataclass(frozen=True)
class FieldColumns:
    """One field's columns and the function turning its values into one value per column."""

    field_id: int
    external_id: str
    type: str
    columns: tuple[Column, ...]
    convert: Callable[[Values], tuple[Any, ...]]


#: Letters NFKD does not take apart into an ASCII letter and accents.
_LETTERS = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "œ": "oe",
                          "Œ": "oe", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "þ": "th"})  # fmt: skip


def identifier(text: str) -> str:
    """A lowercase ASCII name that needs no quoting for its characters: letters, digits, _."""
    folded = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    ascii_text = folded.encode("ascii", "ignore").decode()
    name = re.sub(r"[^0-9a-z]+", "_", ascii_text.lower()).strip("_")
    if not name or name[0].isdigit():
        name = f"f_{name}".rstrip("_")
    return name[:_BASE_LENGTH].rstrip("_")


def field_specs(app: Mapping[str, Any]) -> list[Spec]:
    """The active fields of an app (GET /app/{app_id}) reduced to what decides the columns."""
    specs: list[Spec] = []
    for field in app.get("fields") or ():
        if not isinstance(field, Mapping) or field.get("status", "active") != "active":
            continue
        kind = str(field.get("type") or "")
        settings = (field.get("config") or {}).get("settings") or {}
        spec: Spec = {
            "field_id": int(field["field_id"]),
            "external_id": str(field.get("external_id") or f"field_{field['field_id']}"),
            "type": kind,
        }
        if kind == "date":
            spec["time"] = settings.get("time") != "disabled"
        elif kind == "app":
            spec["multiple"] = bool(settings.get("multiple", True))
        elif kind == "calculation":
            spec["return_type"] = settings.get("return_type") or "number"
        elif kind == "question":
            # Podio may send a question's value as the option id alone: keep the texts.
            spec["options"] = {
                str(o["id"]): str(o.get("text", ""))
                for o in settings.get("options") or ()
                if isinstance(o, Mapping) and "id" in o
            }
        specs.append(spec)
    return specs


def fingerprint(specs: Sequence[Spec]) -> str:
    text = json.dumps({"version": SCHEMA_VERSION, "fields": list(specs)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def plan_columns(specs: Sequence[Spec]) -> list[FieldColumns]:
    """Each field's columns, named from its external_id; a name already taken (by a fixed
    column or an earlier field) gets a suffix _2, _3 ... on all of the field's columns."""
    taken = set(FIXED_COLUMNS)
    plans: list[FieldColumns] = []
    for spec in specs:
        suffixes, convert = _shape(spec)
        base = identifier(spec["external_id"])
        name, n = base, 1
        while any(f"{name}{s}" in taken for s, _ in suffixes):
            n += 1
            name = f"{base}_{n}"
        columns = tuple(Column(f"{name}{s}", kind) for s, kind in suffixes)
        taken.update(c.name for c in columns)
        plans.append(
            FieldColumns(spec["field_id"], spec["external_id"], spec["type"], columns, convert)
        )
    return plans


# --- one value per column, from a field's `values` (docs/dev/podio-behaviour.md §5.4) ----------------------


def _none_if_empty(text: str) -> str | None:
    return text or None


def _first(values: Values) -> Any:
    first = values[0] if values else None
    return first if type(first) is dict or isinstance(first, Mapping) else {}


def to_datetime(text: Any) -> datetime | None:
    """Podio's "YYYY-MM-DD HH:MM:SS" (UTC) as a naive datetime."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _to_date(text: Any) -> date | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _when(entry: Mapping[str, Any], part: str, with_time: bool) -> date | datetime | None:
    day = _to_date(entry.get(f"{part}_date") or entry.get(part))
    if not with_time:
        return day
    # A value without a time of day (null *_time) is that day at midnight.
    if entry.get(f"{part}_time_utc") or entry.get(f"{part}_time"):
        return to_datetime(entry.get(f"{part}_utc")) or to_datetime(entry.get(part))
    return datetime(day.year, day.month, day.day) if day else None


def _text(kind: str) -> Callable[[Values], tuple[Any, ...]]:
    def convert(values: Values) -> tuple[Any, ...]:
        return (readable(kind, values) or None,)  # "" -> None, as _none_if_empty

    return convert


def _json(values: Values) -> tuple[Any, ...]:
    if not values:
        return (None,)
    return (json.dumps(list(values), ensure_ascii=False, separators=(",", ":")),)


def _decimal(values: Values) -> tuple[Any, ...]:
    return (to_decimal(_first(values).get("value")),)


def _integer(values: Values) -> tuple[Any, ...]:
    number = to_decimal(_first(values).get("value"))
    return (int(number) if number is not None else None,)


def _money(values: Values) -> tuple[Any, ...]:
    first = _first(values)
    return to_decimal(first.get("value")), first.get("currency") or None


def _first_value(values: Values) -> tuple[Any, ...]:
    value = _first(values).get("value")
    return (None if value is None else str(value),)


def _refs(key: str, label: str) -> Callable[[Values], list[tuple[Any, str]]]:
    def refs(values: Values) -> list[tuple[Any, str]]:
        found = []
        for entry in values:
            value = (
                entry.get("value") if type(entry) is dict or isinstance(entry, Mapping) else None
            )
            if (type(value) is dict or isinstance(value, Mapping)) and value.get(key) is not None:
                found.append((value[key], str(value.get(label) or "")))
        return found

    return refs


def _references(key: str, label: str, single: bool) -> Callable[[Values], tuple[Any, ...]]:
    refs = _refs(key, label)

    def convert(values: Values) -> tuple[Any, ...]:
        found = refs(values)
        if not found:
            return None, None
        if single:
            return int(found[0][0]), found[0][1] or None
        ids = JOIN.join(str(i) for i, _ in found)
        return ids, _none_if_empty(JOIN.join(t for _, t in found))

    return convert


def _question(options: Mapping[str, str]) -> Callable[[Values], tuple[Any, ...]]:
    def convert(values: Values) -> tuple[Any, ...]:
        entries = [
            {"value": {"text": options.get(str(v.get("value")), str(v.get("value")))}}
            if isinstance(v, Mapping) and not isinstance(v.get("value"), Mapping)
            else v
            for v in values
        ]
        return (_none_if_empty(readable("question", entries)),)

    return convert


def _date(with_time: bool) -> Callable[[Values], tuple[Any, ...]]:
    def convert(values: Values) -> tuple[Any, ...]:
        first = _first(values)
        return _when(first, "start", with_time), _when(first, "end", with_time)

    return convert


Shape = tuple[list[tuple[str, str]], Callable[[Values], tuple[Any, ...]]]


def _shape(spec: Spec) -> Shape:
    """(column suffix, kind) pairs and the converter for one field spec."""
    kind = spec["type"]
    if kind in ("number",) or (kind == "calculation" and spec.get("return_type") == "number"):
        return [("", "numeric")], _decimal
    if kind == "progress":
        return [("", "integer")], _integer
    if kind == "duration":
        return [("", "bigint")], _integer
    if kind == "money":
        return [("", "money"), ("_currency", "text")], _money
    if kind == "date":
        with_time = bool(spec.get("time", True))
        column = "datetime" if with_time else "date"
        return [("_start", column), ("_end", column)], _date(with_time)
    if kind == "app":
        single = not spec.get("multiple", True)
        return [("", "bigint" if single else "text"), ("_title", "text")], _references(
            "item_id", "title", single
        )
    if kind == "contact":
        return [("", "text"), ("_name", "text")], _references("profile_id", "name", False)
    if kind in ("email", "phone"):
        return [("", "text")], _first_value
    if kind == "question":
        return [("", "text")], _question(spec.get("options") or {})
    if kind in ("text", "category", "location", "embed", "image"):
        return [("", "text")], _text(kind)
    # Types without a typed reading (tel, member, video, a calculation returning a date ...):
    # the values' JSON, so nothing is lost.
    return [("", "text")], _json
