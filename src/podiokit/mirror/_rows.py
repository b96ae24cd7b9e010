"""From an item's JSON to the mirror's rows, decoding each item once and only what is used.

An item of a filter page is about 13 KB, most of it the objects its field values refer to
(an app reference carries the referenced item and its app; a contact its profile and
avatar). The typed columns use a few keys of those: `Item` keeps every field's values as
raw JSON, and each field of the typed table decodes its own with a decoder shaped for its
type (`values_decoder`), which skips the keys the column's converter never reads instead of
building them. A value of a shape the decoder does not expect is decoded in full, so the
converters always see what they would have seen in the whole item
(tests/mirror/test_rows.py compares the two on every field type).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

import msgspec

from ._columns import FIXED_COLUMNS, FieldColumns
from ._errors import MirrorError

__all__ = ["Item", "RowBuilder", "decode_item", "decode_items", "values_decoder"]


class _Rev(msgspec.Struct, gc=False):
    revision: int = 0
    created_on: str = ""


class _Field(msgspec.Struct, gc=False):
    field_id: int
    values: msgspec.Raw = msgspec.Raw(b"[]")


class Item(msgspec.Struct, gc=False):
    """The keys of an item the mirror reads (msgspec skips the rest without building it),
    and `text`: the item's JSON exactly as sent, the `raw` column."""

    item_id: int
    app_item_id: int | None = None
    title: str | None = None
    revision: int | None = None
    current_revision: _Rev | None = None
    created_on: str | None = None
    last_event_on: str | None = None
    fields: list[_Field] = []
    text: str = ""

    @property
    def rev(self) -> int:
        """The item's revision (its latest revision's number when `revision` is missing)."""
        if self.revision is not None:
            return self.revision
        return self.current_revision.revision if self.current_revision else 0

    @property
    def edited(self) -> str:
        """When the item was last edited: its latest revision's time (only edits make
        revisions; `last_event_on` also moves on comments)."""
        if self.current_revision is not None and self.current_revision.created_on:
            return self.current_revision.created_on
        return self.last_event_on or ""


_item_decoder = msgspec.json.Decoder(Item)


def decode_items(app_id: int, raws: Sequence[bytes | msgspec.Raw]) -> list[Item]:
    """Each item of a page decoded once, its JSON kept as text (the `raw` column: what is
    not UTF-8 is refused here)."""
    decoded: list[Item] = []
    for n, raw in enumerate(raws):
        try:
            decoded.append(decode_item(str(raw, "utf-8")))
        except (TypeError, UnicodeDecodeError, msgspec.DecodeError) as exc:
            raise MirrorError(
                f"item {n} of the page for app {app_id} is not an item's JSON: {exc}"
            ) from exc
    return decoded


def decode_item(text: str) -> Item:
    """One item's JSON (msgspec.DecodeError when it is not an item)."""
    item = _item_decoder.decode(text)
    item.text = text
    return item


# --- field values, decoded as far as the converters read them (`_columns`) -----------------
# Keep these in step with the converters in _columns.py: a key a converter reads must be
# kept here. Scalars, lists and `None` are decoded as they are; only objects are pruned.

_SCALAR = str | int | float | bool | None | list[Any]


class _Text(TypedDict, total=False):
    text: Any


class _ItemRef(TypedDict, total=False):
    item_id: Any
    title: Any


class _ProfileRef(TypedDict, total=False):
    profile_id: Any
    name: Any


class _FileRef(TypedDict, total=False):
    name: Any
    link: Any


class _Url(TypedDict, total=False):
    url: Any


class _Choice(TypedDict, total=False):
    value: _Text | _SCALAR


class _Reference(TypedDict, total=False):
    value: _ItemRef | _SCALAR


class _Contact(TypedDict, total=False):
    value: _ProfileRef | _SCALAR


class _Image(TypedDict, total=False):
    value: _FileRef | _SCALAR


class _Embed(TypedDict, total=False):
    embed: _Url | _SCALAR


