"""The four OAuth flows of podio-js, the authorize URL and the implicit-flow redirect."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from podiokit import OAuthToken, Podio, PodioAuthorizationError, PodioInvalidGrantError

from .conftest import SECRET, error_body, token_body

pytestmark = pytest.mark.anyio


def _form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def test_authorization_url_server_side() -> None:
    podio = Podio("my-client", SECRET)
    url = podio.authorization_url("https://example.com/cb", state="xyz", scope="global:all")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://podio.com/oauth/authorize"
    assert parse_qs(parts.query) == {
        "client_id": ["my-client"],
        "redirect_uri": ["https://example.com/cb"],
        "response_type": ["code"],
        "scope": ["global:all"],
        "state": ["xyz"],
    }
    assert SECRET not in url


def test_authorization_url_client_side_and_bad_response_type() -> None:
    podio = Podio("my-client", None, auth_url="https://auth.example/authorize")
    url = podio.authorization_url("https://example.com/cb", response_type="token")
    assert url.startswith("https://auth.example/authorize?")
    assert parse_qs(urlsplit(url).query)["response_type"] == ["token"]
    with pytest.raises(ValueError, match="response_type"):
        podio.authorization_url("https://example.com/cb", response_type="bogus")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        (
            "authenticate_with_code",
            ("the-code", "https://example.com/cb"),
            {
                "grant_type": "authorization_code",
                "code": "the-code",
                "redirect_uri": "https://example.com/cb",
            },
        ),
        (
            "authenticate_with_credentials",
            ("me@example.com", "pw!"),
            {"grant_type": "password", "username": "me@example.com", "password": "pw!"},
        ),
        (
            "authenticate_with_app",
            (42, "app-token"),
            {"grant_type": "app", "app_id": "42", "app_token": "app-token"},
        ),
    ],
)
async def test_token_flows_post_form_with_client_credentials(
    api: respx.MockRouter, method: str, args: tuple[object, ...], expected: dict[str, str]
) -> None:
    route = api.post("/oauth/token").respond(json=token_body("acc-1"))
    async with Podio("cid", SECRET) as podio:
        before = datetime.now(timezone.utc)
        token = await getattr(podio, method)(*args)
        assert route.call_count == 1
        request = route.calls.last.request
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert _form(request) == {**expected, "client_id": "cid", "client_secret": SECRET}
        assert "authorization" not in request.headers
        assert isinstance(token, OAuthToken)
        assert token.access_token == "acc-1" and token.refresh_token == "refresh-1"
        assert token.expires_at is not None and token.expires_at.tzinfo is not None
        assert (
            before + timedelta(seconds=28790) < token.expires_at < before + timedelta(seconds=28810)
        )
        assert token.ref is not None and token.ref.type == "user" and token.ref.id == 7
        assert token.scope == "global:all"
        # Saved in the session store and used for calls.
        assert await podio.session_store.get("default") == token
        assert podio.token == token
        item = api.get("/item/1").respond(json={"item_id": 1})
        assert await podio.request("GET", "/item/1") == {"item_id": 1}
        assert item.calls.last.request.headers["authorization"] == "OAuth2 acc-1"


async def test_login_invalid_grant_raises_typed_error(api: respx.MockRouter) -> None:
    api.post("/oauth/token").respond(
        400,
        json={
            **error_body(
                "invalid_grant", "The username is not valid", method="POST", path="/oauth/token"
            ),
            "error_detail": "user.invalid.username",
        },
    )
    async with Podio("cid", SECRET) as podio:
        with pytest.raises(PodioInvalidGrantError) as info:
            await podio.authenticate_with_credentials("nobody@example.com", "wrong-password")
    err = info.value
    assert err.status == 400 and err.error == "invalid_grant"
    assert err.error_detail == "user.invalid.username"
    assert "wrong-password" not in str(err) and SECRET not in str(err) and SECRET not in repr(err)
    assert podio.token is None


async def test_fragment_flow_makes_no_call(api: respx.MockRouter) -> None:
    token_route = api.post("/oauth/token")
    async with Podio("cid", None) as podio:
        token = await podio.authenticate_with_fragment(
            "https://example.com/cb#access_token=frag-acc&token_type=bearer&expires_in=3600&refresh_token=frag-ref&scope=global%3Aall"
        )
        assert token.access_token == "frag-acc" and token.refresh_token == "frag-ref"
        assert token.scope == "global:all"
        assert token.expires_at is not None
        assert token_route.call_count == 0
        route = api.get("/user/status").respond(json={"user": {"user_id": 1}})
        await podio.request("GET", "/user/status")
        assert route.calls.last.request.headers["authorization"] == "OAuth2 frag-acc"


async def test_fragment_alone_is_accepted() -> None:
    async with Podio("cid", None) as podio:
        token = await podio.authenticate_with_fragment("#access_token=a&expires_in=60")
        assert token.access_token == "a" and token.refresh_token is None


@pytest.mark.parametrize(
    "redirect",
    [
        "https://example.com/cb?error_reason=user_denied&error=access_denied&error_description=The+user+denied+your+request.",
        "https://example.com/cb#error=access_denied&error_description=The+user+denied+your+request.",
    ],
)
async def test_fragment_error_raises_with_podio_reason(redirect: str) -> None:
    async with Podio("cid", None) as podio:
        with pytest.raises(PodioAuthorizationError) as info:
            await podio.authenticate_with_fragment(redirect)
    assert info.value.error == "access_denied"
    assert "The user denied your request." in str(info.value)
    assert podio.token is None


async def test_fragment_without_token_is_rejected() -> None:
    async with Podio("cid", None) as podio:
        with pytest.raises(PodioAuthorizationError, match="access_token"):
            await podio.authenticate_with_fragment("https://example.com/cb#state=1")


async def test_client_without_secret_never_calls_token_endpoint(api: respx.MockRouter) -> None:
    route = api.post("/oauth/token")
    async with Podio("cid", None) as podio:
        with pytest.raises(PodioAuthorizationError, match="client_secret"):
            await podio.authenticate_with_credentials("u", "p")
    assert route.call_count == 0


async def test_call_before_authentication_raises(api: respx.MockRouter) -> None:
    async with Podio("cid", SECRET) as podio:
        assert await podio.is_authenticated() is False
        with pytest.raises(PodioAuthorizationError, match="not authenticated"):
            await podio.request("GET", "/item/1")


def test_token_repr_and_str_hide_tokens() -> None:
    token = OAuthToken.from_response(token_body("very-secret-access", "very-secret-refresh"))
    for text in (repr(token), str(token), f"{token}"):
        assert "very-secret-access" not in text and "very-secret-refresh" not in text
    assert "bearer" in repr(token)


def test_client_repr_hides_secret() -> None:
    podio = Podio("cid", SECRET)
    assert SECRET not in repr(podio) and "cid" in repr(podio)


def test_short_lived_token_is_not_expired_on_arrival() -> None:
    token = OAuthToken.from_response(token_body("a", expires_in=4))
    assert not token.is_expired  # a 60 s skew would refresh it on every call
    long_lived = OAuthToken.from_response(token_body("a", expires_in=28800))
    assert not long_lived.is_expired
    assert long_lived.expires_within(timedelta(hours=9))
