"""Auth errors, rate limits, faults, latency and the control API (docs/dev/podio-behaviour.md §2-3)."""

from __future__ import annotations

import contextlib
import re
import time
import types

import httpx
import pytest

from podiokit.testing import Emulator, _app, _tokens

from .conftest import PROJECTS, app_token, auth, client_fields, password_token

pytestmark = pytest.mark.anyio


def in_process(emu: Emulator) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=emu.app)
    return httpx.AsyncClient(transport=transport, base_url=emu.credentials["api_url"])


async def test_expired_token_is_401_with_the_challenge(http: httpx.AsyncClient, emu: Emulator):
    token = await password_token(http, emu)
    assert (await http.get("/user/status", headers=auth(token))).status_code == 200
    emu.expire_tokens()
    response = await http.get("/user/status", headers=auth(token))
    assert response.status_code == 401
    body = response.json()
    assert (body["error"], body["error_description"]) == ("unauthorized", "expired_token")
    challenge = 'Bearer realm="podio", error="expired_token"'
    assert response.headers["WWW-Authenticate"] == challenge
    # Refresh tokens survive expire_tokens().
    grant = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    fresh = (await http.post("/oauth/token", data={**grant, **client_fields(emu)})).json()
    assert (await http.get("/user/status", headers=auth(fresh))).status_code == 200


