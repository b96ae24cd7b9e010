"""The values of typed app models: what a field's attribute holds, read or to be written.

Each class validates itself when a pydantic model is built or assigned
(`__get_pydantic_core_schema__`): an instance passes as it is, a few plain forms are taken
(an id for a reference, `podiokit.fields.Money` for `Money`), anything else is refused with
the reason. Reference values (`ItemRef`, `Contact`, `FileRef`, `EmbedRef`, `Location`) keep
the JSON Podio sent in `raw` (left out of equality and repr), so nothing read is lost.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .. import fields as _fields

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler
    from pydantic_core import CoreSchema

    from ._model import AppModel

__all__ = [
    "Contact",
    "DateRange",
    "EmbedRef",
    "FileRef",
    "ItemRef",
    "Location",
    "Money",
    "Option",
]

D = TypeVar("D", bound=date)
M = TypeVar("M", bound="AppModel")
JSON = dict[str, Any]


def _schema(check: Callable[[Any], Any]) -> CoreSchema:
    """A core schema that hands the input to `check` (which returns the value or raises
    ValueError/TypeError); dumped as itself in Python mode, through `_as_json` in JSON."""
    from pydantic_core import core_schema

    return core_schema.no_info_plain_validator_function(
        check,
        serialization=core_schema.plain_serializer_function_ser_schema(_as_json, when_used="json"),
    )


def _as_json(value: Any) -> Any:
    as_json = getattr(value, "as_json", None)
    return as_json() if callable(as_json) else value


def _positive_id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{what} is a positive int, not {value!r}")
    return value


class Option(enum.Enum):
    """Base of the option enums `podiokit typegen` writes for category and question fields.

    A member's value is the option's id (`Deal.Status.OPEN.value == 1`, also `.id`); `.text`
    is the label Podio shows. `Deal.Status(1)` is the member with id 1, and an id the enum
    does not list raises ValueError: an unknown option is refused before anything is sent.
    An option Podio serves that the enum does not list (added after the class was made) is
    read as a member of its own (`.known` is False, named `UNKNOWN_<id>`), so it is kept
    and can be written back.
    """

    _value_: int
    text: str

    def __new__(cls, option_id: int, text: str = "") -> Option:
        member = object.__new__(cls)
        member._value_ = option_id
        member.text = text
        return member

    @property
    def id(self) -> int:
        """The option's id in Podio."""
        return self._value_

    @property
    def known(self) -> bool:
        """False for an option the app gained after the enum was made."""
        return self._name_ in type(self).__members__

    @classmethod
    def from_podio(cls, option_id: int, text: str | None = None) -> Any:
        """The member for an option Podio sent (an unknown id gets a member of its own)."""
        member = cls._value2member_map_.get(option_id)
        if member is not None:
            return member
        key = (cls, option_id)
        member = _UNKNOWN.get(key)
        if member is None:
            member = object.__new__(cls)
            member._value_ = option_id
            member._name_ = f"UNKNOWN_{option_id}"
            member.text = text or ""
            setattr(member, "_sort_order_", len(cls.__members__) + option_id)  # noqa: B010
            _UNKNOWN[key] = member
        return member

    def as_json(self) -> JSON:
        return {"id": self._value_, "text": self.text}


# Members for options an enum does not list, one per (enum, id): identity comparisons hold.
_UNKNOWN: dict[tuple[type[Option], int], Option] = {}


@dataclass(frozen=True, slots=True)
class Money:
    """A money field's value: an exact amount and an ISO 4217 currency code."""

    value: Decimal
    currency: str

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return _schema(cls._check)

    @classmethod
    def _check(cls, value: Any) -> Money:
        if isinstance(value, Money):
            return value
        if isinstance(value, _fields.Money):
            value = {"value": value.value, "currency": value.currency}
        if isinstance(value, Mapping) and set(value) == {"value", "currency"}:
            amount = value["value"]
            if isinstance(amount, bool) or not isinstance(amount, (Decimal, int, float, str)):
                raise ValueError(f"a money amount is a number, not {amount!r}")
            try:
                number = Decimal(str(amount)) if isinstance(amount, float) else Decimal(amount)
            except InvalidOperation:
                raise ValueError(f"a money amount is a number, not {amount!r}") from None
            currency = value["currency"]
            if not isinstance(currency, str):
                raise ValueError(f"a currency is a 3-letter code, not {currency!r}")
            return cls(number, currency)
        raise ValueError(f"expected Money(Decimal, currency), not {value!r}")

    def as_json(self) -> JSON:
        return {"value": format(self.value, "f"), "currency": self.currency}


@dataclass(frozen=True, slots=True)
class DateRange(Generic[D]):
    """A date field's value when the field has an end: `start`, and `end` or None. Both
    are dates, or both aware datetimes, as the field's time setting says."""

    start: D
    end: D | None = None

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return _schema(cls._check)

    @classmethod
    def _check(cls, value: Any) -> DateRange[Any]:
        checked: DateRange[Any]
        if isinstance(value, DateRange):
            return value
        if isinstance(value, _fields.DateRange):
            checked = DateRange(value.start, value.end)
        elif isinstance(value, tuple) and len(value) == 2:
            checked = DateRange(*value)
        elif isinstance(value, date):
            checked = DateRange(value)
        else:
            raise ValueError(f"expected DateRange(start, end), not {value!r}")
        if not isinstance(checked.start, date) or not (
            checked.end is None or isinstance(checked.end, date)
        ):
            raise ValueError("a DateRange's start and end are dates or datetimes")
        return checked

    def as_json(self) -> JSON:
        return {"start": self.start.isoformat(), "end": self.end and self.end.isoformat()}


