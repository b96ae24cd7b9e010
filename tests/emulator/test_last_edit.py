"""What an incremental copy relies on (§4.1): `last_edit_on` moves on every edit and only on
edits, `last_edit_on` ranges (day granularity, dates and relative dates) and sorting, the
item count, and `app_item_id` ranges for listing ids."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from .conftest import PROJECTS

pytestmark = pytest.mark.anyio


async def _filter(http: httpx.AsyncClient, body: dict[str, Any]) -> Any:
    response = await http.post(f"/item/app/{PROJECTS}/filter/", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def _edited_first(http: httpx.AsyncClient, limit: int = 3) -> list[dict[str, Any]]:
    page = await _filter(http, {"sort_by": "last_edit_on", "sort_desc": True, "limit": limit})
    items: list[dict[str, Any]] = page["items"]
    return items


def _day(delta: int = 0) -> str:
    today = datetime.now(timezone.utc).date()
    return (today + timedelta(days=delta)).isoformat()


async def test_last_edit_on_moves_on_every_update_and_only_on_edits(
    user_http: httpx.AsyncClient,
) -> None:
    page = await _filter(user_http, {"sort_by": "app_item_id", "sort_desc": False, "limit": 2})
    first, second = (i["item_id"] for i in page["items"])
    # Seeded items were last edited in 2023: none is edited today.
    assert (await _filter(user_http, {"filters": {"last_edit_on": {"from": _day()}}}))[
        "filtered"
    ] == 0

    assert (await user_http.put(f"/item/{first}", json={"fields": {"title": "a"}})).is_success
    assert (await user_http.put(f"/item/{second}", json={"fields": {"title": "b"}})).is_success
    top = await _edited_first(user_http)
    assert [i["item_id"] for i in top[:2]] == [second, first]
    # The latest revision's time is the item's last edit.
    assert top[0]["current_revision"]["created_on"][:10] == _day()
    edited = await _filter(user_http, {"filters": {"last_edit_on": {"from": _day()}}})
    assert {i["item_id"] for i in edited["items"]} == {first, second}

    # Editing the first again moves it back to the top.
    assert (await user_http.put(f"/item/{first}", json={"fields": {"title": "c"}})).is_success
    assert [i["item_id"] for i in (await _edited_first(user_http))[:2]] == [first, second]

    # A comment is activity, not an edit; an update that changes nothing is not an edit either.
    comment = await user_http.post(f"/comment/item/{second}/", json={"value": "hello"})
    assert comment.is_success, comment.text
    same = await user_http.put(f"/item/{first}", json={"fields": {"title": "c"}})
    assert same.is_success
    top = await _edited_first(user_http)
    assert [i["item_id"] for i in top[:2]] == [first, second]
    # ...while the comment did move the commented item's last activity.
    activity = await _filter(user_http, {"sort_by": "activity", "limit": 1})
    assert activity["items"][0]["item_id"] == second
    assert (await _filter(user_http, {"filters": {"last_edit_on": {"from": _day()}}}))[
        "filtered"
    ] == 2


async def test_a_created_item_counts_as_edited_when_created(user_http: httpx.AsyncClient) -> None:
    created = await user_http.post(f"/item/app/{PROJECTS}/", json={"fields": {"title": "new"}})
    item_id = created.json()["item_id"]
    top = await _edited_first(user_http, 1)
    assert top[0]["item_id"] == item_id
    assert top[0]["current_revision"]["created_on"] == top[0]["created_on"]


async def test_last_edit_on_ranges_by_day_and_relative_dates(user_http: httpx.AsyncClient) -> None:
    page = await _filter(user_http, {"sort_by": "app_item_id", "sort_desc": False, "limit": 1})
    item_id = page["items"][0]["item_id"]
    assert (await user_http.put(f"/item/{item_id}", json={"fields": {"title": "x"}})).is_success

    def ids(body: Any) -> set[int]:
        return {i["item_id"] for i in body["items"]}

    # `from` a day: from its start; `to` a day: to its end (day granularity).
    assert ids(await _filter(user_http, {"filters": {"last_edit_on": {"from": _day(-1)}}})) == {
        item_id
    }
    assert ids(
        await _filter(user_http, {"filters": {"last_edit_on": {"to": _day()}}, "limit": 500})
    ) >= {item_id}
    assert item_id not in ids(
        await _filter(user_http, {"filters": {"last_edit_on": {"to": _day(-1)}}, "limit": 500})
    )
    assert ids(
        await _filter(user_http, {"filters": {"last_edit_on": {"from": _day(), "to": _day()}}})
    ) == {item_id}
    assert (await _filter(user_http, {"filters": {"last_edit_on": {"from": _day(1)}}}))[
        "filtered"
    ] == 0
    # Relative dates (offset + d/w/m/y, "r" rounds to the whole unit).
    assert ids(await _filter(user_http, {"filters": {"last_edit_on": {"from": "-1d"}}})) == {
        item_id
    }
    assert ids(await _filter(user_http, {"filters": {"last_edit_on": {"from": "0dr"}}})) == {
        item_id
    }
    # The list form of filters (podio-java) works the same.
    listed = await _filter(
        user_http, {"filters": [{"key": "last_edit_on", "values": {"from": _day()}}]}
    )
    assert ids(listed) == {item_id}


async def test_last_edit_on_with_a_bad_date_is_a_clear_400(user_http: httpx.AsyncClient) -> None:
    response = await user_http.post(
        f"/item/app/{PROJECTS}/filter/", json={"filters": {"last_edit_on": {"from": "yesterday"}}}
    )
    assert response.status_code == 400
    assert "yesterday" in response.json()["error_description"]


async def test_item_count_follows_creations_and_deletions(user_http: httpx.AsyncClient) -> None:
    async def count() -> int:
        response = await user_http.get(f"/item/app/{PROJECTS}/count")
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"count"}
        return int(body["count"])

    before = await count()
    assert before == (await _filter(user_http, {"limit": 1}))["total"]
    created = await user_http.post(f"/item/app/{PROJECTS}/", json={"fields": {"title": "n"}})
    assert await count() == before + 1
    assert (await user_http.delete(f"/item/{created.json()['item_id']}")).status_code == 204
    page = await _filter(user_http, {"limit": 1})
    assert (await user_http.delete(f"/item/{page['items'][0]['item_id']}")).status_code == 204
    assert await count() == before - 1


async def test_app_item_id_ranges_list_every_id_once(user_http: httpx.AsyncClient) -> None:
    """The id listing the mirror uses to find deletions: `app_item_id` ranges, ascending."""
    seen: list[int] = []
    lo = 1
    while True:
        body = {
            "sort_by": "app_item_id",
            "sort_desc": False,
            "filters": {"app_item_id": {"from": lo, "to": 2**31 - 1}},
            "limit": 7,
        }
        page = await _filter(user_http, body)
        seen.extend(i["item_id"] for i in page["items"])
        if len(page["items"]) < 7:
            break
        lo = page["items"][-1]["app_item_id"] + 1
    total = (await user_http.get(f"/item/app/{PROJECTS}/count")).json()["count"]
    assert len(seen) == len(set(seen)) == total


def test_the_clock_is_not_frozen() -> None:
    # The tests above compare "today" on both sides; they need a real clock.
    assert time.time() > 1_700_000_000
