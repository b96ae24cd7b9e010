"""A large body (a page of items) validated by `parse_as` leaves the young GC generation
empty: what it built is in the oldest generation at once, so the collector does not walk a
page of models again and again while the caller reads it. Never when the application
freezes objects itself or has the GC off."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator

import httpx
import pytest

from podiokit._resource import _LARGE_BODY, parse_as
from podiokit.models import ItemFilterResult


@pytest.fixture
def gc_state() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    gc.unfreeze()
    (gc.enable if was_enabled else gc.disable)()


def _page(size: int) -> httpx.Response:
    """A filter page of about `size` bytes."""
    item = {"item_id": 1, "app_item_id": 1, "title": "x" * 200, "fields": [
        {"field_id": 5, "type": "text", "values": [{"value": "y" * 200}]}
    ]}  # fmt: skip
    count = max(1, size // len(json.dumps(item)))
    items = [{**item, "item_id": n, "app_item_id": n} for n in range(count)]
    body = json.dumps({"total": count, "filtered": count, "items": items}).encode()
    return httpx.Response(200, content=body)


def _in_oldest(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects(generation=2))


@pytest.mark.usefixtures("gc_state")
def test_a_large_page_goes_to_the_oldest_generation() -> None:
    gc.enable()
    response = _page(2 * _LARGE_BODY)
    assert len(response.content) >= _LARGE_BODY
    page = parse_as(response, ItemFilterResult)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert page.items and _in_oldest(page.items[0])
    assert gc.get_count()[0] < 100  # nothing of the page left for the young collections


@pytest.mark.usefixtures("gc_state")
def test_a_small_body_is_left_to_the_collector() -> None:
    gc.enable()
    gc.collect()
    page = parse_as(_page(20_000), ItemFilterResult)
    assert page.items and not _in_oldest(page.items[0])


@pytest.mark.usefixtures("gc_state")
def test_objects_the_application_froze_stay_frozen() -> None:
    gc.enable()
    gc.freeze()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    page = parse_as(_page(2 * _LARGE_BODY), ItemFilterResult)
    assert gc.get_freeze_count() == frozen and page.items


@pytest.mark.usefixtures("gc_state")
def test_the_gc_off_stays_off() -> None:
    gc.disable()
    parse_as(_page(2 * _LARGE_BODY), ItemFilterResult)
    assert not gc.isenabled() and gc.get_freeze_count() == 0
