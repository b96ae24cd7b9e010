"""Issue 15.2: a refresh token Podio refuses (invalid_grant) is refused once, remembered as
dead in the store (across processes too), and the README's re-authenticate pattern recovers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs

import anyio
import httpx
import pytest
import respx

from podiokit import OAuthToken, Podio, PodioInvalidGrantError
from podiokit.sessions import FileSessionStore, MemorySessionStore, SessionStore

from .conftest import SECRET, error_body, token_body

pytestmark = pytest.mark.anyio

INVALID_GRANT = error_body(
    "invalid_grant",
    "Sorry, your refresh token is no longer valid",
    method="POST",
    path="/oauth/token",
)


def _expired(access: str = "old-acc", refresh: str = "old-ref") -> OAuthToken:
    return OAuthToken(
        access_token=access,
        refresh_token=refresh,
        expires_at=datetime.now(timezone.utc) - timedelta(minutes=5),
    )


def _grant(request: httpx.Request) -> str:
    return parse_qs(request.content.decode())["grant_type"][0]


def _token_endpoint(api: respx.MockRouter) -> respx.Route:
    """invalid_grant for every refresh; a fresh pair for the password flow."""

    def answer(request: httpx.Request) -> httpx.Response:
        if _grant(request) == "password":
            return httpx.Response(200, json=token_body("new-acc", "new-ref"))
        return httpx.Response(400, json=INVALID_GRANT)

    return api.post("/oauth/token").mock(side_effect=answer)


def _items(api: respx.MockRouter) -> respx.Route:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "OAuth2 new-acc":
            return httpx.Response(200, json={"item_id": 1})
        return httpx.Response(401, json=error_body("unauthorized", "expired_token"))

    return api.get("/item/1").mock(side_effect=answer)


async def test_concurrent_callers_make_one_refused_refresh(api: respx.MockRouter) -> None:
    token_route = _token_endpoint(api)
    items = _items(api)
    store = MemorySessionStore()
    await store.set("default", _expired())
    errors: list[BaseException] = []

    async def call(podio: Podio) -> None:
        try:
            await podio.request("GET", "/item/1")
        except PodioInvalidGrantError as exc:
            errors.append(exc)

    async with Podio("cid", SECRET, session_store=store) as podio:
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(call, podio)
        assert len(errors) == 20
        assert token_route.call_count == 1  # one refresh, like a successful one
        assert await podio.is_authenticated() is False
        with pytest.raises(PodioInvalidGrantError, match="authenticate again"):
            await podio.request("GET", "/item/1")
    assert token_route.call_count == 1  # known dead: no second attempt
    assert items.call_count == 0
    stored = await store.get("default")
    assert stored is not None and stored.dead


async def test_a_new_process_knows_the_token_is_dead_and_readme_pattern_recovers(
    api: respx.MockRouter, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.json"
    token_route = _token_endpoint(api)
    items = _items(api)
    await FileSessionStore(path).set("default", _expired())
    async with Podio("cid", SECRET, session_store=FileSessionStore(path)) as first:
        with pytest.raises(PodioInvalidGrantError):
            await first.request("GET", "/item/1")
    assert json.loads(path.read_text())["default"]["dead"] is True

    # A new client on the same file (as a new process would be) asks Podio nothing.
    async with Podio("cid", SECRET, session_store=FileSessionStore(path)) as second:
        assert await second.is_authenticated() is False
        with pytest.raises(PodioInvalidGrantError):
            await second.request("GET", "/item/1")
        assert token_route.call_count == 1
        # The README's pattern:
        if not await second.is_authenticated():
            await second.authenticate_with_credentials("user@example.com", "pw")
        assert await second.is_authenticated() is True
        assert await second.request("GET", "/item/1") == {"item_id": 1}
    assert [_grant(c.request) for c in token_route.calls] == ["refresh_token", "password"]
    assert items.call_count == 1
    stored = await FileSessionStore(path).get("default")
    assert stored is not None and not stored.dead and stored.access_token == "new-acc"


async def test_a_failed_refresh_never_overwrites_a_token_stored_meanwhile(
    api: respx.MockRouter, tmp_path: Path
) -> None:
    """Another process authenticates while this one's refresh is refused: its fresh token
    is kept (not marked dead) and this call goes on with it."""
    path = tmp_path / "tokens.json"
    fresh = OAuthToken(
        access_token="new-acc",
        refresh_token="new-ref",
        expires_at=datetime.now(timezone.utc) + timedelta(hours=8),
    )

    def refused_while_another_process_logs_in(request: httpx.Request) -> httpx.Response:
        path.write_text(json.dumps({"default": fresh.to_storage()}))
        return httpx.Response(400, json=INVALID_GRANT)

    api.post("/oauth/token").mock(side_effect=refused_while_another_process_logs_in)
    _items(api)
    store = FileSessionStore(path)
    await store.set("default", _expired())
    async with Podio("cid", SECRET, session_store=store) as podio:
        assert await podio.request("GET", "/item/1") == {"item_id": 1}
    assert await store.get("default") == fresh


async def test_an_app_session_whose_app_token_is_refused_stops_asking(
    api: respx.MockRouter,
) -> None:
    answers = iter(
        [httpx.Response(200, json=token_body("app-acc", "app-ref", expires_in=1, ref_type="app"))]
    )

    def answer(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(400, json=INVALID_GRANT))

    token_route = api.post("/oauth/token").mock(side_effect=answer)
    items = _items(api)  # 401 expired_token for the app's token
    async with Podio("cid", SECRET) as podio:
        await podio.authenticate_with_app(42, "revoked-app-token")
        for _ in range(3):
            with pytest.raises(PodioInvalidGrantError):
                await podio.request("GET", "/item/1")
    # app, then refresh_token (refused) and app (refused); later calls ask nothing.
    assert [_grant(c.request) for c in token_route.calls] == ["app", "refresh_token", "app"]
    assert items.call_count == 1


async def test_dead_flag_round_trips_through_storage() -> None:
    dead = OAuthToken(access_token="a", refresh_token="r", dead=True)
    assert OAuthToken.from_storage(dead.to_storage()) == dead
    assert OAuthToken.from_storage({"access_token": "a"}).dead is False  # older files
    store: SessionStore = MemorySessionStore()
    await store.set("k", dead)
    assert await store.get("k") == dead


async def test_the_issue_scenario_against_the_emulator() -> None:
    """Two clients share one user token; one refreshes (rotation kills the other's refresh
    token); 20 concurrent calls on the other make one refused refresh, then it recovers."""
    from podiokit.testing import Emulator

    emu = Emulator(items=1, refresh="rotate")
    creds = emu.credentials
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url=creds["api_url"]) as http:

        def client() -> Podio:
            return Podio(
                creds["client_id"],
                creds["client_secret"],
                api_url=creds["api_url"],
                http_client=http,
                session_store=MemorySessionStore(),
            )

        first, second = client(), client()
        await second.set_token(
            await first.authenticate_with_credentials(creds["username"], creds["password"])
        )
        emu.expire_tokens()
        await first.request("GET", "/user/status")  # refreshes; the shared pair is rotated
        assert emu.stats()["routes"]["POST /oauth/token"] == 2
        failures: list[Exception] = []

        async def call() -> None:
            try:
                await second.request("GET", "/user/status")
            except PodioInvalidGrantError as exc:
                failures.append(exc)

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(call)
        assert len(failures) == 20
        # The 20 calls went out with a token that looked valid and got 401 expired_token;
        # then one refresh was tried and refused.
        stats = emu.stats()
        assert stats["routes"]["POST /oauth/token"] == 3
        with pytest.raises(PodioInvalidGrantError):
            await second.request("GET", "/user/status")
        assert emu.stats()["requests"] == stats["requests"]  # known dead: nothing sent
        if not await second.is_authenticated():
            await second.authenticate_with_credentials(creds["username"], creds["password"])
        status = await second.request("GET", "/user/status")
        assert status["user"]["mail"] == creds["username"]
        assert emu.stats()["token_grants"] == {"password": 2, "refresh_token": 1}


async def test_a_client_that_loaded_the_token_before_it_died_learns_it_once(
    api: respx.MockRouter, tmp_path: Path
) -> None:
    """B loaded the token while it still looked valid; A's refresh is refused. B's next call
    meets a 401, finds the token marked dead in the store, and sends nothing after that."""
    path = tmp_path / "tokens.json"
    token_route = _token_endpoint(api)
    items = _items(api)
    looks_valid = OAuthToken(
        access_token="old-acc",
        refresh_token="old-ref",
        expires_at=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    await FileSessionStore(path).set("default", looks_valid)
    async with Podio("cid", SECRET, session_store=FileSessionStore(path)) as b:
        assert await b.is_authenticated() is True  # loads the token
        await FileSessionStore(path).set("default", _expired())  # A: it expired ...
        async with Podio("cid", SECRET, session_store=FileSessionStore(path)) as a:
            with pytest.raises(PodioInvalidGrantError):
                await a.request("GET", "/item/1")  # ... and its refresh was refused
        for _ in range(3):
            with pytest.raises(PodioInvalidGrantError):
                await b.request("GET", "/item/1")
        assert await b.is_authenticated() is False
    assert items.call_count == 1  # B's first call only
    assert token_route.call_count == 1  # A's refused refresh only
