"""Filter items (§4.1): sorting, paging, filters by field id/external_id, created_on ranges."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import PROJECTS

pytestmark = pytest.mark.anyio
URL = f"/item/app/{PROJECTS}/filter/"


async def page(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await http.post(URL, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def field_value(item: dict[str, Any], external_id: str) -> Any:
    for field in item["fields"]:
        if field["external_id"] == external_id:
            return field["values"][0]
    return None


async def test_defaults_are_30_items_newest_first(user_http: httpx.AsyncClient):
    result = await page(user_http)
    assert (result["total"], result["filtered"], len(result["items"])) == (60, 60, 30)
    created = [i["created_on"] for i in result["items"]]
    assert created == sorted(created, reverse=True)


async def test_paging_visits_every_item_once(user_http: httpx.AsyncClient):
    seen: list[int] = []
    for offset in range(0, 60, 25):
        result = await page(user_http, limit=25, offset=offset, sort_by="app_item_id",
                            sort_desc=False)  # fmt: skip
        seen += [i["app_item_id"] for i in result["items"]]
    assert seen == list(range(1, 61))
    assert (await page(user_http, offset=60))["items"] == []


@pytest.mark.parametrize("limit", [0, 501, "10"])
async def test_limit_must_be_1_to_500(user_http: httpx.AsyncClient, limit: Any):
    response = await user_http.post(URL, json={"limit": limit})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_value")


async def test_sort_by_a_number_field_by_external_id_or_field_id(user_http: httpx.AsyncClient):
    for key in ("hours", "41006"):
        result = await page(user_http, sort_by=key, sort_desc=False, limit=60)
        hours = [float(field_value(i, "hours")["value"]) for i in result["items"]]
        assert hours == sorted(hours)
    desc = await page(user_http, sort_by="title", sort_desc=True, limit=60)
    titles = [i["title"].lower() for i in desc["items"]]
    assert titles == sorted(titles, reverse=True)


async def test_filter_by_category_with_either_key(user_http: httpx.AsyncClient):
    by_ext = await page(user_http, filters={"status": [4]}, limit=60)
    by_id = await page(user_http, filters={"41002": [4]}, limit=60)
    assert by_ext["filtered"] == by_id["filtered"] > 0
    assert by_ext["total"] == 60
    assert by_ext["filtered"] < 60
    assert all(field_value(i, "status")["value"]["id"] == 4 for i in by_ext["items"])


async def test_filter_list_form_and_number_range(user_http: httpx.AsyncClient):
    result = await page(
        user_http, filters=[{"key": "progress", "values": {"from": 20, "to": 60}}], limit=60
    )
    assert 0 < result["filtered"] < 60
    assert all(20 <= field_value(i, "progress")["value"] <= 60 for i in result["items"])


async def test_filter_created_on_range_is_inclusive_by_day(user_http: httpx.AsyncClient):
    everything = await page(user_http, sort_by="created_on", sort_desc=False, limit=60)
    day = everything["items"][0]["created_on"][:10]
    result = await page(user_http, filters={"created_on": {"from": day, "to": day}}, limit=60)
    assert result["filtered"] > 0
    assert {i["created_on"][:10] for i in result["items"]} == {day}


async def test_filter_by_external_id_and_combined_filters(user_http: httpx.AsyncClient):
    result = await page(user_http, filters={"external_id": "project-3"})
    assert [i["app_item_id"] for i in result["items"]] == [3]
    both = await page(user_http, filters={"status": [4], "progress": {"from": 50}}, limit=60)
    only_status = await page(user_http, filters={"status": [4]}, limit=60)
    assert both["filtered"] <= only_status["filtered"]
    assert all(field_value(i, "progress")["value"] >= 50 for i in both["items"])


async def test_unknown_filter_or_sort_key_is_400(user_http: httpx.AsyncClient):
    assert (await user_http.post(URL, json={"filters": {"nope": 1}})).status_code == 400
    assert (await user_http.post(URL, json={"sort_by": "nope"})).status_code == 400


async def test_filter_sees_writes(user_http: httpx.AsyncClient):
    before = await page(user_http, filters={"title": "zebra"})
    await user_http.post(f"/item/app/{PROJECTS}/", json={"fields": {"title": "Zebra crossing"}})
    after = await page(user_http, filters={"title": "zebra"})
    assert (before["filtered"], after["filtered"]) == (0, 1)
    assert after["total"] == 61


async def test_filter_without_a_body_is_404_like_podio(user_http: httpx.AsyncClient):
    response = await user_http.post(URL)
    assert response.status_code == 404
    assert "No body was given" in response.json()["error_description"]


def test_app_item_id_ranges_use_an_index_that_answers_like_the_full_scan() -> None:
    """Exporters read by keyset, each call a new `app_item_id` range: the emulator answers
    those from an index, and it must answer exactly as the general path does, in both
    filter forms, both directions, open ends, and after the app changes."""
    import random

    from podiokit.testing import Emulator
    from podiokit.testing._filter import FilterCache, _compute
    from podiokit.testing._items import create_item, delete_item

    emu = Emulator(items=300)
    world = emu._core.world
    app = world.apps[PROJECTS]
    by = world.users[world.demo_user_id].byline()
    rng = random.Random(5)
    cache = FilterCache()
    for round_ in range(30):
        if round_ % 5 == 4:  # the app changes: the index must follow
            for item_id in rng.sample(app.item_ids, 7):
                delete_item(world, world.items[item_id])
            create_item(world, app, {"fields": {"title": "new"}}, by)
        low = rng.choice([None, rng.randint(-5, 320)])
        high = rng.choice([None, rng.randint(-5, 320), "250.5"])
        spec = {"from": low, "to": high} if low is not None else {"to": high}
        for filters in ({"app_item_id": spec}, [{"key": "app_item_id", "values": spec}]):
            for desc in (False, True, "false"):
                body = {"sort_by": "app_item_id", "sort_desc": desc, "filters": filters}
                assert cache.matches(world, app, body) == _compute(world, app, body), body
    # The general path's checks hold on the index path too.
    with pytest.raises(Exception, match="from and/or to"):
        cache.matches(world, app, {"sort_by": "app_item_id", "filters": {"app_item_id": {}}})
