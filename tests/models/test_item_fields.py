"""Item fields: one class per Podio type across every sample, and write forms on the wire."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from podiokit import models as m
from podiokit.fields import DateRange, FieldValueError, Money, Phone, Progress, Ref
from podiokit.resources.items import ItemsResource

from .test_samples import SAMPLES

CLASSES: dict[str, type[Any]] = {
    "text": m.TextItemField,
    "number": m.NumberItemField,
    "money": m.MoneyItemField,
    "calculation": m.CalculationItemField,
    "progress": m.ProgressItemField,
    "duration": m.DurationItemField,
    "category": m.CategoryItemField,
    "question": m.QuestionItemField,
    "date": m.DateItemField,
    "app": m.AppItemField,
    "contact": m.ContactItemField,
    "embed": m.EmbedItemField,
    "image": m.ImageItemField,
    "location": m.LocationItemField,
    "phone": m.PhoneItemField,
    "email": m.EmailItemField,
}

ITEM_SAMPLES = sorted(
    p.name for p in SAMPLES.glob("items__get_item_*.json") if "references" not in p.name
)
ITEM_SAMPLES = [n for n in ITEM_SAMPLES if "revisions" not in n]


def _items(name: str) -> list[m.Item]:
    raw = (SAMPLES / name).read_bytes()
    return [m.Item.model_validate_json(raw)]


def _all_fields() -> list[Any]:
    fields: list[Any] = []
    for name in ITEM_SAMPLES:
        for item in _items(name):
            fields.extend(item.fields or ())
    filtered = m.ItemFilterResult.model_validate_json(
        (SAMPLES / "items__filter_items__1.json").read_bytes()
    )
    for item in filtered.items or ():
        fields.extend(item.fields or ())
    return fields


def test_every_sample_field_gets_its_class() -> None:
    seen: set[str] = set()
    for field in _all_fields():
        assert type(field) is CLASSES[field.type], field.type
        seen.add(field.type)
    assert seen == set(CLASSES)  # the samples show every modelled type but tel


def test_value_types() -> None:
    by_type: dict[str, list[Any]] = {}
    for field in _all_fields():
        by_type.setdefault(field.type, []).extend(field.values or ())
    assert all(isinstance(v.value, str) for v in by_type["text"])
    assert all(isinstance(v.value, Decimal) for v in by_type["number"])
    assert all(isinstance(v.value, Decimal) and len(v.currency) == 3 for v in by_type["money"])
    assert all(isinstance(v.value, (Decimal, str)) for v in by_type["calculation"])
    assert any(isinstance(v.value, Decimal) for v in by_type["calculation"])
    assert any(isinstance(v.value, str) for v in by_type["calculation"])  # text result
    assert all(isinstance(v.value, int) for v in by_type["progress"] + by_type["duration"])
    assert all(isinstance(v.value, m.CategoryOption) for v in by_type["category"])
    assert all(isinstance(v.value, m.CategoryOption) for v in by_type["question"])
    assert all(isinstance(v.value, m.ItemMini) for v in by_type["app"])
    assert all(isinstance(v.value, m.Profile) for v in by_type["contact"])
    assert all(isinstance(v.embed, m.Embed) for v in by_type["embed"])
    assert all(isinstance(v.value, m.File) for v in by_type["image"])
    assert all(isinstance(v.lat, float) for v in by_type["location"] if v.lat is not None)
    assert all(v.type and v.value for v in by_type["phone"] + by_type["email"])
    for v in by_type["date"]:
        assert isinstance(v.start_date, date)
        assert v.start_utc is None or isinstance(v.start_utc, (datetime, date))  # basic view
        if isinstance(v.start_utc, datetime):
            assert v.start_utc.tzinfo is timezone.utc


def test_money_keeps_every_digit() -> None:
    money = next(f for f in _all_fields() if f.type == "money")
    raw = money.values[0].value
    dumped = money.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert dumped["values"][0]["value"] == format(raw, "f")
    assert "." in dumped["values"][0]["value"]


def test_item_value_helper() -> None:
    item = _items("items__get_item__4.json")[0]
    for field in item.fields or ():
        assert field.external_id is not None and field.values
        value = item.value(field.external_id)
        first: Any = field.values[0]
        if isinstance(field, (m.MoneyItemField, m.DateItemField, m.EmbedItemField)):
            assert value is first
        elif isinstance(field, (m.TextItemField, m.NumberItemField, m.CategoryItemField)):
            assert value == first.value


class _Recorder:
    """The smallest `Requester`: records the JSON body and answers a create."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.bodies.append(kwargs.get("json"))
        request = httpx.Request(method, "https://api.podio.com" + path)
        return httpx.Response(200, json={"item_id": 42, "title": "Hi"}, request=request)


@pytest.mark.anyio
async def test_items_create_sends_write_forms() -> None:
    requester = _Recorder()
    result = await ItemsResource(requester).create(
        101,
        fields={
            "title": "Hi",
            "price": Money(Decimal("456.00"), "EUR"),
            "when": DateRange(date(2012, 12, 24), date(2012, 12, 26)),
            "at": datetime(2016, 6, 24, 19, 0, tzinfo=timezone.utc),
            "status": Ref(4),
            "related": [456, 789],
            "phone": Phone("+4512345678", "mobile"),
            142837427: Progress(75),
            "old": None,
        },
    )
    assert result.item_id == 42
    assert json.loads(json.dumps(requester.bodies[-1])) == {
        "fields": {
            "title": "Hi",
            "price": {"value": "456.00", "currency": "EUR"},
            "when": {"start_date": "2012-12-24", "end_date": "2012-12-26"},
            "at": {"start_utc": "2016-06-24 19:00:00"},
            "status": [4],
            "related": [456, 789],
            "phone": [{"type": "mobile", "value": "+4512345678"}],
            "142837427": 75,
            "old": [],
        }
    }


@pytest.mark.anyio
async def test_items_create_rejects_before_sending() -> None:
    requester = _Recorder()
    with pytest.raises(FieldValueError, match=r"'price'.*ISO 4217"):
        await ItemsResource(requester).create(101, fields={"price": Money(1, "EURO")})
    assert requester.bodies == []


@pytest.mark.anyio
async def test_items_create_sends_podio_forms_unchanged() -> None:
    requester = _Recorder()
    fields = {
        "amount": {"value": "10", "currency": "EUR"},
        "when": {"start_date": "2012-12-24", "start_time": "09:00:00"},
        "at": {"start_utc": "2016-06-24 19:00:00"},
        "phone": [{"type": "mobile", "value": "+4512345678"}],
        "link": [{"embed": 55017316, "file": None}, {"url": "https://podio.com/"}],
        "where": {"value": "Paris", "lat": 48.85, "lng": 2.29},
        "client": [{"value": 456}, {"value": 789}],
        "status": 4,
    }
    await ItemsResource(requester).create(101, fields=fields)
    assert requester.bodies[-1] == {"fields": fields}


@pytest.mark.anyio
async def test_items_create_rejects_an_unknown_dict_before_sending() -> None:
    requester = _Recorder()
    with pytest.raises(
        FieldValueError, match=r"'amount'.*write forms.*\{\"value\", \"currency\"\}"
    ):
        await ItemsResource(requester).create(101, fields={"amount": {"value": "10", "cur": "EUR"}})
    assert requester.bodies == []


def test_samples_dir_exists() -> None:
    assert Path(SAMPLES).is_dir()
