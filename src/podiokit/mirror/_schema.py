"""The mirror's tables: `items` and `mirror_state` (fixed), and one `app_<app_id>` per app
whose columns come from the app's fields (`_columns.plan_columns`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.types import TypeEngine

from ._columns import FieldColumns

__all__ = ["app_table", "items", "metadata", "mirror_state"]

# SQLite keeps datetimes as text: Podio's own "YYYY-MM-DD HH:MM:SS" (no microseconds), which
# sorts as time does and which SQLite's date functions read.
_SECONDS = "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
UtcDateTime = DateTime().with_variant(
    SQLITE_DATETIME(storage_format=_SECONDS),  # type: ignore[no-untyped-call]
    "sqlite",
)

metadata = MetaData()

items = Table(
    "items",
    metadata,
    Column("app_id", BigInteger, nullable=False),
    Column("item_id", BigInteger, primary_key=True, autoincrement=False),
    Column("app_item_id", BigInteger),
    Column("title", Text),
    Column("revision", Integer, nullable=False),
    Column("created_on", UtcDateTime),
    Column("last_event_on", UtcDateTime),
    # The item's JSON exactly as Podio sent it (text, not JSON/JSONB, which would re-encode).
    Column("raw", Text, nullable=False),
    Index("ix_items_app_id", "app_id"),
    # Covers the search for deleted items (mirror/_deletions.py): an app's items by creation
    # day and id, read without touching the rows (each holds an item's whole JSON).
    Index("ix_items_app_created", "app_id", "created_on", "app_item_id", "item_id"),
)

mirror_state = Table(
    "mirror_state",
    metadata,
    Column("app_id", BigInteger, primary_key=True, autoincrement=False),
    # "YYYY-MM-DD HH:MM:SS" (UTC): compared as text, which orders like time for this format.
    Column("cursor", String(19)),
    Column("full_done", Boolean, nullable=False, default=False),
    Column("fields_key", String(64)),
    # The field specs (JSON) the typed table was built from: later runs rebuild its columns
    # from here without asking Podio for the app.
    Column("fields", Text),
    Column("updated_at", String(32)),
)

_TYPES: dict[str, TypeEngine[Any]] = {
    "text": Text(),
    "numeric": Numeric(),
    "integer": Integer(),
    "bigint": BigInteger(),
    "date": Date(),
    "datetime": UtcDateTime,
}


def app_table_name(app_id: int) -> str:
    return f"app_{int(app_id)}"


def app_table(app_id: int, plans: Sequence[FieldColumns]) -> Table:
    """The typed table of one app (in a MetaData of its own, so it can be rebuilt)."""
    columns: list[Column[Any]] = [
        Column("item_id", BigInteger, primary_key=True, autoincrement=False),
        Column("app_item_id", BigInteger),
        Column("revision", Integer, nullable=False),
        Column("created_on", UtcDateTime),
        Column("last_event_on", UtcDateTime),
    ]
    for plan in plans:
        columns.extend(Column(c.name, _TYPES[c.kind]) for c in plan.columns)
    return Table(app_table_name(app_id), MetaData(), *columns)
