"""MirrorStore: the mirror's database (SQLite or PostgreSQL through SQLAlchemy Core).

Sync code: the mirror run calls it through `anyio.to_thread.run_sync`. Every write is one
transaction, so a crash leaves whole pages. Each item's JSON is stored exactly as given
(`<prefix>items.raw`); the typed table `<prefix>app_<app_id>` is derived from it and can
always be rebuilt from `raw` without asking Podio. Tables with the mirror's names that the
mirror did not make are refused before anything is written (`_schema.foreign_tables`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import msgspec
from sqlalchemy import (
    Connection,
    Insert,
    Table,
    bindparam,
    case,
    delete,
    func,
    inspect,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from ._batch import BatchInsert
from ._columns import FieldColumns, field_specs, fingerprint, plan_columns, to_datetime
from ._engine import open_engine, use_wal
from ._errors import MirrorError
from ._options import DEFAULT_PREFIX, LOCK_TIMEOUT, check_prefix
from ._rows import Item, RowBuilder, decode_item, decode_items
from ._schema import Tables, foreign_tables, legacy_prefix

__all__ = ["AppState", "MirrorStore", "PreparedPage"]

_CURSOR = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
#: Ids per `IN (...)`: below SQLite's oldest limit of 999 bound parameters.
_CHUNK = 900
#: Items decoded and written per batch when a typed table is refilled from items.raw.
_REFILL_BATCH = 1000


@dataclass
class AppState:
    """One row of `mirror_state`."""

    app_id: int
    #: The highest `last_event_on` stored ("YYYY-MM-DD HH:MM:SS", UTC); None before a copy.
    cursor: str | None
    #: The first full copy completed (False after a crash mid-copy: the next run copies again).
    full_done: bool
    #: Fingerprint of the field set the typed table was built from.
    fields_key: str | None
    #: When the state was last written (UTC, ISO 8601).
    updated_at: str | None


@dataclass
class _Typed:
    """An app's typed table as built, with its upsert statement (compiled once, cached)."""

    key: str
    table: Table
    plans: list[FieldColumns]
    upsert: Insert
    #: The upsert as one driver call per page, and the rows it takes.
    insert: BatchInsert
    rows: RowBuilder


@dataclass
class PreparedPage:
    """A page's rows as `MirrorStore.prepare_items` built them (each row a list in its
    table's column order; `typed_key`: the typed table they were built for). Written once:
    writing turns the values into the driver's in place."""

    app_id: int
    items: list[Item]
    item_rows: list[list[Any]]
    typed_key: str | None
    typed_rows: list[list[Any]]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_cursor(cursor: str | None) -> None:
    if cursor is not None and not (isinstance(cursor, str) and _CURSOR.fullmatch(cursor)):
        raise MirrorError(f"cursor {cursor!r} is not a Podio time 'YYYY-MM-DD HH:MM:SS'")


def _revision(item: Item) -> int:
    """The revision the store compares and stores (0 when the item has none)."""
    return item.revision if item.revision is not None else 0


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


_OTHER_PREFIX = "mirror with another table prefix (--table-prefix, or table_prefix=)"


def _locked(error: BaseException) -> bool:
    """SQLite's busy/locked errors; PostgreSQL's lock_not_available (its lock_timeout)."""
    if getattr(error, "sqlstate", None) == "55P03":
        return True
    return type(error).__module__ == "sqlite3" and "is locked" in str(error)


