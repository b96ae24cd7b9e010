"""Get item count with filters in the query (§4.1: `{key}=value`, ranges as `from-to`), as
the doc page items/get-item-count-34819997 gives them: the same items the filter matches."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from podiokit.testing import Emulator

from .conftest import auth, password_token

pytestmark = pytest.mark.anyio

PROJECTS = 3002


@pytest.fixture
def emu() -> Emulator:
    return Emulator(items=600)  # ten minutes apart: a little over four days


async def _count(http: httpx.AsyncClient, headers: dict[str, str], **query: str) -> Any:
    return await http.get(f"/item/app/{PROJECTS}/count", params=query, headers=headers)


async def _filtered(http: httpx.AsyncClient, headers: dict[str, str], filters: Any) -> int:
    body = {"limit": 1, "filters": filters}
    response = await http.post(f"/item/app/{PROJECTS}/filter/", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["filtered"])


async def test_a_created_on_window_counts_what_the_filter_matches(
    http: httpx.AsyncClient, emu: Emulator
) -> None:
    headers = auth(await password_token(http, emu))
    page = await http.post(
        f"/item/app/{PROJECTS}/filter/",
        json={"limit": 1, "sort_by": "created_on", "sort_desc": False},
        headers=headers,
    )
    first_day = page.json()["items"][0]["created_on"][:10]
    total = (await _count(http, headers)).json()["count"]
    assert total == 600
    windows = [(first_day, first_day), (first_day, "2099-01-01"), ("2001-01-01", "2001-12-31")]
    for low, high in windows:
        counted = (await _count(http, headers, created_on=f"{low}-{high}")).json()["count"]
        assert counted == await _filtered(http, headers, {"created_on": {"from": low, "to": high}})
    whole_first_day = (await _count(http, headers, created_on=f"{first_day}-{first_day}")).json()
    assert 0 < whole_first_day["count"] < total
    # Open at one end.
    assert (await _count(http, headers, created_on=f"{first_day}-")).json()["count"] == total


async def test_a_count_follows_deletions_and_other_filters(
    http: httpx.AsyncClient, emu: Emulator
) -> None:
    headers = auth(await password_token(http, emu))
    page = await http.post(
        f"/item/app/{PROJECTS}/filter/",
        json={"limit": 2, "sort_by": "app_item_id", "sort_desc": False},
        headers=headers,
    )
    first = page.json()["items"][0]
    day = first["created_on"][:10]
    before = (await _count(http, headers, created_on=f"{day}-{day}")).json()["count"]
    assert (await http.delete(f"/item/{first['item_id']}", headers=headers)).status_code == 204
    after = (await _count(http, headers, created_on=f"{day}-{day}")).json()["count"]
    assert after == before - 1
    by_title = (await _count(http, headers, title="Atlas")).json()["count"]
    assert by_title == await _filtered(http, headers, {"title": "Atlas"})


async def test_a_bad_filter_value_is_refused(http: httpx.AsyncClient, emu: Emulator) -> None:
    headers = auth(await password_token(http, emu))
    response = await _count(http, headers, created_on="yesterday")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_value"
