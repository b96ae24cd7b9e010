"""The pipeline's side of a shared rate-limit budget (`SharedRateLimits`), against an
in-memory stand-in for Redis: when it asks the store, and what it does with the answer.
Under asyncio and trio; time is a fake clock that the pipeline's sleep advances."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
import respx

import podiokit._pipeline
import podiokit._ratelimit
from podiokit import Podio
from podiokit.errors import PodioRateLimitError
from podiokit.sessions import (
    FileSessionStore,
    MemorySessionStore,
    RateLimitShare,
    RedisSessionStore,
    SharedRateLimits,
)

from .conftest import SECRET, error_body, token_body

pytestmark = pytest.mark.anyio


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds
        await anyio.lowlevel.checkpoint()


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(podiokit._ratelimit, "clock", fake.clock)
    monkeypatch.setattr(podiokit._pipeline, "sleep", fake.sleep)
    return fake


class SharedMemoryStore(MemorySessionStore):
    """What RedisSessionStore does, in memory: the lowest remaining, and a 420's reset."""

    def __init__(self, time: FakeTime) -> None:
        super().__init__()
        self.time = time
        self.state: dict[tuple[str, str], dict[str, Any]] = {}
        self.gets = 0
        self.updates: list[dict[str, Any]] = []

    async def rate_limit_get(
        self, key: str, pool: str, *, pace_threshold: float | None
    ) -> RateLimitShare | None:
        self.gets += 1
        state = self.state.get((key, pool))
        if state is None:
            return None
        left = state.get("blocked_until", 0.0) - self.time.now
        blocked = left > 0
        return RateLimitShare(
            state["limit"], state["remaining"], None, wait=max(left, 0.0), blocked=blocked
        )

    async def rate_limit_update(
        self,
        key: str,
        pool: str,
        *,
        limit: int | None,
        remaining: int | None,
        wait: float | None = None,
    ) -> RateLimitShare:
        self.updates.append({"pool": pool, "remaining": remaining, "wait": wait})
        state = self.state.setdefault((key, pool), {"limit": limit, "remaining": remaining})
        state["limit"] = limit
        if wait is not None:
            state["remaining"] = 0
            state["blocked_until"] = self.time.now + wait
        elif remaining is not None:
            state["remaining"] = min(state["remaining"], remaining)
        return RateLimitShare(state["limit"], state["remaining"], None)


def _figures(limit: int, remaining: int) -> dict[str, str]:
    return {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining)}


async def _client(store: SharedMemoryStore, **options: Any) -> Podio:
    podio = Podio("client", SECRET, session_store=store, **options)
    await podio.set_token(token_body("acc-1"))
    return podio


def test_only_redis_shares_the_budget(tmp_path: Any) -> None:
    assert isinstance(RedisSessionStore("redis://127.0.0.1:1/0"), SharedRateLimits)
    assert not isinstance(MemorySessionStore(), SharedRateLimits)
    assert not isinstance(FileSessionStore(tmp_path / "s.json"), SharedRateLimits)


async def test_far_from_the_threshold_the_store_is_asked_once(
    fake_time: FakeTime, api: respx.MockRouter
) -> None:
    left = iter(range(999, 0, -1))
    api.get("/item/1").mock(side_effect=lambda r: httpx.Response(200, json={}, headers=_figures(1000, next(left))))  # fmt: skip
    store = SharedMemoryStore(fake_time)
    podio = await _client(store)
    for _ in range(50):
        await podio.request("GET", "/item/1")
    # Once, before the first call (nothing known yet: the budget's figures, and a pause
    # another process's 420 may have set); then Podio's own headers suffice.
    assert store.gets == 2 and store.updates == []
    # Figures learnt long ago (a process idle for a while) are checked again.
    fake_time.now += 31
    await podio.request("GET", "/item/1")
    assert store.gets == 4
    await podio.aclose()


async def test_near_the_threshold_every_call_asks_and_tells(
    fake_time: FakeTime, api: respx.MockRouter
) -> None:
    left = iter(range(300, 0, -1))
    api.get("/item/1").mock(side_effect=lambda r: httpx.Response(200, json={}, headers=_figures(1000, next(left))))  # fmt: skip
    store = SharedMemoryStore(fake_time)
    podio = await _client(store)
    for _ in range(5):
        await podio.request("GET", "/item/1")
    assert store.gets == 5 + 1  # and once the session's pause, before the first
    assert [u["remaining"] for u in store.updates] == [300, 299, 298, 297, 296]
    await podio.aclose()


async def test_a_reset_another_process_was_told_is_waited_for_before_sending(
    fake_time: FakeTime, api: respx.MockRouter
) -> None:
    route = api.get("/item/1").mock(return_value=httpx.Response(200, json={}, headers=_figures(1000, 999)))  # fmt: skip
    store = SharedMemoryStore(fake_time)
    store.state[("default", "1000")] = {
        "limit": 1000,
        "remaining": 0,
        "blocked_until": fake_time.now + 30,
    }
    podio = await _client(store)
    await podio.request("GET", "/item/1")
    assert fake_time.sleeps == [30.0] and route.call_count == 1
    await podio.aclose()


async def test_a_long_shared_reset_raises_without_sending(
    fake_time: FakeTime, api: respx.MockRouter
) -> None:
    route = api.get("/item/1").mock(return_value=httpx.Response(200, json={}))
    store = SharedMemoryStore(fake_time)
    store.state[("default", "1000")] = {
        "limit": 1000,
        "remaining": 0,
        "blocked_until": fake_time.now + 3000,
    }
    podio = await _client(store, rate_limit_wait=60)
    with pytest.raises(PodioRateLimitError) as caught:
        await podio.request("GET", "/item/1")
    assert caught.value.retry_after == pytest.approx(3000)
    assert caught.value.status == 420 and route.call_count == 0 and fake_time.sleeps == []
    await podio.aclose()


async def test_a_420_is_told_to_the_others_with_its_wait(
    fake_time: FakeTime, api: respx.MockRouter
) -> None:
    limited = httpx.Response(
        420,
        json=error_body("rate_limit", "You have hit the rate limit. Please wait 20 seconds"),
        headers=_figures(1000, 0),
    )
    api.get("/item/1").mock(
        side_effect=[limited, httpx.Response(200, json={}, headers=_figures(1000, 999))]
    )
    store = SharedMemoryStore(fake_time)
    podio = await _client(store, rate_limit_wait=60)
    await podio.request("GET", "/item/1")
    assert store.updates[0] == {"pool": "1000", "remaining": 0, "wait": 20.0}
    # Waited once (the 420's own wait), not twice: the shared reset is the same moment.
    assert fake_time.sleeps[0] == 20.0 and sum(fake_time.sleeps) == pytest.approx(20.0)
    await podio.aclose()


async def test_the_token_endpoint_shares_the_limited_pool(
    fake_time: FakeTime, api: respx.MockRouter
) -> None:
    api.post("/oauth/token").mock(return_value=httpx.Response(200, json=token_body("acc-2"), headers=_figures(250, 10)))  # fmt: skip
    store = SharedMemoryStore(fake_time)
    podio = Podio("client", SECRET, session_store=store)
    await podio.authenticate_with_app(1, "app-token")
    assert store.updates == [{"pool": "250", "remaining": 10, "wait": None}]
    await podio.aclose()
