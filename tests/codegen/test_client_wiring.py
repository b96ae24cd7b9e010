"""Generated resources on a real `Podio`: auth, the pipeline and the namespaces together."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from podiokit import Podio
from podiokit.fields import encode_fields
from podiokit.models.items import Item, ItemCreateResult, ItemFilterResult
from podiokit.resources.items import ItemsResource

pytestmark = pytest.mark.anyio

API = "https://api.podio.com"
TOKEN = {
    "access_token": "a",
    "refresh_token": "r",
    "token_type": "bearer",
    "expires_in": 28800,
    "scope": "global:all",
    "ref": {"type": "app", "id": 1},
}


@pytest.fixture
async def podio(respx_mock: respx.MockRouter) -> AsyncIterator[Podio]:
    respx_mock.post(f"{API}/oauth/token").mock(return_value=httpx.Response(200, json=TOKEN))
    async with Podio("client", "secret") as client:
        await client.authenticate_with_app(1, "tok")
        yield client


def _item(item_id: int) -> dict[str, Any]:
    return {"item_id": item_id, "title": f"Item {item_id}", "fields": []}


async def test_namespace_is_cached_and_typed(podio: Podio) -> None:
    assert isinstance(podio.items, ItemsResource)
    assert podio.items is podio.items


async def test_items_get(podio: Podio, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get(f"{API}/item/42").mock(return_value=httpx.Response(200, json=_item(42)))
    item = await podio.items.get(42, mark_as_viewed=False)
    assert isinstance(item, Item)
    assert item.item_id == 42
    request = route.calls.last.request
    assert request.headers["Authorization"] == "OAuth2 a"
    assert request.url.params["mark_as_viewed"] == "false"


async def test_items_filter_iterates_1200_items_in_3_calls(
    podio: Podio, respx_mock: respx.MockRouter
) -> None:
    rows = [_item(i) for i in range(1, 1201)]

    def page(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        offset, limit = body["offset"], body["limit"]
        chunk = rows[offset : offset + limit]
        return httpx.Response(200, json={"total": 1500, "filtered": 1200, "items": chunk})

    route = respx_mock.post(f"{API}/item/app/7/filter/").mock(side_effect=page)
    ids = [item.item_id async for item in podio.items.filter(7, filters={"status": [1]})]
    assert ids == list(range(1, 1201))
    assert route.call_count == 3
    bodies = [json.loads(call.request.content) for call in route.calls]
    assert [(b["offset"], b["limit"]) for b in bodies] == [(0, 500), (500, 500), (1000, 500)]
    assert all(b["filters"] == {"status": [1]} for b in bodies)


async def test_items_filter_awaited_is_one_page(podio: Podio, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{API}/item/app/7/filter/").mock(
        return_value=httpx.Response(
            200, json={"total": 9, "filtered": 3, "items": [_item(1), _item(2), _item(3)]}
        )
    )
    page = await podio.items.filter(7, limit=3)
    assert isinstance(page, ItemFilterResult)
    assert (page.total, page.filtered, len(page.items or [])) == (9, 3, 3)
    assert json.loads(route.calls.last.request.content) == {"limit": 3}


async def test_items_filter_without_arguments_sends_an_object(
    podio: Podio, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{API}/item/app/7/filter/").mock(
        return_value=httpx.Response(200, json={"total": 0, "filtered": 0, "items": []})
    )
    await podio.items.filter(7)
    assert route.calls.last.request.content == b"{}"


async def test_items_create_sends_podios_write_form(
    podio: Podio, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{API}/item/app/7/").mock(
        return_value=httpx.Response(200, json={"item_id": 99, "title": "Hello"})
    )
    fields = {"title": "Hello", "amount": 12.5, 123: [4, 5]}
    result = await podio.items.create(7, fields=fields, tags=["a"], silent=True)
    assert isinstance(result, ItemCreateResult)
    assert result.item_id == 99
    request = route.calls.last.request
    assert request.url.params["silent"] == "true"
    body = json.loads(request.content)
    assert body == {"fields": json.loads(json.dumps(encode_fields(fields))), "tags": ["a"]}
    assert set(body["fields"]) == {"title", "amount", "123"}


def test_import_podiokit_loads_no_resource_module() -> None:
    # The namespaces import their module on first use, not when podiokit is imported.
    code = (
        "import sys, podiokit; "
        "print(sorted(m for m in sys.modules if m.startswith('podiokit.resources.') "
        "or m.startswith('podiokit.models')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
