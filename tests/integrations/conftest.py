"""A FastAPI app wired with PodioAuth and PodioWebhooks, all in process: the app and the
emulator each behind their own `httpx.ASGITransport`."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import Depends, FastAPI

from podiokit import Podio
from podiokit.integrations.fastapi import HookEvent, PodioAuth, PodioWebhooks
from podiokit.testing import Emulator

APP_URL = "http://app.test"  # the emulator redirects only to registered domains (*.test)
REDIRECT_URI = f"{APP_URL}/auth/callback"
SECRET = "test-secret-key-0123456789abcdef"
HOOK_URL = "http://hooks.example.com/podio/hooks"


@pytest.fixture
def emu() -> Emulator:
    emu = Emulator(items=5)
    emu.deliver_hooks_to(None, backoff=0.0)  # failed attempts are retried at once
    return emu


@pytest.fixture
async def podio(emu: Emulator) -> AsyncIterator[Podio]:
    creds = emu.credentials
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
    async with Podio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"],
        auth_url=creds["auth_url"], http_client=http, backoff_base=0.01,
    ) as podio:  # fmt: skip
        yield podio
    await http.aclose()


class Received:
    """The events the webhook handler was awaited with; `fail` makes it raise."""

    def __init__(self) -> None:
        self.events: list[HookEvent] = []
        self.fail = 0

    async def __call__(self, event: HookEvent) -> None:
        self.events.append(event)
        if self.fail:
            self.fail -= 1
            raise RuntimeError("the handler failed")


@pytest.fixture
def received() -> Received:
    return Received()


@pytest.fixture
async def hooks_podio(podio: Podio, emu: Emulator) -> Podio:
    """The session that creates and validates hooks: the demo app."""
    session = podio.session("app:hooks")
    app = emu.credentials["apps"][0]
    await session.authenticate_with_app(app["app_id"], app["app_token"])
    return session


@pytest.fixture
def auth(podio: Podio) -> PodioAuth:
    return PodioAuth(podio, redirect_uri=REDIRECT_URI, secret_key=SECRET, after_login="/me")


@pytest.fixture
def web(auth: PodioAuth, hooks_podio: Podio, received: Received) -> FastAPI:
    app = FastAPI()
    app.include_router(auth.router, prefix="/auth")
    # Inline: the emulator's in-process delivery returns once the handler has run.
    app.include_router(PodioWebhooks(hooks_podio, received, mode="inline").router)

    @app.get("/me")
    async def me(user: Podio = Depends(auth.client)) -> dict[str, Any]:
        profile = await user.request("GET", "/user/")
        return {"user_id": profile["user_id"], "name": profile["name"]}

    return app


def browser(app: FastAPI) -> httpx.AsyncClient:
    """A browser on the app: keeps cookies, follows nothing by itself."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=APP_URL)


def emulator_http(emu: Emulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emu.app), base_url=emu.credentials["api_url"]
    )


async def authorize(emu: Emulator, location: str, **switches: str) -> str:
    """The browser's visit to Podio's authorize page (the emulator's): the Location it is
    sent back to. `user=` signs in as another seeded user, `deny="1"` refuses."""
    parts = urlsplit(location)
    assert location.startswith(emu.credentials["auth_url"]), location
    params = {k: v[0] for k, v in parse_qs(parts.query).items()} | switches
    async with emulator_http(emu) as http:
        response = await http.get(parts.path, params=params)
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def sign_in(app_browser: httpx.AsyncClient, emu: Emulator, **switches: str) -> httpx.Response:
    """The whole round trip: /auth/login, Podio's authorize page, /auth/callback."""
    login = await app_browser.get("/auth/login")
    assert login.status_code == 302, login.text
    back = await authorize(emu, login.headers["location"], **switches)
    assert back.startswith(REDIRECT_URI), back
    return await app_browser.get(back)


def state_cookie_name(state: str, cookie_name: str = "podiokit") -> str:
    """The name of the cookie that holds a pending sign-in's `state` (one per state)."""
    return f"{cookie_name}_state_{hashlib.sha256(state.encode()).hexdigest()[:24]}"


def set_cookie(client: httpx.AsyncClient, name: str, value: str) -> None:
    """Replace a cookie in a browser's jar (as an attacker editing their own would)."""
    client.cookies.delete(name)
    client.cookies.set(name, value, domain="app.test")
