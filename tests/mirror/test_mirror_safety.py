"""Issue 25, point 8: the mirror never alters what is not its own and says what it did.

A locked database fails after a short lock timeout, named by the user's URL, and the wait
counts in the elapsed time; tables with the mirror's names that it did not make are refused
with the database left byte for byte as it was; an old unprefixed mirror keeps its tables;
money is exact in both dialects; the counts add up."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from podiokit import Podio
from podiokit.mirror import MirrorError, MirrorStore, mirror
from podiokit.mirror._columns import fingerprint
from podiokit.testing import Emulator

from ._helpers import PROJECTS, assert_exact, change, stored

pytestmark = pytest.mark.anyio

EXACT = "12345678901234.5678"


@pytest.fixture
def emu() -> Emulator:
    return Emulator(items=120)


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "mirror.db"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@contextmanager
def sqlite_write_lock(path: Path, release_after: float | None = None) -> Iterator[None]:
    """Another process's write transaction on `path`, for the block (or until
    `release_after` seconds have passed)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN EXCLUSIVE")
    timer = None
    if release_after is not None:
        timer = threading.Timer(release_after, conn.execute, ("COMMIT",))
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.join()
        else:
            conn.execute("COMMIT")
        conn.close()


def snapshot(path: Path) -> tuple[str, list[str]]:
    """The database file's bytes (hashed) and the files beside it (-wal, -journal ...)."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), sorted(
        p.name for p in path.parent.iterdir()
    )


def sqlite_tables(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))


# --- a locked database ------------------------------------------------------------------------


async def test_a_locked_sqlite_database_fails_after_the_lock_timeout(
    podio: Podio, db_file: Path
) -> None:
    url = sqlite_url(db_file)
    await mirror(podio, [PROJECTS], url)
    started = time.monotonic()
    with sqlite_write_lock(db_file), pytest.raises(MirrorError) as caught:
        await mirror(podio, [PROJECTS], url, lock_timeout=0.5)
    waited = time.monotonic() - started
    assert 0.5 <= waited < 4  # not the driver's 30 s
    message = str(caught.value)
    assert f"{url} is locked by another connection" in message
    assert "gave up after 0.5 s" in message and "--lock-timeout" in message
    assert "+pysqlite" not in message


async def test_a_wait_for_the_database_counts_in_the_elapsed_time(
    podio: Podio, db_file: Path
) -> None:
    url = sqlite_url(db_file)
    await mirror(podio, [PROJECTS], url)
    with sqlite_write_lock(db_file, release_after=1.0):
        result = await mirror(podio, [PROJECTS], url)
    assert result.elapsed >= 1.0


async def test_a_locked_postgresql_table_fails_after_the_lock_timeout(
    podio: Podio, postgres_server: str
) -> None:
    import psycopg

    from .conftest import new_pg_database

    url = new_pg_database(postgres_server)
    await mirror(podio, [PROJECTS], url)
    with psycopg.connect(url) as other:  # a transaction holding the table
        other.execute("LOCK TABLE podio_mirror_state IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(MirrorError) as caught:
            await mirror(podio, [PROJECTS], url, lock_timeout=0.5)
        assert time.monotonic() - started < 4
        other.rollback()
    assert f"{url} is locked by another connection" in str(caught.value)


# --- tables the mirror did not make ----------------------------------------------------------


async def test_a_database_with_its_own_items_table_gets_podio_tables_beside_it(
    podio: Podio, db_file: Path, tmp_path: Path
) -> None:
    """The issue's case: an app database with an `items` table of its own."""
    with sqlite3.connect(db_file) as conn:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO items (name) VALUES ('mine')")
    before = sqlite_tables(db_file)
    url = sqlite_url(db_file)
    result = await mirror(podio, [PROJECTS], url)
    assert result.table_prefix == "podio_"
    assert result.apps[PROJECTS].created == 120
    await assert_exact(podio, url, PROJECTS, tmp_path)
    after = dict(sqlite_tables(db_file))
    assert {"podio_items", "podio_mirror_state", f"podio_app_{PROJECTS}"} <= set(after)
    assert after["items"] == dict(before)["items"]
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("SELECT * FROM items").fetchall() == [(1, "mine")]


