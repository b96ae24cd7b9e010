"""Routes Podio has and the emulator answered 404 to (issue 15.12): the org's space list,
one item revision, and the difference between two revisions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import PROJECTS, sample

pytestmark = pytest.mark.anyio


async def test_space_org_lists_the_orgs_spaces_in_short_form(user_http: httpx.AsyncClient):
    response = await user_http.get("/space/org/100/")
    assert response.status_code == 200
    spaces = response.json()
    assert [s["space_id"] for s in spaces] == [200]
    # The short form of a space in a real org listing (samples/orgs__get_orgs__2).
    assert set(sample("orgs__get_orgs__2.json")[0]["spaces"][0]) <= set(spaces[0])
    assert "org" not in spaces[0]
    missing = await user_http.get("/space/org/999/")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


async def _edited_item(http: httpx.AsyncClient) -> dict[str, Any]:
    created = await http.post(f"/item/app/{PROJECTS}/", json={"fields": {"title": "v0",
                              "progress": 10, "hours": 2}})  # fmt: skip
    item_id = created.json()["item_id"]
    await http.put(f"/item/{item_id}", json={"fields": {"title": "v1", "progress": 20}})
    await http.put(f"/item/{item_id}", json={"fields": {"progress": 30}})
    item: dict[str, Any] = (await http.get(f"/item/{item_id}")).json()
    return item


async def test_get_revision_answers_the_revision_object(user_http: httpx.AsyncClient):
    item = await _edited_item(user_http)
    listed = (await user_http.get(f"/item/{item['item_id']}/revision/")).json()
    for rev in listed:
        one = await user_http.get(f"/item/{item['item_id']}/revision/{rev['revision']}")
        assert one.status_code == 200
        assert one.json() == rev
    assert set(sample("items__get_item_revisions__1.json")[0]) <= set(one.json())
    gone = await user_http.get(f"/item/{item['item_id']}/revision/9")
    assert gone.status_code == 404
    assert gone.json()["error"] == "not_found"


async def test_revision_difference_lists_each_changed_field(user_http: httpx.AsyncClient):
    item = await _edited_item(user_http)
    base = f"/item/{item['item_id']}/revision"
    diff = (await user_http.get(f"{base}/0/1")).json()
    by_field = {d["external_id"]: d for d in diff}
    assert set(by_field) == {"title", "progress"}  # hours did not change; cost did not either
    assert by_field["title"]["from"] == [{"value": "v0"}]
    assert by_field["title"]["to"] == [{"value": "v1"}]
    assert by_field["progress"]["from"] == [{"value": 10}]
    assert by_field["progress"]["to"] == [{"value": 20}]
    # ItemDiff's keys (podio-php PodioItemDiff, podio-rb ItemDiff, podio-dotnet ItemDiff).
    assert set(diff[0]) == {"field_id", "type", "external_id", "label", "config", "from", "to"}
    across = {d["external_id"]: d for d in (await user_http.get(f"{base}/0/2")).json()}
    assert across["progress"]["to"] == [{"value": 30}]
    assert (await user_http.get(f"{base}/0/7")).status_code == 404