def _list_of(entry: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(list[entry | _SCALAR])


#: Field type -> its values' decoder; types not named here are decoded in full.
_PRUNED: dict[str, msgspec.json.Decoder[Any]] = {
    "category": _list_of(_Choice),
    "question": _list_of(_Choice),
    "app": _list_of(_Reference),
    "contact": _list_of(_Contact),
    "image": _list_of(_Image),
    "embed": _list_of(_Embed),
}
_FULL: msgspec.json.Decoder[Any] = msgspec.json.Decoder()


def values_decoder(field_type: str) -> msgspec.json.Decoder[Any]:
    """The decoder of one field's `values` for the typed columns of a field of this type."""
    return _PRUNED.get(field_type, _FULL)


class _Slot:
    """One field's columns in a typed row, and the values already converted (by their
    JSON) while that pays: fields such as a category, a reference or a contact repeat a
    few values over thousands of items, and the same JSON always converts to the same
    columns. A field whose values mostly do not repeat (a title, a note) stops being
    remembered once `_TRIAL` values have been looked up; at most `_KEEP` are kept per field."""

    __slots__ = ("at", "cache", "convert", "decoder", "field_id", "lookups", "misses", "width")

    def __init__(self, plan: FieldColumns, at: int) -> None:
        self.field_id = plan.field_id
        self.convert = plan.convert
        self.decoder = values_decoder(plan.type)
        self.at = at
        self.width = len(plan.columns)
        self.cache: dict[bytes, tuple[Any, ...]] | None = {}
        self.lookups = self.misses = 0

    def columns(self, raw: msgspec.Raw) -> tuple[Any, ...] | list[Any]:
        cache = self.cache
        if cache is None:
            return self._convert(raw)
        key = bytes(raw)
        found = cache.get(key)
        self.lookups += 1
        if self.lookups == _TRIAL and self.misses + (found is None) > _TRIAL // 2:
            self.cache = None  # mostly new values: remembering them costs more than it saves
        if found is not None:
            return found
        self.misses += 1
        converted = tuple(self._convert(raw))
        if self.cache is not None and len(cache) < _KEEP:
            cache[key] = converted
        return converted

    def _convert(self, raw: msgspec.Raw) -> tuple[Any, ...] | list[Any]:
        values = _values(self.decoder, raw)
        # No values: every column None (and a field sent twice: the last one counts).
        converted = self.convert(values) if values else (None,) * self.width
        if len(converted) != self.width:  # a slice assignment would resize the row
            raise ValueError(
                f"field {self.field_id}: {len(converted)} values, {self.width} columns"
            )
        return converted


#: Values a field looks up before it is judged (see `_Slot`).
_TRIAL = 256
#: Converted values remembered per field at most.
_KEEP = 1024


class RowBuilder:
    """The typed row of an item for one app's columns (`plans`): a list in the typed
    table's column order (`_schema.app_table`: the fixed columns, then each field's)."""

    __slots__ = ("_fields", "_width")

    def __init__(self, plans: Sequence[FieldColumns]) -> None:
        # A field id has one plan; an app whose fields share an id (seen in a doctored
        # sample, never from Podio) gets every plan of that id filled from its values.
        self._fields: dict[int, tuple[_Slot, ...]] = {}
        at = len(FIXED_COLUMNS)
        for p in plans:
            self._fields[p.field_id] = (*self._fields.get(p.field_id, ()), _Slot(p, at))
            at += len(p.columns)
        self._width = at

    def row(self, item: Item, created_on: Any, last_event_on: Any) -> list[Any]:
        row: list[Any] = [None] * self._width
        row[:5] = (item.item_id, item.app_item_id, item.revision or 0, created_on, last_event_on)
        fields = self._fields
        for field in item.fields:
            # A field sent twice: the last one counts (its columns are set again).
            for slot in fields.get(field.field_id, ()):
                at = slot.at
                row[at : at + slot.width] = slot.columns(field.values)
        return row


def _values(decoder: msgspec.json.Decoder[Any], raw: msgspec.Raw) -> Any:
    try:
        return decoder.decode(raw)
    except msgspec.DecodeError:
        # A shape the pruned decoder does not take (Podio changed a type's values):
        # decoded in full, as the converter would have seen it in the whole item.
        return _FULL.decode(raw)
