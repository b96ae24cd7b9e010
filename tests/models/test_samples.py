"""Every sample body Podio sent parses through its model and dumps back unchanged."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from podiokit import models as m

# Real API bodies, copied from shared/podio-api/samples into the repo so CI never skips them.
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"

# sample file -> the type that parses it (the model a resource returns, or a list of it)
SAMPLE_TYPES: dict[str, Any] = {
    "apps__app_in_item__1.json": m.AppMini,
    "apps__get_app__2.json": m.App,
    "apps__get_app_field_app__1.json": m.AppField,
    "apps__get_app_field_calculation__1.json": m.AppField,
    "apps__get_app_field_category__1.json": m.AppField,
    "apps__get_app_field_contact__1.json": m.AppField,
    "apps__get_app_field_date__1.json": m.AppField,
    "apps__get_app_field_duration__1.json": m.AppField,
    "apps__get_app_field_embed__1.json": m.AppField,
    "apps__get_app_field_image__1.json": m.AppField,
    "apps__get_app_field_location__1.json": m.AppField,
    "apps__get_app_field_money__1.json": m.AppField,
    "apps__get_app_field_number__1.json": m.AppField,
    "apps__get_app_field_progress__1.json": m.AppField,
    "apps__get_app_field_question__1.json": m.AppField,
    "apps__get_app_field_text__1.json": m.AppField,
    "comments__get_comments_on_object__1.json": list[m.Comment],
    "contacts__profile_value__1.json": m.Profile,
    "embeds__embed_value__1.json": m.EmbedValue,
    "errors__400_invalid_value__1.json": m.ErrorEnvelope,
    "errors__401_expired_token__1.json": m.ErrorEnvelope,
    "errors__not_found__1.json": m.ErrorEnvelope,
    "files__get_files__1.json": list[m.File],
    "items__app_reference_value__1.json": m.AppValue,
    "items__filter_items__1.json": m.ItemFilterResult,
    "items__get_item__1.json": m.Item,
    "items__get_item__2.json": m.Item,
    "items__get_item__3.json": m.Item,
    "items__get_item__4.json": m.Item,
    "items__get_item__5.json": m.Item,
    "items__get_item_basic__1.json": m.Item,
    "items__get_item_references__1.json": list[m.ItemReference],
    "items__get_item_revisions__1.json": list[m.ItemRevision],
    "oauth__token__1.json": m.OAuthTokenResponse,
    "oauth__token__2.json": m.OAuthTokenResponse,
    "oauth__token__4.json": m.OAuthTokenResponse,
    "orgs__get_orgs__2.json": list[m.Organization],
    "orgs__get_orgs__3.json": list[m.Organization],
    "spaces__get_space__1.json": m.Space,
    "tasks__get_task__1.json": m.Task,
    "tasks__get_tasks__1.json": list[m.Task],
}


def _sample_files() -> list[str]:
    return sorted(p.name for p in SAMPLES.glob("*.json"))


def test_every_sample_has_a_model() -> None:
    assert set(_sample_files()) == set(SAMPLE_TYPES)


@pytest.mark.parametrize("name", _sample_files())
def test_sample_round_trips(name: str) -> None:
    raw = (SAMPLES / name).read_bytes()
    adapter: TypeAdapter[Any] = TypeAdapter(SAMPLE_TYPES[name])
    parsed = adapter.validate_json(raw)
    dumped = adapter.dump_python(parsed, mode="json", by_alias=True, exclude_unset=True)
    assert dumped == json.loads(raw)
    # Byte-level check of the scalars too: 1 == 1.0 == True in Python, not on the wire.
    assert json.dumps(dumped, sort_keys=True) == json.dumps(json.loads(raw), sort_keys=True)


def _load(name: str, model: Any) -> Any:
    return TypeAdapter(model).validate_json((SAMPLES / name).read_bytes())


def test_item_typed_values() -> None:
    item = _load("items__get_item__2.json", m.Item)
    assert isinstance(item, m.Item)
    # The sample's "created_on": "2015-11-26 12:38:29" is UTC (Podio's *_on fields are).
    assert item.created_on == datetime(2015, 11, 26, 12, 38, 29, tzinfo=timezone.utc)
    assert item.created_on.utcoffset() == timedelta(0)
    assert item.fields is not None
    kinds = {type(f).__name__ for f in item.fields}
    assert {"AppItemField", "CalculationItemField", "MoneyItemField", "DateItemField"} <= kinds
    money = next(f for f in item.fields if isinstance(f, m.MoneyItemField))
    assert money.values and isinstance(money.values[0].value, Decimal)
    number = next(f for f in item.fields if isinstance(f, m.NumberItemField))
    assert number.values and isinstance(number.values[0].value, Decimal)
    date_field = next(f for f in item.fields if isinstance(f, m.DateItemField))
    assert date_field.values
    value = date_field.values[0]
    assert value.start_utc == datetime(2016, 6, 24, 19, 0, tzinfo=timezone.utc)
    assert value.start == datetime(2016, 6, 24, 15, 0)  # user's timezone: naive
    assert value.start_date == date(2016, 6, 24)
    assert value.start_time == time(15, 0)
    app_field = next(f for f in item.fields if isinstance(f, m.AppItemField))
    assert app_field.values and isinstance(app_field.values[0].value, m.ItemMini)


def test_item_field_lookup() -> None:
    item = _load("items__get_item__3.json", m.Item)
    progress = item.field("progress")
    assert isinstance(progress, m.ProgressItemField)
    assert progress.field_id is not None
    assert item.field(progress.field_id) is progress
    assert progress.values
    assert item.value("progress") == progress.values[0].value
    assert item.field("no-such-field") is None
    assert item.value("no-such-field") is None


def test_date_only_value_keeps_date_forms() -> None:
    item = _load("items__get_item__4.json", m.Item)
    assert item.fields is not None
    dates = [f for f in item.fields if isinstance(f, m.DateItemField)]
    values = [v for f in dates for v in f.values or ()]
    assert any(v.start_utc == date(2022, 4, 1) and v.start_time is None for v in values)


def test_unknown_keys_are_kept() -> None:
    orgs = _load("orgs__get_orgs__3.json", list[m.Organization])
    assert orgs[0].model_extra is not None and "active?" in orgs[0].model_extra


def test_unknown_field_type_falls_back() -> None:
    raw = {"field_id": 1, "type": "member", "values": [{"value": {"user_id": 5}}], "new": 1}
    item = m.Item.model_validate({"item_id": 1, "fields": [raw]})
    assert item.fields is not None
    assert isinstance(item.fields[0], m.GenericItemField)
    assert item.fields[0].type == "member"
    assert item.value(1) == {"user_id": 5}
    assert item.model_dump(mode="json", by_alias=True, exclude_unset=True) == {
        "item_id": 1,
        "fields": [raw],
    }


def test_field_type_compares_equal_to_json() -> None:
    item = _load("items__get_item__1.json", m.Item)
    assert item.fields is not None
    assert {f.type for f in item.fields} >= {"text", "money", "date", "category"}


def test_token_repr_hides_secrets() -> None:
    token = _load("oauth__token__4.json", m.OAuthTokenResponse)
    assert "f745f931984d6f13265787843f24d8fe" not in repr(token)
    assert "ceec2479234c45399517d94b6c42ac76" not in repr(token)
