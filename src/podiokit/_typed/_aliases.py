"""The value types a generated class's `filter` takes, by field type."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeAlias, TypeVar

from ._model import AppModel
from ._values import Contact, ItemRef, Option

__all__ = [
    "ContactFilter",
    "DateFilter",
    "DurationRange",
    "NumberRange",
    "OptionFilter",
    "RefFilter",
]

_O = TypeVar("_O", bound=Option)

#: Options of a category or question field: one member of its enum, or several.
OptionFilter: TypeAlias = _O | Iterable[_O]

#: Items of an app field: refs, items read with their model, or item ids (one or several).
RefFilter: TypeAlias = ItemRef[Any] | AppModel | int | Iterable[ItemRef[Any] | AppModel | int]
#: Profiles of a contact field: contacts or profile ids (one or several).
ContactFilter: TypeAlias = Contact | int | Iterable[Contact | int]
#: (from, to) of a number, money, progress or calculation field; None leaves an end open.
NumberRange: TypeAlias = tuple[Decimal | int | float | None, Decimal | int | float | None]
#: (from, to) of a duration field.
DurationRange: TypeAlias = tuple[timedelta | int | None, timedelta | int | None]
#: (from, to) of a date field: dates, aware datetimes or Podio's relative dates ("-2w").
DateFilter: TypeAlias = tuple[date | str | None, date | str | None]