class MirrorStore:
    """The mirror's tables in one database.

    `url` is `sqlite:///path.db` (the default dialect, nothing to install) or
    `postgresql://user:password@host/database` (psycopg 3: `pip install 'podiokit[postgres]'`).
    The fixed tables `<table_prefix>items` and `<table_prefix>mirror_state` are created when
    missing; tables of those names that the mirror did not make are refused (MirrorError)
    without a change to the database. `table_prefix` None: `podio_`, or no prefix when the
    database holds a mirror made before prefixes (unprefixed `items` and `mirror_state`).
    A lock another connection holds is waited for `lock_timeout` seconds, then MirrorError.
    """

    def __init__(
        self, url: str, *, table_prefix: str | None = None, lock_timeout: float = LOCK_TIMEOUT
    ) -> None:
        if table_prefix is not None:
            check_prefix(table_prefix)
        self._engine, self.url = open_engine(url, lock_timeout=lock_timeout)
        self._lock_timeout = lock_timeout
        self._postgres = self._engine.dialect.name == "postgresql"
        # SQLite has one writer at a time: the threads of one process take turns here
        # rather than meeting as "database is locked".
        self._lock: threading.Lock | None = None if self._postgres else threading.Lock()
        #: Pages worth writing at once, each in its own transaction: PostgreSQL compresses
        #: and logs one page while another is sent; SQLite writes one at a time anyway.
        self.writers = 2 if self._postgres else 1
        self._typed: dict[int, _Typed] = {}
        try:
            with self._transaction("open the database") as conn:
                self.tables = self._own_tables(conn, table_prefix)
                new = not inspect(conn).has_table(self.tables.items.name)
                self.tables.metadata.create_all(conn)
                if not new:  # an index added since the database was made
                    for index in self.tables.items.indexes:
                        index.create(conn, checkfirst=True)
                if new and self._postgres:
                    self._compress_raw(conn)
            try:
                use_wal(self._engine)
            except Exception as exc:  # the driver's error: the raw connection is its own
                raise self._error(exc, "open the database") from exc
        except BaseException:
            self._engine.dispose()
            raise
        items = self.tables.items
        self._items_upsert = self._upsert(items, ["item_id"])
        self._items_insert = BatchInsert(self._engine.dialect, items, self._items_upsert)
        #: Stored revisions by item id: one statement (its ids expanded when run), compiled
        #: once rather than with a bound value per id for every page.
        self._revisions_query = select(items.c.item_id, items.c.revision, items.c.app_id).where(
            items.c.item_id.in_(bindparam("ids", expanding=True))
        )

    @property
    def table_prefix(self) -> str:
        """The prefix of the tables in use ('' for a mirror made before prefixes)."""
        return self.tables.prefix

    def __repr__(self) -> str:
        return f"MirrorStore({self.url!r})"

    # --- reading --------------------------------------------------------------------------

    def state(self, app_id: int) -> AppState | None:
        mirror_state = self.tables.state
        with self._transaction("read the mirror state", app_id) as conn:
            row = conn.execute(select(mirror_state).where(mirror_state.c.app_id == app_id)).first()
        if row is None:
            return None
        return AppState(
            app_id=int(row.app_id),
            cursor=row.cursor,
            full_done=bool(row.full_done),
            fields_key=row.fields_key,
            updated_at=row.updated_at,
        )

    def field_ids(self, app_id: int) -> frozenset[int]:
        """The field ids the typed table has columns for (empty before `prepare_app`)."""
        with self._transaction("read the mirror state", app_id) as conn:
            typed = self._load_typed(conn, app_id)
        return frozenset(p.field_id for p in typed.plans) if typed else frozenset()

    def stored_revisions(self, app_id: int, item_ids: Sequence[int]) -> dict[int, int]:
        with self._transaction("read revisions", app_id) as conn:
            return self._revisions(conn, app_id, item_ids)

    def count(self, app_id: int) -> int:
        items = self.tables.items
        with self._transaction("count items", app_id) as conn:
            query = select(func.count()).select_from(items).where(items.c.app_id == app_id)
            return int(conn.execute(query).scalar_one())

    def created_index(self, app_id: int) -> list[tuple[date | None, int, int]]:
        """(creation day, app_item_id, item_id) of every stored item of the app, by day then
        app_item_id (the day is None where no creation time is stored)."""
        items = self.tables.items
        with self._transaction("list item ids", app_id) as conn:
            rows = conn.execute(
                select(items.c.created_on, items.c.app_item_id, items.c.item_id).where(
                    items.c.app_id == app_id
                )
            ).all()
        found = [
            (c.date() if c is not None else None, int(a) if a is not None else 0, int(i))
            for c, a, i in rows
        ]
        found.sort(key=lambda row: (row[0] or date.min, row[1]))
        return found

    def item_ids(self, app_id: int) -> set[int]:
        items = self.tables.items
        with self._transaction("list item ids", app_id) as conn:
            rows = conn.execute(select(items.c.item_id).where(items.c.app_id == app_id))
            return {int(r[0]) for r in rows}

    # --- writing --------------------------------------------------------------------------

    def prepare_app(self, app: Mapping[str, Any]) -> bool:
        """Create or rebuild `<prefix>app_<app_id>` when the app's field set (GET
        /app/{app_id}) differs from the one it was built from, refilled from items.raw, in
        one transaction. Returns True when it (re)built the table."""
        try:
            app_id = int(app["app_id"])
            specs = field_specs(app)
        except (KeyError, TypeError, ValueError) as exc:
            raise MirrorError(f"not an app (GET /app/{{app_id}}): {exc!r}") from exc
        key = fingerprint(specs)
        mirror_state = self.tables.state
        with self._transaction("build the typed table", app_id) as conn:
            row = conn.execute(
                select(mirror_state.c.fields_key).where(mirror_state.c.app_id == app_id)
            ).first()
            name = self.tables.app_name(app_id)
            exists = inspect(conn).has_table(name)
            if exists and (row is None or row.fields_key is None):
                # The mirror writes its typed table and fields_key in one transaction: a
                # table without one is someone else's.
                raise MirrorError(
                    f"{self.url} has a table {name} that the mirror did not make; nothing "
                    f"was changed: {_OTHER_PREFIX}"
                )
            if row is not None and row.fields_key == key and exists:
                self._load_typed(conn, app_id)
                return False
            typed = self._rebuild(conn, app_id, key, specs)
        self._typed[app_id] = typed
        return True

    def upgrade(self, app_id: int) -> bool:
        """Rebuild the typed table when this podiokit makes other columns of the same fields
        than the one that built it (`_columns.SCHEMA_VERSION`): from the stored field specs
        and items.raw, with no API call. Returns True when it rebuilt the table."""
        mirror_state = self.tables.state
        with self._transaction("upgrade the typed table", app_id) as conn:
            row = conn.execute(
                select(mirror_state.c.fields_key, mirror_state.c.fields).where(
                    mirror_state.c.app_id == app_id
                )
            ).first()
            if row is None or row.fields is None:
                return False
            specs = json.loads(row.fields)
            key = fingerprint(specs)
            if key == row.fields_key:
                return False
            typed = self._rebuild(conn, app_id, key, specs)
        self._typed[app_id] = typed
        return True

    def write_page(
        self,
        app_id: int,
        items: Sequence[bytes],  # the interface's name (the `items` table is not used here)
        *,
        cursor: str | None = None,
        full_done: bool | None = None,
    ) -> int:
        """Upsert a page of items (each the item's JSON exactly as Podio sent it) into
        `items` and `app_<app_id>`, skipping those whose stored revision is not older, and
        advance the state if given; all in ONE transaction. Returns the rows written."""
        _check_cursor(cursor)
        return self.write_items(app_id, decode_items(app_id, items), cursor=cursor,
                                full_done=full_done)  # fmt: skip

    def write_items(
        self,
        app_id: int,
        page: Sequence[Item],
        *,
        cursor: str | None = None,
        full_done: bool | None = None,
    ) -> int:
        """`write_page` for items decoded already (`_rows.decode_items`)."""
        _check_cursor(cursor)
        return self.write_prepared(self.prepare_items(app_id, page), cursor=cursor,
                                   full_done=full_done)  # fmt: skip

    def prepare_items(self, app_id: int, page: Sequence[Item]) -> PreparedPage:
        """The rows of a page, built without the database (for the typed table as this
        store last saw it): `write_prepared` writes them. The mirror builds a page's rows
        while the page before it is being written."""
        # Of one item sent twice, the higher revision (the later one when equal).
        latest: dict[int, Item] = {}
        for item in page:
            seen = latest.get(item.item_id)
            if seen is None or _revision(seen) <= _revision(item):
                latest[item.item_id] = item
        items = list(latest.values())
        typed = self._typed.get(app_id)
        item_rows: list[list[Any]] = []
        typed_rows: list[list[Any]] = []
        for item in items:
            created_on = to_datetime(item.created_on)
            last_event_on = to_datetime(item.last_event_on)
            item_rows.append([app_id, item.item_id, item.app_item_id, item.title,
                              _revision(item), created_on, last_event_on, item.text])  # fmt: skip
            if typed is not None:
                typed_rows.append(typed.rows.row(item, created_on, last_event_on))
        return PreparedPage(app_id, items, item_rows, typed.key if typed else None, typed_rows)

    def write_prepared(
        self, page: PreparedPage, *, cursor: str | None = None, full_done: bool | None = None
    ) -> int:
        """Write the rows `prepare_items` built, skipping items whose stored revision is not
        older, and advance the state if given; all in ONE transaction. Returns the rows
        written."""
        _check_cursor(cursor)
        app_id = page.app_id
        with self._transaction("write a page", app_id) as conn:
            stored = self._revisions(conn, app_id, [i.item_id for i in page.items])
            fresh = [
                n for n, i in enumerate(page.items) if stored.get(i.item_id, -1) < _revision(i)
            ]
            if fresh:
                self._items_insert.execute(conn, [page.item_rows[n] for n in fresh])
                typed = self._load_typed(conn, app_id)
                if typed is not None:
                    if typed.key == page.typed_key:
                        typed_rows = [page.typed_rows[n] for n in fresh]
                    else:  # built or rebuilt since the rows were: build them again
                        typed_rows = [
                            typed.rows.row(
                                item,
                                to_datetime(item.created_on),
                                to_datetime(item.last_event_on),
                            )
                            for item in (page.items[n] for n in fresh)
                        ]
                    typed.insert.execute(conn, typed_rows)
            if cursor is not None or full_done is not None:
                self._write_state(conn, app_id, cursor=cursor, full_done=full_done)
        return len(fresh)

    def delete_items(self, app_id: int, item_ids: Collection[int]) -> int:
        """Delete these items of the app (from `items` and its typed table), in one
        transaction. Returns how many were stored."""
        items = self.tables.items
        ids = sorted({int(i) for i in item_ids})
        deleted = 0
        with self._transaction("delete items", app_id) as conn:
            typed = self._load_typed(conn, app_id)
            for chunk in _chunks(ids):
                result = conn.execute(
                    delete(items).where(items.c.app_id == app_id, items.c.item_id.in_(chunk))
                )
                deleted += result.rowcount
                if typed is not None:
                    conn.execute(delete(typed.table).where(typed.table.c.item_id.in_(chunk)))
        return deleted

    def set_state(
        self, app_id: int, *, cursor: str | None = None, full_done: bool | None = None
    ) -> None:
        """Record the cursor (it never moves backwards) and/or `full_done`."""
        _check_cursor(cursor)
        with self._transaction("write the mirror state", app_id) as conn:
            self._write_state(conn, app_id, cursor=cursor, full_done=full_done)

    def close(self) -> None:
        self._engine.dispose()

    # --- internals ------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, doing: str, app_id: int | None = None) -> Iterator[Connection]:
        """One transaction; a database error becomes a MirrorError naming what was being
        done, for which app, on which database (password masked)."""
        lock = self._lock
        if lock is not None:
            lock.acquire()
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise self._error(exc, doing, app_id) from exc
        finally:
            if lock is not None:
                lock.release()

    def _error(self, exc: BaseException, doing: str, app_id: int | None = None) -> MirrorError:
        """What was being done, for which app, on which database (as the user gave it,
        password masked), and why; a lock waited for in vain says so."""
        where = f" for app {app_id}" if app_id is not None else ""
        orig = getattr(exc, "orig", None) or exc
        if _locked(orig):
            return MirrorError(
                f"could not {doing}{where}: {self.url} is locked by another connection; gave "
                f"up after {self._lock_timeout:g} s (the lock timeout: --lock-timeout, or "
                "lock_timeout=, waits longer)"
            )
        reason = str(orig).strip().splitlines()
        detail = reason[0][:300] if reason else type(exc).__name__
        password = self._engine.url.password
        if password:  # no driver is known to echo it; this makes sure
            detail = detail.replace(str(password), "***")
        return MirrorError(f"could not {doing}{where} in {self.url}: {detail}")

    def _own_tables(self, conn: Connection, prefix: str | None) -> Tables:
        """The tables to use: those of `prefix` (None: an old unprefixed mirror's, else
        `podio_`), refused when a table of those names is not the mirror's."""
        if prefix is None:
            prefix = legacy_prefix(conn)
        tables = Tables.named(DEFAULT_PREFIX if prefix is None else prefix)
        foreign = foreign_tables(conn, tables)
        if foreign:
            raise MirrorError(
                f"{self.url} has tables that the mirror did not make: {'; '.join(foreign)}. "
                f"Nothing was changed: {_OTHER_PREFIX}"
            )
        return tables

    def _compress_raw(self, conn: Connection) -> None:
        """lz4 for items.raw where the server has it (PostgreSQL 14+ built with lz4): it
        writes a page of items faster than the default pglz, at about the same size
        (benchmarks/bench_store.py measures both)."""
        if (conn.dialect.server_version_info or (0,)) < (14,):
            return
        name = self.tables.items.name  # a checked prefix: no quoting needed
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(f"ALTER TABLE {name} ALTER COLUMN raw SET COMPRESSION lz4")
        except SQLAlchemyError:
            pass  # a server without lz4 keeps its default compression

    def _upsert(self, table: Table, keys: list[str]) -> Insert:
        insert = postgresql.insert(table) if self._postgres else sqlite.insert(table)
        return insert.on_conflict_do_update(
            index_elements=keys,
            set_={c.name: insert.excluded[c.name] for c in table.columns if c.name not in keys},
        )

    @staticmethod
    def _decode(text: str, where: str) -> Item:
        try:
            return decode_item(text)
        except msgspec.DecodeError as exc:
            raise MirrorError(f"{where} is not an item's JSON: {exc}") from exc

    def _revisions(self, conn: Connection, app_id: int, item_ids: Sequence[int]) -> dict[int, int]:
        found: dict[int, int] = {}
        for chunk in _chunks(list(item_ids)):
            # By the primary key alone: with `app_id = ?` in the query, SQLite takes the
            # app_id index and reads every stored item of the app for each page, which
            # made a full copy quadratic. The app is checked here instead.
            rows = conn.execute(self._revisions_query, {"ids": chunk})
            found.update((int(i), int(r)) for i, r, a in rows if a == app_id)
        return found

    def _build_typed(self, app_id: int, key: str, specs: list[dict[str, Any]]) -> _Typed:
        plans = plan_columns(specs)
        table = self.tables.app_table(app_id, plans)
        upsert = self._upsert(table, ["item_id"])
        insert = BatchInsert(self._engine.dialect, table, upsert)
        return _Typed(key, table, plans, upsert, insert, RowBuilder(plans))

    def _rebuild(
        self, conn: Connection, app_id: int, key: str, specs: list[dict[str, Any]]
    ) -> _Typed:
        """Drop, create and refill the typed table, and record its field set."""
        typed = self._build_typed(app_id, key, specs)
        typed.table.drop(conn, checkfirst=True)
        typed.table.create(conn)
        self._refill(conn, app_id, typed)
        self._write_state(conn, app_id, fields_key=key, fields=json.dumps(specs))
        return typed

    def _load_typed(self, conn: Connection, app_id: int) -> _Typed | None:
        """The app's typed table as the database has it now (another process may have
        rebuilt it since this one cached it); None before `prepare_app`."""
        mirror_state = self.tables.state
        row = conn.execute(
            select(mirror_state.c.fields_key, mirror_state.c.fields).where(
                mirror_state.c.app_id == app_id
            )
        ).first()
        if row is None or row.fields_key is None or row.fields is None:
            self._typed.pop(app_id, None)
            return None
        cached = self._typed.get(app_id)
        if cached is not None and cached.key == row.fields_key:
            return cached
        typed = self._build_typed(app_id, row.fields_key, json.loads(row.fields))
        self._typed[app_id] = typed
        return typed

    def _refill(self, conn: Connection, app_id: int, typed: _Typed) -> None:
        """Fill a new typed table from items.raw, in batches by item_id."""
        items = self.tables.items
        after = -1
        while True:
            rows = conn.execute(
                select(items.c.item_id, items.c.raw)
                .where(items.c.app_id == app_id, items.c.item_id > after)
                .order_by(items.c.item_id)
                .limit(_REFILL_BATCH)
            ).all()
            if not rows:
                return
            decoded = [
                self._decode(r.raw, f"stored item {r.item_id} of app {app_id}") for r in rows
            ]
            typed.insert.execute(
                conn,
                [
                    typed.rows.row(i, to_datetime(i.created_on), to_datetime(i.last_event_on))
                    for i in decoded
                ],
            )
            after = int(rows[-1].item_id)

    def _write_state(
        self,
        conn: Connection,
        app_id: int,
        *,
        cursor: str | None = None,
        full_done: bool | None = None,
        fields_key: str | None = None,
        fields: str | None = None,
    ) -> None:
        mirror_state = self.tables.state
        values: dict[str, Any] = {"app_id": app_id, "updated_at": _now()}
        if cursor is not None:
            values["cursor"] = cursor
        if full_done is not None:
            values["full_done"] = full_done
        if fields_key is not None:
            values["fields_key"] = fields_key
            values["fields"] = fields
        insert = postgresql.insert(mirror_state) if self._postgres else sqlite.insert(mirror_state)
        stmt = insert.values(**values)
        update: dict[str, Any] = {k: stmt.excluded[k] for k in values if k != "app_id"}
        if cursor is not None:
            # The cursor only moves forward ("YYYY-MM-DD HH:MM:SS" orders as text).
            current = mirror_state.c.cursor
            update["cursor"] = case(
                (current.is_(None), stmt.excluded.cursor),
                (stmt.excluded.cursor > current, stmt.excluded.cursor),
                else_=current,
            )
        conn.execute(stmt.on_conflict_do_update(index_elements=["app_id"], set_=update))