class ItemRef(Generic[M]):
    """An app (relationship) field's value: an item of another app.

    `item_id` and, when read, `title`, `app_id` and `raw` (the item as Podio sent it).
    `model` is the generated class of the referenced app when it was made in the same file
    (`podio.items.get(ref.item_id, model=ref.model)` reads the item typed). To write, give
    `ItemRef(item_id)`, an item id, or an item read with its model.
    """

    __slots__ = ("app_id", "item_id", "model", "raw", "title")

    def __init__(
        self,
        item_id: int,
        *,
        title: str | None = None,
        app_id: int | None = None,
        model: type[M] | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> None:
        self.item_id = item_id
        self.title = title
        self.app_id = app_id
        self.model = model
        self.raw = raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ItemRef) and other.item_id == self.item_id

    def __hash__(self) -> int:
        return hash(("item", self.item_id))

    def __repr__(self) -> str:
        title = f", title={self.title!r}" if self.title is not None else ""
        return f"ItemRef({self.item_id}{title})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return _schema(cls._check)

    @classmethod
    def _check(cls, value: Any) -> ItemRef[Any]:
        if isinstance(value, ItemRef):
            return value
        from ._model import AppModel

        if isinstance(value, AppModel):
            if value.item_id is None:
                raise ValueError(f"{type(value).__name__} has no item_id: create it first")
            model: type[Any] = type(value)
            return ItemRef(value.item_id, app_id=value.app_id or None, model=model)
        return ItemRef(_positive_id(value, "an item id"))

    def as_json(self) -> JSON:
        return dict(self.raw) if self.raw is not None else {"item_id": self.item_id}


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact field's value: a profile (a user or a space contact). Write
    `Contact(profile_id)` or the profile id."""

    profile_id: int
    name: str | None = None
    type: str | None = None
    user_id: int | None = None
    mail: tuple[str, ...] = ()
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return _schema(cls._check)

    @classmethod
    def _check(cls, value: Any) -> Contact:
        if isinstance(value, Contact):
            return value
        return cls(_positive_id(value, "a profile id"))

    def as_json(self) -> JSON:
        return dict(self.raw) if self.raw is not None else {"profile_id": self.profile_id}


@dataclass(frozen=True, slots=True)
class FileRef:
    """An image field's value: a file. Write `FileRef(file_id)` or the file id (upload it
    first with `podio.files.upload`)."""

    file_id: int
    name: str | None = None
    mimetype: str | None = None
    size: int | None = None
    link: str | None = None
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return _schema(cls._check)

    @classmethod
    def _check(cls, value: Any) -> FileRef:
        if isinstance(value, FileRef):
            return value
        return cls(_positive_id(value, "a file id"))

    def as_json(self) -> JSON:
        return dict(self.raw) if self.raw is not None else {"file_id": self.file_id}


@dataclass(frozen=True, slots=True)
class EmbedRef:
    """An embed (link) field's value. Write `EmbedRef(url=...)` (Podio makes the embed),
    `EmbedRef(embed_id)` for one made with `podio.embeds.create`, or the URL."""

    embed_id: int | None = None
    url: str | None = None
    title: str | None = None
    file: FileRef | None = None
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return _schema(cls._check)

    @classmethod
    def _check(cls, value: Any) -> EmbedRef:
        if isinstance(value, EmbedRef):
            checked = value
        elif isinstance(value, _fields.Embed):
            thumb = None if value.file_id is None else FileRef(value.file_id)
            checked = cls(value.embed_id, file=thumb)
        elif isinstance(value, str):
            checked = cls(url=value)
        else:
            raise ValueError(f"expected EmbedRef(embed_id) or EmbedRef(url=...), not {value!r}")
        if checked.embed_id is None and not checked.url:
            raise ValueError("an EmbedRef needs an embed_id or a url")
        return checked

    def as_json(self) -> JSON:
        if self.raw is not None:
            return dict(self.raw)
        return {"embed": {"embed_id": self.embed_id, "url": self.url}, "file": None}


@dataclass(frozen=True, slots=True)
class Location:
    """A location field's value: an address, coordinates, or both."""

    value: str | None = None
    formatted: str | None = None
    street_address: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    lat: float | None = None
    lng: float | None = None
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return _schema(cls._check)

    @classmethod
    def _check(cls, value: Any) -> Location:
        if isinstance(value, Location):
            return value
        if isinstance(value, _fields.Location):
            return cls(value.value, lat=value.lat, lng=value.lng)
        if isinstance(value, str) and value.strip():
            return cls(value)
        raise ValueError(f"expected Location(address) or an address, not {value!r}")

    def as_json(self) -> JSON:
        if self.raw is not None:
            return dict(self.raw)
        return {k: getattr(self, k) for k in LOCATION_KEYS if getattr(self, k) is not None}


#: The parts of a location a write may carry (`podiokit.fields` checks them).
LOCATION_KEYS = ("value", "formatted", "street_address", "city", "state", "postal_code",
                 "country", "lat", "lng")  # fmt: skip
