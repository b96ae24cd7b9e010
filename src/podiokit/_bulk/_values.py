"""Readable text for one item field's values (docs/dev/podio-behaviour.md §5.4), for the CSV sink and the
mirror's typed tables (podiokit.mirror._columns), which share it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["JOIN", "date_parts", "money_parts", "readable", "to_decimal"]

#: Several values of one field (a multi-select category, several references) in one cell.
JOIN = "; "


def to_decimal(value: Any) -> Decimal | None:
    """A numeric value as Podio sends it ("6513.5100", 42) as a Decimal; None when it is
    not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _number(value: Any) -> str:
    # Podio sends numbers as strings with four decimals ("6513.5100"): drop the padding.
    number = to_decimal(value)
    return str(value) if number is None else format(number.normalize(), "f")


def _plain(entry: Mapping[str, Any]) -> str:
    value = entry.get("value")
    return "" if value is None else str(value)


def _num(entry: Mapping[str, Any]) -> str:
    value = entry.get("value")
    return "" if value is None else _number(value)


def _money(entry: Mapping[str, Any]) -> str:
    amount = entry.get("value")
    currency = entry.get("currency") or ""
    return f"{_number(amount)} {currency}".strip() if amount is not None else ""


def _category(entry: Mapping[str, Any]) -> str:
    value = entry.get("value")
    if type(value) is dict or isinstance(value, Mapping):
        return str(value.get("text", ""))
    return _plain(entry)


def _when(entry: Mapping[str, Any], part: str) -> str:
    # A date without a time has null *_time keys: show the day alone, not "00:00:00".
    if entry.get(f"{part}_date") and not entry.get(f"{part}_time"):
        return str(entry[f"{part}_date"])
    return str(entry.get(part) or "")


def _date(entry: Mapping[str, Any]) -> str:
    start, end = _when(entry, "start"), _when(entry, "end")
    return f"{start} - {end}" if end and end != start else start


def _app(entry: Mapping[str, Any]) -> str:
    value = entry.get("value")
    if not (type(value) is dict or isinstance(value, Mapping)):
        return _plain(entry)
    return f"{value.get('title', '')} ({value.get('item_id', '')})"


def _contact(entry: Mapping[str, Any]) -> str:
    value = entry.get("value")
    if not (type(value) is dict or isinstance(value, Mapping)):
        return _plain(entry)
    return f"{value.get('name', '')} ({value.get('profile_id', '')})"


def _typed(entry: Mapping[str, Any]) -> str:
    kind = entry.get("type")
    value = _plain(entry)
    return f"{value} ({kind})" if kind else value


def _location(entry: Mapping[str, Any]) -> str:
    return str(entry.get("formatted") or entry.get("value") or "")


def _embed(entry: Mapping[str, Any]) -> str:
    embed = entry.get("embed")
    return str(embed.get("url", "")) if type(embed) is dict or isinstance(embed, Mapping) else ""


def _file(entry: Mapping[str, Any]) -> str:
    value = entry.get("value")
    if not (type(value) is dict or isinstance(value, Mapping)):
        return _plain(entry)
    return f"{value.get('name', '')} ({value.get('link', '')})"


READERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "number": _num,
    "calculation": _num,
    "money": _money,
    "category": _category,
    "question": _category,
    "date": _date,
    "app": _app,
    "contact": _contact,
    "phone": _typed,
    "email": _typed,
    "location": _location,
    "embed": _embed,
    "image": _file,
}


def readable(field_type: Any, values: Iterable[Any]) -> str:
    read = READERS.get(field_type if type(field_type) is str else str(field_type), _plain)
    # `type(v) is dict` first: the ABC check costs more, and values come decoded as dicts
    # (the mirror runs this for every field of every item).
    return JOIN.join([read(v) for v in values if type(v) is dict or isinstance(v, Mapping)])


def _joined(values: Iterable[Any], read: Callable[[Mapping[str, Any]], str]) -> str:
    return JOIN.join(read(v) for v in values if isinstance(v, Mapping))


def money_parts(values: Iterable[Any]) -> tuple[str, str]:
    """A money field as (amount, currency): "1000" and "EUR", for a column each."""
    entries = [v for v in values if isinstance(v, Mapping) and v.get("value") is not None]
    amount = _joined(entries, _num)
    return amount, _joined(entries, lambda e: str(e.get("currency") or ""))


def date_parts(values: Iterable[Any]) -> tuple[str, str]:
    """A date field as (start, end), each a day or a day and a time; end "" without one."""
    entries = [v for v in values if isinstance(v, Mapping)]
    return _joined(entries, lambda e: _when(e, "start")), _joined(
        entries, lambda e: _when(e, "end")
    )
