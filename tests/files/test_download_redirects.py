"""Downloads follow a file link's redirects without ever sending the token to another origin,
and fall back to `GET /file/{id}/raw` on the API host when the link fails (issue 24 #5).
Against the emulator's quirk `file_redirect` (in process and on a socket), the sync face, and
a mocked Podio for the cases the emulator does not make."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
import respx

from podiokit import OAuthToken, Podio, PodioNotFoundError, PodioRateLimitError
from podiokit.sync import SyncPodio
from podiokit.testing import Emulator

from .conftest import connect, login_password

pytestmark = pytest.mark.anyio

PAYLOAD = bytes(range(256)) * 300 + b"tail"
RAW = "GET /file/{file_id}/raw"


def _routes(emu: Emulator) -> dict[str, int]:
    routes: dict[str, int] = emu.stats()["routes"]
    return routes


async def _download_both_ways(podio: Podio, file_id: int) -> None:
    assert await podio.files.download(file_id) == PAYLOAD
    chunks = [c async for c in podio.files.stream(file_id, chunk_size=10_000)]
    assert b"".join(chunks) == PAYLOAD


@pytest.mark.parametrize("loopback", [False, True], ids=["in-process", "socket"])
async def test_a_redirect_to_another_origin_is_followed_without_the_token(loopback: bool) -> None:
    emu = Emulator(items=2)
    async with connect(emu, loopback=loopback) as podio:
        await login_password(podio, emu)
        uploaded = await podio.files.upload(PAYLOAD, "data.bin")
        emu.set_quirks(file_redirect="cross_origin")
        await _download_both_ways(podio, uploaded.file_id)
    redirects = emu.stats()["file_redirects"]
    # Both downloads went to the second origin, which refuses any request with a token.
    assert redirects == {"redirected": 2, "second_origin": 2, "second_origin_with_token": 0}
    assert _routes(emu).get(RAW, 0) == 0  # no fallback was needed


async def test_a_same_origin_redirect_keeps_the_token() -> None:
    emu = Emulator(items=2, quirks={"file_redirect": "same_origin"})
    async with connect(emu) as podio:
        await login_password(podio, emu)
        uploaded = await podio.files.upload(PAYLOAD, "data.bin")
        await _download_both_ways(podio, uploaded.file_id)
    # The relative Location resolved on the link's host, which wants (and got) the token.
    assert _routes(emu)["GET /{file_id}/content"] == 2
    assert _routes(emu).get(RAW, 0) == 0


async def test_a_failing_link_falls_back_to_the_raw_route(
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu = Emulator(items=2, quirks={"file_redirect": "broken"})  # the CDN answers 403
    async with connect(emu) as podio:
        await login_password(podio, emu)
        uploaded = await podio.files.upload(PAYLOAD, "data.bin")
        with caplog.at_level("INFO", logger="podiokit"):
            await _download_both_ways(podio, uploaded.file_id)
    assert _routes(emu)[RAW] == 2
    assert emu.stats()["file_redirects"]["second_origin_with_token"] == 0
    assert f"file {uploaded.file_id}: its link failed" in caplog.text
    assert "signature=" not in caplog.text  # a signed URL stays out of the logs


def test_the_sync_face_follows_and_falls_back() -> None:
    emu = Emulator(items=2)
    creds = emu.credentials
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
    with SyncPodio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    ) as podio:
        podio.authenticate_with_credentials(creds["username"], creds["password"])
        uploaded = podio.files.upload(PAYLOAD, "data.bin")
        for mode in ("cross_origin", "same_origin", "broken"):
            emu.set_quirks(file_redirect=mode)
            assert podio.files.download(uploaded.file_id) == PAYLOAD
            assert b"".join(podio.files.stream(uploaded.file_id)) == PAYLOAD
    assert emu.stats()["file_redirects"]["second_origin_with_token"] == 0
    assert _routes(emu)[RAW] == 2  # the broken links only


# -- a mocked Podio: what the emulator does not make ------------------------------------

API = "https://api.podio.com"
LINK = "https://files.podio.com/77"
TOKEN = OAuthToken(
    access_token="the-access-token",
    refresh_token="r",
    expires_at=datetime.now(timezone.utc) + timedelta(hours=8),
)


@pytest.fixture
def mock() -> respx.MockRouter:
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{API}/file/77").respond(json={"file_id": 77, "link": LINK})
        yield router


async def _podio() -> Podio:
    podio = Podio("cid", "secret", backoff_base=0.0, max_retries=1)
    await podio.set_token(TOKEN)
    return podio


def _auth(route: respx.Route) -> list[str | None]:
    return [call.request.headers.get("authorization") for call in route.calls]


async def test_the_token_never_follows_a_redirect_off_podio(mock: respx.MockRouter) -> None:
    link = mock.get(LINK).respond(302, headers={"Location": "https://cdn.example.net/f/77?sig=s"})
    # The CDN sends it back to Podio's file host: the token stays off after leaving.
    cdn = mock.get("https://cdn.example.net/f/77").respond(
        307, headers={"Location": "https://files.podio.com/77/again"}
    )
    back = mock.get("https://files.podio.com/77/again").respond(200, content=b"bytes")
    podio = await _podio()
    assert await podio.files.download(77) == b"bytes"
    assert _auth(link) == ["OAuth2 the-access-token"]
    assert _auth(cdn) == [None] and _auth(back) == [None]
    assert cdn.calls[0].request.url.params["sig"] == "s"  # the signed query kept as sent


async def test_an_absolute_same_origin_redirect_keeps_the_token(mock: respx.MockRouter) -> None:
    mock.get(LINK).respond(301, headers={"Location": "https://files.podio.com/77/v2"})
    moved = mock.get("https://files.podio.com/77/v2").respond(200, content=b"v2")
    podio = await _podio()
    assert await podio.files.download(77) == b"v2"
    assert _auth(moved) == ["OAuth2 the-access-token"]


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(404, json={"error": "not_found"}),
        httpx.Response(503, text="<html>down</html>"),
        httpx.Response(302),  # no Location
        httpx.Response(302, headers={"Location": "ftp://files.example/77"}),
        httpx.Response(302, headers={"Location": LINK}),  # a loop: past the fifth redirect
    ],
    ids=["404", "503", "no-location", "ftp", "loop"],
)
async def test_link_failures_fall_back_to_raw(
    mock: respx.MockRouter, answer: httpx.Response
) -> None:
    mock.get(LINK).mock(return_value=answer)
    raw = mock.get(f"{API}/file/77/raw").respond(200, content=b"from raw")
    podio = await _podio()
    assert await podio.files.download(77) == b"from raw"
    assert _auth(raw) == ["OAuth2 the-access-token"]


async def test_a_link_the_token_may_not_reach_falls_back_to_raw(mock: respx.MockRouter) -> None:
    mock.get(f"{API}/file/77").respond(json={"file_id": 77, "link": "https://evil.example/77"})
    evil = mock.get("https://evil.example/77").respond(200, content=b"never")
    mock.get(f"{API}/file/77/raw").respond(200, content=b"from raw")
    podio = await _podio()
    assert await podio.files.download(77) == b"from raw"
    assert evil.call_count == 0


async def test_a_connection_failure_on_the_link_falls_back(mock: respx.MockRouter) -> None:
    link = mock.get(LINK).mock(side_effect=httpx.ConnectError("refused"))
    mock.get(f"{API}/file/77/raw").respond(200, content=b"from raw")
    podio = await _podio()
    chunks = [c async for c in podio.files.stream(77)]
    assert b"".join(chunks) == b"from raw"
    assert link.call_count == 2  # retried first (max_retries=1)


async def test_a_420_is_not_a_link_failure(mock: respx.MockRouter) -> None:
    mock.get(LINK).respond(
        420, json={"error": "rate_limit", "error_description": "Please wait 600 seconds"}
    )
    raw = mock.get(f"{API}/file/77/raw").respond(200, content=b"from raw")
    podio = await _podio()
    with pytest.raises(PodioRateLimitError):
        await podio.files.download(77)
    assert raw.call_count == 0


async def test_when_raw_fails_too_its_error_is_raised(mock: respx.MockRouter) -> None:
    mock.get(LINK).respond(404, json={"error": "not_found"})
    mock.get(f"{API}/file/77/raw").respond(404, json={"error": "not_found"})
    podio = await _podio()
    with pytest.raises(PodioNotFoundError) as caught:
        await podio.files.download(77)
    assert caught.value.path == "/file/77/raw"
    assert "the-access-token" not in repr(caught.value) + str(caught.value.__cause__)
