"""A DEBUG log of a whole session names methods, paths and statuses, never a secret."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import respx

from podiokit import OAuthToken, Podio, PodioNotFoundError
from podiokit.sessions import MemorySessionStore

from .conftest import SECRET, error_body, token_body

pytestmark = pytest.mark.anyio

SECRETS = [
    "acc-token-111",
    "ref-token-111",
    "acc-token-222",
    "ref-token-222",
    SECRET,
    "hunter2-password",
    "app-token-xyz",
    "old-acc-000",
    "old-ref-000",
]


async def test_debug_log_of_a_session_has_no_secret(
    api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    bodies = iter(
        [token_body("acc-token-111", "ref-token-111"), token_body("acc-token-222", "ref-token-222")]
    )
    api.post("/oauth/token").mock(
        side_effect=lambda request: httpx.Response(200, json=next(bodies))
    )
    api.get("/item/1").respond(json={"item_id": 1})
    api.get("/item/2").respond(404, json=error_body("not_found", "Object not found"))
    store = MemorySessionStore()
    caplog.set_level(logging.DEBUG)  # every logger, httpx's and httpcore's included
    async with Podio("cid", SECRET, session_store=store) as podio:
        await podio.authenticate_with_credentials("me@example.com", "hunter2-password")
        await podio.request("GET", "/item/1")
        with pytest.raises(PodioNotFoundError):
            await podio.request("GET", "/item/2")
        await store.set(
            "default",
            OAuthToken(
                access_token="old-acc-000",
                refresh_token="old-ref-000",
                expires_at=datetime.now(timezone.utc) - timedelta(hours=1),
            ),
        )
        podio._pipeline.session_auth("default").loaded = False
        await podio.request("GET", "/item/1")  # refresh
        app = podio.session("app")
        api.post("/oauth/token").respond(json=token_body("acc-token-111", "ref-token-111"))
        await app.authenticate_with_app(3, "app-token-xyz")
        # The live tokens are among SECRETS, so a repr that showed one would be caught.
        assert podio.token is not None and podio.token.access_token == "acc-token-222"
        assert app.token is not None and app.token.access_token == "acc-token-111"
        shown = [repr(podio), repr(app), repr(podio.token), str(podio.token), repr(app.token)]
        shown.append(repr(podio._pipeline.config))  # tracebacks that print locals show it
    assert shown[0].startswith("Podio(") and shown[2].startswith("OAuthToken(")
    for secret in SECRETS:
        assert not any(secret in text for text in shown), secret
    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert "GET /item/1 -> 200" in caplog.text
    assert "GET /item/2 -> 404" in caplog.text
    assert "POST /oauth/token -> 200" in caplog.text
    for secret in SECRETS:
        assert secret not in text, secret
