"""MirrorStore on SQLite and on a real PostgreSQL server: raw JSON kept exactly, upserts
skipping stored revisions, a cursor that only moves forward, deletions, and whole-page
transactions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text

from podiokit.mirror._errors import MirrorError
from podiokit.mirror._store import MirrorStore

from .conftest import CLIENTS, PROJECTS, PodioData


@pytest.fixture
def store(db_url: str) -> Iterator[MirrorStore]:
    s = MirrorStore(db_url)
    try:
        yield s
    finally:
        s.close()


def bump(raw: bytes, revision: int, **changes: Any) -> bytes:
    """The item's JSON at another revision (as Podio would send it after an edit)."""
    item = json.loads(raw)
    item.update(revision=revision, **changes)
    return json.dumps(item, indent=1, ensure_ascii=False).encode()


def rows(store: MirrorStore, sql: str, **params: Any) -> list[dict[str, Any]]:
    with store._engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def test_raw_json_is_stored_byte_for_byte(store: MirrorStore, podio_data: PodioData) -> None:
    page = podio_data.items[PROJECTS]
    # Odd spacing, key order, escapes and non-ASCII must survive as sent, not re-encoded.
    odd = (
        b'{ "title" : "Caf\xc3\xa9 \\u00e9 \\"q\\"",\n  "item_id": 9000001, "revision": 2,'
        b' "app_item_id": 999, "fields": [], "created_on": "2024-01-02 03:04:05",'
        b' "last_event_on": "2024-01-03 00:00:00", "n": 1.50}'
    )
    assert store.write_page(PROJECTS, [*page, odd]) == len(page) + 1
    stored = {
        r["item_id"]: r["raw"]
        for r in rows(store, "SELECT item_id, raw FROM podio_items WHERE app_id = :a", a=PROJECTS)
    }
    expected = {json.loads(raw)["item_id"]: raw for raw in [*page, odd]}
    assert {k: v.encode("utf-8") for k, v in stored.items()} == expected
    (row,) = rows(store, "SELECT * FROM podio_items WHERE item_id = 9000001")
    assert row["title"] == 'Café é "q"' and row["app_item_id"] == 999 and row["revision"] == 2
    assert str(row["created_on"]).startswith("2024-01-02 03:04:05")
    assert store.count(PROJECTS) == len(page) + 1 and store.count(CLIENTS) == 0


def test_upsert_skips_revisions_already_stored(store: MirrorStore, podio_data: PodioData) -> None:
    page = podio_data.items[CLIENTS][:5]
    assert store.write_page(CLIENTS, page) == 5
    assert store.write_page(CLIENTS, page) == 0  # the same revisions: nothing rewritten
    ids = [json.loads(raw)["item_id"] for raw in page]
    newer = bump(page[0], 3, title="Renamed")
    older = bump(page[1], 0, title="Stale copy")  # the stored one is revision 0 too
    assert store.write_page(CLIENTS, [newer, older]) == 1
    assert store.stored_revisions(CLIENTS, [*ids, 424242]) == {
        ids[0]: 3, ids[1]: 0, ids[2]: 0, ids[3]: 0, ids[4]: 0
    }  # fmt: skip
    titles = {r["item_id"]: r for r in rows(store, "SELECT item_id, title, raw FROM podio_items")}
    assert titles[ids[0]]["title"] == "Renamed" and titles[ids[0]]["raw"].encode() == newer
    assert titles[ids[1]]["raw"].encode() == page[1]
    # A lower revision never replaces a higher one.
    assert store.write_page(CLIENTS, [bump(page[0], 2, title="Older")]) == 0
    assert store.stored_revisions(CLIENTS, [ids[0]]) == {ids[0]: 3}


def test_one_item_twice_in_a_page_keeps_the_higher_revision(
    store: MirrorStore, podio_data: PodioData
) -> None:
    raw = podio_data.items[CLIENTS][0]
    item_id = json.loads(raw)["item_id"]
    assert store.write_page(CLIENTS, [bump(raw, 4), bump(raw, 2)]) == 1
    assert store.stored_revisions(CLIENTS, [item_id]) == {item_id: 4}