@pytest.mark.parametrize(
    ("ddl", "named"),
    [
        ("CREATE TABLE podio_items (id INTEGER PRIMARY KEY, name TEXT)", "podio_items (it has no column app_id"),
        ("CREATE TABLE podio_mirror_state (app_id INTEGER, cursor TEXT)", "podio_mirror_state (it has no column fields, fields_key, full_done"),
        (f"CREATE TABLE podio_app_{PROJECTS} (item_id INTEGER, note TEXT)", f"podio_app_{PROJECTS} (not a typed table the mirror built)"),
    ],
)  # fmt: skip
async def test_foreign_tables_are_refused_and_the_database_is_left_as_it_was(
    podio: Podio, db_file: Path, ddl: str, named: str
) -> None:
    with sqlite3.connect(db_file) as conn:
        conn.execute(ddl)
    before = snapshot(db_file)
    url = sqlite_url(db_file)
    with pytest.raises(MirrorError) as caught:
        await mirror(podio, [PROJECTS], url)
    message = str(caught.value)
    assert named in message and url in message
    assert "Nothing was changed" in message and "--table-prefix" in message
    assert snapshot(db_file) == before  # no table, no index, no WAL mode, no side file


async def test_a_typed_table_of_another_prefix_is_not_foreign(podio: Podio, db_file: Path) -> None:
    url = sqlite_url(db_file)
    await mirror(podio, [PROJECTS], url, table_prefix="")
    result = await mirror(podio, [PROJECTS], url, table_prefix="crm_")
    assert result.table_prefix == "crm_" and result.apps[PROJECTS].mode == "full"
    names = {name for name, _ in sqlite_tables(db_file)}
    assert {"items", "mirror_state", f"app_{PROJECTS}"} <= names
    assert {"crm_items", "crm_mirror_state", f"crm_app_{PROJECTS}"} <= names
    assert len(stored(url, PROJECTS, prefix="crm_")) == len(stored(url, PROJECTS, prefix="")) == 120


async def test_foreign_tables_on_postgresql_are_left_untouched(
    podio: Podio, postgres_server: str
) -> None:
    import psycopg

    from .conftest import new_pg_database

    url = new_pg_database(postgres_server)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE podio_items (id integer PRIMARY KEY, name text)")
        conn.execute("INSERT INTO podio_items VALUES (1, 'mine')")

    def catalog() -> list[Any]:
        with psycopg.connect(url) as conn:
            return conn.execute(
                "SELECT c.relname, c.relkind, a.attname, a.atttypid, a.attcompression"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0"
                " WHERE n.nspname = 'public' ORDER BY 1, 3"
            ).fetchall()

    before = catalog()
    with pytest.raises(MirrorError, match=r"podio_items \(it has no column app_id"):
        await mirror(podio, [PROJECTS], url)
    assert catalog() == before
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT * FROM podio_items").fetchall() == [(1, "mine")]
    # Another prefix mirrors beside it.
    result = await mirror(podio, [PROJECTS], url, table_prefix="crm_")
    assert result.apps[PROJECTS].created == 120


def test_a_bad_table_prefix_is_named(db_file: Path) -> None:
    for bad in ("Podio_", "1x_", "a-b", "x" * 31, 5):
        with pytest.raises(ValueError, match="table prefix"):
            MirrorStore(sqlite_url(db_file), table_prefix=bad)  # type: ignore[arg-type]
    assert not db_file.exists()


# --- a mirror made before table prefixes -----------------------------------------------------


async def test_a_mirror_made_before_prefixes_keeps_its_tables(
    podio: Podio, db_file: Path, tmp_path: Path
) -> None:
    url = sqlite_url(db_file)
    # The tables as podiokit made them before the prefix: unprefixed, with the same columns.
    first = await mirror(podio, [PROJECTS], url, table_prefix="")
    assert first.table_prefix == ""
    await change(podio, PROJECTS, update=3)
    again = await mirror(podio, [PROJECTS], url)  # the default finds the old mirror
    assert again.table_prefix == "" and again.apps[PROJECTS].mode == "incremental"
    assert again.apps[PROJECTS].updated == 3
    assert not any(name.startswith("podio_") for name, _ in sqlite_tables(db_file))
    await assert_exact_unprefixed(podio, url, tmp_path)


async def assert_exact_unprefixed(podio: Podio, url: str, tmp_path: Path) -> None:
    from ._helpers import exported

    fresh = await exported(podio, PROJECTS, tmp_path)
    assert stored(url, PROJECTS, prefix="") == fresh


