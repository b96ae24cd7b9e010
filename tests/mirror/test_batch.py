"""A page of rows through `BatchInsert` (one driver executemany, the statement compiled once)
stores exactly what SQLAlchemy's own `Connection.execute(insert, [dict, ...])` stores, on
SQLite and PostgreSQL, money exact through the remembered converted values; and the ranges the bulk engine plans for an app with a few deleted
items never need a second page."""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Column, Date, MetaData, Table, select, text
from sqlalchemy.dialects import sqlite

from podiokit._bulk import plan_ranges
from podiokit.mirror import MirrorStore
from podiokit.mirror._batch import BatchInsert, _quicker
from podiokit.mirror._columns import to_datetime
from podiokit.mirror._rows import decode_items
from podiokit.mirror._schema import Money, Tables, UtcDateTime

from .conftest import PROJECTS, PodioData


def _values(rng: random.Random, n: int) -> list[Any]:
    start = datetime(1, 1, 1)
    out: list[Any] = []
    for _ in range(n):
        moment = start + timedelta(seconds=rng.randrange(0, 315_000_000_000))
        out.append(moment)
        out.append(moment.replace(microsecond=rng.randrange(1, 1_000_000)))
        out.append(moment.replace(tzinfo=timezone(timedelta(hours=rng.randrange(-12, 13)))))
        out.append(moment.date())
    return out


@pytest.mark.parametrize("type_", [UtcDateTime, Date()], ids=["datetime", "date"])
def test_quicker_sqlite_times_give_the_processors_text(type_: Any) -> None:
    dialect = sqlite.dialect()
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    quick = _quicker(process)
    assert quick is not process  # the quick path is taken for SQLite's times
    for value in _values(random.Random(30), 2_000):
        assert quick(value) == process(value), value


def test_other_processors_are_left_as_they_are() -> None:
    def process(value: Any) -> Any:
        return f"<{value}>"

    assert _quicker(process) is process


def test_a_page_stores_what_sqlalchemy_stores(db_url: str, podio_data: PodioData) -> None:
    """The same page written by the store (BatchInsert) and by `conn.execute(upsert, dicts)`
    into a copy of each table: every column of every row equal."""
    store = MirrorStore(db_url)
    try:
        store.prepare_app(podio_data.apps[PROJECTS])
        page = decode_items(PROJECTS, podio_data.items[PROJECTS])
        assert store.write_items(PROJECTS, page) == len(page)
        typed = store._typed[PROJECTS]
        copies = MetaData()
        item_copy, typed_copy = (_bare(copies, t, f"{n}_copy") for n, t in
                                 (("items", store.tables.items), ("typed", typed.table)))  # fmt: skip
        engine = store._engine
        with engine.begin() as conn:
            copies.create_all(conn)
            item_rows = []
            typed_rows = []
            for item in page:
                created, edited = to_datetime(item.created_on), to_datetime(item.last_event_on)
                item_rows.append({
                    "app_id": PROJECTS, "item_id": item.item_id,
                    "app_item_id": item.app_item_id, "title": item.title,
                    "revision": item.revision or 0, "created_on": created,
                    "last_event_on": edited, "raw": item.text,
                })  # fmt: skip
                row = typed.rows.row(item, created, edited)
                names = [c.name for c in typed.table.columns]
                typed_rows.append(dict(zip(names, row, strict=True)))
            conn.execute(item_copy.insert(), item_rows)
            conn.execute(typed_copy.insert(), typed_rows)
        with engine.connect() as conn:
            for mine, theirs in ((store.tables.items, item_copy), (typed.table, typed_copy)):
                key = mine.c.item_id
                got = conn.execute(select(mine).order_by(key)).all()
                want = conn.execute(select(theirs).order_by(theirs.c.item_id)).all()
                assert [tuple(r) for r in got] == [tuple(r) for r in want]
                assert len(got) == len(page)
    finally:
        store.close()


def _bare(metadata: MetaData, table: Table, name: str) -> Table:
    """`table`'s columns (types and key) under another name, without its indexes."""
    columns = [Column(c.name, c.type, primary_key=c.primary_key) for c in table.columns]
    return Table(name, metadata, *columns)


def test_batch_insert_takes_rows_in_column_order() -> None:
    table = _bare(MetaData(), Tables.named("podio_").items, "t")
    batch = BatchInsert(sqlite.dialect(), table, sqlite.insert(table))
    assert batch._order is None  # the compiled statement takes the table's order
    assert batch._sql.startswith("INSERT INTO t (app_id, item_id")


def test_money_keeps_the_processors_text() -> None:
    """SQLite's money column writes text with four places: `_quicker` leaves its processor
    alone (probing it with a time raises decimal.InvalidOperation, not a TypeError)."""
    dialect = sqlite.dialect()
    process = Money.dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    assert _quicker(process) is process
    assert process(Decimal("0.1")) == "0.1000"


_MONEY_APP = {"app_id": 1, "fields": [
    {"field_id": 9, "external_id": "budget", "type": "money", "status": "active", "config": {}},
]}  # fmt: skip
_AMOUNTS = ["0.1000", "0.2000", "12345678901234.5678", "-7.0001", "1000"]


def _money_item(item_id: int, amount: str) -> bytes:
    return (
        f'{{"item_id":{item_id},"revision":1,"fields":[{{"field_id":9,"type":"money",'
        f'"values":[{{"value":"{amount}","currency":"EUR"}}]}}]}}'
    ).encode()


def test_repeated_money_stays_exact_through_the_batch_and_a_rebuild(db_url: str) -> None:
    """1,000 items repeating five amounts (converted values remembered by their JSON, rows
    processed in place by BatchInsert), then the typed table rebuilt from raw: every amount
    exact, as text with four places on SQLite."""
    store = MirrorStore(db_url)
    try:
        store.prepare_app(_MONEY_APP)
        page = [_money_item(n, _AMOUNTS[n % len(_AMOUNTS)]) for n in range(1, 1001)]
        assert store.write_page(1, page) == 1000
        want = {n: Decimal(_AMOUNTS[n % len(_AMOUNTS)]) for n in range(1, 1001)}
        for rebuilt in (False, True):
            if rebuilt:  # another field set: the table is rebuilt from items.raw
                fields = [*_MONEY_APP["fields"], {"field_id": 10, "external_id": "note",
                                                  "type": "text", "status": "active"}]  # fmt: skip
                assert store.prepare_app({"app_id": 1, "fields": fields})
            table = store._typed[1].table
            with store._engine.connect() as conn:
                got = dict(conn.execute(select(table.c.item_id, table.c.budget)).all())
                if store._engine.dialect.name == "sqlite":
                    stored = conn.execute(
                        text("SELECT DISTINCT budget FROM podio_app_1 ORDER BY budget")
                    ).all()
                    assert sorted(s for (s,) in stored) == sorted(
                        f"{Decimal(a):.4f}" for a in _AMOUNTS
                    )
            assert got == want
            assert all(type(v) is Decimal for v in got.values())
    finally:
        store.close()


def test_few_deletions_never_need_a_second_page() -> None:
    """1% of 100,000 items deleted at random: the plan's ranges are a page of ids wide, so
    none holds more than a page (ranges a few ids wider would: about half of them)."""
    alive = sorted(random.Random(30).sample(range(1, 100_001), 99_000))
    ranges = plan_ranges(7, count=len(alive), highest=alive[-1], page_size=500)
    assert len(ranges) == 201  # 200 of them, and the sweep
    held = [bisect_right(alive, r.hi) - bisect_left(alive, r.lo) for r in ranges[:-1]]
    assert max(held) <= 500 and sum(held) == len(alive)
