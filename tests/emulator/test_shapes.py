"""The emulator's bodies have the keys real Podio bodies have (samples/ from the real API)."""

from __future__ import annotations

import glob
import json
import re
from typing import Any

import httpx
import pytest

from .conftest import CLIENTS, PROJECTS, SAMPLES, sample

pytestmark = pytest.mark.anyio

DATETIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
FOUR_DECIMALS = re.compile(r"^-?\d+\.\d{4}$")


def real_items() -> list[dict[str, Any]]:
    sample("items__get_item__1.json")  # skips when the samples are absent
    return [
        json.loads(open(f).read()) for f in sorted(glob.glob(f"{SAMPLES}/items__get_item__*.json"))
    ]


async def first_items(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    out = []
    for app_id in (CLIENTS, PROJECTS):
        page = (await http.post(f"/item/app/{app_id}/filter/", json={"limit": 4})).json()
        for short in page["items"]:
            out.append((await http.get(f"/item/{short['item_id']}")).json())
    return out


async def test_full_item_has_every_key_of_a_real_item(user_http: httpx.AsyncClient):
    item = (await first_items(user_http))[0]
    union: set[str] = set()
    for real in real_items():
        assert set(real) - set(item) == set(), "a key real items have is missing"
        union |= set(real)
    assert set(item) - union == set(), "the emulator invents keys no real item has"


async def test_filter_item_has_the_short_form_of_a_real_filter(user_http: httpx.AsyncClient):
    real = sample("items__filter_items__1.json")
    page = (await user_http.post(f"/item/app/{PROJECTS}/filter/", json={"limit": 2})).json()
    assert set(page) == set(real)
    assert set(page["items"][0]) == set(real["items"][0])
    real_field = real["items"][0]["fields"][0]
    assert set(page["items"][0]["fields"][0]) == set(real_field)
    assert set(page["items"][0]["fields"][0]["config"]) == set(real_field["config"])


async def test_field_values_have_the_real_shapes_for_every_type(user_http: httpx.AsyncClient):
    ours: dict[str, dict[str, Any]] = {}
    for item in await first_items(user_http):
        for field in item["fields"]:
            # Keep the richest example (a date with an end, say).
            best = ours.get(field["type"])
            if best is None or len(field["values"][0]) > len(best["values"][0]):
                ours[field["type"]] = field
    real_types: set[str] = set()
    for real in real_items():
        for field in real["fields"]:
            kind = field["type"]
            real_types.add(kind)
            mine = ours[kind]
            assert set(field) <= set(mine), kind
            assert set(field["config"]) <= set(mine["config"]), kind
            real_value, value = field["values"][0], mine["values"][0]
            assert set(real_value) <= set(value), kind
            for key in ("value", "embed"):
                if isinstance(real_value.get(key), dict):
                    assert set(real_value[key]) <= set(value[key]), (kind, key)
    assert real_types <= set(ours)


async def test_scalars_are_formatted_like_podio(user_http: httpx.AsyncClient):
    for item in await first_items(user_http):
        assert DATETIME.match(item["created_on"])
        assert DATETIME.match(item["current_revision"]["created_on"])
        for field in item["fields"]:
            if field["type"] in ("number", "money", "calculation"):
                assert FOUR_DECIMALS.match(field["values"][0]["value"]), field
            if field["type"] in ("progress", "duration"):
                assert isinstance(field["values"][0]["value"], int)
            if field["type"] == "date":
                assert DATETIME.match(field["values"][0]["start"])


async def test_app_space_org_task_comment_keys(user_http: httpx.AsyncClient):
    app = (await user_http.get(f"/app/{PROJECTS}")).json()
    assert set(sample("apps__get_app__2.json")) <= set(app)
    assert set(sample("apps__get_app__2.json")["config"]) <= set(app["config"])
    space = (await user_http.get(f"/space/{app['space_id']}")).json()
    assert set(sample("spaces__get_space__1.json")) <= set(space)
    orgs = (await user_http.get("/org/")).json()
    assert set(sample("orgs__get_orgs__2.json")[0]) <= set(orgs[0])
    oldest = {"sort_by": "app_item_id", "sort_desc": False, "limit": 1}
    page = (await user_http.post(f"/item/app/{PROJECTS}/filter/", json=oldest)).json()
    first_id = page["items"][0]["item_id"]
    comments = (await user_http.get(f"/comment/item/{first_id}/")).json()
    assert comments, "the seed comments the first projects"
    assert set(sample("comments__get_comments_on_object__1.json")[0]) <= set(comments[0])
    task_id = (await user_http.post("/task/", json={"text": "Call back"})).json()["task_id"]
    task = (await user_http.get(f"/task/{task_id}")).json()
    real_task = set(sample("tasks__get_task__1.json"))
    # Deletion bookkeeping and ref_* conveniences are on the real object only.
    assert real_task - set(task) <= {"deleted_on", "deleted_via", "deleted_by", "ref_title",
                                     "ref_link", "started", "completed_via"}  # fmt: skip
    revisions = (await user_http.get(f"/item/{first_id}/revision/")).json()
    assert set(sample("items__get_item_revisions__1.json")[0]) == set(revisions[0])


async def test_error_envelope_is_podios_six_keys_on_the_wire(user_http: httpx.AsyncClient):
    response = await user_http.get("/no/such/route/", params={"a": "1"})
    assert response.status_code == 404
    raw = response.text
    body = response.json()
    assert list(body) == list(sample("errors__not_found__1.json"))  # same keys, same order
    assert body["error"] == "not_found"
    assert body["error_description"].startswith("No matching operation could be found")
    assert body["request"] == {"url": "http://api.podio.com/no/such/route/",
                               "query_string": "a=1", "method": "GET"}  # fmt: skip
    assert "http:\\/\\/api.podio.com" in raw  # PHP-style escaped slashes
    assert response.headers["content-type"] == "application/json; charset=utf-8"
