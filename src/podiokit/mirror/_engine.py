"""From a database URL to a SQLAlchemy engine: which schemes are accepted, which driver each
uses, and the SQLite settings that make its transactions whole."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from ._errors import MirrorError, mask_url

__all__ = ["open_engine"]

_USAGE = "use sqlite:///path/to/mirror.db or postgresql://user:password@host/database"

#: scheme (as written) -> the SQLAlchemy driver name used for it.
_DRIVERS = {
    "sqlite": "sqlite+pysqlite",
    "sqlite+pysqlite": "sqlite+pysqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}


def parse_url(url: str) -> URL:
    if not isinstance(url, str) or not url.strip():
        raise MirrorError(f"no database URL given: {_USAGE}")
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise MirrorError(f"not a database URL: {mask_url(url)!r}: {_USAGE}") from exc
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise MirrorError(
            f"unsupported database URL scheme {parsed.drivername!r} in "
            f"{parsed.render_as_string(hide_password=True)!r}: {_USAGE}"
        )
    parsed = parsed.set(drivername=driver)
    if driver.startswith("sqlite") and parsed.database in (None, "", ":memory:"):
        parsed = parsed.set(database=":memory:")
    if driver.startswith("postgresql") and not parsed.database:
        raise MirrorError(
            f"no database name in {parsed.render_as_string(hide_password=True)!r}: {_USAGE}"
        )
    return parsed


def open_engine(url: str) -> tuple[Engine, str]:
    """The engine for `url` and the URL as it may be shown (password masked)."""
    parsed = parse_url(url)
    shown = parsed.render_as_string(hide_password=True)
    options: dict[str, Any] = {}
    sqlite = parsed.drivername.startswith("sqlite")
    if sqlite:
        # Waits up to 30 s for another process's write instead of failing at once.
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
        if parsed.database == ":memory:":
            # One connection for every thread: each new one would be a new, empty database.
            options["poolclass"] = StaticPool
    try:
        engine = create_engine(parsed, **options)
    except ImportError as exc:
        if sqlite:
            raise MirrorError(f"the sqlite3 module is missing from this Python ({shown})") from exc
        raise MirrorError(
            f"PostgreSQL ({shown}) needs the psycopg driver: pip install 'podiokit[postgres]'"
        ) from exc
    if sqlite:
        _whole_transactions(engine, wal=parsed.database != ":memory:")
    else:
        _commits_without_waiting(engine)
    return engine, shown


def _commits_without_waiting(engine: Engine) -> None:
    """The mirror's PostgreSQL sessions commit without waiting for the WAL to reach the disk
    (`synchronous_commit = off`, for these sessions only): a page's transaction then costs
    the server its work, not a flush. A server crash may lose the last pages committed,
    never the database's consistency: each page and its cursor commit together, and the next
    run reads again what is not there."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
        dbapi_connection.commit()  # a SET inside a transaction rolled back would not stay


def _whole_transactions(engine: Engine, *, wal: bool) -> None:
    """pysqlite opens a transaction only before INSERT/UPDATE/DELETE, so a DROP/CREATE TABLE
    would commit on its own. SQLAlchemy's recipe: the driver does no transaction handling,
    and every SQLAlchemy transaction starts with BEGIN (which then covers DDL too).
    IMMEDIATE takes the write lock up front: a second writer waits (busy timeout) rather
    than failing when its read snapshot turns stale."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        # A new database gets pages of 64 KB (a no-op on an existing one): an item's JSON
        # (about 13 KB from a filter page) fits in its row's page instead of a chain of
        # 4 KB overflow pages, which halves the CPU of writing a page of items
        # (benchmarks/bench_mirror.py).
        dbapi_connection.execute("PRAGMA page_size=65536")
        if wal:
            # Readers (a report, a BI tool) do not block the mirror's writes, nor it theirs.
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            # In WAL mode, NORMAL syncs at checkpoints instead of every commit: a crash of
            # the program loses nothing, a power cut at most the last pages written, never
            # the database's consistency (each page and its cursor commit together, and the
            # next run reads again what is not there).
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
