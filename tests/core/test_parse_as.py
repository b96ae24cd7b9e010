"""parse_as: typed bodies straight from bytes, with the GC paused only while validating."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from pydantic import PlainValidator

from podiokit import models as m
from podiokit._resource import parse_as
from podiokit.errors import PodioResponseError

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "items__get_item__4.json"


def _response(content: bytes) -> httpx.Response:
    return httpx.Response(200, content=content, request=httpx.Request("GET", "https://x/item/4"))


@pytest.fixture
def gc_state() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    (gc.enable if was_enabled else gc.disable)()


def test_item_from_bytes_is_lossless() -> None:
    raw = SAMPLE.read_bytes()
    item = parse_as(_response(raw), m.Item)
    assert isinstance(item, m.Item)
    assert item.model_dump(mode="json", by_alias=True, exclude_unset=True) == json.loads(raw)


def _recording(seen: list[bool]) -> Any:
    def record(value: Any) -> Any:
        seen.append(gc.isenabled())
        return value

    return list[Annotated[Any, PlainValidator(record)]]


@pytest.mark.usefixtures("gc_state")
def test_gc_is_paused_while_validating_and_restored() -> None:
    gc.enable()
    seen: list[bool] = []
    assert parse_as(_response(b"[1, 2]"), _recording(seen)) == [1, 2]
    assert seen == [False, False]
    assert gc.isenabled()


@pytest.mark.usefixtures("gc_state")
def test_gc_restored_after_a_validation_error() -> None:
    gc.enable()
    with pytest.raises(PodioResponseError, match="not a valid Item"):
        parse_as(_response(b'{"item_id": "abc"}'), m.Item)
    assert gc.isenabled()
    with pytest.raises(PodioResponseError, match="not JSON"):
        parse_as(_response(b"<html>"), m.Item)
    assert gc.isenabled()


@pytest.mark.usefixtures("gc_state")
def test_gc_disabled_by_the_application_stays_disabled() -> None:
    gc.disable()
    seen: list[bool] = []
    parse_as(_response(b"[1]"), _recording(seen))
    assert seen == [False]
    assert not gc.isenabled()


def test_empty_body_is_none() -> None:
    assert parse_as(_response(b"  "), m.Item) is None