def test_cursor_only_moves_forward(store: MirrorStore, podio_data: PodioData) -> None:
    assert store.state(PROJECTS) is None
    page = podio_data.items[PROJECTS]
    store.write_page(PROJECTS, page[:10], cursor="2024-03-01 10:00:00")
    state = store.state(PROJECTS)
    assert state is not None
    assert (state.cursor, state.full_done) == ("2024-03-01 10:00:00", False)
    assert state.updated_at is not None
    store.write_page(PROJECTS, page[10:20], cursor="2024-02-01 00:00:00", full_done=True)
    state = store.state(PROJECTS)
    assert state is not None and (state.cursor, state.full_done) == ("2024-03-01 10:00:00", True)
    store.set_state(PROJECTS, cursor="2024-03-01 10:00:01")
    store.set_state(PROJECTS, cursor="2023-12-31 23:59:59")
    store.set_state(PROJECTS, full_done=False)
    state = store.state(PROJECTS)
    assert state is not None and (state.cursor, state.full_done) == ("2024-03-01 10:00:01", False)
    # Another app's state is its own.
    store.set_state(CLIENTS, cursor="2020-01-01 00:00:00")
    other = store.state(CLIENTS)
    assert other is not None and other.cursor == "2020-01-01 00:00:00"


@pytest.mark.parametrize("cursor", ["2024-03-01", "2024-03-01T10:00:00", "yesterday", ""])
def test_a_malformed_cursor_is_refused(store: MirrorStore, cursor: str) -> None:
    with pytest.raises(MirrorError, match="cursor"):
        store.set_state(PROJECTS, cursor=cursor)
    with pytest.raises(MirrorError, match="cursor"):
        store.write_page(PROJECTS, [], cursor=cursor)
    assert store.state(PROJECTS) is None


def test_delete_items(store: MirrorStore, podio_data: PodioData) -> None:
    store.prepare_app(podio_data.apps[PROJECTS])
    page = podio_data.items[PROJECTS]
    store.write_page(PROJECTS, page)
    store.write_page(CLIENTS, podio_data.items[CLIENTS][:3])
    ids = sorted(store.item_ids(PROJECTS))
    gone = [*ids[:3], ids[-1], 77]  # 77 was never stored
    # The other app's items are not touched even when their ids are given.
    other = sorted(store.item_ids(CLIENTS))[0]
    assert store.delete_items(PROJECTS, [*gone, other]) == 4
    assert store.item_ids(PROJECTS) == set(ids) - set(gone)
    assert store.count(PROJECTS) == len(page) - 4 and store.count(CLIENTS) == 3
    typed = {r["item_id"] for r in rows(store, f"SELECT item_id FROM podio_app_{PROJECTS}")}
    assert typed == set(ids) - set(gone)
    assert store.delete_items(PROJECTS, []) == 0


def test_a_failure_mid_page_leaves_nothing_of_the_page(
    store: MirrorStore, podio_data: PodioData
) -> None:
    """The typed-table insert fails after the items insert ran: the page's rows in `items`,
    its typed rows and the cursor all roll back; the earlier page stays whole."""
    store.prepare_app(podio_data.apps[PROJECTS])
    page = podio_data.items[PROJECTS]
    store.write_page(PROJECTS, page[:20], cursor="2024-01-01 00:00:00")
    seen: list[str] = []

    def fail_typed_insert(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split("(")[0].strip())
        if statement.startswith(f"INSERT INTO podio_app_{PROJECTS}"):
            raise RuntimeError("disk unplugged")

    event.listen(store._engine, "before_cursor_execute", fail_typed_insert)
    try:
        with pytest.raises(RuntimeError, match="disk unplugged"):
            store.write_page(PROJECTS, [bump(page[0], 5), *page[20:]], cursor="2024-06-01 00:00:00")
    finally:
        event.remove(store._engine, "before_cursor_execute", fail_typed_insert)
    assert "INSERT INTO podio_items" in seen  # the failure came after the items were written
    assert store.count(PROJECTS) == 20
    first = json.loads(page[0])["item_id"]
    assert store.stored_revisions(PROJECTS, [first]) == {first: 0}
    typed = rows(store, f"SELECT count(*) AS n FROM podio_app_{PROJECTS}")
    assert typed[0]["n"] == 20
    state = store.state(PROJECTS)
    assert state is not None and state.cursor == "2024-01-01 00:00:00"
    # The same page goes through once the failure is gone.
    assert store.write_page(PROJECTS, [bump(page[0], 5), *page[20:]]) == len(page) - 19


