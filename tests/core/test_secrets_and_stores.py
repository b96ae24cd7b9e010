"""Issue 15.13: no repr shows the client secret (the pipeline's config, the client, the
grant form a traceback with locals would print), and RedisSessionStore under trio says it
needs asyncio."""

from __future__ import annotations

import traceback
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import respx

from podiokit import OAuthToken, Podio, PodioConnectionError, SessionStoreError

from .conftest import SECRET

pytestmark = pytest.mark.anyio


def test_no_repr_shows_the_client_secret() -> None:
    podio = Podio("cid", SECRET)
    pipeline = podio._pipeline
    for obj in (podio, pipeline, pipeline.config, pipeline.store, podio.session("user:1")):
        assert SECRET not in repr(obj) and SECRET not in str(obj)
    assert pipeline.config.client_secret == SECRET  # still there, only not shown


async def test_a_traceback_with_locals_shows_no_credential(api: respx.MockRouter) -> None:
    """Tools that print locals in tracebacks (rich, pytest -l, Sentry) see '***' for the
    client secret and the app token in podiokit's frames."""
    api.post("/oauth/token").mock(side_effect=httpx.ConnectError("refused"))
    podio = Podio("cid", SECRET, max_retries=0)
    with pytest.raises(PodioConnectionError) as info:
        await podio.authenticate_with_app(42, "the-app-token")
    exc = info.value
    frames = traceback.TracebackException.from_exception(exc, capture_locals=True).stack
    ours = [f for f in frames if "podiokit" in f.filename]
    assert {"authenticate_with_app", "grant"} <= {f.name for f in ours}
    for frame in ours:
        for value in (frame.locals or {}).values():
            assert SECRET not in value and "the-app-token" not in value, frame.name


async def test_redis_store_needs_asyncio_and_says_so(anyio_backend: str) -> None:
    pytest.importorskip("redis")
    fakeredis = pytest.importorskip("fakeredis")
    from podiokit.sessions import RedisSessionStore

    store = RedisSessionStore(fakeredis.aioredis.FakeRedis(), prefix="t:")
    token = OAuthToken(access_token="a", expires_at=datetime.now(timezone.utc) + timedelta(hours=1))
    if anyio_backend == "asyncio":
        await store.set("k", token)
        assert await store.get("k") == token
        return
    for call in (store.get("k"), store.set("k", token), store.delete("k")):
        with pytest.raises(SessionStoreError, match="needs asyncio"):
            await call
    with pytest.raises(SessionStoreError, match="needs asyncio"):
        async with store.lock("k"):
            pass
    async with Podio("cid", SECRET, session_store=store) as podio:
        with pytest.raises(SessionStoreError, match="needs asyncio"):
            await podio.is_authenticated()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio: asyncio only
async def test_redis_store_bad_value_is_a_clear_error(anyio_backend: str) -> None:
    pytest.importorskip("redis")
    fakeredis = pytest.importorskip("fakeredis")
    from podiokit.sessions import RedisSessionStore

    client = fakeredis.aioredis.FakeRedis()
    store = RedisSessionStore(client, prefix="t:")
    await client.set("t:k", b'{"access_token": "secret-acc", ')
    with pytest.raises(SessionStoreError, match=r"'t:k'.*not JSON") as info:
        await store.get("k")
    assert "secret-acc" not in str(info.value)
    await client.set("t:k", b'{"access_token": "a", "expires_at": "soon"}')
    with pytest.raises(SessionStoreError, match="expires_at"):
        await store.get("k")
