"""The mirror's tables, named with a prefix (default `podio_`): `<prefix>items` and
`<prefix>mirror_state` (fixed), and one `<prefix>app_<app_id>` per app whose columns come from
the app's fields (`_columns.plan_columns`).

Before anything is created, `foreign_tables` lists the tables with these names that the
mirror did not make (the store then refuses the database as it is), and `legacy_prefix` finds
a mirror made before the prefix existed (unprefixed `items` and `mirror_state`), which keeps
its names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    inspect,
    select,
)
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.types import TypeDecorator, TypeEngine

from ._columns import FieldColumns
from ._options import DEFAULT_PREFIX, check_prefix

__all__ = ["DEFAULT_PREFIX", "Tables", "foreign_tables", "legacy_prefix"]

# SQLite keeps datetimes as text: Podio's own "YYYY-MM-DD HH:MM:SS" (no microseconds), which
# sorts as time does and which SQLite's date functions read.
_SECONDS = "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
UtcDateTime = DateTime().with_variant(
    SQLITE_DATETIME(storage_format=_SECONDS),  # type: ignore[no-untyped-call]
    "sqlite",
)


class DecimalText(TypeDecorator[Decimal]):
    """A money amount on SQLite: text holding the exact decimal with at least Podio's four
    places ("1234.5600"), read back as Decimal. SQLite has no decimal type, and its REAL would
    round (0.1 + 0.2 = 0.30000000000000004); with four places the text without its point is
    the amount in ten-thousandths, an exact integer (`CAST(replace(x, '.', '') AS INTEGER)`)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        exponent = number.as_tuple().exponent
        places = 4 if not isinstance(exponent, int) or exponent >= -4 else -exponent
        return f"{number:.{places}f}"

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


#: NUMERIC on PostgreSQL (exact), DecimalText on SQLite.
Money = Numeric().with_variant(DecimalText(), "sqlite")

_TYPES: dict[str, TypeEngine[Any]] = {
    "text": Text(),
    "numeric": Numeric(),
    "money": Money,
    "integer": Integer(),
    "bigint": BigInteger(),
    "date": Date(),
    "datetime": UtcDateTime,
}


@dataclass(frozen=True)
class Tables:
    """The mirror's tables for one prefix."""

    prefix: str
    metadata: MetaData
    items: Table
    state: Table

    def app_name(self, app_id: int) -> str:
        return f"{self.prefix}app_{int(app_id)}"

    def app_table(self, app_id: int, plans: Sequence[FieldColumns]) -> Table:
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
        return Table(self.app_name(app_id), MetaData(), *columns)

    @classmethod
    def named(cls, prefix: str) -> Tables:
        prefix = check_prefix(prefix)
        metadata = MetaData()
        items = Table(
            f"{prefix}items",
            metadata,
            Column("app_id", BigInteger, nullable=False),
            Column("item_id", BigInteger, primary_key=True, autoincrement=False),
            Column("app_item_id", BigInteger),
            Column("title", Text),
            Column("revision", Integer, nullable=False),
            Column("created_on", UtcDateTime),
            Column("last_event_on", UtcDateTime),
            # The item's JSON exactly as Podio sent it (text, not JSON/JSONB, which would
            # re-encode).
            Column("raw", Text, nullable=False),
            # Index names are per database (not per table) in both dialects: prefixed too.
            Index(f"ix_{prefix}items_app_id", "app_id"),
            # Covers the search for deleted items (mirror/_deletions.py): an app's items by
            # creation day and id, read without touching the rows (each holds an item's JSON).
            Index(
                f"ix_{prefix}items_app_created", "app_id", "created_on", "app_item_id", "item_id"
            ),
        )
        state = Table(
            f"{prefix}mirror_state",
            metadata,
            Column("app_id", BigInteger, primary_key=True, autoincrement=False),
            # "YYYY-MM-DD HH:MM:SS" (UTC): compared as text, which orders like time here.
            Column("cursor", String(19)),
            Column("full_done", Boolean, nullable=False, default=False),
            Column("fields_key", String(64)),
            # The field specs (JSON) the typed table was built from: later runs rebuild its
            # columns from here without asking Podio for the app.
            Column("fields", Text),
            Column("updated_at", String(32)),
        )
        return cls(prefix, metadata, items, state)


def _columns(conn: Connection, name: str) -> set[str] | None:
    """The column names of table `name`, None when there is no such table."""
    inspector = inspect(conn)
    if not inspector.has_table(name):
        return None
    return {str(c["name"]) for c in inspector.get_columns(name)}


def foreign_tables(conn: Connection, tables: Tables) -> list[str]:
    """Tables named as the mirror's that the mirror did not make, each with why: a fixed
    table without the mirror's columns, one of the pair alone (the mirror creates both in
    one transaction), a typed table that `mirror_state` does not record as built."""
    pair = (tables.items, tables.state)
    found = [(table, _columns(conn, table.name)) for table in pair]
    foreign = []
    for table, columns in found:
        if columns is None:
            continue
        missing = sorted({c.name for c in table.columns} - columns)
        other, other_columns = next((t, c) for t, c in found if t is not table)
        if missing:
            foreign.append(f"{table.name} (it has no column {', '.join(missing)})")
        elif other_columns is None:
            foreign.append(f"{table.name} (without {other.name} beside it)")
    if foreign:
        return foreign
    typed = re.compile(rf"{re.escape(tables.prefix)}app_(\d+)")
    names = {n: int(m[1]) for n in inspect(conn).get_table_names() if (m := typed.fullmatch(n))}
    if not names:
        return []
    built: set[int] = set()
    if found[1][1] is not None:
        state = tables.state
        rows = conn.execute(select(state.c.app_id).where(state.c.fields_key.is_not(None)))
        built = {int(r[0]) for r in rows}
    return [
        f"{name} (not a typed table the mirror built)"
        for name, app_id in sorted(names.items())
        if app_id not in built
    ]


def legacy_prefix(conn: Connection) -> str | None:
    """'' when the database holds a mirror made before table prefixes (unprefixed `items` and
    `mirror_state`, both the mirror's) and none with the default prefix; else None."""
    if _columns(conn, Tables.named(DEFAULT_PREFIX).state.name) is not None:
        return None
    old = Tables.named("")
    if _columns(conn, old.state.name) is None or foreign_tables(conn, old):
        return None
    return ""
