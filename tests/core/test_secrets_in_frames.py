"""Issue 25.10: no sign-in path leaves a credential as a plain string in a frame. Tools that
print a traceback's locals (pytest --showlocals, rich's show_locals, Sentry) must see '***'
for the client secret, the password, the app token, the authorization code and the redirect
fragment, on the async face and on the sync face alike."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from podiokit import MemorySessionStore, OAuthToken, Podio, PodioConnectionError, SyncPodio

from .conftest import SECRET

PASSWORD = "pa55-w0rd-in-frame"
APP_TOKEN = "app-t0ken-in-frame"
CODE = "auth-c0de-in-frame"
ACCESS = "access-t0ken-in-fragment"
FRAGMENT = f"#access_token={ACCESS}&expires_in=28800&token_type=bearer"
CREDENTIALS = (SECRET, PASSWORD, APP_TOKEN, CODE, ACCESS)


class FailingStore(MemorySessionStore):
    """Saving fails: the fragment flow makes no call, so this is how it raises mid-way."""

    async def set(self, key: str, token: OAuthToken) -> None:
        raise RuntimeError("store down")


#: Each sign-in path, called with credentials that the mocked token endpoint never answers.
FLOWS: dict[str, Callable[[Any], Any]] = {
    "code": lambda p: p.authenticate_with_code(CODE, "https://app.example/cb"),
    "credentials": lambda p: p.authenticate_with_credentials("someone@example.com", PASSWORD),
    "app": lambda p: p.authenticate_with_app(42, APP_TOKEN),
    "fragment": lambda p: p.authenticate_with_fragment(FRAGMENT),
}


def _assert_no_credential(exc: BaseException) -> None:
    shown = "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    assert "podiokit" in shown  # the frames of podiokit are there, with their locals
    for credential in CREDENTIALS:
        assert credential not in shown


@pytest.fixture
def refusing_api() -> Any:
    with respx.mock(base_url="https://api.podio.com", assert_all_called=False) as router:
        router.post("/oauth/token").mock(side_effect=httpx.ConnectError("refused"))
        yield router


@pytest.mark.anyio
@pytest.mark.parametrize("flow", sorted(FLOWS))
async def test_async_sign_in_frames_hide_credentials(refusing_api: Any, flow: str) -> None:
    async with Podio("cid", SECRET, max_retries=0, session_store=FailingStore()) as podio:
        with pytest.raises((PodioConnectionError, RuntimeError)) as info:
            await FLOWS[flow](podio)
    _assert_no_credential(info.value)


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_sync_sign_in_frames_hide_credentials(refusing_api: Any, flow: str) -> None:
    with (
        SyncPodio("cid", SECRET, max_retries=0, session_store=FailingStore()) as podio,
        pytest.raises((PodioConnectionError, RuntimeError)) as info,
    ):
        FLOWS[flow](podio)
    _assert_no_credential(info.value)


def test_a_bad_constructor_argument_hides_the_client_secret() -> None:
    with pytest.raises(ValueError) as info:
        Podio("cid", SECRET, max_retries=-1)
    _assert_no_credential(info.value)
    with pytest.raises(ValueError) as info:
        SyncPodio("cid", SECRET, max_retries=-1)
    _assert_no_credential(info.value)


def test_the_credentials_still_reach_podio() -> None:
    # Hidden from reprs, not changed: the grant form carries the real values.
    seen: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(
            200, json={"access_token": "a", "refresh_token": "r", "expires_in": 3600}
        )

    with respx.mock(base_url="https://api.podio.com") as router:
        router.post("/oauth/token").mock(side_effect=answer)
        with SyncPodio("cid", SECRET) as podio:
            podio.authenticate_with_credentials("someone@example.com", PASSWORD)
    assert PASSWORD.encode() in seen[0] and SECRET.encode() in seen[0]
