"""From a database URL to a SQLAlchemy engine: which schemes are accepted, which driver each
uses, how long a lock is waited for, and the SQLite settings that make its transactions
whole."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from ._errors import MirrorError, mask_url
from ._options import LOCK_TIMEOUT, check_lock_timeout

__all__ = ["open_engine", "shown_url", "use_wal"]

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
            f"unsupported database URL scheme {parsed.drivername!r} in {shown_url(url)!r}: {_USAGE}"
        )
    parsed = parsed.set(drivername=driver)
    if driver.startswith("sqlite") and parsed.database in (None, "", ":memory:"):
        parsed = parsed.set(database=":memory:")
    if driver.startswith("postgresql") and not parsed.database:
        raise MirrorError(f"no database name in {shown_url(url)!r}: {_USAGE}")
    return parsed


def shown_url(url: str) -> str:
    """`url` as the user wrote it (not the driver's form SQLAlchemy renders), password
    masked."""
    return mask_url(url)


def open_engine(url: str, *, lock_timeout: float = LOCK_TIMEOUT) -> tuple[Engine, str]:
    """The engine for `url` and the URL as it may be shown (the user's, password masked)."""
    lock_timeout = check_lock_timeout(lock_timeout)
    parsed = parse_url(url)
    shown = shown_url(url)
    options: dict[str, Any] = {}
    sqlite = parsed.drivername.startswith("sqlite")
    if sqlite:
        # A write waits this long for another connection's, then fails as "locked".
        options["connect_args"] = {"timeout": lock_timeout, "check_same_thread": False}
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
        _whole_transactions(engine)
    else:
        _session_settings(engine, lock_timeout)
    return engine, shown


def use_wal(engine: Engine) -> None:
    """SQLite in WAL mode: readers (a report, a BI tool) do not block the mirror's writes,
    nor it theirs. The mode is kept in the database file, so it is set once, after the
    tables were found to be the mirror's (a database that is not is left as it was)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        driver.execute("PRAGMA journal_mode=WAL")  # type: ignore[union-attr]
        driver.execute("PRAGMA synchronous=NORMAL")  # type: ignore[union-attr]
    finally:
        raw.close()


def _session_settings(engine: Engine, lock_timeout: float) -> None:
    """PostgreSQL: a statement waits at most `lock_timeout` seconds for a lock (0 fails at
    once, as on SQLite; PostgreSQL's own 0 would wait for ever).

    The mirror's sessions also commit without waiting for the WAL to reach the disk
    (`synchronous_commit = off`, for these sessions only): a page's transaction then costs
    the server its work, not a flush. A server crash may lose the last pages committed,
    never the database's consistency: each page and its cursor commit together, and the next
    run reads again what is not there."""
    lock_ms = max(1, round(lock_timeout * 1000))

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # a SET in a transaction rolled back would not stay
        try:
            dbapi_connection.execute(f"SET lock_timeout = {lock_ms}")
            dbapi_connection.execute("SET synchronous_commit TO off")
        finally:
            dbapi_connection.autocommit = autocommit


def _whole_transactions(engine: Engine) -> None:
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
        mode = dbapi_connection.execute("PRAGMA journal_mode").fetchone()
        if mode and str(mode[0]).lower() == "wal":
            # In WAL mode (`use_wal`), NORMAL syncs at checkpoints instead of every commit:
            # a crash of the program loses nothing, a power cut at most the last pages
            # written, never the database's consistency (each page and its cursor commit
            # together, and the next run reads again what is not there).
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
