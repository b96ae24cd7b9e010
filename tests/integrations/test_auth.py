"""PodioAuth: the login round trip through the emulator's authorize page, the state check,
denied consent, the per-user dependency, logout."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest
from fastapi import Depends, FastAPI
from itsdangerous import URLSafeTimedSerializer

from podiokit import OAuthToken, Podio, TokenRef
from podiokit.integrations.fastapi import PodioAuth
from podiokit.testing import Emulator

from .conftest import (
    REDIRECT_URI,
    SECRET,
    authorize,
    browser,
    set_cookie,
    sign_in,
    state_cookie_name,
)

pytestmark = pytest.mark.anyio

DEMO, ALEX = 1001, 1002


async def test_login_round_trip_signs_the_user_in(
    web: FastAPI, emu: Emulator, podio: Podio
) -> None:
    async with browser(web) as b:
        login = await b.get("/auth/login")
        assert login.status_code == 302
        query = parse_qs(urlsplit(login.headers["location"]).query)
        assert query["redirect_uri"] == [REDIRECT_URI]
        assert query["response_type"] == ["code"]
        state = query["state"][0]
        assert len(state) >= 32
        # The state is bound to this browser by a signed cookie, not shown in it.
        assert state not in login.headers["set-cookie"]

        done = await b.get(await authorize(emu, login.headers["location"]))
        assert done.status_code == 303
        assert done.headers["location"] == "/me"
        me = await b.get("/me")
    assert me.status_code == 200, me.text
    assert me.json() == {"user_id": DEMO, "name": "Dana Demo"}
    stored = await podio.session_store.get(f"user:{DEMO}")
    assert stored is not None and stored.ref == TokenRef("user", DEMO)
    # The exchange key used during the callback is left empty.
    assert await podio.session_store.get("podiokit:oauth-exchange") is None


async def test_cookies_are_httponly_lax_and_secure_for_https(podio: Podio, emu: Emulator) -> None:
    def cookies_of(response: httpx.Response) -> list[str]:
        return [v.lower() for k, v in response.headers.multi_items() if k == "set-cookie"]

    for uri, secure in (("https://app.test/auth/callback", True), (REDIRECT_URI, False)):
        auth = PodioAuth(podio, redirect_uri=uri, secret_key=SECRET)
        app = FastAPI()
        app.include_router(auth.router, prefix="/auth")
        base = "https://app.test" if secure else "http://app.test"
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as b:
            login = await b.get("/auth/login")
            back = await authorize(emu, login.headers["location"])
            done = await b.get("/auth/callback?" + urlsplit(back).query)
        assert done.status_code == 303
        for cookie in cookies_of(login) + cookies_of(done):
            assert "httponly" in cookie and "samesite=lax" in cookie, cookie
            assert ("; secure" in cookie) is secure, cookie
        assert any(c.startswith("podiokit=") and "max-age=0" not in c for c in cookies_of(done))


async def test_missing_state_is_refused(web: FastAPI, emu: Emulator, podio: Podio) -> None:
    async with browser(web) as b:
        login = await b.get("/auth/login")
        back = await authorize(emu, login.headers["location"])
        query = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
        no_state = await b.get("/auth/callback", params={"code": query["code"]})
        assert no_state.status_code == 400
        assert "podiokit=" not in no_state.headers.get("set-cookie", "").replace(
            "podiokit_state=", ""
        )
    async with browser(web) as stranger:  # the right state, but no cookie that binds it
        response = await stranger.get(back)
        assert response.status_code == 400
        assert (await stranger.get("/me")).status_code == 401
    assert await podio.session_store.get(f"user:{DEMO}") is None


async def test_foreign_and_forged_state_is_refused(web: FastAPI, emu: Emulator) -> None:
    async with browser(web) as victim, browser(web) as attacker:
        # The attacker starts a login and hands the victim the callback link of their own.
        mine = await attacker.get("/auth/login")
        back = await authorize(emu, mine.headers["location"], user=str(ALEX))
        await victim.get("/auth/login")  # the victim has a state cookie, for another state
        foreign = await victim.get(back)
        assert foreign.status_code == 400
        assert (await victim.get("/me")).status_code == 401

        # The attacker's state, and a cookie of that state's name with a forged value.
        state = parse_qs(urlsplit(back).query)["state"][0]
        set_cookie(victim, state_cookie_name(state), "forged-value")
        query = parse_qs(urlsplit(back).query)
        forged = await victim.get(
            "/auth/callback", params={"code": query["code"][0], "state": query["state"][0]}
        )
        assert forged.status_code == 400
        assert (await victim.get("/me")).status_code == 401


async def test_state_is_good_for_one_callback(web: FastAPI, emu: Emulator) -> None:
    async with browser(web) as b:
        login = await b.get("/auth/login")
        back = await authorize(emu, login.headers["location"])
        assert (await b.get(back)).status_code == 303
        assert (await b.get(back)).status_code == 400  # replayed: the state cookie is gone


async def test_denied_consent_is_a_403_page(web: FastAPI, emu: Emulator, podio: Podio) -> None:
    async with browser(web) as b:
        denied = await sign_in(b, emu, deny="1")
        assert denied.status_code == 403
        assert denied.headers["content-type"].startswith("text/html")
        assert "did not allow access" in denied.text
        assert (await b.get("/me")).status_code == 401
    assert emu.stats()["token_grants"].get("authorization_code", 0) == 0


async def test_two_users_at_once(web: FastAPI, emu: Emulator) -> None:
    async with browser(web) as dana, browser(web) as alex:
        assert (await sign_in(dana, emu)).status_code == 303
        assert (await sign_in(alex, emu, user="alex@podiokit.test")).status_code == 303
        seen: dict[str, list[int]] = {"dana": [], "alex": []}

        async def pages(name: str, b: httpx.AsyncClient) -> None:
            for _ in range(5):
                response = await b.get("/me")
                assert response.status_code == 200, response.text
                seen[name].append(response.json()["user_id"])

        async with anyio.create_task_group() as tg:
            tg.start_soon(pages, "dana", dana)
            tg.start_soon(pages, "alex", alex)
    assert seen == {"dana": [DEMO] * 5, "alex": [ALEX] * 5}


async def test_concurrent_sign_ins_each_get_their_own_token(web: FastAPI, emu: Emulator) -> None:
    users = {DEMO: "", ALEX: "1002", 1003: "blake@podiokit.test", 1004: "1004"}
    seen: dict[int, int] = {}

    async def one(user_id: int, who: str) -> None:
        async with browser(web) as b:
            switches = {"user": who} if who else {}
            assert (await sign_in(b, emu, **switches)).status_code == 303
            seen[user_id] = (await b.get("/me")).json()["user_id"]

    async with anyio.create_task_group() as tg:
        for user_id, who in users.items():
            tg.start_soon(one, user_id, who)
    assert seen == {user_id: user_id for user_id in users}


async def test_logout_ends_the_session(web: FastAPI, emu: Emulator, podio: Podio) -> None:
    async with browser(web) as b:
        await sign_in(b, emu)
        cookie = b.cookies["podiokit"]
        assert (await b.get("/me")).status_code == 200
        out = await b.post("/auth/logout")
        assert out.status_code == 303
        assert (
            "podiokit=" in out.headers["set-cookie"]
            and "max-age=0" in out.headers["set-cookie"].lower()
        )
        assert (await b.get("/me")).status_code == 401
        set_cookie(b, "podiokit", cookie)  # a copy of the old cookie opens nothing
        assert (await b.get("/me")).status_code == 401
    # Logging out is a POST: a link or an image cannot do it.
    async with browser(web) as b:
        assert (await b.get("/auth/logout")).status_code == 405


async def test_no_or_tampered_session_cookie_is_401(web: FastAPI, emu: Emulator) -> None:
    async with browser(web) as b:
        assert (await b.get("/me")).status_code == 401
        await sign_in(b, emu)
        await sign_in(b, emu, user=str(ALEX))  # Alex's token exists in the store
        assert (await b.get("/me")).json()["user_id"] == ALEX
        signed = b.cookies["podiokit"]
        # Change the payload's first base64 character (all six of its bits are used; the
        # signature's last character has spare bits, so changing it may change nothing).
        set_cookie(b, "podiokit", ("A" if signed[0] != "A" else "B") + signed[1:])
        assert (await b.get("/me")).status_code == 401
        # Signed with another key, or for another purpose (the state cookie's salt).
        other = URLSafeTimedSerializer("another-secret-key-0123456789", salt="podiokit.session")
        set_cookie(b, "podiokit", other.dumps({"user_id": ALEX}))
        assert (await b.get("/me")).status_code == 401
        state_salt = URLSafeTimedSerializer(SECRET, salt="podiokit.oauth-state")
        set_cookie(b, "podiokit", state_salt.dumps({"user_id": ALEX}))
        assert (await b.get("/me")).status_code == 401
        good = URLSafeTimedSerializer(SECRET, salt="podiokit.session")
        set_cookie(b, "podiokit", good.dumps({"user_id": ALEX}))  # no session id
        assert (await b.get("/me")).status_code == 401
        sid = good.loads(signed)["sid"]
        set_cookie(b, "podiokit", good.dumps({"user_id": ALEX, "sid": sid}))
        assert (await b.get("/me")).status_code == 200  # the check above can fail


def _dead(user_id: int, *, expired: bool) -> OAuthToken:
    now = datetime.now(timezone.utc)
    return OAuthToken(
        access_token="not-a-token", refresh_token="revoked-refresh-token",
        expires_at=now + timedelta(hours=-1 if expired else 1), ref=TokenRef("user", user_id),
    )  # fmt: skip


async def test_dead_refresh_token_is_401(web: FastAPI, emu: Emulator, podio: Podio) -> None:
    async with browser(web) as b:
        await sign_in(b, emu)
        # Podio refuses the refresh token (revoked, or older than 28 days).
        await podio.session(f"user:{DEMO}").set_token(_dead(DEMO, expired=True))
        response = await b.get("/me")
    assert response.status_code == 401
    assert "sign in again" in response.json()["detail"]
    assert "revoked-refresh-token" not in response.text


async def test_refresh_token_dying_during_the_request_is_401(
    podio: Podio, emu: Emulator, web: FastAPI, auth: PodioAuth
) -> None:
    @web.get("/expire-then-call")
    async def expire_then_call(user: Podio = Depends(auth.client)) -> dict[str, str]:
        # Valid when the dependency checked it; expired, with a dead refresh token, by the
        # time the page calls Podio.
        emu.expire_tokens()
        await user.request("GET", "/user/")
        return {"reached": "yes"}

    async with browser(web) as b:
        await sign_in(b, emu)
        token = await podio.session_store.get(f"user:{DEMO}")
        assert token is not None
        dead_refresh = OAuthToken(
            access_token=token.access_token, refresh_token="revoked-refresh-token",
            expires_at=token.expires_at, ref=token.ref,
        )  # fmt: skip
        await podio.session(f"user:{DEMO}").set_token(dead_refresh)
        response = await b.get("/expire-then-call")
    assert response.status_code == 401, response.text
    assert await podio.session_store.get(f"user:{DEMO}") is None


def test_bad_configuration_is_refused() -> None:
    podio = Podio("client-id", "client-secret")
    with pytest.raises(ValueError, match="secret_key"):
        PodioAuth(podio, redirect_uri=REDIRECT_URI, secret_key="short")
    with pytest.raises(ValueError, match="redirect_uri"):
        PodioAuth(podio, redirect_uri="/auth/callback", secret_key=SECRET)
    auth = PodioAuth(podio, redirect_uri=REDIRECT_URI, secret_key=SECRET)
    assert SECRET not in repr(auth)


async def test_podio_unreachable_during_the_check_is_503_not_401(
    web: FastAPI, emu: Emulator, podio: Podio
) -> None:
    async with browser(web) as b:
        await sign_in(b, emu)
        # The token has expired: the dependency must refresh it, and Podio fails every call.
        token = await podio.session_store.get(f"user:{DEMO}")
        assert token is not None
        expired = datetime.now(timezone.utc) - timedelta(minutes=1)
        await podio.session(f"user:{DEMO}").set_token(replace(token, expires_at=expired))
        emu.set_faults(fault_rate=1.0, fault_seed=1)
        response = await b.get("/me")
        assert response.status_code == 503, response.text
        emu.set_faults(fault_rate=0.0)
        assert (await b.get("/me")).status_code == 200  # still signed in
