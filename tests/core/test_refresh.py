"""Refresh: before expiry and on a 401, single flight across 200 concurrent calls."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

import anyio
import httpx
import pytest
import respx

from podiokit import OAuthToken, Podio, PodioAuthorizationError, PodioInvalidGrantError
from podiokit.sessions import MemorySessionStore

from .conftest import SECRET, error_body, token_body

pytestmark = pytest.mark.anyio

N = 200


def _expired_token(access: str = "old-acc", refresh: str | None = "old-ref") -> OAuthToken:
    return OAuthToken(
        access_token=access,
        refresh_token=refresh,
        expires_at=datetime.now(timezone.utc) - timedelta(minutes=5),
    )


def _fresh_token(access: str = "old-acc", refresh: str | None = "old-ref") -> OAuthToken:
    return OAuthToken(
        access_token=access,
        refresh_token=refresh,
        expires_at=datetime.now(timezone.utc) + timedelta(hours=8),
    )


def _form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def _items_route(api: respx.MockRouter, valid: str) -> respx.Route:
    """GET /item/{id}: 200 for the valid token, Podio's 401 expired_token otherwise."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") == f"OAuth2 {valid}":
            item_id = int(request.url.path.rsplit("/", 1)[1])
            return httpx.Response(200, json={"item_id": item_id})
        return httpx.Response(
            401,
            json=error_body("unauthorized", "expired_token", path=request.url.path),
            headers={"WWW-Authenticate": 'Bearer realm="podio", error="expired_token"'},
        )

    return api.get(path__regex=r"^/item/\d+$").mock(side_effect=answer)


async def _many_gets(podio: Podio, n: int = N) -> list[object]:
    results: list[object] = [None] * n

    async def one(i: int) -> None:
        results[i] = await podio.request("GET", f"/item/{i}")

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)
    return results


async def test_proactive_refresh_single_flight(api: respx.MockRouter) -> None:
    token_route = api.post("/oauth/token").respond(json=token_body("new-acc", "new-ref"))
    items = _items_route(api, "new-acc")
    store = MemorySessionStore()
    await store.set("default", _expired_token())
    async with Podio("cid", SECRET, session_store=store) as podio:
        results = await _many_gets(podio)
    assert token_route.call_count == 1
    assert _form(token_route.calls.last.request) == {
        "grant_type": "refresh_token",
        "refresh_token": "old-ref",
        "client_id": "cid",
        "client_secret": SECRET,
    }
    assert results == [{"item_id": i} for i in range(N)]
    # No request left with the expired token: the refresh happened before sending.
    assert items.call_count == N
    saved = await store.get("default")
    assert (
        saved is not None and saved.access_token == "new-acc" and saved.refresh_token == "new-ref"
    )


async def test_401_driven_refresh_single_flight_and_replay(api: respx.MockRouter) -> None:
    token_route = api.post("/oauth/token").respond(json=token_body("new-acc", "new-ref"))
    items = _items_route(api, "new-acc")
    store = MemorySessionStore()
    # Our clock says it is valid; Podio says it expired (revoked, clock skew...).
    await store.set("default", _fresh_token())
    async with Podio("cid", SECRET, session_store=store) as podio:
        results = await _many_gets(podio)
    assert token_route.call_count == 1
    assert results == [{"item_id": i} for i in range(N)]
    failed = [c for c in items.calls if c.response.status_code == 401]
    replayed = [c for c in items.calls if c.response.status_code == 200]
    assert len(replayed) == N and 1 <= len(failed) <= N
    assert (await store.get("default")).access_token == "new-acc"  # type: ignore[union-attr]


async def test_replay_happens_only_once(api: respx.MockRouter) -> None:
    token_route = api.post("/oauth/token").respond(json=token_body("new-acc", "new-ref"))
    items = _items_route(api, "never-valid")
    store = MemorySessionStore()
    await store.set("default", _fresh_token())
    async with Podio("cid", SECRET, session_store=store) as podio:
        with pytest.raises(PodioAuthorizationError) as info:
            await podio.request("GET", "/item/5")
    assert info.value.status == 401 and info.value.error_description == "expired_token"
    assert token_route.call_count == 1
    assert items.call_count == 2


async def test_refresh_token_is_sent_once_then_new_one_is_used(api: respx.MockRouter) -> None:
    refreshes = iter([token_body("acc-2", "ref-2", expires_in=0), token_body("acc-3", "ref-3")])
    token_route = api.post("/oauth/token").mock(
        side_effect=lambda request: httpx.Response(200, json=next(refreshes))
    )
    api.get(path__regex=r"^/item/\d+$").respond(json={"item_id": 1})
    store = MemorySessionStore()
    await store.set("default", _expired_token("acc-1", "ref-1"))
    async with Podio("cid", SECRET, session_store=store) as podio:
        await podio.request("GET", "/item/1")  # refresh 1: acc-2 arrives already expired
        await podio.request("GET", "/item/1")  # refresh 2 uses the rotated ref-2
    sent = [_form(call.request)["refresh_token"] for call in token_route.calls]
    assert sent == ["ref-1", "ref-2"]


