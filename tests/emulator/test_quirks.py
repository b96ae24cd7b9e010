"""The emulator's quirk switches (issue 24 #8): it can behave like each alternative reading of
Podio, set by `Emulator(quirks=)`, `set_quirks()` or `/_emulator/quirks`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from podiokit.testing import Emulator

from .conftest import PROJECTS, auth, password_token

pytestmark = pytest.mark.anyio

FILTER = f"/item/app/{PROJECTS}/filter/"


async def _ids(http: httpx.AsyncClient, body: dict[str, Any], **params: str) -> list[int]:
    response = await http.post(FILTER, json={"limit": 500, **body}, params=params)
    assert response.status_code == 200, response.text
    return [item["app_item_id"] for item in response.json()["items"]]


def _range(low: int | None, high: int | None) -> dict[str, Any]:
    spec = {k: v for k, v in (("from", low), ("to", high)) if v is not None}
    return {"filters": {"app_item_id": spec}, "sort_by": "app_item_id", "sort_desc": False}


async def test_defaults_and_the_control_routes(emu: Emulator, http: httpx.AsyncClient) -> None:
    defaults = {
        "range_filter": "honoured",
        "micro_view": "honoured",
        "file_redirect": "off",
        "push_unknown_shapes": False,
        "budget_swap": [],
        "hook_retries": 0,
        "hook_inactive_after": 0,
    }
    assert emu.quirks == defaults
    assert (await http.get("/_emulator/quirks")).json() == defaults
    changed = await http.post("/_emulator/quirks", json={"range_filter": "ignore_to"})
    assert changed.status_code == 200 and changed.json()["range_filter"] == "ignore_to"
    assert emu.quirks["range_filter"] == "ignore_to"
    # Only the names given change.
    await http.post("/_emulator/quirks", json={"hook_retries": 2})
    assert emu.quirks["range_filter"] == "ignore_to" and emu.quirks["hook_retries"] == 2
    bad = await http.post("/_emulator/quirks", json={"micro_view": "sometimes"})
    assert bad.status_code == 400 and "micro_view" in bad.json()["error_description"]
    unknown = await http.post("/_emulator/quirks", json={"teleport": True})
    assert unknown.status_code == 400 and "unknown quirk 'teleport'" in unknown.text
    emu.reset()  # a reset keeps the quirks...
    assert emu.quirks["range_filter"] == "ignore_to"
    cleared = await http.delete("/_emulator/quirks")  # ...this clears them
    assert cleared.json() == defaults == emu.quirks


def test_the_forms_a_quirk_takes() -> None:
    emu = Emulator(items=1, quirks=["range_filter", "file_redirect", "budget_swap"])
    assert emu.quirks["range_filter"] == "ignored"
    assert emu.quirks["file_redirect"] == "cross_origin"
    assert emu.quirks["budget_swap"] == ["POST /item/app/{app_id}/filter/"]
    emu = Emulator(items=1, quirks={"push_unknown_shapes": "yes", "hook_inactive_after": "3"})
    assert emu.quirks["push_unknown_shapes"] is True and emu.quirks["hook_inactive_after"] == 3
    assert emu.set_quirks(["micro_view=ignored"], range_filter="ignore_to")["micro_view"] == (
        "ignored"
    )
    assert emu.set_quirks(budget_swap="get /item/{item_id}")["budget_swap"] == [
        "GET /item/{item_id}"
    ]
    for bad, reason in [
        ({"range_filter": "maybe"}, "range_filter must be one of"),
        ({"hook_retries": -1}, "hook_retries must be a whole number"),
        ({"budget_swap": "GET /nowhere"}, "no rate-limited route 'GET /nowhere'"),
        (["hook_retries"], "hook_retries needs a value"),
        ("range_filter", "quirks must be a mapping"),
    ]:
        with pytest.raises(ValueError, match=reason):
            Emulator(items=1, quirks=bad)


async def test_range_filter_honoured_ignored_and_ignore_to(
    emu: Emulator, user_http: httpx.AsyncClient
) -> None:
    everything = await _ids(user_http, {"sort_by": "app_item_id", "sort_desc": False})
    assert len(everything) == 60
    assert await _ids(user_http, _range(10, 12)) == [10, 11, 12]
    listed = {"filters": [{"key": "app_item_id", "values": {"from": 10, "to": 12}}]}
    emu.set_quirks(range_filter="ignore_to")
    assert await _ids(user_http, _range(10, 12)) == everything[9:]
    assert await _ids(user_http, _range(None, 12)) == everything  # only `to`: no filter
    assert sorted(await _ids(user_http, listed)) == everything[9:]  # the list form too
    emu.set_quirks(range_filter="ignored")
    assert await _ids(user_http, _range(10, 12)) == everything
    assert sorted(await _ids(user_http, listed)) == everything
    # Other filters still apply, and a list of ids is not a range.
    assert await _ids(user_http, {"filters": {"app_item_id": [3, 5]}}) == [5, 3]
    emu.set_quirks(range_filter="honoured")
    assert await _ids(user_http, _range(10, 12)) == [10, 11, 12]


async def test_micro_view_is_honoured_unless_the_quirk_ignores_it(
    emu: Emulator, user_http: httpx.AsyncClient
) -> None:
    body = {"limit": 3, "sort_by": "app_item_id", "sort_desc": False}
    micro = await user_http.post(FILTER, json=body, params={"fields": "items.view(micro)"})
    page = micro.json()
    assert (page["total"], page["filtered"]) == (60, 60)
    assert [set(i) for i in page["items"]] == [{"item_id", "app_item_id", "title", "revision"}] * 3
    full = (await user_http.post(FILTER, json=body)).json()["items"]
    assert [(i["item_id"], i["app_item_id"], i["title"]) for i in page["items"]] == [
        (i["item_id"], i["app_item_id"], i["title"]) for i in full
    ]
    assert [i["revision"] for i in page["items"]] == [i["current_revision"]["revision"] for i in full]  # fmt: skip
    assert len(micro.content) * 10 < len((await user_http.post(FILTER, json=body)).content)
    # The legacy GET listing and one item take it too.
    listing = await user_http.get(f"/item/app/{PROJECTS}/", params={"fields": "items.view(micro)", "limit": 2})  # fmt: skip
    assert set(listing.json()["items"][0]) == {"item_id", "app_item_id", "title", "revision"}
    one = await user_http.get(f"/item/{full[0]['item_id']}", params={"fields": "view(micro)"})
    assert one.json() == page["items"][0]

    emu.set_quirks(micro_view="ignored")
    ignored = await user_http.post(FILTER, json=body, params={"fields": "items.view(micro)"})
    assert ignored.json()["items"] == full
    one = await user_http.get(f"/item/{full[0]['item_id']}", params={"fields": "view(micro)"})
    assert "fields" in one.json()


async def test_budget_swap_moves_an_operation_into_the_other_budget(
    emu: Emulator, user_http: httpx.AsyncClient
) -> None:
    first = await user_http.post(FILTER, json={"limit": 1})
    item_id = first.json()["items"][0]["item_id"]
    got = await user_http.get(f"/item/{item_id}")
    assert first.headers["x-rate-limit-limit"] == "250" and got.headers["x-rate-limit-limit"] == "1000"  # fmt: skip
    emu.set_quirks(budget_swap=["POST /item/app/{app_id}/filter/", "GET /item/{item_id}"])
    swapped = await user_http.post(FILTER, json={"limit": 1})
    got = await user_http.get(f"/item/{item_id}")
    assert swapped.headers["x-rate-limit-limit"] == "1000"
    assert got.headers["x-rate-limit-limit"] == "250"
    # Counted in that budget: the general one has the first GET and the swapped filter,
    # the limited one the sign-in, the first filter and the swapped GET.
    assert int(swapped.headers["x-rate-limit-remaining"]) == 1000 - 2
    assert int(got.headers["x-rate-limit-remaining"]) == 250 - 3


async def test_file_links_redirect_to_a_second_origin(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    token = auth(await password_token(http, emu))
    uploaded = (await http.post("/file/", files={"source": ("a.txt", b"abc")},
                                data={"filename": "a.txt"}, headers=token)).json()  # fmt: skip
    link = uploaded["link"]
    assert urlsplit(link).netloc == "files.podio.com"

    emu.set_quirks(file_redirect="cross_origin")
    moved = await http.get(link, headers=token)
    assert moved.status_code == 302
    target = moved.headers["location"]
    assert target.startswith("https://files-cdn.emulator.test/cdn/")
    # The second origin wants no token, and refuses one (as a presigned S3 URL does).
    assert (await http.get(target)).content == b"abc"
    refused = await http.get(target, headers=token)
    assert refused.status_code == 400 and "Only one auth mechanism" in refused.text
    forged = await http.get(target.replace("signature=", "signature=0"))
    assert forged.status_code == 403
    assert emu.stats()["file_redirects"] == {
        "redirected": 1,
        "second_origin": 3,
        "second_origin_with_token": 1,
    }

    emu.set_quirks(file_redirect="broken")
    expired = await http.get((await http.get(link, headers=token)).headers["location"])
    assert expired.status_code == 403 and "expired" in expired.text
    assert (await http.get(f"/file/{uploaded['file_id']}/raw", headers=token)).content == b"abc"

    emu.set_quirks(file_redirect="same_origin")
    moved = await http.get(link, headers=token)
    assert moved.headers["location"] == f"/{uploaded['file_id']}/content"
    same = httpx.URL(link).join(moved.headers["location"])
    assert (await http.get(same, headers=token)).content == b"abc"
    assert (await http.get(same)).status_code == 401  # this path wants the token

    emu.set_quirks(file_redirect="off")
    assert (await http.get(link, headers=token)).content == b"abc"


async def test_the_second_origin_is_another_host_over_a_socket() -> None:
    emu = Emulator(items=1, quirks={"file_redirect": "cross_origin"})
    async with emu.serve() as url, httpx.AsyncClient(base_url=url) as http:
        token = auth(await password_token(http, emu))
        uploaded = (await http.post("/file/", files={"source": ("b.bin", b"\x00\x01")},
                                    data={"filename": "b.bin"}, headers=token)).json()  # fmt: skip
        assert uploaded["link"].startswith(url)
        target = (await http.get(uploaded["link"], headers=token)).headers["location"]
        assert urlsplit(target).hostname == "localhost"  # 127.0.0.1 served, localhost sent
        assert urlsplit(target).port == urlsplit(url).port
        assert (await http.get(target)).content == b"\x00\x01"


async def test_unknown_push_shapes_and_raw_publishing(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    from podiokit.testing import _push

    hub = _push.hub(emu._core)
    seen: list[Any] = []
    hub.publish = lambda channel, data: seen.append(data)  # type: ignore[method-assign]
    message = {"event": "update", "ref": {"type": "item", "id": 5}, "created_by": {}, "data": {}}
    emu.set_quirks(push_unknown_shapes=True)
    _push.publish(emu._core, "item", 5, "update", {"id": 1}, {})
    odd = seen[:-1]
    assert seen[-1]["event"] == "update" and len(odd) >= 6
    assert any(isinstance(m, dict) and "event" not in m for m in odd)
    assert any(isinstance(m, dict) and "ref" not in m for m in odd)
    assert any(isinstance(m, dict) and isinstance(m.get("ref"), dict)
               and isinstance(m["ref"].get("id"), str) for m in odd)  # fmt: skip
    assert any(not isinstance(m, dict) for m in odd)
    assert _push.unknown_shapes(message)  # the same list, for any event
    sent = await http.post("/_emulator/push/publish", json={"channel": "/item/5", "data": [1, "x"]})
    assert sent.status_code == 200 and seen[-1] == [1, "x"]
    missing = await http.post("/_emulator/push/publish", json={"channel": "/item/5"})
    assert missing.status_code == 400
    emu.publish_push("/item/5", "plain text")
    assert seen[-1] == "plain text"