def test_a_page_with_an_item_that_is_not_json_writes_nothing(
    store: MirrorStore, podio_data: PodioData
) -> None:
    page = podio_data.items[CLIENTS]
    with pytest.raises(MirrorError, match=rf"item 2 of the page for app {CLIENTS}"):
        store.write_page(CLIENTS, [page[0], page[1], b'{"item_id": "x"', page[3]])
    with pytest.raises(MirrorError, match="item 0"):
        store.write_page(CLIENTS, [b"\xff\xfe not utf-8"])
    with pytest.raises(MirrorError, match="item 1 of the page"):
        store.write_page(CLIENTS, [page[0], b'{"item_id": 5, "revision": 1, "fields": 3}'])
    assert store.count(CLIENTS) == 0


def test_the_store_reopens_with_its_data(db_url: str, podio_data: PodioData) -> None:
    first = MirrorStore(db_url)
    first.prepare_app(podio_data.apps[PROJECTS])
    first.write_page(PROJECTS, podio_data.items[PROJECTS][:5], cursor="2024-01-01 00:00:00")
    first.close()
    again = MirrorStore(db_url)
    try:
        assert again.count(PROJECTS) == 5
        # The typed mapping comes back from mirror_state, without prepare_app.
        assert 41005 in again.field_ids(PROJECTS)
        again.write_page(PROJECTS, podio_data.items[PROJECTS][5:10])
        typed = rows(again, f"SELECT count(*) AS n FROM podio_app_{PROJECTS}")
        assert typed[0]["n"] == 10
        assert not again.prepare_app(podio_data.apps[PROJECTS])  # same fields: no rebuild
    finally:
        again.close()


def test_pages_from_several_threads(db_url: str, podio_data: PodioData) -> None:
    """mirror-sync calls the store from worker threads (anyio.to_thread)."""
    import threading

    store = MirrorStore(db_url)
    try:
        store.prepare_app(podio_data.apps[PROJECTS])
        store.prepare_app(podio_data.apps[CLIENTS])
        errors: list[BaseException] = []

        def write(app_id: int, part: list[bytes]) -> None:
            try:
                for k in range(0, len(part), 10):
                    store.write_page(app_id, part[k : k + 10])
            except BaseException as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)

        threads = [
            threading.Thread(target=write, args=(app_id, podio_data.items[app_id][half::2]))
            for app_id in (PROJECTS, CLIENTS)
            for half in (0, 1)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert store.count(PROJECTS) == len(podio_data.items[PROJECTS])
        assert store.count(CLIENTS) == len(podio_data.items[CLIENTS])
    finally:
        store.close()


def test_sqlite_in_memory_is_one_database_for_every_thread(podio_data: PodioData) -> None:
    import threading

    store = MirrorStore("sqlite://")
    try:
        t = threading.Thread(target=store.write_page, args=(CLIENTS, podio_data.items[CLIENTS]))
        t.start()
        t.join()
        assert store.count(CLIENTS) == len(podio_data.items[CLIENTS])
    finally:
        store.close()


def test_postgresql_compresses_raw_with_lz4(postgres_server: str) -> None:
    from .conftest import new_pg_database

    store = MirrorStore(new_pg_database(postgres_server))
    try:
        (row,) = rows(
            store,
            "SELECT attcompression AS c FROM pg_attribute"
            " WHERE attrelid = 'podio_items'::regclass AND attname = 'raw'",
        )
        assert row["c"] == "l"
    finally:
        store.close()
