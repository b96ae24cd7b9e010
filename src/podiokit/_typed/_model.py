"""`AppModel`: the base of the classes `podiokit typegen` writes, one per Podio app.

A generated class records its app (`app_id`, `app_revision`, `app_name`) and each field
(`podio_fields`: attribute name -> `PodioField`), and declares one attribute per field. It
reads an item (`from_item`), gives back the item it read (`to_item`, lossless), gives the
write forms of the attributes set (`write_fields`, what `podio.items.create`/`update` send)
and builds filters (`filter_body`, behind each class's typed `filter`).

Reading builds the instance without validation: the values come from Podio through the
field's own reader, so only what a user assigns is validated (`validate_assignment`).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, PrivateAttr

from ._convert import empty, filter_value, reader, render_values, write_value
from ._field import PodioField

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["AppModel", "AppModelT"]

log = logging.getLogger("podiokit.typed")
_setattr = object.__setattr__

#: What generated resources accept as `model=`: a subclass of `AppModel`.
AppModelT = TypeVar("AppModelT", bound="AppModel")

# Classes whose newer app revision was already logged (once per class).
_WARNED: set[type[AppModel]] = set()


class _Table:
    """How a class reads items, built on its first read (when every class of its module
    exists, so app fields can name the referenced apps' classes)."""

    __slots__ = ("by_id", "empty", "lists")

    def __init__(self, cls: type[AppModel]) -> None:
        # field_id -> (attribute, reader, the types the reader takes): an entry of another
        # type (the field's type changed since) is left alone, kept in the item's JSON.
        self.by_id: dict[int, tuple[str, Callable[[list[Any]], Any], frozenset[str]]] = {}
        # An item's attributes before its fields are read: None, and a fresh [] per list.
        self.empty: dict[str, Any] = dict.fromkeys(("item_id", "app_item_id", "revision"))
        self.lists: list[str] = []
        for name, pf in cls.podio_fields.items():
            kinds = _OPTION_TYPES if pf.type in _OPTION_TYPES else frozenset({pf.type})
            self.by_id[pf.field_id] = (name, reader(pf, _resolver(cls, pf)), kinds)
            self.empty[name] = None
            if empty(pf) == []:
                self.lists.append(name)


# A category and a question field hold the same values (an app may turn one into the other).
_OPTION_TYPES = frozenset({"category", "question"})


def _resolver(cls: type[AppModel], pf: PodioField) -> Callable[[int | None], type[Any] | None]:
    """app id -> the class generated for it in the same module, for an app field."""
    if pf.type != "app" or not pf.apps:
        return lambda app_id: None
    module = sys.modules.get(cls.__module__)
    found = {
        obj.app_id: obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, AppModel) and obj.app_id in pf.apps
    } if module is not None else {}  # fmt: skip
    only = found.get(pf.apps[0]) if len(pf.apps) == 1 else None
    return lambda app_id: found.get(app_id) if app_id is not None else only


