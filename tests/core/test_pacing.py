"""Issue 15.10: pacing never waits past the reset the figures imply, and says so at INFO.

Time is driven by a fake clock that the pipeline's (fake) sleep advances: no wall time."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
import httpx
import pytest
import respx

import podiokit._pipeline
import podiokit._ratelimit
from podiokit import Podio
from podiokit._ratelimit import RateLimitState

from .conftest import SECRET, error_body, token_body

pytestmark = pytest.mark.anyio


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await anyio.lowlevel.checkpoint()


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    # raising=False: the clock hook is new with this fix; without it the test must still fail.
    monkeypatch.setattr(podiokit._ratelimit, "clock", fake.clock, raising=False)
    monkeypatch.setattr(podiokit._pipeline, "sleep", fake.sleep)
    return fake


def _counting_down(limit: int, start: int) -> Callable[[httpx.Request], httpx.Response]:
    left = iter(range(start, -1, -1))

    def answer(request: httpx.Request) -> httpx.Response:
        remaining = next(left)
        return httpx.Response(
            200,
            json={},
            headers={"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining)},
        )

    return answer


async def _client(api: respx.MockRouter, **options: object) -> Podio:
    api.post("/oauth/token").respond(json=token_body("acc"))  # no rate-limit headers
    podio = Podio("cid", SECRET, pace=True, **options)  # type: ignore[arg-type]
    await podio.authenticate_with_app(1, "t")
    return podio


async def test_fresh_process_with_9_of_100_left_never_waits_past_the_implied_reset(
    api: respx.MockRouter, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    api.get("/item/1").mock(side_effect=_counting_down(100, 9))
    podio = await _client(api, pace_threshold=0.2)
    started = fake_time.now
    with caplog.at_level(logging.INFO, logger="podiokit"):
        for _ in range(10):
            await podio.request("GET", "/item/1")
    # 9 % of the budget left implies at most 9 % of the hour (324 s) to the reset: the 9
    # calls left are spread over it, 36 s apart, instead of 400 s (the rest of an hour
    # assumed to begin at this process's first call, over 9 calls).
    assert fake_time.sleeps[0] == pytest.approx(36.0)
    assert max(fake_time.sleeps) <= 324
    assert fake_time.now - started <= 324 + 1e-6
    assert "pacing session 'default': 9 of 100 calls left this hour; waiting 36.0 s" in caplog.text
    assert all(r.levelno == logging.INFO for r in caplog.records if "pacing" in r.message)


async def test_short_waits_stay_at_debug(
    api: respx.MockRouter, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    api.get("/item/1").mock(side_effect=_counting_down(1000, 90))
    podio = await _client(api, pace_threshold=0.1)
    with caplog.at_level(logging.INFO, logger="podiokit"):
        await podio.request("GET", "/item/1")
        await podio.request("GET", "/item/1")
    assert fake_time.sleeps == [pytest.approx(3.6)]  # 1,000/hour: 3.6 s apart
    assert "pacing" not in caplog.text


async def test_after_a_420_wait_pacing_adds_no_wait(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    """Podio's "Please wait 30 seconds" is the exact reset: after it, no pacing wait."""
    answers = iter(
        [
            httpx.Response(
                420,
                json=error_body(
                    "rate_limit", "You have hit the rate limit. Please wait 30 seconds"
                ),
                headers={"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "0"},
            ),
        ]
    )
    api.get("/item/1").mock(
        side_effect=lambda request: next(
            answers,
            httpx.Response(
                200, json={}, headers={"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "0"}
            ),
        )
    )
    podio = await _client(api)
    await podio.request("GET", "/item/1")  # waits the 30 s hint, then succeeds
    assert fake_time.sleeps == [30.0]
    # Remaining 0 of 100 but the reset was 30 s after the 420: no pacing wait now.
    await podio.request("GET", "/item/1")
    assert fake_time.sleeps == [30.0]


def test_a_new_window_resets_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr(podiokit._ratelimit, "clock", lambda: now[0])
    state = RateLimitState()
    state.update("100", "10")
    assert state.pace_delay(0.2) == pytest.approx(36.0)  # 10 % of the hour over 10 calls
    now[0] = 400.0  # past the estimated reset: no wait until a response says more
    assert state.pace_delay(0.2) == 0.0
    state.update("100", "5")  # still low: a new estimate from these figures
    assert state.pace_delay(0.2) == pytest.approx(36.0)
    state.update("100", "99")  # the budget went back up: plenty left
    assert state.pace_delay(0.2) == 0.0


def test_a_420_hint_is_the_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(podiokit._ratelimit, "clock", lambda: 0.0)
    state = RateLimitState()
    state.update("100", "10")
    state.note_reset(30)  # "Please wait 30 seconds"
    assert state.pace_delay(0.2) == pytest.approx(3.0)  # 10 calls over 30 s, not 360 s
