"""Retries, Podio's 420, timeouts, concurrency limits, bad bodies and cancellation."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import anyio
import httpx
import pytest
import respx

import podiokit
import podiokit._pipeline
from podiokit import OAuthToken, Podio, errors
from podiokit.sessions import MemorySessionStore

from .conftest import SECRET, error_body, token_body

pytestmark = pytest.mark.anyio


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the pipeline's waits instead of sleeping through them."""
    recorded: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)
        await anyio.lowlevel.checkpoint()

    monkeypatch.setattr(podiokit._pipeline, "sleep", fake_sleep)
    return recorded


async def _client(api: respx.MockRouter, **options: object) -> Podio:
    api.post("/oauth/token").respond(json=token_body("acc"))
    podio = Podio("cid", SECRET, **options)  # type: ignore[arg-type]
    await podio.authenticate_with_app(1, "t")
    return podio


def _sequence(*responses: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    queue = list(responses)

    def answer(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return answer


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_get_is_retried_on_5xx_with_backoff(
    api: respx.MockRouter, waits: list[float], status: int
) -> None:
    route = api.get("/item/1").mock(
        side_effect=_sequence(
            httpx.Response(status, text="<html>down</html>"),
            httpx.Response(status),
            httpx.Response(200, json={"item_id": 1}),
        )
    )
    podio = await _client(api, backoff_base=0.5, backoff_cap=4)
    assert await podio.request("GET", "/item/1") == {"item_id": 1}
    assert route.call_count == 3
    assert len(waits) == 2 and 0 <= waits[0] <= 0.5 and 0 <= waits[1] <= 1.0


async def test_retries_stop_at_max_retries(api: respx.MockRouter, waits: list[float]) -> None:
    route = api.get("/item/1").respond(503)
    podio = await _client(api, max_retries=2)
    with pytest.raises(errors.PodioUnavailableError):
        await podio.request("GET", "/item/1")
    assert route.call_count == 3
    route.reset()
    with pytest.raises(errors.PodioUnavailableError):
        await podio.request("GET", "/item/1", max_retries=0)  # per call
    assert route.call_count == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_create_is_never_sent_twice(
    api: respx.MockRouter, waits: list[float], status: int
) -> None:
    route = api.post("/item/app/1/").mock(
        side_effect=_sequence(httpx.Response(status), httpx.Response(200, json={"item_id": 9}))
    )
    podio = await _client(api)
    with pytest.raises(errors.PodioError) as info:
        await podio.request("POST", "/item/app/1/", json={"fields": {"title": "x"}})
    assert info.value.status == status
    assert route.call_count == 1


async def test_a_create_whose_response_was_lost_is_not_retried(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.post("/item/app/1/").mock(
        side_effect=_sequence(
            httpx.ReadError("connection reset"), httpx.Response(200, json={"item_id": 9})
        )
    )
    podio = await _client(api)
    with pytest.raises(errors.PodioConnectionError):
        await podio.request("POST", "/item/app/1/", json={})
    assert route.call_count == 1


async def test_a_create_that_never_connected_is_retried(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.post("/item/app/1/").mock(
        side_effect=_sequence(
            httpx.ConnectError("refused"), httpx.Response(200, json={"item_id": 9})
        )
    )
    podio = await _client(api)
    assert await podio.request("POST", "/item/app/1/", json={}) == {"item_id": 9}
    assert route.call_count == 2


async def test_read_only_post_marked_idempotent_is_retried(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.post("/item/app/1/filter/").mock(
        side_effect=_sequence(
            httpx.Response(502),
            httpx.ReadError("reset"),
            httpx.Response(200, json={"total": 0, "filtered": 0, "items": []}),
        )
    )
    podio = await _client(api)
    result = await podio.request(
        "POST", "/item/app/1/filter/", json={"limit": 500}, idempotent=True
    )
    assert result["filtered"] == 0
    assert route.call_count == 3
    # The same bytes each time.
    assert {call.request.content for call in route.calls} == {b'{"limit":500}'}


async def test_timeouts_raise_podio_timeout_error_after_retries(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.get("/item/1").mock(side_effect=httpx.ReadTimeout("slow"))
    podio = await _client(api, max_retries=1)
    with pytest.raises(errors.PodioTimeoutError) as info:
        await podio.request("GET", "/item/1", timeout=0.5)
    assert route.call_count == 2
    assert info.value.method == "GET" and info.value.path == "/item/1"
    assert route.calls.last.request.extensions["timeout"]["read"] == 0.5


async def test_420_waits_for_the_hint_then_succeeds(
    api: respx.MockRouter, waits: list[float]
) -> None:
    limited = httpx.Response(
        420,
        json=error_body(
            "rate_limit", "You have hit the rate limit. Please wait 7 seconds before trying again"
        ),
        headers={"X-Rate-Limit-Limit": "250", "X-Rate-Limit-Remaining": "0"},
    )
    route = api.get("/item/1").mock(
        side_effect=_sequence(
            limited,
            httpx.Response(
                200,
                json={"item_id": 1},
                headers={"X-Rate-Limit-Limit": "250", "X-Rate-Limit-Remaining": "249"},
            ),
        )
    )
    podio = await _client(api, rate_limit_wait=10)
    assert await podio.request("GET", "/item/1") == {"item_id": 1}
    assert waits == [7.0]
    assert route.call_count == 2
    assert podio.rate_limit.limit == 250 and podio.rate_limit.remaining == 249


async def test_420_beyond_the_bound_raises_with_retry_after(
    api: respx.MockRouter, waits: list[float]
) -> None:
    api.get("/item/1").respond(
        420,
        json=error_body(
            "rate_limit",
            "You have hit the rate limit. Please wait 1800 seconds before trying again",
        ),
        headers={"X-Rate-Limit-Limit": "1000", "X-Rate-Limit-Remaining": "0"},
    )
    podio = await _client(api, rate_limit_wait=60)
    with pytest.raises(errors.PodioRateLimitError) as info:
        await podio.request("GET", "/item/1")
    assert info.value.retry_after == 1800
    assert info.value.status == 420
    assert waits == []
    assert podio.rate_limit.remaining == 0


async def test_429_retry_after_header_is_honoured(
    api: respx.MockRouter, waits: list[float]
) -> None:
    api.get("/item/1").mock(
        side_effect=_sequence(
            httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={})
        )
    )
    podio = await _client(api)
    await podio.request("GET", "/item/1")
    assert waits == [3.0]


async def test_420_on_a_create_is_retried_because_podio_did_nothing(
    api: respx.MockRouter, waits: list[float]
) -> None:
    limited = httpx.Response(420, json=error_body("rate_limit", "Please wait 2 seconds"))
    route = api.post("/item/app/1/").mock(
        side_effect=_sequence(limited, httpx.Response(200, json={"item_id": 1}))
    )
    podio = await _client(api)
    assert await podio.request("POST", "/item/app/1/", json={}) == {"item_id": 1}
    assert route.call_count == 2 and waits == [2.0]


async def test_pacing_slows_down_before_the_limit(
    api: respx.MockRouter, waits: list[float]
) -> None:
    remaining = iter(range(60, 0, -1))
    api.get("/item/1").mock(
        side_effect=lambda request: httpx.Response(
            200,
            json={},
            headers={"X-Rate-Limit-Limit": "1000", "X-Rate-Limit-Remaining": str(next(remaining))},
        )
    )
    podio = await _client(api, pace=True, pace_threshold=0.1)
    for _ in range(3):
        await podio.request("GET", "/item/1")
    # Budget under 10 %: 60 of 1,000 left implies 6 % of the hour (216 s) to the reset,
    # spread over the 60 calls left: 3.6 s each.
    assert len(waits) == 2
    assert waits[0] == pytest.approx(3600 * 60 / 1000 / 60, abs=0.1)
    unpaced = await _client(api)
    await unpaced.request("GET", "/item/1")
    assert len(waits) == 2


async def test_max_concurrency_bounds_requests_in_flight() -> None:
    in_flight = 0
    peak = 0
    # No timer: the first answers wait until four requests are in flight together, which
    # gives a client that let more through every chance to show it.
    four_in_flight = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 4:
            four_in_flight.set()
        await four_in_flight.wait()
        await anyio.lowlevel.checkpoint()
        in_flight -= 1
        return httpx.Response(200, json={})

    podio = Podio(
        "cid",
        SECRET,
        max_concurrency=4,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )
    await podio.set_token(
        OAuthToken(access_token="a", expires_at=datetime.now(timezone.utc) + timedelta(hours=1))
    )
    with anyio.fail_after(30):  # a limit below 4 would hang here: fail instead
        async with anyio.create_task_group() as tg:
            for _ in range(40):
                tg.start_soon(podio.request, "GET", "/item/1")
    assert peak == 4


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("<html>maintenance</html>", "text/html"), ('{"item_id": 1', "application/json")],
)
async def test_a_2xx_that_is_not_json_raises_podio_response_error(
    api: respx.MockRouter, body: str, content_type: str
) -> None:
    api.get("/item/1").respond(200, text=body, headers={"Content-Type": content_type})
    podio = await _client(api)
    with pytest.raises(errors.PodioResponseError) as info:
        await podio.request("GET", "/item/1")
    assert info.value.status == 200
    assert body[:10] in str(info.value)
    assert isinstance(info.value, errors.PodioError)


async def test_empty_body_is_none(api: respx.MockRouter) -> None:
    api.delete("/item/1").respond(204)
    podio = await _client(api)
    assert await podio.request("DELETE", "/item/1") is None


async def test_upload_is_replayed_whole_after_a_refresh(
    api: respx.MockRouter, waits: list[float]
) -> None:
    api.post("/oauth/token").respond(json=token_body("new"))
    bodies: list[bytes] = []

    def upload(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        if request.headers["authorization"] != "OAuth2 new":
            return httpx.Response(401, json=error_body("unauthorized", "expired_token"))
        return httpx.Response(200, json={"file_id": 5})

    api.post("/file/").mock(side_effect=upload)
    store = MemorySessionStore()
    await store.set(
        "default",
        OAuthToken(
            access_token="old",
            refresh_token="r",
            expires_at=datetime.now(timezone.utc) + timedelta(hours=1),
        ),
    )
    podio = Podio("cid", SECRET, session_store=store)
    payload = io.BytesIO(b"0123456789" * 100)
    result = await podio.request(
        "POST",
        "/file/",
        files={"source": ("a.txt", payload, "text/plain")},
        data={"filename": "a.txt"},
    )
    assert result == {"file_id": 5}
    assert len(bodies) == 2
    # Each multipart body carries the whole file (the boundary differs per request).
    assert all(b"0123456789" * 100 in body and len(body) == len(bodies[0]) for body in bodies)


async def test_cancelled_caller_mid_refresh_loses_no_token() -> None:
    """The refresh and the store write finish even when the caller is cancelled: with a
    rotating refresh token, abandoning the answer would log the user out."""
    refreshes: list[str] = []
    # Events, not timers: the caller is cancelled exactly while Podio is answering the refresh.
    refresh_sent, answer = anyio.Event(), anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            refreshes.append(request.content.decode())
            refresh_sent.set()
            await answer.wait()
            return httpx.Response(200, json=token_body("rotated-acc", "rotated-ref"))
        return httpx.Response(200, json={"ok": True})

    store = MemorySessionStore()
    await store.set(
        "default",
        OAuthToken(
            access_token="old",
            refresh_token="old-ref",
            expires_at=datetime.now(timezone.utc) - timedelta(hours=1),
        ),
    )
    podio = Podio(
        "cid",
        SECRET,
        session_store=store,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )
    scope = anyio.CancelScope()

    async def caller() -> None:
        with scope:
            await podio.request("GET", "/item/1")

    async with anyio.create_task_group() as tg:
        tg.start_soon(caller)
        await refresh_sent.wait()
        scope.cancel()
        answer.set()
    assert scope.cancelled_caught
    saved = await store.get("default")
    assert saved is not None and saved.refresh_token == "rotated-ref"
    assert await podio.request("GET", "/item/1") == {"ok": True}
    assert len(refreshes) == 1


async def test_cancellation_is_not_swallowed_by_retries(api: respx.MockRouter) -> None:
    sent = anyio.Event()

    async def never_answers(request: httpx.Request) -> httpx.Response:
        sent.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    podio = Podio(
        "cid", SECRET, http_client=httpx.AsyncClient(transport=httpx.MockTransport(never_answers))
    )
    await podio.set_token(
        OAuthToken(access_token="a", expires_at=datetime.now(timezone.utc) + timedelta(hours=1))
    )
    scope = anyio.CancelScope()

    async def caller() -> None:
        with scope:
            await podio.request("GET", "/item/1")

    async with anyio.create_task_group() as tg:
        tg.start_soon(caller)
        await sent.wait()
        scope.cancel()
    assert scope.cancelled_caught


def test_tls_verification_is_on_by_default() -> None:
    import ssl

    podio = Podio("cid", SECRET)
    context = podio._pipeline.http._transport._ssl(b"https")  # type: ignore[attr-defined]
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


async def test_token_request_is_retried_on_gateway_errors(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.post("/oauth/token").mock(
        side_effect=_sequence(
            httpx.Response(503, text="<html>503</html>"),
            httpx.ConnectError("refused"),
            httpx.Response(200, json=token_body("acc")),
        )
    )
    async with Podio("cid", SECRET) as podio:
        token = await podio.authenticate_with_app(1, "t")
    assert token.access_token == "acc"
    assert route.call_count == 3


async def test_token_only_goes_to_podio_hosts(api: respx.MockRouter) -> None:
    files = api.get("https://files.podio.com/195174666").respond(content=b"\x89PNG...")
    podio = await _client(api)
    response = await podio._send("GET", "https://files.podio.com/195174666")
    assert response.content == b"\x89PNG..."
    assert files.calls.last.request.headers["authorization"] == "OAuth2 acc"
    with pytest.raises(ValueError, match=r"evil\.example"):
        await podio.request("GET", "https://evil.example/steal")


async def test_pacing_tracks_each_pool_on_its_own(
    api: respx.MockRouter, waits: list[float]
) -> None:
    """Filter answers from the 250 pool, a GET from the 1,000 pool: a low filter budget paces
    filters only, and switching pools is not mistaken for a new window."""
    filter_left = iter(range(20, 0, -1))
    api.post("/item/app/1/filter/").mock(
        side_effect=lambda request: httpx.Response(
            200,
            json={},
            headers={"X-Rate-Limit-Limit": "250", "X-Rate-Limit-Remaining": str(next(filter_left))},
        )
    )
    api.get("/item/1").respond(
        json={}, headers={"X-Rate-Limit-Limit": "1000", "X-Rate-Limit-Remaining": "900"}
    )
    podio = await _client(api, pace=True, pace_threshold=0.1)
    await podio._send("POST", "/item/app/1/filter/", json={}, idempotent=True, rate_limited=True)
    assert podio.rate_limit == podiokit.RateLimit(250, 20)
    await podio.request("GET", "/item/1")
    assert waits == []  # the general pool has plenty left
    assert podio.rate_limit == podiokit.RateLimit(1000, 900)
    await podio._send("POST", "/item/app/1/filter/", json={}, idempotent=True, rate_limited=True)
    # 20 of 250 left: 8 % of the hour (288 s) to the reset, over 20 calls.
    assert len(waits) == 1 and waits[0] == pytest.approx(288 / 20, abs=0.1)


async def test_typed_methods_take_max_retries_per_call(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.get("/item/7").respond(503)
    podio = await _client(api, max_retries=3)
    with pytest.raises(errors.PodioUnavailableError):
        await podio.items.get(7, max_retries=0)
    assert route.call_count == 1
    with pytest.raises(errors.PodioUnavailableError):
        await podio.items.get(7)
    assert route.call_count == 1 + 4
