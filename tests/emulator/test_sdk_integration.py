"""The SDK against the emulator, in process (ASGITransport) and over a real loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest

from podiokit import (
    Podio,
    PodioConflictError,
    PodioConnectionError,
    PodioInvalidGrantError,
    PodioRateLimitError,
    PodioUnavailableError,
)
from podiokit.testing import Emulator

from .conftest import PROJECTS

pytestmark = pytest.mark.anyio
MODES = ["in-process", "loopback"]


@asynccontextmanager
async def connect(emu: Emulator, mode: str, **options: Any) -> AsyncIterator[Podio]:
    """A Podio wired to the emulator; `client_secret=None` for the implicit flow."""
    creds = emu.credentials
    secret = options.pop("client_secret", creds["client_secret"])
    options.setdefault("backoff_base", 0.01)
    if mode == "loopback":
        async with emu.serve() as url:
            creds = emu.credentials
            async with Podio(creds["client_id"], secret, api_url=url,
                             auth_url=creds["auth_url"], **options) as podio:  # fmt: skip
                yield podio
        return
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
    podio = Podio(creds["client_id"], secret, api_url=creds["api_url"], auth_url=creds["auth_url"],
                  http_client=http, **options)  # fmt: skip
    async with http, podio:
        yield podio


async def redirect(emu: Emulator, url: str) -> str:
    """What the browser would do: open the authorize URL, return the redirect Location."""
    split = urlsplit(url)
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://podio.emulator") as http:
        response = await http.get(f"{split.path}?{split.query}")
    assert response.status_code == 302
    return response.headers["location"]


@pytest.mark.parametrize("mode", MODES)
async def test_password_and_app_grants(mode: str):
    emu = Emulator(items=20)
    creds = emu.credentials
    async with connect(emu, mode) as podio:
        token = await podio.authenticate_with_credentials(creds["username"], creds["password"])
        assert (token.ref.type, token.ref.id) == ("user", 1001)
        status = await podio.request("GET", "/user/status")
        assert status["user"]["mail"] == creds["username"]
        app = creds["apps"][0]
        await podio.authenticate_with_app(app["app_id"], app["app_token"])
        assert podio.token is not None and podio.token.ref.type == "app"
        item = await podio.items.get((await podio.items.filter(PROJECTS, limit=1)).items[0].item_id)
        assert item.app is not None and item.app.app_id == PROJECTS
    assert emu.stats()["token_grants"] == {"password": 1, "app": 1}


@pytest.mark.parametrize("mode", MODES)
async def test_authorization_code_and_implicit_grants(mode: str):
    emu = Emulator(items=5)
    async with connect(emu, mode) as podio:
        location = await redirect(emu, podio.authorization_url("https://app.test/cb", state="st8"))
        query = parse_qs(urlsplit(location).query)
        assert query["state"] == ["st8"]
        token = await podio.authenticate_with_code(query["code"][0], "https://app.test/cb")
        assert token.ref.type == "user"
        assert (await podio.request("GET", "/user/status"))["user"]["user_id"] == 1001
    async with connect(emu, mode, client_secret=None) as podio:
        url = podio.authorization_url("https://app.test/cb", response_type="token")
        await podio.authenticate_with_fragment(await redirect(emu, url))
        assert (await podio.request("GET", "/user/status"))["user"]["user_id"] == 1001
    assert emu.stats()["token_grants"] == {"authorization_code": 1, "implicit": 1}


@pytest.mark.parametrize("mode", MODES)
async def test_wrong_password_is_invalid_grant(mode: str):
    emu = Emulator(items=1)
    async with connect(emu, mode) as podio:
        with pytest.raises(PodioInvalidGrantError):
            await podio.authenticate_with_credentials(emu.credentials["username"], "wrong")


@pytest.mark.parametrize("mode", MODES)
async def test_expiry_mid_run_makes_one_refresh_for_200_concurrent_calls(mode: str):
    emu = Emulator(items=50, refresh="rotate")
    creds = emu.credentials
    async with connect(emu, mode, max_concurrency=32) as podio:
        first = await podio.authenticate_with_credentials(creds["username"], creds["password"])
        ids = [i.item_id for i in (await podio.items.filter(PROJECTS, limit=50)).items]
        emu.expire_tokens()
        results: list[int] = []

        async def read(item_id: int) -> None:
            results.append((await podio.items.get(item_id)).item_id)

        async with anyio.create_task_group() as tg:
            for n in range(200):
                tg.start_soon(read, ids[n % len(ids)])
        assert len(results) == 200
        assert emu.stats()["token_grants"] == {"password": 1, "refresh_token": 1}
        rotated = podio.token
        assert rotated is not None
        assert rotated.refresh_token != first.refresh_token
    # Rotation made the first refresh token single use: Podio would refuse it now.
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url=creds["api_url"]) as http:
        replay = await http.post("/oauth/token", data={
            "grant_type": "refresh_token", "refresh_token": first.refresh_token,
            "client_id": creds["client_id"], "client_secret": creds["client_secret"]})  # fmt: skip
        assert replay.json()["error"] == "invalid_grant"


async def test_an_app_session_whose_refresh_is_refused_signs_in_again():
    emu = Emulator(items=5)
    async with connect(emu, "in-process") as podio:
        app = emu.credentials["apps"][0]
        await podio.authenticate_with_app(app["app_id"], app["app_token"])
        token = podio.token
        assert token is not None
        # Spend the refresh token behind the SDK's back, then expire the access token.
        transport = httpx.ASGITransport(app=emu.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://podio.emulator") as h:
            await h.post("/oauth/token", data={
                "grant_type": "refresh_token", "refresh_token": token.refresh_token,
                "client_id": emu.credentials["client_id"],
                "client_secret": emu.credentials["client_secret"]})  # fmt: skip
        emu.expire_tokens()
        assert (await podio.items.filter(PROJECTS, limit=1)).total == 5
    assert emu.stats()["token_grants"]["app"] == 2


@pytest.mark.parametrize("mode", MODES)
async def test_rate_limit_420_carries_the_wait_hint(mode: str):
    emu = Emulator(items=5, rate_limit=4)
    async with connect(emu, mode, max_retries=0) as podio:
        creds = emu.credentials
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
        for _ in range(4):
            await podio.request("GET", "/user/status")
        assert podio.rate_limit.remaining == 0
        with pytest.raises(PodioRateLimitError) as caught:
            await podio.request("GET", "/user/status")
        assert caught.value.retry_after is not None
        assert 3500 <= caught.value.retry_after <= 3600


@pytest.mark.parametrize("mode", MODES)
async def test_retries_ride_out_faults(mode: str):
    emu = Emulator(items=10, fault_rate=0.3, fault_seed=11)
    async with connect(emu, mode, max_retries=8) as podio:
        app = emu.credentials["apps"][0]
        for _ in range(5):  # the token endpoint is not retried: a fault there is final
            try:
                await podio.authenticate_with_app(app["app_id"], app["app_token"])
                break
            except (PodioUnavailableError, PodioConnectionError):
                continue
        for _ in range(30):
            page = await podio.items.filter(PROJECTS, limit=5)
            assert page.filtered == 10
    faults = emu.stats()["faults"]
    assert sum(faults.values()) >= 5


@pytest.mark.parametrize("mode", MODES)
async def test_constant_faults_surface_as_sdk_errors(mode: str):
    emu = Emulator(items=1)
    async with connect(emu, mode, max_retries=2) as podio:
        app = emu.credentials["apps"][0]
        await podio.authenticate_with_app(app["app_id"], app["app_token"])
        emu.set_faults(fault_rate=1.0, fault_seed=3)
        with pytest.raises((PodioUnavailableError, PodioConnectionError)):
            await podio.request("GET", f"/app/{PROJECTS}")


@asynccontextmanager
async def demo_app(mode: str) -> AsyncIterator[Podio]:
    emu = Emulator()
    async with connect(emu, mode) as podio:
        app = emu.credentials["apps"][0]
        await podio.authenticate_with_app(app["app_id"], app["app_token"])
        yield podio


@pytest.mark.parametrize("mode", MODES)
async def test_filter_paging_sorting_and_filters_through_the_sdk(mode: str):
    async with demo_app(mode) as podio:
        await check_filter(podio)


async def test_the_podio_client_fixture(podio_client: Podio):
    # The plugin's fixture: signed in with the demo app (Projects, 300 items), in process.
    assert podio_client.token is not None and podio_client.token.ref is not None
    assert podio_client.token.ref.type == "app"
    await check_filter(podio_client)


async def check_filter(podio_client: Podio) -> None:
    page = await podio_client.items.filter(PROJECTS, limit=10, sort_by="app_item_id",
                                           sort_desc=False)  # fmt: skip
    assert (page.total, page.filtered) == (300, 300)
    assert [i.app_item_id for i in page.items] == list(range(1, 11))
    seen = [item.item_id async for item in podio_client.items.filter(PROJECTS, limit=70)]
    assert len(seen) == len(set(seen)) == 300
    done = await podio_client.items.filter(PROJECTS, filters={"status": [4]}, limit=500)
    assert 0 < (done.filtered or 0) < 300
    assert len(done.items) == done.filtered
    by_hours = await podio_client.items.filter(PROJECTS, sort_by="hours", sort_desc=True)
    hours = [float(v) for v in _values(by_hours.items, "hours")]
    assert hours == sorted(hours, reverse=True)


def _values(items: list[Any], external_id: str) -> list[Any]:
    out = []
    for item in items:
        for field in item.fields or []:
            if field.external_id == external_id:
                out.append(field.values[0].value)
    return out


async def test_sdk_reads_an_item_with_a_question_field():
    emu = Emulator(items=3)
    async with connect(emu, "in-process") as podio:
        creds = emu.credentials
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
        page = await podio.request("POST", "/item/app/3001/filter/", json={"limit": 1})
        item = await podio.items.get(page["items"][0]["item_id"])
        question = next(f for f in item.fields or [] if f.type == "question")
        # The option object, as the real item in samples/items__get_item_basic__1.json has it.
        assert question.values[0].value.text in ("Gold", "Silver", "Bronze")


@pytest.mark.parametrize("mode", MODES)
async def test_revisions_and_409_through_the_sdk(mode: str):
    async with demo_app(mode) as podio_client:
        await check_revisions(podio_client)


async def check_revisions(podio_client: Podio) -> None:
    created = await podio_client.items.create(PROJECTS, fields={"title": "Rev test"})
    result = await podio_client.items.update(created.item_id, fields={"title": "Rev 1"},
                                             revision=0)  # fmt: skip
    assert result is not None and result.revision == 1
    with pytest.raises(PodioConflictError):
        await podio_client.items.update(created.item_id, fields={"title": "stale"}, revision=0)
    item = await podio_client.items.get(created.item_id)
    assert (item.title, item.revision) == ("Rev 1", 1)


async def test_every_emulated_body_parses_as_the_sdks_models():
    """Typed reads work: the SDK's models accept what the emulator serves, area by area."""
    from pydantic import TypeAdapter

    from podiokit.models.apps import App, AppField
    from podiokit.models.comments import Comment
    from podiokit.models.hooks import Hook
    from podiokit.models.items import Item, ItemField, ItemFilterResult, ItemRevision
    from podiokit.models.oauth import OAuthTokenResponse
    from podiokit.models.orgs import Organization
    from podiokit.models.spaces import Space
    from podiokit.models.tasks import Task
    from podiokit.models.users import User, UserStatus

    emu = Emulator(items=10)
    c = emu.credentials
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url=c["api_url"]) as http:
        grant = {"grant_type": "password", "username": c["username"],
                 "password": c["password"], "client_id": c["client_id"],
                 "client_secret": c["client_secret"]}  # fmt: skip
        token = await http.post("/oauth/token", data=grant)
        OAuthTokenResponse.model_validate_json(token.content)
        http.headers["Authorization"] = f"OAuth2 {token.json()['access_token']}"
        page = await http.post(f"/item/app/{PROJECTS}/filter/", json={"limit": 5})
        ItemFilterResult.model_validate_json(page.content)
        item_id = page.json()["items"][0]["item_id"]
        task_id = (await http.post("/task/", json={"text": "x"})).json()["task_id"]
        await http.post(f"/hook/app/{PROJECTS}/", json={"url": "https://e.test/h",
                                                        "type": "item.create"})  # fmt: skip
        checks: list[tuple[str, Any]] = [
            (f"/app/{PROJECTS}", App), (f"/app/{PROJECTS}/field/status", AppField),
            ("/app/space/200/", list[App]), ("/space/200", Space), ("/org/100/space/", list[Space]),
            ("/org/", list[Organization]), (f"/task/{task_id}", Task), ("/task/", list[Task]),
            (f"/comment/item/{item_id}/", list[Comment]), ("/user/", User),
            ("/user/status", UserStatus), (f"/item/{item_id}", Item),
            (f"/item/{item_id}/revision/", list[ItemRevision]),
            (f"/item/{item_id}/value", list[ItemField]), (f"/hook/app/{PROJECTS}/", list[Hook]),
        ]  # fmt: skip
        for path, model in checks:
            response = await http.get(path)
            assert response.status_code == 200, path
            TypeAdapter(model).validate_json(response.content)
