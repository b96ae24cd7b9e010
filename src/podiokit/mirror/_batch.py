"""A page of rows handed to the driver in one `executemany`, the statement compiled once.

`Connection.execute(insert, [dict, ...])` builds the parameters of every row through the
statement's compiled form (about 15 µs a row, twice per item: `items` and the typed table).
`BatchInsert` compiles the statement once per table and passes rows as tuples in its
column order, each value through its column type's own bind processor, as SQLAlchemy would:
the same values reach the driver, through `Connection.exec_driver_sql`, so a driver error is
still a SQLAlchemy error (`MirrorStore._transaction` names it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Dialect, Insert, Table

__all__ = ["BatchInsert"]


class BatchInsert:
    """`statement` (an INSERT into `table`, ON CONFLICT clauses allowed) for rows given as
    sequences in `table`'s column order."""

    __slots__ = ("_named", "_order", "_processors", "_sql")

    def __init__(self, dialect: Dialect, table: Table, statement: Insert) -> None:
        if dialect.driver == "psycopg" and dialect.paramstyle != "format":
            # psycopg takes %s as well as %(name)s: tuples are cheaper to pass than a dict
            # per row (the engine's own dialect is left as it is).
            positional: Any = type(dialect)
            dialect = positional(paramstyle="format")
        compiled = statement.compile(dialect=dialect)
        self._sql = compiled.string
        columns = [c.name for c in table.columns]
        names: Sequence[str] | None = compiled.positiontup
        #: Parameter styles with names (psycopg's %(name)s) take a dict per row.
        self._named: tuple[str, ...] | None = None if names is not None else tuple(columns)
        order = list(names) if names is not None else columns
        if sorted(order) != sorted(columns):
            raise ValueError(f"{table.name}: the statement's parameters are not its columns")
        position = {name: n for n, name in enumerate(columns)}
        #: Where each parameter comes from in a row (None: the rows are in order already).
        self._order: tuple[int, ...] | None = (
            None if order == columns else tuple(position[name] for name in order)
        )
        processors: list[tuple[int, Callable[[Any], Any]]] = []
        for n, name in enumerate(order):
            type_ = table.c[name].type
            process = type_.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors.append((n, _quicker(process)))
        self._processors = tuple(processors)

    def execute(self, conn: Connection, rows: Sequence[list[Any]]) -> None:
        """Insert `rows` (each a list in the table's column order; it is changed in place)."""
        if not rows:
            return
        order, processors = self._order, self._processors
        params: list[Any] = []
        for row in rows:
            values = row if order is None else [row[n] for n in order]
            for n, process in processors:
                value = values[n]
                if value is not None:
                    values[n] = process(value)
            params.append(values)
        if self._named is not None:
            names = self._named
            params = [dict(zip(names, values, strict=True)) for values in params]
        else:
            params = [tuple(values) for values in params]
        conn.exec_driver_sql(self._sql, params)


def _quicker(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`process`, or the same in one C call where it writes dates and times as ISO text.

    SQLite keeps times as text; SQLAlchemy's processor formats each value in Python (four
    per item and more in the typed table). When the processor gives the text `isoformat`
    gives, a plain datetime (no zone, no microseconds) or date is written with `isoformat`
    instead; any other value still goes through `process`."""
    try:
        as_datetime = process(_PROBE_DATETIME) == _PROBE_DATETIME.isoformat(" ")
    # A processor of another type fails on a time: money's says decimal.InvalidOperation.
    except (TypeError, ValueError, AttributeError, ArithmeticError):
        as_datetime = False
    if as_datetime:

        def datetime_text(value: Any) -> Any:
            if type(value) is datetime and not value.microsecond and value.tzinfo is None:
                return value.isoformat(" ")
            return process(value)

        return datetime_text
    try:
        as_date = process(_PROBE_DATE) == _PROBE_DATE.isoformat()
    except (TypeError, ValueError, AttributeError, ArithmeticError):
        as_date = False
    if as_date:

        def date_text(value: Any) -> Any:
            return value.isoformat() if type(value) is date else process(value)

        return date_text
    return process


_PROBE_DATETIME = datetime(2024, 1, 2, 3, 4, 5)
_PROBE_DATE = date(2024, 1, 2)
