"""The token endpoint and the authorize redirect (docs/dev/podio-behaviour.md §1)."""

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


# -- the consent page a person sees -----------------------------------------------------------

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _authorize_params(emu: Emulator, **extra: str) -> dict[str, str]:
    return {"client_id": emu.credentials["client_id"], "redirect_uri": "https://app.test/cb",
            "response_type": "code", "state": "st<1>", "scope": "global:read", **extra}  # fmt: skip


def _form(page: str) -> dict[str, str]:
    """The consent form's hidden fields, as a browser would post them."""
    import html
    import re

    return {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'type="hidden" name="([^"]*)" value="([^"]*)"', page)
    }


async def test_a_browser_sees_a_consent_page(http: httpx.AsyncClient, emu: Emulator):
    response = await http.get("/oauth/authorize", params=_authorize_params(emu), headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<title>Allow access - Podio emulator</title>" in page
    assert emu.credentials["client_id"] in page and "global:read" in page
    assert "app.test" in page
    for name in ("Dana Demo", "Alex Archer", "Blake Berg", "Casey Chen"):
        assert name in page
    assert 'value="approve">Approve</button>' in page and 'value="deny">Deny</button>' in page
    assert "st<1>" not in page and "st&lt;1&gt;" in page  # escaped
    assert "location" not in response.headers


@pytest.mark.parametrize(("decision", "user"), [("approve", "1002"), ("deny", "1001")])
async def test_the_consent_form_approves_as_the_chosen_user_or_denies(
    http: httpx.AsyncClient, emu: Emulator, decision: str, user: str
):
    page = await http.get("/oauth/authorize", params=_authorize_params(emu), headers=BROWSER)
    form = {**_form(page.text), "user": user, "decision": decision}
    response = await http.post("/oauth/authorize", data=form, headers=BROWSER)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://app.test/cb"
    query = parse_qs(location.query)
    assert query["state"] == ["st<1>"]
    if decision == "deny":
        assert query["error"] == ["access_denied"]
        return
    grant = {"grant_type": "authorization_code", "code": query["code"][0],
             "redirect_uri": "https://app.test/cb", **client_fields(emu)}  # fmt: skip
    token = (await http.post("/oauth/token", data=grant)).json()
    assert token["ref"] == {"type": "user", "id": 1002}


async def test_programs_and_switches_are_answered_at_once(http: httpx.AsyncClient, emu: Emulator):
    program = await http.get("/oauth/authorize", params=_authorize_params(emu))  # Accept: */*
    assert program.status_code == 302
    for switch in ({"user": "alex@podiokit.test"}, {"deny": "1"}):
        browser = await http.get(
            "/oauth/authorize", params=_authorize_params(emu, **switch), headers=BROWSER
        )
        assert browser.status_code == 302
    quiet = Emulator(items=0, consent_page=False)
    transport = httpx.ASGITransport(app=quiet.app)
    async with httpx.AsyncClient(transport=transport, base_url=quiet.credentials["api_url"]) as h:
        response = await h.get("/oauth/authorize", params=_authorize_params(quiet), headers=BROWSER)
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"redirect_uri": "https://evil.example/cb"}, "not on a domain registered"),
        ({"client_id": "someone-else"}, "Unknown client_id"),
        ({"user": "nobody@example.com"}, "No such user"),
    ],
)
async def test_browser_facing_errors_are_html_pages(
    http: httpx.AsyncClient, emu: Emulator, change: dict[str, str], message: str
):
    params = _authorize_params(emu, **change)
    page = await http.get("/oauth/authorize", params=params, headers=BROWSER)
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Sign-in error - Podio emulator</title>" in page.text and message in page.text
    assert "location" not in page.headers
    program = await http.get("/oauth/authorize", params=params)  # a program keeps JSON
    assert program.status_code == 400 and message in program.json()["error_description"]
    posted = await http.post("/oauth/authorize", data={**params, "decision": "approve"})
    assert posted.status_code == 400 and message in posted.text
    odd = await http.post("/oauth/authorize", data={**_authorize_params(emu), "decision": "?"})
    assert odd.status_code == 400 and "decision=approve" in odd.text
