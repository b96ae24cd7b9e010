"""Typed rows built from each item's pruned field values (mirror/_rows.py) are the rows the
converters give from the whole item: on the emulator's items, on Podio's own samples, and on
values of shapes Podio has not been seen sending."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from podiokit.mirror._columns import (
    FieldColumns,
    field_specs,
    plan_columns,
    to_datetime,
)
from podiokit.mirror._rows import _KEEP, _TRIAL, RowBuilder, decode_item

from .conftest import PodioData

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"


def reference(plans: list[FieldColumns], item: dict[str, Any]) -> list[Any]:
    """The typed row as the converters make it from the whole item (json.loads)."""
    row: list[Any] = [
        item["item_id"], item.get("app_item_id"), item.get("revision") or 0,
        to_datetime(item.get("created_on")), to_datetime(item.get("last_event_on")),
    ]  # fmt: skip
    by_id = {f["field_id"]: f.get("values") for f in item.get("fields") or ()}
    for plan in plans:
        values = by_id.get(plan.field_id)
        row.extend(plan.convert(values) if values else (None,) * len(plan.columns))
    return row


def built(
    plans: list[FieldColumns], item: dict[str, Any], builder: RowBuilder | None = None
) -> list[Any]:
    decoded = decode_item(json.dumps(item))
    builder = builder or RowBuilder(plans)
    return builder.row(decoded, to_datetime(decoded.created_on), to_datetime(decoded.last_event_on))


def exact(row: list[Any]) -> list[tuple[str, str]]:
    """Values compared with their type and text: Decimal("1.0") == Decimal("1.00"), but a
    database would store them differently."""
    return [(type(v).__name__, str(v)) for v in row]


def test_the_emulators_items(podio_data: PodioData) -> None:
    for app_id, page in podio_data.items.items():
        plans = plan_columns(field_specs(podio_data.apps[app_id]))
        builder = RowBuilder(plans)  # one builder: its remembered values are used too
        for raw in page * 2:
            item = json.loads(raw)
            assert exact(built(plans, item, builder)) == exact(reference(plans, item))


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("items__get_item__*.json")))
def test_podios_samples(name: str) -> None:
    item = json.loads((SAMPLES / name).read_text())
    plans = plan_columns(field_specs({"fields": item.get("fields") or []}))
    assert plans, name
    assert exact(built(plans, item)) == exact(reference(plans, item))


ODD_VALUES: list[Any] = [
    [],
    [{"value": None}],
    [{"value": 5}],
    [{"value": 2.5}],
    [{"value": True}],
    [{"value": "7.5000"}],
    [{"value": "text"}, {"value": "more"}],
    [{"value": {"text": 3, "id": 9, "extra": [1, {"a": 2}]}}],
    [{"value": {"item_id": 12, "title": "Acme", "app": {"app_id": 3}}}],
    [{"value": {"profile_id": 5, "name": "Dana", "avatar": 1}}, {"value": {"profile_id": 6}}],
    [{"value": {"name": "x.jpg", "link": "https://files", "size": 10}}],
    [{"value": [1, {"a": 2}]}],
    [{"value": {"no": "known keys"}}],
    ["scalar", 5, None, [1, 2]],
    [{"embed": {"url": "https://e", "title": "t"}, "file": None}],
    [{"embed": "not an object"}],
    [{"embed": {"url": None}}],
    [{"formatted": "Paris", "value": "5 Av.", "lat": 1.5}],
    [{"value": "+45 1234", "type": "mobile"}],
    [{"value": 1, "currency": "EUR"}],
    [
        {
            "start": "2024-01-02 03:04:05",
            "start_date": "2024-01-02",
            "start_time": "03:04:05",
            "start_utc": "2024-01-02 02:04:05",
            "start_time_utc": "02:04:05",
            "end": None,
        }
    ],
    [{"start_date": "2024-01-02", "start_time": None, "end_date": "2024-01-05"}],
]
TYPES = ["text", "number", "money", "progress", "duration", "date", "app", "contact", "email",
         "phone", "category", "question", "location", "embed", "image", "calculation", "tel",
         "video", "member"]  # fmt: skip


def odd_app() -> dict[str, Any]:
    fields = []
    for n, kind in enumerate(TYPES):
        config: dict[str, Any] = {"settings": {}}
        if kind == "question":
            config["settings"]["options"] = [{"id": 1, "text": "Yes"}, {"id": 2, "text": "No"}]
        if kind == "calculation":
            config["settings"]["return_type"] = "number" if n % 2 else "date"
        if kind == "app":
            config["settings"]["multiple"] = False
        fields.append({"field_id": 100 + n, "external_id": kind, "type": kind, "config": config})
    return {"app_id": 1, "fields": fields}


@pytest.mark.parametrize("values", ODD_VALUES, ids=[str(n) for n in range(len(ODD_VALUES))])
def test_values_of_any_shape_give_what_the_whole_item_gives(values: Any) -> None:
    plans = plan_columns(field_specs(odd_app()))
    for plan in plans:
        item = {
            "item_id": 1,
            "revision": 2,
            "fields": [{"field_id": plan.field_id, "values": values}],
        }
        try:
            expected = exact(reference(plans, item))
        except Exception as exc:  # noqa: BLE001 - a converter that fails fails alike
            with pytest.raises(type(exc)):
                built(plans, item)
            continue
        assert exact(built(plans, item)) == expected, (plan.type, values)


def test_a_field_sent_twice_the_last_counts() -> None:
    plans = plan_columns(field_specs(odd_app()))
    number = next(p for p in plans if p.type == "number")
    for first, last in (([{"value": "1"}], [{"value": "2"}]), ([{"value": "1"}], [])):
        item = {"item_id": 1, "fields": [
            {"field_id": number.field_id, "values": first},
            {"field_id": number.field_id, "values": last},
        ]}  # fmt: skip
        assert exact(built(plans, item)) == exact(reference(plans, item))


def test_values_that_hardly_repeat_are_not_remembered() -> None:
    plans = plan_columns(field_specs(odd_app()))
    builder = RowBuilder(plans)
    text = next(p for p in plans if p.type == "text")
    category = next(p for p in plans if p.type == "category")
    for n in range(_TRIAL + 50):
        item = {"item_id": n, "fields": [
            {"field_id": text.field_id, "values": [{"value": f"title {n}"}]},
            {"field_id": category.field_id, "values": [{"value": {"text": f"c{n % 3}"}}]},
        ]}  # fmt: skip
        assert exact(built(plans, item, builder)) == exact(reference(plans, item))
    [text_slot], [category_slot] = (
        builder._fields[text.field_id],
        builder._fields[category.field_id],
    )
    assert text_slot.cache is None  # every title distinct: not remembered
    assert category_slot.cache is not None and len(category_slot.cache) == 3


def test_remembered_values_are_bounded() -> None:
    plans = plan_columns(field_specs(odd_app()))
    builder = RowBuilder(plans)
    number = next(p for p in plans if p.type == "number")
    [slot] = builder._fields[number.field_id]
    # Repeating at first (so it is kept), then ever new values.
    numbers = [n % 10 for n in range(_TRIAL)] + list(range(10, 10 + 2 * _KEEP))
    for n, number_value in enumerate(numbers):
        value = [{"value": f"{number_value}.0000"}]
        item = {"item_id": n, "fields": [{"field_id": number.field_id, "values": value}]}
        row = built(plans, item, builder)
        assert row[slot.at] == Decimal(f"{number_value}.0000")
    assert slot.cache is not None and len(slot.cache) == _KEEP


def test_an_item_that_is_not_json_is_refused() -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_item('{"item_id": 1, "fields": [')
