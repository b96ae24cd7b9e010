"""The emulator refuses what Podio refuses (issue 16, points 2-5), answered as docs/dev/podio-behaviour.md says.

Each test sends the raw request. Where docs/dev/podio-behaviour.md gives the rule but not Podio's exact
answer (hook limits, a foreign redirect_uri), the emulator answers in Podio's error envelope
with the status and `error` its nearest documented case uses; the test pins that choice.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from podiokit.testing import Emulator

from .conftest import CLIENTS, PROJECTS, auth, client_fields, password_token

pytestmark = pytest.mark.anyio


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["error_description"]


# --- 2. Hooks (§7) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hooks.test/h", True),
        ("http://hooks.test/h", True),
        ("https://hooks.test:443/h", True),
        ("http://hooks.test:80/h", True),
        ("https://hooks.test:8080/h", False),
        ("http://hooks.test:8443/h", False),
        ("ftp://hooks.test/h", False),
    ],
)
async def test_hooks_only_on_ports_80_and_443(user_http: httpx.AsyncClient, url: str, ok: bool):
    response = await user_http.post(f"/hook/app/{PROJECTS}/", json={"url": url,
                                    "type": "item.create"})  # fmt: skip
    if ok:
        assert response.status_code == 200, response.text
        assert response.json()["hook_id"] > 0
    else:
        status, error, description = error_of(response)
        assert (status, error) == (400, "invalid_value")
        assert url in description


async def test_at_most_ten_hooks_of_one_type_per_object(user_http: httpx.AsyncClient):
    def hook(n: int, kind: str = "item.update", app_id: int = PROJECTS) -> Any:
        return user_http.post(f"/hook/app/{app_id}/", json={"url": f"https://h.test/{n}",
                               "type": kind})  # fmt: skip

    for n in range(10):
        assert (await hook(n)).status_code == 200
    status, error, description = error_of(await hook(10))
    assert (status, error) == (400, "invalid_value")
    assert "10 hooks of type item.update" in description
    assert (await hook(11, "item.delete")).status_code == 200  # another type
    assert (await hook(12, app_id=CLIENTS)).status_code == 200  # another object
    listed = (await user_http.get(f"/hook/app/{PROJECTS}/")).json()
    assert len([h for h in listed if h["type"] == "item.update"]) == 10


async def test_hooks_on_app_fields(user_http: httpx.AsyncClient):
    missing = await user_http.post("/hook/app_field/999999/", json={"url": "https://h.test/",
                                   "type": "item.create"})  # fmt: skip
    assert error_of(missing)[:2] == (404, "not_found")
    field_id = 41002  # Projects: status
    for kind in ("app.update", "app.delete", "comment.create"):
        wrong = await user_http.post(f"/hook/app_field/{field_id}/", json={
            "url": "https://h.test/", "type": kind})  # fmt: skip
        status, error, description = error_of(wrong)
        assert (status, error) == (400, "invalid_value")
        assert kind in description and "item." in description
    right = await user_http.post(f"/hook/app_field/{field_id}/", json={
        "url": "https://h.test/", "type": "item.update"})  # fmt: skip
    assert right.status_code == 200


# --- 3. OAuth (§1.2, §1.3) ----------------------------------------------------------------


async def _code(http: httpx.AsyncClient, emu: Emulator, redirect: str) -> str:
    response = await http.get("/oauth/authorize", params={
        "client_id": emu.credentials["client_id"], "redirect_uri": redirect})  # fmt: skip
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


async def test_code_grant_requires_redirect_uri(http: httpx.AsyncClient, emu: Emulator):
    code = await _code(http, emu, "https://app.test/cb")
    grant = {"grant_type": "authorization_code", "code": code, **client_fields(emu)}
    status, error, description = error_of(await http.post("/oauth/token", data=grant))
    assert (status, error) == (400, "invalid_request")
    assert "redirect_uri" in description
    ok = await http.post("/oauth/token", data={**grant, "redirect_uri": "https://app.test/cb"})
    assert ok.status_code == 200  # the refusal did not spend the code


@pytest.mark.parametrize(
    ("redirect", "ok"),
    [
        ("https://app.test/cb", True),
        ("https://deep.sub.app.test/cb?x=1", True),
        ("http://localhost:8000/cb", True),
        ("http://127.0.0.1:5000/cb", True),
        ("http://127.0.0.2/cb", True),  # all of 127/8 is loopback
        ("http://[::1]:8000/cb", True),
        ("http://evil.example/cb", False),
        ("https://app.test.evil.example/cb", False),
        ("https://localhost.evil.example/cb", False),
        ("javascript:alert(1)", False),
    ],
)
async def test_authorize_redirects_only_to_registered_domains(
    http: httpx.AsyncClient, emu: Emulator, redirect: str, ok: bool
):
    response = await http.get("/oauth/authorize", params={
        "client_id": emu.credentials["client_id"], "redirect_uri": redirect})  # fmt: skip
    if ok:
        assert response.status_code == 302
        assert response.headers["location"].startswith(redirect.split("?")[0])
    else:
        assert "location" not in response.headers
        status, error, description = error_of(response)
        assert (status, error) == (400, "invalid_request")
        assert "registered" in description


async def test_registered_domains_are_an_emulator_option():
    emu = Emulator(items=1, redirect_domains=["example.com"])
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url=emu.credentials["api_url"]) as h:
        params = {"client_id": emu.credentials["client_id"]}
        ok = await h.get(
            "/oauth/authorize", params={**params, "redirect_uri": "https://www.example.com/cb"}
        )
        assert ok.status_code == 302
        refused = await h.get(
            "/oauth/authorize", params={**params, "redirect_uri": "https://app.test/cb"}
        )
        assert refused.status_code == 400  # fmt: skip
    with pytest.raises(ValueError, match="redirect_domains"):
        Emulator(items=0, redirect_domains="example.com")


async def test_json_is_refused_at_oauth_token_and_taken_at_v2(
    http: httpx.AsyncClient, emu: Emulator
):
    c = emu.credentials
    grant = {"grant_type": "password", "username": c["username"], "password": c["password"],
             **client_fields(emu)}  # fmt: skip
    status, error, description = error_of(await http.post("/oauth/token", json=grant))
    assert (status, error) == (400, "invalid_request")
    assert "/oauth/token/v2" in description
    assert (await http.post("/oauth/token/v2", json=grant)).status_code == 200
    assert (await http.post("/oauth/token", data=grant)).status_code == 200


# --- 4. Filtering (§4.1) ------------------------------------------------------------------


async def _filter(http: httpx.AsyncClient, body: dict[str, Any], **params: str) -> Any:
    response = await http.post(f"/item/app/{PROJECTS}/filter/", json=body, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_relative_dates_filter_from_today(user_http: httpx.AsyncClient):
    # Seeded items were created in 2023; these two now.
    fresh = set()
    for title in ("fresh one", "fresh two"):
        created = await user_http.post(f"/item/app/{PROJECTS}/", json={"fields": {"title": title}})
        fresh.add(created.json()["item_id"])
    recent = await _filter(user_http, {"filters": {"created_on": {"from": "-2w"}}, "limit": 500})
    assert {i["item_id"] for i in recent["items"]} == fresh
    older = await _filter(user_http, {"filters": {"created_on": {"to": "-1yr"}}, "limit": 500})
    assert older["filtered"] == recent["total"] - 2
    # Rounded units: from the start of yesterday to the end of tomorrow holds "now".
    around = await _filter(user_http, {"filters": {"last_edit_on": {"from": "-1dr",
                           "to": "1dr"}}})  # fmt: skip
    assert around["filtered"] == 2
    bad = await user_http.post(
        f"/item/app/{PROJECTS}/filter/", json={"filters": {"created_on": {"from": "-2 weeks"}}}
    )
    assert error_of(bad)[:2] == (400, "invalid_value")  # fmt: skip


@pytest.mark.parametrize(
    "sort_by", ["created_by", "last_edit_by", "activity", "priority", "like", "fivestar"]
)
async def test_documented_sort_by_values_are_accepted(user_http: httpx.AsyncClient, sort_by: str):
    page = await _filter(user_http, {"sort_by": sort_by, "sort_desc": False, "limit": 5})
    assert len(page["items"]) == 5
    if sort_by == "priority":
        priorities = [i["priority"] for i in page["items"]]
        assert priorities == sorted(priorities)


async def test_created_via_last_edit_by_and_last_edit_via_filter(user_http: httpx.AsyncClient):
    total = (await _filter(user_http, {"limit": 1}))["total"]
    item_id = (await _filter(user_http, {"limit": 1}))["items"][0]["item_id"]
    # An app token edits one item: its last_edit_by is the app, everyone else's the user.
    c = user_http  # the demo user's client
    assert (await c.put(f"/item/{item_id}", json={"fields": {"progress": 1}})).status_code == 200
    status = (await c.get("/user/status")).json()
    user = {"type": "user", "id": status["user"]["user_id"]}
    by_user = await _filter(c, {"filters": {"last_edit_by": [user]}})
    assert by_user["filtered"] == total
    assert (await _filter(c, {"filters": {"last_edit_by": [{"type": "user", "id": 1}]}}))[
        "filtered"] == 0  # fmt: skip
    assert (await _filter(c, {"filters": {"created_via": [1]}}))["filtered"] == total
    assert (await _filter(c, {"filters": {"last_edit_via": [2]}}))["filtered"] == 0


async def test_files_only_with_fields_items_fields_files(user_http: httpx.AsyncClient):
    body = {"limit": 6, "sort_by": "app_item_id", "sort_desc": False}
    plain = await _filter(user_http, body)
    assert all("files" not in i for i in plain["items"])
    bundled = await _filter(user_http, body, fields="items.fields(files)")
    items = bundled["items"]
    assert all("files" in i for i in items)
    assert [len(i["files"]) for i in items] == [i["file_count"] for i in items]
    with_cover = [i for i in items if i["files"]]
    assert with_cover and with_cover[0]["files"][0]["mimetype"].startswith("image/")


async def test_get_listing_honours_filter_keys_in_the_query(user_http: httpx.AsyncClient):
    url = f"/item/app/{PROJECTS}/"
    ranged = (await user_http.get(url, params={"app_item_id": "2-4", "sort_by": "app_item_id",
                                               "sort_desc": "0"})).json()  # fmt: skip
    assert [i["app_item_id"] for i in ranged["items"]] == [2, 3, 4]
    active = (await user_http.get(url, params={"status": "2", "limit": "500"})).json()
    body = await _filter(user_http, {"filters": {"status": [2]}, "limit": 500})
    assert active["filtered"] == body["filtered"] > 0
    either = (await user_http.get(url, params={"status": "1;2", "limit": "1"})).json()
    both = await _filter(user_http, {"filters": {"status": [1, 2]}, "limit": 1})
    assert either["filtered"] == both["filtered"] > active["filtered"]
    dated = (await user_http.get(url, params={"created_on": "2023-11-14-2023-11-15"})).json()
    assert dated["filtered"] == (await _filter(user_http, {"filters": {"created_on": {
        "from": "2023-11-14", "to": "2023-11-15"}}}))["filtered"] > 0  # fmt: skip


@pytest.mark.parametrize(("value", "ascending"), [("false", True), ("true", False),
                                                  (False, True), ("0", True), (1, False)])  # fmt: skip
async def test_sort_desc_strings_mean_what_they_say(
    user_http: httpx.AsyncClient, value: Any, ascending: bool
):
    page = await _filter(user_http, {"sort_by": "app_item_id", "sort_desc": value, "limit": 3})
    ids = [i["app_item_id"] for i in page["items"]]
    assert ids == sorted(ids, reverse=not ascending)


# --- 5. Smaller ---------------------------------------------------------------------------


async def test_token_endpoint_errors_carry_rate_limit_headers(
    http: httpx.AsyncClient, emu: Emulator
):
    c = emu.credentials
    for response in (
        await http.post(
            "/oauth/token",
            data={"grant_type": "password", "username": "x", "password": "y", **client_fields(emu)},
        ),
        await http.post("/oauth/token", data={"grant_type": "app", "client_id": "nope"}),
        await http.post("/oauth/token", json={"grant_type": "password", **client_fields(emu)}),
        await http.post(
            "/oauth/token/v2", content=b"{not json", headers={"content-type": "application/json"}
        ),
        await http.post("/oauth/token", headers={"authorization": "Basic !!!"}),
        await http.post(
            "/oauth/token",
            data={
                "grant_type": "bogus",
                "client_id": c["client_id"],
                "client_secret": c["client_secret"],
            },
        ),
    ):
        assert response.status_code == 400, response.text
        assert response.headers["X-Rate-Limit-Limit"] == "250"
        assert int(response.headers["X-Rate-Limit-Remaining"]) <= 250


@pytest.mark.parametrize(("revision", "status"), [("1", 200), (1, 200), ("0", 409),
                                                  (" 1 ", 200), ("one", 400), (True, 400)])  # fmt: skip
async def test_revision_is_compared_as_a_number(
    user_http: httpx.AsyncClient, revision: Any, status: int
):
    item_id = (await user_http.post(f"/item/app/{PROJECTS}/", json={"fields": {
        "title": "r0"}})).json()["item_id"]  # fmt: skip
    await user_http.put(f"/item/{item_id}", json={"fields": {"title": "r1"}})
    response = await user_http.put(f"/item/{item_id}", json={"fields": {"title": "r2"},
                                   "revision": revision})  # fmt: skip
    assert response.status_code == status, response.text
    if status == 409:
        assert response.json()["error"] == "conflict"
    if status == 400:
        assert response.json()["error"] == "invalid_value"


async def test_error_descriptions_quote_json_not_python(user_http: httpx.AsyncClient):
    response = await user_http.post(f"/item/app/{PROJECTS}/", json=[{"title": "x"}])
    status, error, description = error_of(response)
    assert (status, error) == (400, "invalid_value")
    # As in podio-php#96: "Invalid value [175878, 1, 1] (array): must be object".
    assert description == 'Invalid value [{"title": "x"}] (array): must be object'
    bad_sort = await user_http.post(f"/item/app/{PROJECTS}/filter/", json={"sort_by": None,
                                    "filters": {"nope": True}})  # fmt: skip
    assert "'" not in error_of(bad_sort)[2] and '"nope"' in error_of(bad_sort)[2]


async def test_one_server_header_on_a_real_socket():
    emu = Emulator(items=1)
    async with emu.serve() as url, httpx.AsyncClient(base_url=url) as http:
        for response in (await http.get("/org/"), await http.post("/oauth/token", data={})):
            assert response.headers.get_list("server") == ["nginx"]


async def test_token_grants_and_filters_share_the_users_rate_limited_budget(
    http: httpx.AsyncClient, emu: Emulator
):
    """docs/dev/podio-behaviour.md §3: /oauth/token answered with X-Rate-Limit-Limit: 250 (podio-objc#6), the
    figure of the operations marked "rate limited", and limits are per user per API key: so
    one user's grants and filters spend one budget. Other operations have their own."""
    token = await password_token(http, emu)
    first = await http.post(f"/item/app/{PROJECTS}/filter/", json={"limit": 1},
                            headers=auth(token))  # fmt: skip
    assert first.headers["X-Rate-Limit-Limit"] == "250"
    assert first.headers["X-Rate-Limit-Remaining"] == "248"  # the grant, then this filter
    c = emu.credentials
    grant = {"grant_type": "password", "username": c["username"], "password": c["password"],
             **client_fields(emu)}  # fmt: skip
    again = await http.post("/oauth/token", data=grant)
    assert again.headers["X-Rate-Limit-Remaining"] == "247"
    general = await http.get("/user/status", headers=auth(token))
    assert general.headers["X-Rate-Limit-Limit"] == "1000"
    assert general.headers["X-Rate-Limit-Remaining"] == "999"
    assert json.loads(general.text)["user"]["mail"] == c["username"]
