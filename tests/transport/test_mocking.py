"""The mocking libraries a user's suite may use see podiokit's requests (issue 27, defect 5):
respx (patches httpcore's connection) and pytest-httpx (patches httpx's transport). A mock
that missed them would let real requests, real tokens included, go out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from podiokit import OAuthToken, Podio
from podiokit._transport import PodioTransport

from ._servers import Conn, Server

pytestmark = pytest.mark.anyio


def _token() -> OAuthToken:
    return OAuthToken(
        access_token="acc", expires_at=datetime.now(timezone.utc) + timedelta(hours=1)
    )


def _no_network(conn: Conn) -> None:
    raise AssertionError("a mocked request reached the network")


async def test_pytest_httpx_sees_podios_requests(
    request: pytest.FixtureRequest, serve: Callable[..., Server]
) -> None:
    pytest.importorskip("pytest_httpx")
    httpx_mock: Any = request.getfixturevalue("httpx_mock")
    server = serve(_no_network)
    httpx_mock.add_response(url=f"{server.url}/item/1", json={"item_id": 1})
    async with Podio("cid", "secret", api_url=server.url) as podio:
        await podio.set_token(_token())
        assert await podio.request("GET", "/item/1") == {"item_id": 1}
    (sent,) = httpx_mock.get_requests()
    assert sent.headers["authorization"] == "OAuth2 acc"
    assert server.connections == 0


async def test_a_patch_of_httpxs_transport_sees_podios_requests(
    monkeypatch: pytest.MonkeyPatch, serve: Callable[..., Server]
) -> None:
    """pytest-httpx's patch, reproduced (so this holds where the plugin is not installed):
    `httpx.AsyncHTTPTransport.handle_async_request` replaced for the test's duration."""
    seen: list[httpx.Request] = []

    async def mocked(transport: httpx.AsyncHTTPTransport, request: httpx.Request) -> Any:
        seen.append(request)
        return httpx.Response(200, json={"mocked": True})

    server = serve(_no_network)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", mocked)
    async with httpx.AsyncClient(transport=PodioTransport()) as client:
        assert (await client.get(f"{server.url}/item/2")).json() == {"mocked": True}
    async with Podio("cid", "secret", api_url=server.url) as podio:
        await podio.set_token(_token())
        assert await podio.request("GET", "/item/3") == {"mocked": True}
    assert [str(r.url) for r in seen] == [f"{server.url}/item/2", f"{server.url}/item/3"]
    assert server.connections == 0
    monkeypatch.undo()  # unpatched, podiokit's own transport sends again


async def test_respx_sees_podios_requests(serve: Callable[..., Server]) -> None:
    import respx

    server = serve(_no_network)
    with respx.mock(base_url=server.url) as mock:
        route = mock.get("/item/4").respond(json={"respx": True})
        async with Podio("cid", "secret", api_url=server.url) as podio:
            await podio.set_token(_token())
            assert await podio.request("GET", "/item/4") == {"respx": True}
    assert route.call_count == 1
    assert server.connections == 0
