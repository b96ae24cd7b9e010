"""Items: create (every write form), read, update with revisions and 409, delete."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from podiokit.testing import Emulator

from .conftest import CLIENTS, PROJECTS, app_token, auth

pytestmark = pytest.mark.anyio


def values(item: dict[str, Any], external_id: str) -> list[Any]:
    for field in item["fields"]:
        if field["external_id"] == external_id:
            return list(field["values"])
    return []


async def create(http: httpx.AsyncClient, fields: Any, **extra: Any) -> dict[str, Any]:
    response = await http.post(f"/item/app/{PROJECTS}/", json={"fields": fields, **extra})
    assert response.status_code == 200, response.text
    created = response.json()
    item = (await http.get(f"/item/{created['item_id']}")).json()
    assert item["title"] == created["title"]
    return dict(item)


async def test_create_accepts_the_four_value_shapes(user_http: httpx.AsyncClient):
    item = await create(
        user_http,
        {
            "title": "Bare value",                           # v
            "status": [2],                                    # [v]
            "hours": {"value": "12.5"},                       # {sub_id: v}
            "rate": [{"value": 80}],                          # [{sub_id: v}]
            "budget": {"value": "456.00", "currency": "EUR"},
            "deadline": {"start_date": "2025-01-02", "end_date": "2025-01-05"},
            "progress": 75,
            "owner": [1001],
        },
    )  # fmt: skip
    assert item["title"] == "Bare value"
    assert values(item, "status")[0]["value"]["text"] == "Active"
    assert values(item, "hours") == [{"value": "12.5000"}]
    assert values(item, "rate") == [{"value": "80.0000"}]
    assert values(item, "budget") == [{"currency": "EUR", "value": "456.0000"}]
    assert values(item, "cost") == [{"value": "1000.0000"}]  # calculated: hours x rate
    assert values(item, "deadline")[0]["start_date"] == "2025-01-02"
    assert values(item, "deadline")[0]["end_date"] == "2025-01-05"
    assert values(item, "progress") == [{"value": 75}]
    assert values(item, "owner")[0]["value"]["user_id"] == 1001
    assert item["revision"] == 0
    assert item["current_revision"]["type"] == "creation"


async def test_create_keyed_by_field_id_and_the_list_form(user_http: httpx.AsyncClient):
    by_id = await create(user_http, {"41001": "By id", "41009": 10})
    assert (by_id["title"], values(by_id, "progress")) == ("By id", [{"value": 10}])
    listed = await create(
        user_http,
        [{"external_id": "title", "values": [{"value": "Listed"}]},
         {"field_id": 41002, "values": [{"value": 4}]}],
    )  # fmt: skip
    assert listed["title"] == "Listed"
    assert values(listed, "status")[0]["value"]["id"] == 4


async def test_only_fields_with_values_are_listed(user_http: httpx.AsyncClient):
    item = await create(user_http, {"title": "Sparse"})
    assert [f["external_id"] for f in item["fields"]] == ["title"]


@pytest.mark.parametrize(
    "fields",
    [{"status": [99]}, {"no_such_field": "x"}, {"progress": 150}, {"hours": "many"}, ["x"]],
)
async def test_invalid_values_are_400_invalid_value(user_http: httpx.AsyncClient, fields: Any):
    response = await user_http.post(f"/item/app/{PROJECTS}/", json={"fields": fields})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_value"


async def test_update_makes_revisions_and_a_stale_revision_is_409(user_http: httpx.AsyncClient):
    item = await create(user_http, {"title": "v0", "progress": 1})
    url = f"/item/{item['item_id']}"
    first = await user_http.put(url, json={"fields": {"title": "v1"}, "revision": 0})
    assert first.json() == {"revision": 1, "title": "v1"}
    second = await user_http.put(url, json={"fields": {"progress": 2}})
    assert second.json()["revision"] == 2
    stale = await user_http.put(url, json={"fields": {"title": "lost"}, "revision": 1})
    assert stale.status_code == 409
    assert stale.json()["error"] == "conflict"
    now = (await user_http.get(url)).json()
    assert (now["title"], now["revision"]) == ("v1", 2)
    assert [r["type"] for r in now["revisions"]] == ["creation", "update", "update"]
    assert now["current_revision"]["revision"] == 2
    revisions = (await user_http.get(f"{url}/revision/")).json()
    assert [r["revision"] for r in revisions] == [0, 1, 2]


async def test_an_update_that_changes_nothing_makes_no_revision(user_http: httpx.AsyncClient):
    item = await create(user_http, {"title": "same"})
    response = await user_http.put(f"/item/{item['item_id']}", json={"fields": {"title": "same"}})
    assert response.json()["revision"] == 0


async def test_empty_list_clears_a_field_and_others_stay(user_http: httpx.AsyncClient):
    item = await create(user_http, {"title": "t", "progress": 5, "hours": 3})
    await user_http.put(f"/item/{item['item_id']}", json={"fields": {"progress": []}})
    after = (await user_http.get(f"/item/{item['item_id']}")).json()
    assert values(after, "progress") == []
    assert values(after, "hours") == [{"value": "3.0000"}]


async def test_field_value_routes(user_http: httpx.AsyncClient):
    item = await create(user_http, {"title": "fv", "progress": 5})
    url = f"/item/{item['item_id']}/value"
    assert (await user_http.get(f"{url}/progress")).json() == [{"value": 5}]
    assert (await user_http.put(f"{url}/progress", json=[{"value": 6}])).json() == {"revision": 1}
    assert (await user_http.get(f"{url}/41009")).json() == [{"value": 6}]
    assert (await user_http.put(url, json={"title": "renamed"})).json() == {"revision": 2}
    listed = (await user_http.get(url)).json()
    assert {f["external_id"] for f in listed} >= {"title", "progress"}


async def test_get_by_app_item_id_and_external_id_and_count(user_http: httpx.AsyncClient):
    item = await create(user_http, {"title": "ext"}, external_id="my-ext-1")
    by_app_item = await user_http.get(f"/app/{PROJECTS}/item/{item['app_item_id']}")
    assert by_app_item.json()["item_id"] == item["item_id"]
    by_ext = await user_http.get(f"/item/app/{PROJECTS}/external_id/my-ext-1")
    assert by_ext.json()["item_id"] == item["item_id"]
    assert (await user_http.get(f"/item/app/{PROJECTS}/count")).json() == {"count": 61}


async def test_delete_then_404(user_http: httpx.AsyncClient):
    item = await create(user_http, {"title": "doomed"})
    assert (await user_http.delete(f"/item/{item['item_id']}")).status_code == 204
    gone = await user_http.get(f"/item/{item['item_id']}")
    assert (gone.status_code, gone.json()["error"]) == (404, "not_found")
    assert (await user_http.get(f"/item/app/{PROJECTS}/count")).json() == {"count": 60}


async def test_app_token_reaches_only_its_own_app(http: httpx.AsyncClient, emu: Emulator):
    token = await app_token(http, emu, index=0)  # Projects
    mine = await http.post(f"/item/app/{PROJECTS}/filter/", json={}, headers=auth(token))
    assert mine.status_code == 200
    other = await http.post(f"/item/app/{CLIENTS}/filter/", json={}, headers=auth(token))
    assert other.status_code == 403
    created = await http.post(f"/item/app/{PROJECTS}/", json={"fields": {"title": "by app"}},
                              headers=auth(token))  # fmt: skip
    item = (await http.get(f"/item/{created.json()['item_id']}", headers=auth(token))).json()
    assert item["created_by"]["type"] == "app"


async def test_comments_tasks_and_a_missing_body(user_http: httpx.AsyncClient):
    item = await create(user_http, {"title": "talk"})
    url = f"/comment/item/{item['item_id']}/"
    no_body = await user_http.post(url)
    assert no_body.status_code == 404
    assert no_body.json()["error_description"] == (
        "No matching operation could be found. No body was given."
    )
    created = await user_http.post(url, json={"value": "Hello"})
    comment_id = created.json()["comment_id"]
    assert [c["value"] for c in (await user_http.get(url)).json()] == ["Hello"]
    after = (await user_http.get(f"/item/{item['item_id']}")).json()
    assert [c["comment_id"] for c in after["comments"]] == [comment_id]
    assert (await user_http.delete(f"/comment/{comment_id}")).status_code == 204
    task = (await user_http.post(f"/task/item/{item['item_id']}/", json={"text": "Do"})).json()
    assert task["ref"]["id"] == item["item_id"]
    await user_http.post(f"/task/{task['task_id']}/complete")
    assert (await user_http.get(f"/task/{task['task_id']}")).json()["status"] == "completed"


async def test_hooks_verify_with_the_code(user_http: httpx.AsyncClient, emu: Emulator):
    response = await user_http.post(
        f"/hook/app/{PROJECTS}/", json={"url": "https://example.com/h", "type": "item.create"}
    )
    hook_id = response.json()["hook_id"]
    listed = (await user_http.get(f"/hook/app/{PROJECTS}/")).json()
    assert [(h["hook_id"], h["status"]) for h in listed] == [(hook_id, "inactive")]
    wrong = await user_http.post(f"/hook/{hook_id}/verify/validate", json={"code": "nope"})
    assert wrong.status_code == 400
    code = emu.hook_verification_code(hook_id)
    ok = await user_http.post(f"/hook/{hook_id}/verify/validate", json={"code": code})
    assert ok.status_code == 204
    assert (await user_http.get(f"/hook/app/{PROJECTS}/")).json()[0]["status"] == "active"
    assert (await user_http.delete(f"/hook/{hook_id}")).status_code == 204
    with pytest.raises(KeyError):
        emu.hook_verification_code(hook_id)


async def test_orgs_spaces_apps_users(user_http: httpx.AsyncClient):
    orgs = (await user_http.get("/org/")).json()
    space_id = orgs[0]["spaces"][0]["space_id"]
    apps = (await user_http.get(f"/app/space/{space_id}/")).json()
    assert {a["app_id"] for a in apps} == {CLIENTS, PROJECTS}
    field_types = {f["type"] for a in apps for f in a["fields"]}
    assert field_types >= {"text", "number", "money", "calculation", "progress", "duration",
                           "category", "question", "app", "contact", "date", "location",
                           "phone", "email", "image", "embed"}  # fmt: skip
    field = (await user_http.get(f"/app/{PROJECTS}/field/status")).json()
    assert field["type"] == "category"
    status = (await user_http.get("/user/status")).json()
    assert status["user"]["user_id"] == 1001
    assert status["push"]["channel"] == "/user/1001"


async def test_every_writable_field_type_round_trips(user_http: httpx.AsyncClient):
    created = await user_http.post(
        f"/item/app/{CLIENTS}/",
        json={"fields": {
            "title": "Every type",
            "email": [{"type": "home", "value": "a@b.test"}],
            "phone": "+4512345678",
            "address": {"value": "Aarhus, Denmark", "lat": 56.16, "lng": 10.2},
            "logo": [700_003],  # a seeded file: made-up ids are refused
            "website": "https://example.org/page",
            "tier": 2,
            "industry": [{"value": 1}, {"value": {"id": 3}}],
            "account-manager": {"value": {"profile_id": 2001}},
        }},
    )  # fmt: skip
    assert created.status_code == 200, created.text
    item = (await user_http.get(f"/item/{created.json()['item_id']}")).json()
    assert values(item, "email") == [{"type": "home", "value": "a@b.test"}]
    assert values(item, "phone") == [{"type": "work", "value": "+4512345678"}]
    address = values(item, "address")[0]
    assert (address["value"], address["lat"], address["map_in_sync"]) == (
        "Aarhus, Denmark",
        56.16,
        True,
    )
    assert values(item, "logo")[0]["value"]["file_id"] == 700_003
    assert values(item, "website")[0]["embed"]["url"] == "https://example.org/page"
    # question: the option object, as samples/items__get_item_basic__1.json shows
    assert [(v["value"]["id"], v["value"]["text"]) for v in values(item, "tier")] == [(2, "Silver")]
    assert [v["value"]["text"] for v in values(item, "industry")] == ["Retail", "Health"]
    assert values(item, "account-manager")[0]["value"]["user_id"] == 1001
    project = await user_http.post(
        f"/item/app/{PROJECTS}/",
        json={"fields": {"title": "Ref", "client": [item["item_id"]],
                         "deadline": {"start_utc": "2025-03-04"}, "estimate": 5400}},
    )  # fmt: skip
    linked = (await user_http.get(f"/item/{project.json()['item_id']}")).json()
    assert values(linked, "client")[0]["value"]["item_id"] == item["item_id"]
    deadline = values(linked, "deadline")[0]
    assert (deadline["start_utc"], deadline["start_time"]) == ("2025-03-04", None)  # time off
    assert values(linked, "estimate") == [{"value": 5400}]
    read_only = await user_http.post(f"/item/app/{PROJECTS}/", json={"fields": {"cost": 5}})
    assert read_only.status_code == 400
