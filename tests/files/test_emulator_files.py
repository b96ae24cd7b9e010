"""The emulator's file routes as Podio's clients call them (docs/dev/podio-behaviour.md §6), without the SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from podiokit.testing import Emulator

pytestmark = pytest.mark.anyio


@pytest.fixture
def emu() -> Emulator:
    return Emulator(items=5)


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url=emu.credentials["api_url"]) as c:
        yield c


async def _auth(http: httpx.AsyncClient, emu: Emulator) -> dict[str, str]:
    c = emu.credentials
    form = {"grant_type": "password", "username": c["username"], "password": c["password"],
            "client_id": c["client_id"], "client_secret": c["client_secret"]}  # fmt: skip
    token: dict[str, Any] = (await http.post("/oauth/token", data=form)).json()
    return {"Authorization": f"OAuth2 {token['access_token']}"}


@pytest.mark.parametrize("path", ["/file/", "/file/v2/"])
async def test_upload_then_get_and_download(
    emu: Emulator, http: httpx.AsyncClient, path: str
) -> None:
    headers = await _auth(http, emu)
    files = {"source": ("photo.png", b"\x89PNG fake", "image/png")}
    response = await http.post(path, files=files, data={"filename": "holiday.png"}, headers=headers)
    assert response.status_code == 200, response.text
    uploaded = response.json()
    assert uploaded["name"] == "holiday.png"  # the `filename` part names it
    assert (uploaded["size"], uploaded["mimetype"]) == (9, "image/png")
    assert uploaded["link"] == f"https://files.podio.com/{uploaded['file_id']}"
    assert uploaded["push"]["channel"] == f"/file/{uploaded['file_id']}"
    got = await http.get(f"/file/{uploaded['file_id']}", headers=headers)
    assert got.json()["name"] == "holiday.png"
    raw = await http.get(uploaded["link"], headers=headers)
    assert raw.status_code == 200
    assert raw.content == b"\x89PNG fake"
    assert raw.headers["content-type"] == "image/png"
    assert 'filename="holiday.png"' in raw.headers["content-disposition"]
    assert (await http.get(f"{uploaded['link']}/small", headers=headers)).content == raw.content
    assert (
        await http.get(f"/file/{uploaded['file_id']}/raw", headers=headers)
    ).content == raw.content


async def test_missing_source_part_is_podios_404(emu: Emulator, http: httpx.AsyncClient) -> None:
    headers = await _auth(http, emu)
    response = await http.post("/file/", files={"other": ("a", b"x")}, data={"filename": "a"},
                               headers=headers)  # fmt: skip
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "not_found"
    assert "Missing parameters: source." in body["error_description"]


async def test_download_needs_the_token(emu: Emulator, http: httpx.AsyncClient) -> None:
    headers = await _auth(http, emu)
    up = await http.post("/file/", files={"source": ("a.txt", b"secret")},
                         data={"filename": "a.txt"}, headers=headers)  # fmt: skip
    link = up.json()["link"]
    assert (await http.get(link)).status_code == 401
    token = headers["Authorization"].split()[1]
    assert (await http.get(link, params={"oauth_token": token})).content == b"secret"


async def test_unknown_paths_keep_their_plain_404(emu: Emulator, http: httpx.AsyncClient) -> None:
    # The files host's /{file_id} route takes digits only; other unknown paths are untouched.
    assert (await http.get("/nothing-here")).status_code == 404
    headers = await _auth(http, emu)
    assert (await http.get("/123456789", headers=headers)).status_code == 404
    assert (await http.get("/123/enormous", headers=headers)).status_code == 404


async def test_attach_shows_in_item_files(emu: Emulator, http: httpx.AsyncClient) -> None:
    headers = await _auth(http, emu)
    app_id = emu.credentials["apps"][0]["app_id"]
    page = (
        await http.post(f"/item/app/{app_id}/filter/", json={"limit": 1}, headers=headers)
    ).json()
    item_id = page["items"][0]["item_id"]
    before = (await http.get(f"/item/{item_id}", headers=headers)).json()  # cached serialisation
    up = (await http.post("/file/", files={"source": ("n.txt", b"note")}, data={"filename": "n.txt"},
                          headers=headers)).json()  # fmt: skip
    attach = await http.post(f"/file/{up['file_id']}/attach", json={"ref_type": "item", "ref_id": item_id},
                             headers=headers)  # fmt: skip
    assert attach.status_code == 204
    after = (await http.get(f"/item/{item_id}", headers=headers)).json()
    assert up["file_id"] not in [f["file_id"] for f in before["files"]]
    assert up["file_id"] in [f["file_id"] for f in after["files"]]
    bad = await http.post(f"/file/{up['file_id']}/attach", json={"ref_type": "item", "ref_id": 1},
                          headers=headers)  # fmt: skip
    assert bad.status_code == 404
    wrong = await http.post(f"/file/{up['file_id']}/attach", json={"ref_type": "planet", "ref_id": 1},
                            headers=headers)  # fmt: skip
    assert wrong.status_code == 400