class AppModel(BaseModel):
    """Base of the generated app classes (`podiokit typegen`); see `podiokit.typed`."""

    model_config = ConfigDict(
        validate_assignment=True,  # a wrong value is refused when assigned, not when sent
        extra="forbid",
        protected_namespaces=(),
        arbitrary_types_allowed=True,
        defer_build=True,
    )

    #: The app's id.
    app_id: ClassVar[int] = 0
    #: The app's revision the class was made from.
    app_revision: ClassVar[int] = 0
    #: The app's name.
    app_name: ClassVar[str] = ""
    #: What the app calls one item (the class is named for it).
    item_name: ClassVar[str] = ""
    #: Attribute name -> the field it holds.
    podio_fields: ClassVar[Mapping[str, PodioField]] = {}

    item_id: int | None = None
    """The item's id (None for an item not created yet)."""
    app_item_id: int | None = None
    """The item's number within its app."""
    revision: int | None = None
    """The item's revision when read."""

    _item: dict[str, Any] | None = PrivateAttr(default=None)

    # ----------------------------------------------------------------------------- reading
    @classmethod
    def from_item(cls, item: Mapping[str, Any] | BaseModel | bytes | str) -> Self:
        """The item as this class: its JSON (a dict, bytes or text) or a
        `podiokit.models.Item`. Fields the class does not know, and options its enums do
        not list, are kept (`to_item` gives them back)."""
        if isinstance(item, (bytes, bytearray, str)):
            item = json.loads(item)
        elif isinstance(item, BaseModel):
            item = item.model_dump(mode="json", by_alias=True, exclude_unset=True)
        if not isinstance(item, Mapping):
            raise TypeError(f"{cls.__name__}.from_item takes an item, not {type(item).__name__}")
        return cls._read(item)

    @classmethod
    def _read(cls, raw: Mapping[str, Any]) -> Self:
        table = cls.__dict__.get("__podio_table__")
        if table is None:
            table = _Table(cls)
            type.__setattr__(cls, "__podio_table__", table)
        values = table.empty.copy()
        for name in table.lists:
            values[name] = []
        values["item_id"] = raw.get("item_id")
        values["app_item_id"] = raw.get("app_item_id")
        values["revision"] = raw.get("revision")
        by_id = table.by_id
        for entry in raw.get("fields") or ():
            hit = by_id.get(entry.get("field_id"))
            if hit is not None:
                kind = entry.get("type")
                if kind is None or kind in hit[2]:
                    values[hit[0]] = hit[1](entry.get("values") or [])
        app = raw.get("app")
        if app is not None:
            cls._check_app(app, raw)
        obj = cls.__new__(cls)
        # What pydantic's model_construct does, without its per-field loop: no attribute
        # counts as set (an update sends only what is assigned afterwards).
        _setattr(obj, "__dict__", values)
        _setattr(obj, "__pydantic_fields_set__", set())
        _setattr(obj, "__pydantic_extra__", None)
        _setattr(obj, "__pydantic_private__", {"_item": raw})
        return obj

    @classmethod
    def _check_app(cls, app: Any, raw: Mapping[str, Any]) -> None:
        if not isinstance(app, Mapping):
            return
        app_id = app.get("app_id")
        if cls.app_id and app_id is not None and app_id != cls.app_id:
            raise ValueError(
                f"item {raw.get('item_id')} belongs to app {app_id}, not to app {cls.app_id}"
                f" ({cls.__name__})"
            )
        current = app.get("current_revision")
        if (
            isinstance(current, int)
            and current > cls.app_revision
            and cls.app_revision
            and cls not in _WARNED
        ):
            _WARNED.add(cls)
            log.warning(
                "%s was made from revision %d of app %d (%s), which is now at revision %d: "
                "run `podiokit typegen --check` and regenerate",
                cls.__qualname__, cls.app_revision, cls.app_id, cls.app_name, current,
            )  # fmt: skip

    def to_item(self) -> dict[str, Any]:
        """The item as Podio served it, with the attributes assigned since (or given to the
        constructor) in Podio's read form. An item read and left alone comes back exactly
        as it was read."""
        raw: Mapping[str, Any] = self._item or {}
        changed = self.model_fields_set
        out = dict(raw)
        for meta in ("item_id", "app_item_id", "revision"):
            if meta in changed or meta not in raw:
                value = getattr(self, meta)
                if value is not None:
                    out[meta] = value
        fields = type(self).podio_fields
        by_id = {pf.field_id: name for name, pf in fields.items()}
        entries: list[Any] = []
        seen: set[str] = set()
        for entry in raw.get("fields") or ():
            name = by_id.get(entry.get("field_id"))
            if name is None or name not in changed:
                entries.append(entry)
                continue
            seen.add(name)
            values = render_values(fields[name], getattr(self, name))
            if values:  # Podio lists only fields that have values
                entries.append({**entry, "values": values})
        for name, pf in fields.items():
            if name in changed and name not in seen:
                values = render_values(pf, getattr(self, name))
                if values:
                    entries.append(
                        {"field_id": pf.field_id, "external_id": pf.external_id,
                         "type": pf.type, "label": pf.label, "values": values}
                    )  # fmt: skip
        if entries or "fields" in raw:
            out["fields"] = entries
        return out

    # ----------------------------------------------------------------------------- writing
    def write_fields(self) -> dict[int, Any]:
        """The attributes assigned (or given to the constructor), as the values
        `podiokit.fields.encode_fields` sends, keyed by field id: what
        `podio.items.create(app_id, model)` and `podio.items.update(item_id, model)` send.
        Raises `FieldValueError` for a value the field would refuse."""
        out: dict[int, Any] = {}
        changed = self.model_fields_set
        for name, pf in type(self).podio_fields.items():
            if name in changed:
                out[pf.field_id] = write_value(pf, name, getattr(self, name))
        return out

    def __podio_fields__(self) -> dict[int, Any]:
        # The hook `podiokit.fields.encode_fields` looks for: a model is a `fields=` value.
        return self.write_fields()

    @classmethod
    def changes(cls, **values: Any) -> Self:
        """An instance holding only `values` (each validated as if assigned), for an update
        that changes a few fields: `podio.items.update(item_id, Deal.changes(amount=...))`.
        Required fields left out are not sent."""
        obj: Self = cls.model_construct(_fields_set=set())  # type: ignore[assignment]
        for name in cls.model_fields:
            if name not in obj.__dict__:  # a required field: absent until assigned
                obj.__dict__[name] = None
        for name, value in values.items():
            setattr(obj, name, value)
        return obj

    # ----------------------------------------------------------------------------- filters
    @classmethod
    def field_id(cls, name: str) -> int:
        """The field id of the attribute `name` (for `sort_by=`, say)."""
        try:
            return cls.podio_fields[name].field_id
        except KeyError:
            raise AttributeError(f"{cls.__name__} has no field {name!r}") from None

    @classmethod
    def filter_body(cls, **values: Any) -> dict[str, Any]:
        """Podio's `filters` object for `podio.items.filter(..., filters=...)`, keyed by
        field id: options or items for category, app and contact fields, `(from, to)` for
        numbers and dates (None leaves an end open), text for text fields. A value of None
        is left out. Each generated class's `filter` takes its own fields by name."""
        out: dict[str, Any] = {}
        fields = cls.podio_fields
        for name, value in values.items():
            if value is None:
                continue
            pf = fields.get(name)
            if pf is None:
                raise TypeError(f"{cls.__name__} has no field {name!r} to filter on")
            out[str(pf.field_id)] = filter_value(pf, name, value)
        return out

    def __eq__(self, other: object) -> bool:
        # The attributes decide; the item JSON kept for `to_item` does not.
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]
