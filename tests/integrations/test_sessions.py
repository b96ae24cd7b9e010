"""PodioAuth as people use it: sign-ins pending in several tabs, forged and replayed callbacks,
browser sessions that end for real (here, everywhere, across processes), clear failure pages,
and page routes that send a signed-out visitor to the sign-in and back."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import Depends, FastAPI
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from podiokit import Podio
from podiokit.integrations.fastapi import PodioAuth
from podiokit.testing import Emulator

from ..docs.mdrun import redis_server
from .conftest import APP_URL, REDIRECT_URI, SECRET, authorize, browser, set_cookie, sign_in

pytestmark = pytest.mark.anyio

DEMO, ALEX = 1001, 1002


def _state(location: str) -> str:
    return parse_qs(urlsplit(location).query)["state"][0]


def _set_cookies(response: httpx.Response) -> list[str]:
    return [v for k, v in response.headers.multi_items() if k == "set-cookie"]


@pytest.mark.parametrize("order", ["first tab first", "second tab first"])
async def test_two_tabs_signing_in_at_once_both_complete(
    web: FastAPI, emu: Emulator, order: str
) -> None:
    async with browser(web) as b:  # one browser, two tabs: one cookie jar
        first = await b.get("/auth/login")
        second = await b.get("/auth/login")
        assert _state(first.headers["location"]) != _state(second.headers["location"])
        backs = [
            await authorize(emu, first.headers["location"]),
            await authorize(emu, second.headers["location"]),
        ]
        if order == "second tab first":
            backs.reverse()
        for back in backs:
            done = await b.get(back)
            assert done.status_code == 303, done.text
            me = await b.get("/me")
            assert me.status_code == 200 and me.json()["user_id"] == DEMO


async def test_a_forged_callback_changes_nothing(web: FastAPI, emu: Emulator) -> None:
    async with browser(web) as b:
        login = await b.get("/auth/login")
        pending = dict(b.cookies)
        real = _state(login.headers["location"])
        other_key = URLSafeTimedSerializer(
            "another-secret-key-0123456789", salt="podiokit.oauth-state"
        )
        # Any site can link these: made up, tampered with, signed with another key.
        for forged in ("forged", real[:-3] + "abc", other_key.dumps("x")):
            response = await b.get("/auth/callback", params={"state": forged, "code": "x"})
            assert response.status_code == 400
            assert "not issued by this app" in response.text
            assert _set_cookies(response) == []  # no cookie touched
        assert dict(b.cookies) == pending
        done = await b.get(await authorize(emu, login.headers["location"]))
        assert done.status_code == 303  # the real sign-in still completes
        assert (await b.get("/me")).status_code == 200


async def test_a_state_is_good_once(web: FastAPI, emu: Emulator) -> None:
    async with browser(web) as b:
        login = await b.get("/auth/login")
        back = await authorize(emu, login.headers["location"])
        done = await b.get(back)
        assert done.status_code == 303
        state_cookie = [c for c in _set_cookies(done) if c.startswith("podiokit_state_")]
        assert state_cookie and "max-age=0" in state_cookie[0].lower()  # cleared
        replay = await b.get(back)
    assert replay.status_code == 400
    assert "already completed" in replay.text
    # Refused before the code reached Podio again.
    assert emu.stats()["token_grants"]["authorization_code"] == 1


async def test_a_sign_in_that_took_too_long_says_so(
    web: FastAPI, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with browser(web) as b:
        with monkeypatch.context() as m:  # /login eleven minutes ago
            m.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 660)
            login = await b.get("/auth/login")
        response = await b.get(await authorize(emu, login.headers["location"]))
    assert response.status_code == 400
    assert "<title>Sign-in took too long</title>" in response.text
    assert "longer than 10 minutes" in response.text


async def test_blocked_cookies_and_another_browser_are_told_apart(
    web: FastAPI, emu: Emulator
) -> None:
    async with browser(web) as b:
        login = await b.get("/auth/login")
        back = await authorize(emu, login.headers["location"])
    async with browser(web) as no_cookies:  # the browser kept nothing
        blocked = await no_cookies.get(back)
        assert blocked.status_code == 400
        assert "cookies seem to be blocked" in blocked.text
    async with browser(web) as other:  # keeps cookies, but this sign-in is not its own
        await other.get("/auth/login")
        set_cookie(other, "theme", "dark")
        elsewhere = await other.get(back)
        assert elsewhere.status_code == 400
        assert "not started in this browser" in elsewhere.text


async def test_logout_ends_this_browser_only_and_its_cookie_for_good(
    web: FastAPI, emu: Emulator, podio: Podio
) -> None:
    async with browser(web) as laptop, browser(web) as phone, browser(web) as later:
        await sign_in(laptop, emu)
        await sign_in(phone, emu)
        copied = laptop.cookies["podiokit"]
        assert (await laptop.post("/auth/logout")).status_code == 303
        assert (await laptop.get("/me")).status_code == 401
        assert (await phone.get("/me")).status_code == 200  # still signed in there
        assert await podio.session_store.get(f"user:{DEMO}") is not None
        # The user signs in again somewhere: the copy taken before logout stays dead.
        await sign_in(later, emu)
        set_cookie(laptop, "podiokit", copied)
        me = await laptop.get("/me")
        assert me.status_code == 401 and "sign in again" in me.json()["detail"]


async def test_logout_everywhere_ends_every_session_of_the_user(
    web: FastAPI, emu: Emulator, podio: Podio, auth: PodioAuth
) -> None:
    async with browser(web) as laptop, browser(web) as phone, browser(web) as alex:
        await sign_in(laptop, emu)
        await sign_in(phone, emu)
        await sign_in(alex, emu, user=str(ALEX))
        out = await laptop.post("/auth/logout", data={"everywhere": "1"})
        assert out.status_code == 303
        assert (await phone.get("/me")).status_code == 401
        assert await podio.session_store.get(f"user:{DEMO}") is None  # the token is forgotten
        assert (await alex.get("/me")).status_code == 200  # another user: untouched
        await sign_in(laptop, emu)  # a new sign-in works; the ended sessions stay ended
        assert (await laptop.get("/me")).status_code == 200
        assert (await phone.get("/me")).status_code == 401
        # The same, from code (an admin page, a "sign out everywhere" button).
        await auth.end_sessions(ALEX)
        assert (await alex.get("/me")).status_code == 401


async def test_current_user_is_none_once_the_session_ended(
    web: FastAPI, emu: Emulator, auth: PodioAuth
) -> None:
    @web.get("/who")
    async def who(user_id: int | None = Depends(auth.current_user)) -> dict[str, Any]:
        return {"user_id": user_id}

    async with browser(web) as b, browser(web) as other:
        assert (await b.get("/who")).json() == {"user_id": None}
        await sign_in(b, emu)
        await sign_in(other, emu)
        assert (await b.get("/who")).json() == {"user_id": DEMO}
        await other.post("/auth/logout?everywhere=1")
        assert (await b.get("/who")).json() == {"user_id": None}


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio: asyncio only
async def test_sessions_end_across_processes_sharing_a_redis_store(
    emu: Emulator, anyio_backend: str
) -> None:
    """Two processes serving one app (two clients, two PodioAuth) over one Redis: a logout
    served by one is refused by the other."""
    pytest.importorskip("redis")
    with redis_server() as url:
        if url is None:
            pytest.skip("redis-server is not installed (CI installs it with apt-get)")
        await _two_processes(emu, url)


async def _two_processes(emu: Emulator, redis_url: str) -> None:
    from podiokit.sessions import RedisSessionStore

    creds = emu.credentials
    apps: list[FastAPI] = []
    clients: list[Podio] = []
    https: list[httpx.AsyncClient] = []
    for _ in range(2):
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"]
        )
        https.append(http)
        podio = Podio(
            creds["client_id"], creds["client_secret"], api_url=creds["api_url"],
            auth_url=creds["auth_url"], http_client=http,
            session_store=RedisSessionStore(redis_url, prefix="app:"),
        )  # fmt: skip
        clients.append(podio)
        apps.append(_me_app(PodioAuth(podio, redirect_uri=REDIRECT_URI, secret_key=SECRET)))
    one, two = apps
    try:
        async with browser(one) as b:
            await sign_in(b, emu)  # served by process one
            cookie = b.cookies["podiokit"]
        async with browser(two) as b:
            set_cookie(b, "podiokit", cookie)
            assert (await b.get("/me")).status_code == 200  # process two knows the session
        async with browser(one) as b:
            set_cookie(b, "podiokit", cookie)
            assert (await b.post("/auth/logout")).status_code == 303
        async with browser(two) as b:
            set_cookie(b, "podiokit", cookie)
            assert (await b.get("/me")).status_code == 401
    finally:
        for podio in clients:
            await podio.aclose()
        for http in https:
            await http.aclose()


def _me_app(auth: PodioAuth) -> FastAPI:
    app = FastAPI()
    app.include_router(auth.router, prefix="/auth")

    @app.get("/me")
    async def me(user: Podio = Depends(auth.client)) -> dict[str, Any]:
        return {"user_id": (await user.request("GET", "/user/"))["user_id"]}

    return app


@pytest.fixture
async def pages(web: FastAPI, auth: PodioAuth) -> AsyncIterator[FastAPI]:
    @web.get("/items")
    async def items(user: Podio = Depends(auth.page_client)) -> dict[str, Any]:
        return {"user_id": (await user.request("GET", "/user/"))["user_id"]}

    @web.post("/items")
    async def add_item(user: Podio = Depends(auth.page_client)) -> dict[str, str]:
        return {"added": "yes"}

    yield web


async def test_page_routes_send_a_signed_out_visitor_to_sign_in_and_back(
    pages: FastAPI, emu: Emulator
) -> None:
    async with browser(pages) as b:
        api = await b.get("/me")  # API routes keep JSON 401
        assert api.status_code == 401 and api.json() == {"detail": "Not signed in to Podio"}
        page = await b.get("/items?page=2")
        assert page.status_code == 303
        assert page.headers["location"] == "/auth/login?next=%2Fitems%3Fpage%3D2"
        login = await b.get(page.headers["location"])
        done = await b.get(await authorize(emu, login.headers["location"]))
        assert done.status_code == 303
        assert done.headers["location"] == "/items?page=2"
        assert (await b.get("/items?page=2")).json() == {"user_id": DEMO}
        await b.post("/auth/logout")
        assert (await b.post("/items")).status_code == 401  # a form post is not redirected
        assert (await b.get("/items")).headers["location"] == "/auth/login?next=%2Fitems"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "http:/evil", "/a\nb", ""],
)
async def test_next_is_restricted_to_the_apps_own_paths(
    pages: FastAPI, emu: Emulator, target: str
) -> None:
    async with browser(pages) as b:
        login = await b.get("/auth/login", params={"next": target})
        done = await b.get(await authorize(emu, login.headers["location"]))
    assert done.status_code == 303
    assert done.headers["location"] == "/me"  # after_login, never elsewhere


async def test_login_url_follows_the_callback_and_can_be_given(podio: Podio) -> None:
    auth = PodioAuth(podio, redirect_uri=f"{APP_URL}/account/callback", secret_key=SECRET)
    assert auth.login_url == "/account/login"
    given = PodioAuth(podio, redirect_uri=REDIRECT_URI, secret_key=SECRET, login_url="/signin")
    assert given.login_url == "/signin"