async def test_invalid_grant_on_refresh_is_terminal_for_user_and_keeps_token(
    api: respx.MockRouter,
) -> None:
    api.post("/oauth/token").respond(
        400,
        json=error_body(
            "invalid_grant",
            "Sorry, your refresh token is no longer valid",
            method="POST",
            path="/oauth/token",
        ),
    )
    items = _items_route(api, "whatever")
    store = MemorySessionStore()
    old = _expired_token()
    await store.set("default", old)
    async with Podio("cid", SECRET, session_store=store) as podio:
        with pytest.raises(PodioInvalidGrantError) as info:
            await podio.request("GET", "/item/1")
        assert "refresh_token" in str(info.value)  # names the grant that failed
        assert "old-ref" not in str(info.value) and SECRET not in str(info.value)
        assert await podio.is_authenticated() is False
    assert items.call_count == 0
    # The refused token is kept, marked dead (its tokens are not overwritten).
    assert await store.get("default") == dataclasses.replace(old, dead=True)


async def test_app_session_reauthenticates_after_invalid_grant(api: respx.MockRouter) -> None:
    answers = iter(
        [
            httpx.Response(
                200,
                json=token_body("app-acc-1", "app-ref-1", expires_in=1, ref_type="app", ref_id=42),
            ),
            httpx.Response(
                400,
                json=error_body(
                    "invalid_grant", "invalid refresh token", method="POST", path="/oauth/token"
                ),
            ),
            httpx.Response(
                200, json=token_body("app-acc-2", "app-ref-2", ref_type="app", ref_id=42)
            ),
        ]
    )
    token_route = api.post("/oauth/token").mock(side_effect=lambda request: next(answers))
    _items_route(api, "app-acc-2")
    async with Podio("cid", SECRET) as podio:
        await podio.authenticate_with_app(42, "the-app-token")
        assert await podio.request("GET", "/item/3") == {"item_id": 3}
    grants = [_form(call.request)["grant_type"] for call in token_route.calls]
    assert grants == ["app", "refresh_token", "app"]
    assert _form(token_route.calls.last.request)["app_token"] == "the-app-token"
    assert podio.token is not None and podio.token.access_token == "app-acc-2"


async def test_client_side_flow_calls_on_token_will_refresh(api: respx.MockRouter) -> None:
    token_route = api.post("/oauth/token")
    _items_route(api, "second")
    calls: list[Podio] = []

    async def reauth(client: Podio) -> None:
        calls.append(client)
        await client.authenticate_with_fragment(
            "#access_token=second&expires_in=3600&refresh_token=r2"
        )

    async with Podio("cid", None, on_token_will_refresh=reauth) as podio:
        await podio.authenticate_with_fragment("#access_token=first&expires_in=1&refresh_token=r1")
        results = await _many_gets(podio, 50)
    assert results == [{"item_id": i} for i in range(50)]
    assert calls == [podio] or (len(calls) == 1 and calls[0].session_key == podio.session_key)
    assert token_route.call_count == 0  # even though the fragment carried a refresh token


async def test_client_side_flow_without_new_token_raises(api: respx.MockRouter) -> None:
    token_route = api.post("/oauth/token")
    _items_route(api, "second")
    seen: list[str] = []

    def does_nothing(client: Podio) -> None:
        seen.append(client.session_key)

    async with Podio("cid", None, on_token_will_refresh=does_nothing) as podio:
        await podio.authenticate_with_fragment("#access_token=first&expires_in=1&refresh_token=r1")
        with pytest.raises(PodioAuthorizationError, match="on_token_will_refresh"):
            await podio.request("GET", "/item/1")
    assert seen == ["default"]
    assert token_route.call_count == 0


async def test_client_side_flow_without_callback_raises_on_401(api: respx.MockRouter) -> None:
    _items_route(api, "other")
    async with Podio("cid", None) as podio:
        await podio.authenticate_with_fragment("#access_token=first&expires_in=3600")
        with pytest.raises(PodioAuthorizationError):
            await podio.request("GET", "/item/1")


async def test_is_authenticated_refreshes_expired_token(api: respx.MockRouter) -> None:
    token_route = api.post("/oauth/token").respond(json=token_body("new-acc"))
    store = MemorySessionStore()
    await store.set("default", _expired_token())
    async with Podio("cid", SECRET, session_store=store) as podio:
        assert podio.token is None
        assert await podio.is_authenticated() is True
        assert podio.token is not None and podio.token.access_token == "new-acc"
    assert token_route.call_count == 1


