"""The token endpoint and the authorize redirect (behaviour.md §1)."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from podiokit.testing import Emulator

from .conftest import app_token, auth, client_fields, password_token, sample

pytestmark = pytest.mark.anyio


async def test_password_grant_answers_podios_token_shape(http: httpx.AsyncClient, emu: Emulator):
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "password", "username": emu.credentials["username"],
              "password": emu.credentials["password"], **client_fields(emu)},
    )  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert set(body) == set(sample("oauth__token__4.json"))
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 28_800
    assert body["scope"] == "global:all"
    assert body["ref"]["type"] == "user"
    # The token endpoint belongs to the low "rate limited" pool (§3).
    assert response.headers["X-Rate-Limit-Limit"] == "250"
    assert response.headers["X-Rate-Limit-Remaining"] == "249"


async def test_app_grant_refs_the_app(http: httpx.AsyncClient, emu: Emulator):
    body = await app_token(http, emu, index=1)
    assert body["ref"] == {"type": "app", "id": emu.credentials["apps"][1]["app_id"]}


async def test_client_credentials_by_basic_auth_and_json_v2(http: httpx.AsyncClient, emu: Emulator):
    c = emu.credentials
    basic = base64.b64encode(f"{c['client_id']}:{c['client_secret']}".encode()).decode()
    grant = {"grant_type": "password", "username": c["username"], "password": c["password"]}
    response = await http.post(
        "/oauth/token", data=grant, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200
    response = await http.post("/oauth/token/v2", json={**grant, **client_fields(emu)})
    assert response.status_code == 200
    assert response.json()["ref"]["type"] == "user"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("password", "wrong", "invalid_grant"),
        ("username", "nobody@example.com", "invalid_grant"),
        ("client_secret", "wrong", "invalid_client"),
    ],
)
async def test_wrong_credentials_are_400(
    http: httpx.AsyncClient, emu: Emulator, field: str, value: str, error: str
):
    c = emu.credentials
    data = {"grant_type": "password", "username": c["username"], "password": c["password"],
            **client_fields(emu), field: value}  # fmt: skip
    response = await http.post("/oauth/token", data=data)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == error
    assert set(body) == set(sample("errors__not_found__1.json"))
    assert "X-Rate-Limit-Remaining" in response.headers


async def test_wrong_app_token_is_invalid_grant(http: httpx.AsyncClient, emu: Emulator):
    data = {"grant_type": "app", "app_id": 3001, "app_token": "nope", **client_fields(emu)}
    response = await http.post("/oauth/token", data=data)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


async def test_authorization_code_flow_echoes_state_and_code_is_single_use(
    http: httpx.AsyncClient, emu: Emulator
):
    c = emu.credentials
    redirect = "https://app.test/callback"  # a registered domain (default: *.test)
    response = await http.get(
        "/oauth/authorize",
        params={"client_id": c["client_id"], "redirect_uri": redirect, "state": "xyz",
                "response_type": "code"},
    )  # fmt: skip
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    grant = {"grant_type": "authorization_code", "code": query["code"][0],
             "redirect_uri": redirect, **client_fields(emu)}  # fmt: skip
    first = await http.post("/oauth/token", data=grant)
    assert first.status_code == 200
    assert first.json()["ref"]["type"] == "user"
    again = await http.post("/oauth/token", data=grant)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


async def test_authorization_code_needs_the_same_redirect_uri(
    http: httpx.AsyncClient, emu: Emulator
):
    c = emu.credentials
    response = await http.get(
        "/oauth/authorize",
        params={"client_id": c["client_id"], "redirect_uri": "https://a.test/cb"},
    )
    code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    grant = {"grant_type": "authorization_code", "code": code,
             "redirect_uri": "https://other.test/cb", **client_fields(emu)}  # fmt: skip
    response = await http.post("/oauth/token", data=grant)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


async def test_implicit_flow_puts_the_token_in_the_fragment(http: httpx.AsyncClient, emu: Emulator):
    c = emu.credentials
    response = await http.get(
        "/oauth/authorize",
        params={"client_id": c["client_id"], "redirect_uri": "https://a.test/cb",
                "response_type": "token", "state": "s1"},
    )  # fmt: skip
    fragment = parse_qs(urlsplit(response.headers["location"]).fragment)
    # podio-js requires these three (§1.2).
    for key in ("access_token", "refresh_token", "expires_in"):
        assert fragment[key]
    assert fragment["state"] == ["s1"]
    me = await http.get(
        "/user/status", headers={"Authorization": f"Bearer {fragment['access_token'][0]}"}
    )
    assert me.status_code == 200


async def test_denied_authorization_redirects_with_error(http: httpx.AsyncClient, emu: Emulator):
    c = emu.credentials
    response = await http.get(
        "/oauth/authorize",
        params={"client_id": c["client_id"], "redirect_uri": "https://a.test/cb", "deny": "1"},
    )
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["access_denied"]


async def test_refresh_rotates_and_the_old_refresh_token_dies(
    http: httpx.AsyncClient, emu: Emulator
):
    first = await password_token(http, emu)
    grant = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    response = await http.post("/oauth/token", data={**grant, **client_fields(emu)})
    assert response.status_code == 200
    second = response.json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert (await http.get("/user/status", headers=auth(second))).status_code == 200
    replay = await http.post("/oauth/token", data={**grant, **client_fields(emu)})
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    assert emu.stats()["token_grants"] == {"password": 1, "refresh_token": 1}


async def test_refresh_reuse_mode_keeps_the_refresh_token():
    emu = Emulator(items=5, refresh="reuse", token_lifetime=600)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emu.app), base_url=emu.credentials["api_url"]
    ) as http:
        first = await password_token(http, emu)
        assert first["expires_in"] == 600
        grant = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                 **client_fields(emu)}  # fmt: skip
        for _ in range(2):
            response = await http.post("/oauth/token", data=grant)
            assert response.status_code == 200
            assert response.json()["refresh_token"] == first["refresh_token"]
