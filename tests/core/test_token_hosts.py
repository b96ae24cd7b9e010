"""Issue 15.1: the token goes only to https URLs on Podio's hosts (default port) or to
exactly the configured API origin; anything else raises before a request is sent."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from podiokit import OAuthToken, Podio

from .conftest import SECRET

pytestmark = pytest.mark.anyio

TOKEN = OAuthToken(
    access_token="the-access-token",
    refresh_token="r",
    expires_at=datetime.now(timezone.utc) + timedelta(hours=8),
)


def _recording_client() -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"ok": True})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), sent


async def _client(api_url: str = "https://api.podio.com") -> tuple[Podio, list[httpx.Request]]:
    http, sent = _recording_client()
    podio = Podio("cid", SECRET, api_url=api_url, http_client=http)
    await podio.set_token(TOKEN)
    return podio, sent


@pytest.mark.parametrize(
    "url",
    [
        "http://api.podio.com/user/status",  # plain http
        "https://api.podio.com:4444/x",  # another port
        "http://files.podio.com:8080/x",
        "http://files.podio.com/x",
        "https://files.podio.com:8443/x",
        "https://evil.example/steal",
        "https://api.podio.com.evil.example/x",
        "https://notpodio.com/x",
    ],
)
async def test_token_never_leaves_for_other_origins(url: str) -> None:
    podio, sent = await _client()
    with pytest.raises(ValueError, match="refusing to send the Podio token"):
        await podio.request("GET", url)
    assert sent == []  # nothing was sent, so no Authorization header left


@pytest.mark.parametrize(
    "url",
    [
        "https://api.podio.com/user/status",
        "https://api.podio.com:443/user/status",
        "https://files.podio.com/195174666",
        "https://podio.com/x",
    ],
)
async def test_https_podio_hosts_on_the_default_port_get_the_token(url: str) -> None:
    podio, sent = await _client()
    assert await podio.request("GET", url) == {"ok": True}
    assert [r.headers["authorization"] for r in sent] == ["OAuth2 the-access-token"]


async def test_an_http_api_url_is_the_one_exception_for_exactly_its_origin() -> None:
    podio, sent = await _client("http://127.0.0.1:8765")
    assert await podio.request("GET", "/user/status") == {"ok": True}
    assert await podio.request("GET", "http://127.0.0.1:8765/user/status") == {"ok": True}
    for other in (
        "http://127.0.0.1:8766/x",  # another port
        "https://127.0.0.1:8765/x",  # another scheme
        "http://localhost:8765/x",  # another host
        "http://files.podio.com/x",  # Podio's hosts still need https
    ):
        with pytest.raises(ValueError, match="refusing"):
            await podio.request("GET", other)
    assert len(sent) == 2
    assert all(r.url.host == "127.0.0.1" and r.url.port == 8765 for r in sent)


async def test_a_relative_path_cannot_change_the_host() -> None:
    podio, sent = await _client()
    # Appended blindly to the API URL, "@evil.example/x" would make evil.example the host.
    await podio._send("GET", "@evil.example/x")
    assert [r.url.host for r in sent] == ["api.podio.com"]
