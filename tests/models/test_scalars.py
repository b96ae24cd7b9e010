"""Podio's scalar types: parsed when in Podio's form, kept verbatim otherwise (lossless)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from podiokit import models as m


def _round_trip(model: type[m.PodioModel], data: dict[str, Any]) -> m.PodioModel:
    parsed = model.model_validate(data)
    assert parsed.model_dump(mode="json", by_alias=True, exclude_unset=True) == data
    return parsed


@pytest.mark.parametrize(
    "text",
    [
        "2016-06-24T15:00:00Z",
        "2016-06-24 15:00:00.123",
        "2016-06-24",
        "yesterday",
        "2016-13-45 99:00:00",
    ],
)
def test_other_datetime_text_is_kept(text: str) -> None:
    via = _round_trip(m.Reference, {"created_on": text})
    assert via.created_on == text  # type: ignore[attr-defined]


def test_datetime_is_aware_utc() -> None:
    ref = _round_trip(m.Reference, {"created_on": "2017-03-21 23:29:07"})
    assert ref.created_on == datetime(2017, 3, 21, 23, 29, 7, tzinfo=timezone.utc)  # type: ignore[attr-defined]


def test_aware_datetime_dumps_as_utc() -> None:
    cet = timezone(timedelta(hours=1))
    ref = m.Reference(created_on=datetime(2017, 3, 22, 0, 29, 7, tzinfo=cet))
    assert ref.model_dump(mode="json", exclude_unset=True) == {"created_on": "2017-03-21 23:29:07"}


def test_python_mode_keeps_python_values() -> None:
    value = m.MoneyValue.model_validate({"value": "541.9870", "currency": "EUR"})
    assert value.model_dump() == {"value": Decimal("541.9870"), "currency": "EUR"}


@pytest.mark.parametrize("text", ["6513.5100", "0.0000", "-12.5000", "111", "-0.0000"])
def test_decimal_text_is_exact(text: str) -> None:
    value = _round_trip(m.NumberValue, {"value": text})
    assert isinstance(value.value, Decimal)  # type: ignore[attr-defined]


@pytest.mark.parametrize("raw", ["1e3", "0012.5", " 5", "NaN", "abc", 5, 2.5, None])
def test_other_number_forms_are_kept(raw: Any) -> None:
    value = _round_trip(m.NumberValue, {"value": raw})
    assert value.value == raw or raw != raw  # type: ignore[attr-defined]


def test_calculation_text_result() -> None:
    value = _round_trip(m.CalculationValue, {"value": "Hello,  John Doe"})
    assert value.value == "Hello,  John Doe"  # type: ignore[attr-defined]


def test_date_value_parts() -> None:
    data = {
        "start": "2016-06-24 15:00:00",
        "start_date": "2016-06-24",
        "start_time": "15:00:00",
        "start_utc": "2016-06-24 19:00:00",
        "end_utc": "2016-06-30",
        "end_time": None,
    }
    value = _round_trip(m.DateValue, data)
    assert isinstance(value, m.DateValue)
    assert value.start == datetime(2016, 6, 24, 15) and value.start.tzinfo is None
    assert value.start_time == time(15)
    assert value.end_utc == date(2016, 6, 30)
    assert value.end_time is None


def test_keyword_like_keys_and_unknown_keys() -> None:
    _round_trip(m.Item, {"item_id": 1, "schema": {"a": 1}, "json": "x", "copy": 2, "brand_new": []})


def test_json_schema_shows_wire_forms() -> None:
    schema = m.DateValue.model_json_schema()
    start = schema["properties"]["start"]["anyOf"][0]
    assert start["type"] == "string" and "pattern" in start
    m.Item.model_json_schema(mode="serialization")  # builds for OpenAPI users
