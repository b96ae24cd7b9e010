"""The item field union: Podio's `type` picks the class; only unknown types fall back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from podiokit import models as m


def _validate(fields: list[dict[str, Any]], *, as_json: bool) -> m.Item:
    data = {"item_id": 1, "fields": fields}
    if as_json:
        return m.Item.model_validate_json(json.dumps(data))
    return m.Item.model_validate(data)


@pytest.mark.parametrize("as_json", [True, False])
def test_known_type_picks_its_class(as_json: bool) -> None:
    item = _validate([{"type": "text", "field_id": 2, "values": [{"value": "x"}]}], as_json=as_json)
    assert item.fields is not None
    assert type(item.fields[0]) is m.TextItemField


@pytest.mark.parametrize("as_json", [True, False])
def test_known_type_that_does_not_validate_raises(as_json: bool) -> None:
    # A text value must be a string: this must not become a GenericItemField silently.
    bad = {"type": "text", "field_id": 2, "values": [{"value": 5}]}
    with pytest.raises(ValidationError) as info:
        _validate([bad], as_json=as_json)
    locs = [err["loc"] for err in info.value.errors()]
    assert ("fields", 0, "known", "text", "values", 0, "value") in locs


@pytest.mark.parametrize("as_json", [True, False])
@pytest.mark.parametrize("raw", [{"type": "member", "values": [{"value": 1}]}, {"field_id": 3}])
def test_unknown_or_missing_type_falls_back(raw: dict[str, Any], as_json: bool) -> None:
    item = _validate([raw], as_json=as_json)
    assert item.fields is not None
    assert type(item.fields[0]) is m.GenericItemField
    assert item.model_dump(mode="json", by_alias=True, exclude_unset=True)["fields"] == [raw]


def test_model_instances_are_accepted() -> None:
    field = m.MoneyItemField(field_id=4, values=[m.MoneyValue(value="1.50", currency="EUR")])
    item = m.Item(item_id=1, fields=[field])
    assert item.fields == [field]
