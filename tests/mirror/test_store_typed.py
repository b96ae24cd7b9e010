"""The typed table `app_<app_id>`: one column per field by external_id, values read from the
emulator's real items, and its rebuild (from items.raw, in one transaction) when the app's
field set changes."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, inspect, text

from podiokit.mirror._columns import field_specs, identifier, plan_columns
from podiokit.mirror._store import MirrorStore

from .conftest import CLIENTS, PROJECTS, PodioData


@pytest.fixture
def store(db_url: str) -> Iterator[MirrorStore]:
    s = MirrorStore(db_url)
    try:
        yield s
    finally:
        s.close()


def typed_rows(store: MirrorStore, app_id: int) -> dict[int, dict[str, Any]]:
    with store._engine.connect() as conn:
        result = conn.execute(text(f"SELECT * FROM podio_app_{app_id}")).mappings()
        return {int(r["item_id"]): dict(r) for r in result}


def columns(store: MirrorStore, app_id: int) -> list[str]:
    return [c["name"] for c in inspect(store._engine).get_columns(f"podio_app_{app_id}")]


def values_of(raw: bytes) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    item = json.loads(raw)
    return item, {f["external_id"]: f["values"] for f in item["fields"]}


def as_decimal(value: Any) -> Decimal:
    # SQLite hands numerics back as float/int, PostgreSQL as Decimal.
    return Decimal(str(value)).normalize()


def as_day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def test_typed_columns_of_the_projects_app(store: MirrorStore, podio_data: PodioData) -> None:
    assert store.prepare_app(podio_data.apps[PROJECTS])
    page = podio_data.items[PROJECTS]
    store.write_page(PROJECTS, page)
    assert columns(store, PROJECTS) == [
        "item_id", "app_item_id", "revision", "created_on", "last_event_on",
        "title", "status", "client", "client_title", "owner", "owner_name", "budget",
        "budget_currency", "hours", "rate", "cost", "progress", "deadline_start",
        "deadline_end", "estimate", "notes", "project_page", "cover", "site", "risk",
    ]  # fmt: skip
    table = typed_rows(store, PROJECTS)
    assert len(table) == len(page)
    ends = 0
    for raw in page:
        item, v = values_of(raw)
        row = table[item["item_id"]]
        assert row["app_item_id"] == item["app_item_id"] and row["revision"] == item["revision"]
        assert str(row["last_event_on"]).startswith(item["last_event_on"])
        assert row["title"] == v["title"][0]["value"]
        assert row["status"] == v["status"][0]["value"]["text"]
        assert row["client"] == v["client"][0]["value"]["item_id"]
        assert row["client_title"] == v["client"][0]["value"]["title"]
        assert row["owner"] == str(v["owner"][0]["value"]["profile_id"])
        assert row["owner_name"] == v["owner"][0]["value"]["name"]
        assert as_decimal(row["budget"]) == Decimal(v["budget"][0]["value"]).normalize()
        assert row["budget_currency"] == v["budget"][0]["currency"]
        for ext in ("hours", "rate", "cost"):
            assert as_decimal(row[ext]) == Decimal(v[ext][0]["value"]).normalize()
        assert row["progress"] == v["progress"][0]["value"]
        assert row["estimate"] == v["estimate"][0]["value"]
        deadline = v["deadline"][0]
        assert as_day(row["deadline_start"]) == date.fromisoformat(deadline["start_date"])
        if "end_date" in deadline:
            ends += 1
            assert as_day(row["deadline_end"]) == date.fromisoformat(deadline["end_date"])
        else:
            assert row["deadline_end"] is None
        assert row["notes"] == (v["notes"][0]["value"] if "notes" in v else None)
        assert row["project_page"] == (
            v["project-page"][0]["embed"]["url"] if "project-page" in v else None
        )
        assert row["site"] == v["site"][0]["formatted"]
        assert row["risk"] == v["risk"][0]["value"]["text"]
    assert 0 < ends < len(page)
    # A few facts from the seed, so the comparisons above cannot all be vacuous.
    first = table[json.loads(page[1])["item_id"]]
    assert (as_decimal(first["budget"]), first["budget_currency"]) == (Decimal("8274.25"), "DKK")
    assert first["status"] == "Active" and first["client_title"] == "Globex Atlas 2"


def test_typed_columns_of_the_clients_app(store: MirrorStore, podio_data: PodioData) -> None:
    store.prepare_app(podio_data.apps[CLIENTS])
    page = podio_data.items[CLIENTS]
    store.write_page(CLIENTS, page)
    table = typed_rows(store, CLIENTS)
    for raw in page:
        item, v = values_of(raw)
        row = table[item["item_id"]]
        assert row["email"] == v["email"][0]["value"]
        assert row["phone"] == v["phone"][0]["value"]
        assert row["tier"] == v["tier"][0]["value"]["text"]
        assert row["industry"] == "; ".join(e["value"]["text"] for e in v["industry"])
        assert row["account_manager_name"] == v["account-manager"][0]["value"]["name"]
        assert row["website"] == v["website"][0]["embed"]["url"]
        assert row["logo"].startswith(v["logo"][0]["value"]["name"])
    fifth = table[json.loads(page[4])["item_id"]]
    assert fifth["industry"] == "Retail; Health"  # a multi-valued category


def app_with(fields: list[dict[str, Any]], app_id: int = 7001) -> dict[str, Any]:
    return {"app_id": app_id, "fields": fields}


def field(fid: int, ext: str, kind: str, **settings: Any) -> dict[str, Any]:
    return {
        "field_id": fid, "external_id": ext, "type": kind, "status": "active",
        "config": {"label": ext, "settings": settings or None},
    }  # fmt: skip


def item_json(item_id: int, revision: int, values: dict[int, list[Any]]) -> bytes:
    return json.dumps({
        "item_id": item_id, "app_item_id": item_id % 1000, "title": f"Item {item_id}",
        "revision": revision, "created_on": "2024-05-01 08:00:00",
        "last_event_on": "2024-05-02 09:30:00",
        "fields": [{"field_id": k, "type": "x", "values": v} for k, v in values.items()],
    }).encode()  # fmt: skip


def test_typed_columns_beyond_the_emulators_apps(store: MirrorStore) -> None:
    """Date-times (in UTC), multiple references, a question sent as its option id, a field
    type without a typed reading, an empty field, external_ids that clash or need cleaning."""
    app = app_with([
        field(1, "when", "date", time="enabled", end="enabled"),
        field(2, "links", "app", multiple=True),
        field(3, "rating", "question", options=[{"id": 5, "text": "Great"}]),
        field(4, "fax", "tel"),
        field(5, "item-id", "number"),           # clashes with the fixed item_id column
        field(6, "Größe (cm)", "number"),
        field(7, "money", "money"),
        field(8, "money-currency", "text"),      # clashes with money's currency column
        field(9, "late", "calculation", return_type="date"),
        field(10, "empty", "text"),
        field(11, "2nd", "duration"),
    ])  # fmt: skip
    assert store.prepare_app(app)
    when = {"start": "2024-06-01 10:00:00", "start_date": "2024-06-01", "start_time": "10:00:00",
            "start_utc": "2024-06-01 08:00:00", "start_time_utc": "08:00:00",
            "end_date": "2024-06-03", "end_time": None}  # fmt: skip
    refs = [{"value": {"item_id": 11, "title": "A"}}, {"value": {"item_id": 12, "title": "B"}}]
    raw = item_json(7_000_001, 1, {
        1: [when], 2: refs, 3: [{"value": 5}], 4: [{"value": "+45 1", "uri": "tel:+451"}],
        5: [{"value": "3.5000"}], 6: [{"value": "172.0000"}], 7: [{"value": "9.9900", "currency": "USD"}],
        8: [{"value": "note"}], 9: [{"start": "2024-01-01"}], 10: [], 11: [{"value": 90}],
    })  # fmt: skip
    store.write_page(7001, [raw])
    assert columns(store, 7001)[5:] == [
        "when_start", "when_end", "links", "links_title", "rating", "fax", "item_id_2",
        "grosse_cm", "money", "money_currency", "money_currency_2", "late", "empty", "f_2nd",
    ]  # fmt: skip
    (row,) = typed_rows(store, 7001).values()
    start = row["when_start"]
    start = start if isinstance(start, datetime) else datetime.fromisoformat(start)
    assert start == datetime(2024, 6, 1, 8, 0, 0)  # the UTC time, not the user's local one
    end = row["when_end"]
    assert str(end).startswith("2024-06-03 00:00:00")  # a day without a time: midnight
    assert (row["links"], row["links_title"]) == ("11; 12", "A; B")
    assert row["rating"] == "Great"
    assert json.loads(row["fax"]) == [{"value": "+45 1", "uri": "tel:+451"}]
    assert as_decimal(row["item_id_2"]) == Decimal("3.5") and row["item_id"] == 7_000_001
    assert as_decimal(row["grosse_cm"]) == Decimal("172")
    assert (as_decimal(row["money"]), row["money_currency"]) == (Decimal("9.99"), "USD")
    assert row["money_currency_2"] == "note"
    assert json.loads(row["late"]) == [{"start": "2024-01-01"}]
    assert row["empty"] is None and row["f_2nd"] == 90


def test_identifiers_are_safe_and_unique() -> None:
    assert identifier("Due date") == "due_date"
    assert identifier("ÆØÅ--x") == "aeoa_x"
    assert identifier("") == "f"
    assert identifier("x" * 80) == "x" * 48
    specs = field_specs(app_with([field(1, "a-b", "text"), field(2, "a_b", "text")]))
    assert [c.name for p in plan_columns(specs) for c in p.columns] == ["a_b", "a_b_2"]
    # Deleted fields have no column.
    deleted = {**field(3, "gone", "text"), "status": "deleted"}
    assert [s["field_id"] for s in field_specs(app_with([deleted, field(4, "x", "text")]))] == [4]


def changed(app: dict[str, Any], edit: Any) -> dict[str, Any]:
    new = copy.deepcopy(app)
    edit(new["fields"])
    return new


def test_rebuilt_when_the_field_set_changes(store: MirrorStore, podio_data: PodioData) -> None:
    app = podio_data.apps[PROJECTS]
    page = podio_data.items[PROJECTS]
    store.prepare_app(app)
    store.write_page(PROJECTS, page)
    before = typed_rows(store, PROJECTS)
    key = store.state(PROJECTS).fields_key  # type: ignore[union-attr]
    assert not store.prepare_app(copy.deepcopy(app))  # same fields: kept as is

    # A field added (no item has values for it yet): a new, empty column.
    added = changed(app, lambda fs: fs.append(field(49999, "margin", "number")))
    assert store.prepare_app(added)
    assert "margin" in columns(store, PROJECTS)
    after = typed_rows(store, PROJECTS)
    assert all(r["margin"] is None for r in after.values())
    assert {k: {c: r[c] for c in before[k]} for k, r in after.items()} == before
    assert store.state(PROJECTS).fields_key != key  # type: ignore[union-attr]

    # A field removed: its column goes, the rest is refilled from items.raw.
    removed = changed(app, lambda fs: fs.remove(next(f for f in fs if f["external_id"] == "risk")))
    assert store.prepare_app(removed)
    assert "risk" not in columns(store, PROJECTS) and "margin" not in columns(store, PROJECTS)
    assert typed_rows(store, PROJECTS)[min(before)]["budget"] == before[min(before)]["budget"]

    # An external_id renamed: the same field's values under the new column name.
    def rename(fs: list[dict[str, Any]]) -> None:
        next(f for f in fs if f["external_id"] == "budget")["external_id"] = "total-budget"

    assert store.prepare_app(changed(app, rename))
    cols = columns(store, PROJECTS)
    assert "budget" not in cols and {"total_budget", "total_budget_currency"} <= set(cols)
    now = typed_rows(store, PROJECTS)
    for item_id, row in before.items():
        assert now[item_id]["total_budget"] == row["budget"]
        assert now[item_id]["total_budget_currency"] == row["budget_currency"]
    assert store.count(PROJECTS) == len(page)


def test_a_failed_rebuild_leaves_the_old_table(store: MirrorStore, podio_data: PodioData) -> None:
    app = podio_data.apps[PROJECTS]
    store.prepare_app(app)
    store.write_page(PROJECTS, podio_data.items[PROJECTS])
    before = typed_rows(store, PROJECTS)
    key = store.state(PROJECTS).fields_key  # type: ignore[union-attr]

    def fail_refill(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith(f"INSERT INTO podio_app_{PROJECTS}"):
            raise RuntimeError("killed mid-rebuild")

    event.listen(store._engine, "before_cursor_execute", fail_refill)
    try:
        with pytest.raises(RuntimeError, match="killed mid-rebuild"):
            store.prepare_app(changed(app, lambda fs: fs.pop()))
    finally:
        event.remove(store._engine, "before_cursor_execute", fail_refill)
    assert typed_rows(store, PROJECTS) == before  # the DROP and CREATE rolled back too
    assert store.state(PROJECTS).fields_key == key  # type: ignore[union-attr]
    # And the store still writes with the old mapping.
    store.write_page(PROJECTS, podio_data.items[PROJECTS][:1])