async def test_sessions_share_pool_and_store_but_not_tokens(api: respx.MockRouter) -> None:
    bodies = iter(
        [
            token_body("acc-a", ref_type="app", ref_id=1),
            token_body("acc-b", ref_type="app", ref_id=2),
        ]
    )
    api.post("/oauth/token").mock(
        side_effect=lambda request: httpx.Response(200, json=next(bodies))
    )
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        limit_left = "100" if request.headers["authorization"].endswith("acc-a") else "200"
        return httpx.Response(
            200,
            json={},
            headers={"X-Rate-Limit-Limit": "1000", "X-Rate-Limit-Remaining": limit_left},
        )

    api.get("/app/1").mock(side_effect=answer)
    async with Podio("cid", SECRET) as podio:
        a = podio.session("app:1")
        b = podio.session("app:2")
        await a.authenticate_with_app(1, "t1")
        await b.authenticate_with_app(2, "t2")
        await a.request("GET", "/app/1")
        await b.request("GET", "/app/1")
        assert seen == ["OAuth2 acc-a", "OAuth2 acc-b"]
        assert a._pipeline.http is b._pipeline.http is podio._pipeline.http
        assert a.session_store is podio.session_store
        assert podio.token is None  # the default key never authenticated
        assert a.rate_limit.remaining == 100 and b.rate_limit.remaining == 200
        # Every view of one key sees the same figures.
        assert podio.session("app:1").rate_limit.remaining == 100
        await a.aclose()  # a view does not close the shared pool
        await podio.session("app:1").request("GET", "/app/1")


def test_one_client_across_successive_asyncio_runs() -> None:
    with respx.mock(base_url="https://api.podio.com", assert_all_called=False) as api:
        token_route = api.post("/oauth/token").respond(json=token_body("new-acc"))
        api.get(path__regex=r"^/item/\d+$").respond(json={"item_id": 1})
        podio = Podio("cid", SECRET)

        async def run() -> None:
            await podio.authenticate_with_app(1, "t") if podio.token is None else None
            await _many_gets(podio, 20)
            await podio.session_store.set("default", _expired_token())
            podio._pipeline.session_auth("default").loaded = False
            await _many_gets(podio, 20)  # refresh under this loop's lock

        asyncio.run(run())
        asyncio.run(run())
        asyncio.run(podio.aclose())
        assert token_route.call_count == 3  # app grant + one refresh per run


# -- refresh answers that do not rotate (docs/dev/podio-behaviour.md §1.3) ---------------------


async def test_a_refresh_answer_without_refresh_token_keeps_the_old_one(
    api: respx.MockRouter,
) -> None:
    # Podio was seen answering a refresh with the same refresh token; an answer with none
    # at all must not leave the session unable to refresh again.
    refreshes = iter([token_body("acc-2", None, expires_in=0), token_body("acc-3", None)])
    token_route = api.post("/oauth/token").mock(
        side_effect=lambda request: httpx.Response(200, json=next(refreshes))
    )
    api.get(path__regex=r"^/item/\d+$").respond(json={"item_id": 1})
    store = MemorySessionStore()
    await store.set("default", _expired_token("acc-1", "ref-1"))
    async with Podio("cid", SECRET, session_store=store) as podio:
        await podio.request("GET", "/item/1")  # refresh 1: acc-2, already expired
        await podio.request("GET", "/item/1")  # refresh 2 still has ref-1 to send
        assert podio.token is not None and podio.token.refresh_token == "ref-1"
    sent = [_form(call.request)["refresh_token"] for call in token_route.calls]
    assert sent == ["ref-1", "ref-1"]
    saved = await store.get("default")
    assert saved is not None
    assert (saved.access_token, saved.refresh_token) == ("acc-3", "ref-1")


async def test_a_401_driven_refresh_without_refresh_token_keeps_the_old_one(
    api: respx.MockRouter,
) -> None:
    api.post("/oauth/token").respond(json=token_body("new-acc", None))
    _items_route(api, "new-acc")
    store = MemorySessionStore()
    await store.set("default", _fresh_token("old-acc", "old-ref"))
    async with Podio("cid", SECRET, session_store=store) as podio:
        assert await podio.request("GET", "/item/4") == {"item_id": 4}
    saved = await store.get("default")
    assert saved is not None
    assert (saved.access_token, saved.refresh_token) == ("new-acc", "old-ref")


async def test_an_app_grant_without_refresh_token_is_stored_as_it_came(
    api: respx.MockRouter,
) -> None:
    # Only a refresh has an old refresh token to keep; a new grant stores what it got.
    api.post("/oauth/token").respond(json=token_body("app-acc", None, ref_type="app"))
    async with Podio("cid", SECRET) as podio:
        token = await podio.authenticate_with_app(42, "the-app-token")
    assert token.refresh_token is None


async def test_the_emulator_reusing_refresh_tokens_as_podio_was_seen_to() -> None:
    from podiokit.testing import Emulator

    emu = Emulator(items=1, refresh="reuse")
    creds = emu.credentials
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
    async with Podio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    ) as podio:
        first = await podio.authenticate_with_credentials(creds["username"], creds["password"])
        for _ in range(3):
            emu.expire_tokens()
            await podio.request("GET", "/user/status")
        assert podio.token is not None
        assert podio.token.refresh_token == first.refresh_token
        assert podio.token.access_token != first.access_token
    await http.aclose()
    assert emu.stats()["token_grants"] == {"password": 1, "refresh_token": 3}