@pytest.mark.parametrize("header", ["OAuth2 garbage", "Bearer garbage", None])
async def test_garbage_or_missing_token_is_401_invalid_token(
    http: httpx.AsyncClient, header: str | None
):
    headers = {"Authorization": header} if header else {}
    response = await http.get("/user/status", headers=headers)
    assert response.status_code == 401
    assert response.json()["error_description"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


async def test_token_accepted_as_oauth2_bearer_or_query(http: httpx.AsyncClient, emu: Emulator):
    token = (await password_token(http, emu))["access_token"]
    for headers, params in (
        ({"Authorization": f"OAuth2 {token}"}, {}),
        ({"Authorization": f"Bearer {token}"}, {}),
        ({}, {"oauth_token": token}),
    ):
        response = await http.get("/user/status", headers=headers, params=params)
        assert response.status_code == 200


async def test_rate_limit_counts_down_then_420_with_a_wait_hint():
    emu = Emulator(items=5, rate_limit=3)
    async with in_process(emu) as http:
        token = await password_token(http, emu)
        remaining = []
        for _ in range(3):
            response = await http.get("/user/status", headers=auth(token))
            assert response.headers["X-Rate-Limit-Limit"] == "3"
            remaining.append(response.headers["X-Rate-Limit-Remaining"])
        assert remaining == ["2", "1", "0"]
        response = await http.get("/user/status", headers=auth(token))
        assert response.status_code == 420
        body = response.json()
        assert body["error"] == "rate_limit"
        wait = re.search(r"Please wait (\d+) seconds", body["error_description"])
        assert wait is not None and 3500 <= int(wait.group(1)) <= 3600
        assert response.headers["X-Rate-Limit-Remaining"] == "0"
        # Another identity (an app) has its own budget.
        other = await app_token(http, emu)
        assert (await http.get(f"/app/{PROJECTS}", headers=auth(other))).status_code == 200


async def test_reset_rate_limits_starts_every_window_afresh():
    """POST /_emulator/reset-rate-limits stands in for the hour passing, so tests need not
    wait for a window to end."""
    emu = Emulator(items=5, rate_limit=2)
    async with in_process(emu) as http:
        token = await password_token(http, emu)
        for _ in range(2):
            await http.get("/user/status", headers=auth(token))
        assert (await http.get("/user/status", headers=auth(token))).status_code == 420
        reset = await http.post("/_emulator/reset-rate-limits")
        assert reset.status_code == 200 and reset.json()["windows"] >= 1
        response = await http.get("/user/status", headers=auth(token))
        assert response.status_code == 200
        assert response.headers["X-Rate-Limit-Remaining"] == "1"


async def test_filter_spends_the_low_pool():
    emu = Emulator(items=5, rate_limit=1000)
    async with in_process(emu) as http:
        token = await password_token(http, emu)
        response = await http.post(f"/item/app/{PROJECTS}/filter/", json={}, headers=auth(token))
        assert response.headers["X-Rate-Limit-Limit"] == "250"
        response = await http.get(f"/app/{PROJECTS}", headers=auth(token))
        assert response.headers["X-Rate-Limit-Limit"] == "1000"
        assert response.headers["X-Rate-Limit-Remaining"] == "999"


async def outcomes(emu: Emulator, n: int) -> list[str]:
    out = []
    async with in_process(emu) as http:
        for _ in range(n):
            try:
                response = await http.get("/org/")
            except httpx.TransportError:
                out.append("drop")
            else:
                out.append(str(response.status_code))
    return out


async def test_faults_are_gateway_errors_or_drops_and_reproducible():
    first = await outcomes(Emulator(items=1, fault_rate=1.0, fault_seed=7), 40)
    again = await outcomes(Emulator(items=1, fault_rate=1.0, fault_seed=7), 40)
    assert first == again
    assert set(first) == {"502", "503", "504", "drop"}


async def test_fault_rate_is_a_share():
    results = await outcomes(Emulator(items=1, fault_rate=0.25, fault_seed=1), 400)
    faults = sum(r != "401" for r in results)  # unauthenticated calls otherwise get 401
    assert 60 <= faults <= 140


async def test_gateway_faults_may_be_html():
    emu = Emulator(items=1, fault_rate=1.0, fault_seed=7)
    async with in_process(emu) as http:
        kinds = set()
        for _ in range(30):
            try:
                response = await http.get("/org/")
            except httpx.TransportError:
                continue
            kinds.add((response.status_code, response.headers["content-type"].split(";")[0]))
    assert (502, "text/html") in kinds
    assert (503, "application/json") in kinds


async def test_control_routes(http: httpx.AsyncClient, emu: Emulator):
    token = await password_token(http, emu)
    await http.get(f"/item/app/{PROJECTS}/count", headers=auth(token))
    await http.get(f"/item/app/{PROJECTS}/count", headers=auth(token))
    stats = (await http.get("/_emulator/stats")).json()
    assert stats["routes"]["GET /item/app/{app_id}/count"] == 2
    assert stats["token_grants"] == {"password": 1}
    assert (await http.post("/_emulator/expire-tokens")).status_code == 200
    assert (await http.get("/user/status", headers=auth(token))).status_code == 401
    faults = await http.post("/_emulator/faults", json={"latency": 0, "fault_rate": 1.0})
    assert faults.json() == {"latency": 0.0, "fault_rate": 1.0}
    with contextlib.suppress(httpx.TransportError):  # a dropped connection is a fault too
        assert (await http.get("/org/")).status_code in (502, 503, 504)
    assert sum((await http.get("/_emulator/stats")).json()["faults"].values()) == 1
    await http.post("/_emulator/faults", json={"fault_rate": 0.0})
    await http.post(f"/item/app/{PROJECTS}/", json={"fields": {"title": "x"}},
                    headers=auth(await password_token(http, emu)))  # fmt: skip
    assert (await http.post("/_emulator/reset")).json() == {"items": 120}
    assert (await http.get("/_emulator/stats")).json()["token_grants"] == {}


async def test_latency_is_added(emu: Emulator):
    emu.set_faults(latency=60)
    async with in_process(emu) as http:
        started = time.perf_counter()
        await http.get("/org/")
        assert time.perf_counter() - started >= 0.06


async def test_tokens_expire_after_token_lifetime(monkeypatch: pytest.MonkeyPatch):
    # The emulator's clock is injected (its modules' `time`), so no test waits for a second
    # to pass, and the boundary itself is checked.
    start = 1_700_000_000.0
    now = [start]
    clock = types.SimpleNamespace(time=lambda: now[0])
    for module in (_app, _tokens):
        monkeypatch.setattr(module, "time", clock)
    emu = Emulator(items=1, token_lifetime=60)
    async with in_process(emu) as http:
        token = await password_token(http, emu)
        assert token["expires_in"] == 60
        now[0] = start + 59.5
        assert (await http.get("/user/status", headers=auth(token))).status_code == 200
        now[0] = start + 60
        expired = await http.get("/user/status", headers=auth(token))
        assert (expired.status_code, expired.json()["error_description"]) == (401, "expired_token")