async def test_a_typed_table_of_an_older_podiokit_is_rebuilt_without_an_api_call(
    podio: Podio, db_file: Path
) -> None:
    url = sqlite_url(db_file)
    await mirror(podio, [PROJECTS], url)
    with sqlite3.connect(db_file) as conn:  # as built by a podiokit with other typed columns
        conn.execute("UPDATE podio_mirror_state SET fields_key = 'older'")
        conn.execute(f"UPDATE podio_app_{PROJECTS} SET budget = 0.5")
    result = (await mirror(podio, [PROJECTS], url)).apps[PROJECTS]
    assert result.calls == 2 and not result.fields_checked
    store = MirrorStore(url)
    try:
        with store._engine.connect() as conn:
            key, fields = conn.execute(
                text("SELECT fields_key, fields FROM podio_mirror_state")
            ).one()
            budgets = conn.execute(
                text(f"SELECT DISTINCT typeof(budget) FROM podio_app_{PROJECTS}")
            ).all()
    finally:
        store.close()
    assert key == fingerprint(json.loads(fields))
    assert budgets == [("text",)]  # refilled from items.raw, as this version stores money


# --- money ------------------------------------------------------------------------------------

MONEY_APP = {"app_id": 1, "fields": [
    {"field_id": 9, "external_id": "budget", "type": "money", "status": "active", "config": {}},
]}  # fmt: skip


def money_item(item_id: int, value: str) -> bytes:
    return (
        f'{{"item_id":{item_id},"revision":0,"fields":[{{"field_id":9,"type":"money",'
        f'"values":[{{"value":"{value}","currency":"EUR"}}]}}]}}'
    ).encode()


def test_money_is_exact_in_both_dialects(db_url: str) -> None:
    store = MirrorStore(db_url)
    try:
        store.prepare_app(MONEY_APP)
        store.write_page(
            1, [money_item(1, "0.1000"), money_item(2, "0.2000"), money_item(3, EXACT)]
        )
        typed = store.tables.app_table(1, store._typed[1].plans)
        with store._engine.connect() as conn:
            read = dict(conn.execute(select(typed.c.item_id, typed.c.budget)).all())
            if store._engine.dialect.name == "sqlite":
                kinds = conn.execute(text("SELECT DISTINCT typeof(budget) FROM podio_app_1")).all()
                assert kinds == [("text",)]
                # Four places: the text without its point is an exact integer (ten-thousandths).
                small = "SELECT sum(CAST(replace(budget, '.', '') AS INTEGER)) FROM podio_app_1"
                assert conn.execute(text(small + " WHERE item_id < 3")).scalar() == 3_000
                total = conn.execute(text(small)).scalar()
            else:
                total = conn.execute(text("SELECT sum(budget) * 10000 FROM podio_app_1")).scalar()
    finally:
        store.close()
    assert read == {1: Decimal("0.1"), 2: Decimal("0.2"), 3: Decimal(EXACT)}
    assert Decimal(total) == (Decimal("0.3") + Decimal(EXACT)) * 10_000


async def test_money_from_podio_to_the_mirror_keeps_every_digit(
    podio: Podio, db_file: Path
) -> None:
    created = await podio.request(
        "POST", f"/item/app/{PROJECTS}/", json={"fields": {"title": "big", "budget": {"value": EXACT, "currency": "EUR"}}}
    )  # fmt: skip
    url = sqlite_url(db_file)
    await mirror(podio, [PROJECTS], url)
    with sqlite3.connect(db_file) as conn:
        (budget,) = conn.execute(
            f"SELECT budget FROM podio_app_{PROJECTS} WHERE item_id = ?", (created["item_id"],)
        ).fetchone()
    assert budget == EXACT


# --- counts -----------------------------------------------------------------------------------


async def test_the_counts_add_up_to_the_items_held(podio: Podio, db_file: Path) -> None:
    url = sqlite_url(db_file)
    first = (await mirror(podio, [PROJECTS], url)).apps[PROJECTS]
    assert (first.items, first.created, first.updated, first.unchanged, first.read) == (
        120, 120, 0, 0, 120,
    )  # fmt: skip
    await change(podio, PROJECTS, update=4, create=2, delete=3)
    second = (await mirror(podio, [PROJECTS], url)).apps[PROJECTS]
    assert (second.created, second.updated, second.deleted) == (2, 4, 3)
    assert second.items == 119 == second.created + second.updated + second.unchanged
    assert second.read >= second.created + second.updated
    third = (await mirror(podio, [PROJECTS], url)).apps[PROJECTS]
    # Nothing changed: every item is unchanged, whatever the day window read again.
    assert (third.created, third.updated, third.deleted, third.unchanged) == (0, 0, 0, 119)
    assert third.read > 0  # the items edited since the day before the cursor, skipped
