"""Rate-limit budgets are keyed by the `X-Rate-Limit-Limit` each answer carries, not by the
spec's `rate_limited` flag, and a 420 pauses every call of the session (issue 24 #6).

Which operations Podio counts in its 250/hour budget is not documented
(docs/dev/podio-behaviour.md §3); the emulator's quirk `budget_swap` puts an operation in the
other budget. Time is a fake clock that the pipeline's (fake) sleep advances."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
import respx

import podiokit._pipeline
import podiokit._ratelimit
from podiokit import Podio, PodioRateLimitError
from podiokit.testing import Emulator

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


def _figures(limit: int, remaining: int) -> dict[str, str]:
    return {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining)}


def _counting(limit: int, start: int, body: Any) -> Callable[[httpx.Request], httpx.Response]:
    left = iter(range(start, -1, -1))
    return lambda request: httpx.Response(200, json=body, headers=_figures(limit, next(left)))


async def test_a_flagged_operation_answered_from_the_big_budget_is_paced_by_it(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    """Filter is flagged "rate limited" in the spec, but here Podio counts it in the 1,000
    budget (only 100 left: 10 %, pacing due) while sign-ins draw on a 250 budget that has
    plenty left. Kept apart, filters are paced by their own budget; mixed in one pool, each
    sign-in's figures hid the spent budget (and read as a new hour) and filters went
    unpaced into 420s."""
    api.post("/item/app/1/filter/").mock(
        side_effect=_counting(1000, 100, {"total": 0, "filtered": 0, "items": []})
    )
    api.post("/oauth/token").mock(
        side_effect=lambda r, left=iter(range(200, 0, -1)): httpx.Response(
            200, json=token_body("acc"), headers=_figures(250, next(left))
        )
    )
    podio = Podio("cid", SECRET, pace=True, pace_threshold=0.2)
    await podio.authenticate_with_app(1, "t")
    waits_before: list[float] = []
    for _ in range(6):
        before = len(fake_time.sleeps)
        await podio.items.filter(1, limit=1)
        waits_before.append(sum(fake_time.sleeps[before:]))
        await podio.authenticate_with_app(1, "t")  # the 250 budget: never paced here
    # The first filter's budget was unknown (the flag guessed the 250 one); from then on
    # 100 of 1,000 left implies 10 % of the hour (360 s), spread over what is left.
    assert waits_before[0] == 0
    assert all(3.0 < w < 4.0 for w in waits_before[1:]), waits_before
    assert sum(fake_time.sleeps) < 360
    await podio.aclose()


async def test_each_budget_keeps_its_own_figures(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    api.get("/item/1").mock(side_effect=_counting(1000, 900, {}))
    api.post("/item/app/1/filter/").mock(
        side_effect=_counting(250, 30, {"total": 0, "filtered": 0, "items": []})
    )
    podio = Podio("cid", SECRET, pace=True, pace_threshold=0.2)
    await podio.set_token(token_body("acc"))
    for _ in range(5):
        await podio.request("GET", "/item/1")
        await podio.items.filter(1, limit=1)
    # Filters (30 of 250 left: 12 %) are paced; the reads (900 of 1,000) never are, and the
    # interleaving never reads as a new hour (which would spread 30 calls over 3,600 s).
    assert fake_time.sleeps and max(fake_time.sleeps) < 3600 * 0.12 / 25
    assert podio.rate_limit.limit == 250 and podio.rate_limit.remaining == 26  # the latest
    await podio.aclose()


async def test_a_420_pauses_every_budget_of_the_session(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filter meets a 420 ("wait 30 s", within `rate_limit_wait`); a read, which draws on
    the other budget, is started while the filter waits: it waits for the same moment
    instead of being sent (Podio refuses every call then)."""
    now = [1000.0]
    sleeps: list[tuple[str, float]] = []

    async def sleep(seconds: float) -> None:
        sleeps.append((anyio.get_current_task().name or "", round(seconds, 3)))
        for _ in range(50):  # the others run before time moves on
            await anyio.lowlevel.checkpoint()
        now[0] += seconds

    monkeypatch.setattr(podiokit._ratelimit, "clock", lambda: now[0])
    monkeypatch.setattr(podiokit._pipeline, "sleep", sleep)
    answers = iter([
        httpx.Response(
            420,
            json=error_body("rate_limit", "You have hit the rate limit. Please wait 30 seconds"),
            headers=_figures(250, 0),
        )
    ])  # fmt: skip
    empty = {"total": 0, "filtered": 0, "items": []}
    api.post("/item/app/1/filter/").mock(
        side_effect=lambda r: next(
            answers, httpx.Response(200, json=empty, headers=_figures(250, 249))
        )
    )
    read_after: list[list[tuple[str, float]]] = []

    def read(request: httpx.Request) -> httpx.Response:
        read_after.append(list(sleeps))
        return httpx.Response(200, json={"item_id": 1}, headers=_figures(1000, 900))

    api.get("/item/1").mock(side_effect=read)
    podio = Podio("cid", SECRET, rate_limit_wait=60)
    await podio.set_token(token_body("acc"))

    async def filter_once() -> None:
        await podio.items.filter(1, limit=1)

    async def read_once_the_filter_waits() -> None:
        while not sleeps:
            await anyio.lowlevel.checkpoint()
        await podio.request("GET", "/item/1")

    async with anyio.create_task_group() as tg:
        tg.start_soon(filter_once, name="filter")
        tg.start_soon(read_once_the_filter_waits, name="read")
    # The read was sent only after waiting out the pause the filter's 420 set.
    assert read_after == [[("filter", 30.0), ("read", 30.0)]]
    await podio.aclose()


async def test_a_long_pause_lets_calls_through_for_podio_to_decide(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    limited = httpx.Response(
        420,
        json=error_body("rate_limit", "You have hit the rate limit. Please wait 900 seconds"),
        headers=_figures(250, 0),
    )
    api.post("/item/app/1/filter/").mock(return_value=limited)
    read = api.get("/item/1").respond(json={"item_id": 1}, headers=_figures(1000, 900))
    podio = Podio("cid", SECRET, rate_limit_wait=10)
    await podio.set_token(token_body("acc"))
    with pytest.raises(PodioRateLimitError) as caught:
        await podio.items.filter(1, limit=1)
    assert caught.value.retry_after == 900
    # Longer than the caller would wait: not waited for, and Podio answered this one.
    assert await podio.request("GET", "/item/1") == {"item_id": 1}
    assert read.call_count == 1 and fake_time.sleeps == []
    await podio.aclose()


async def test_a_short_pause_is_waited_out_by_the_other_calls(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    answers = iter(
        [
            httpx.Response(
                420,
                json=error_body(
                    "rate_limit", "You have hit the rate limit. Please wait 20 seconds"
                ),
                headers=_figures(250, 0),
            )
        ]
    )
    empty = {"total": 0, "filtered": 0, "items": []}
    api.post("/item/app/1/filter/").mock(
        side_effect=lambda r: next(
            answers, httpx.Response(200, json=empty, headers=_figures(250, 249))
        )
    )
    sent_at: list[float] = []

    def read(request: httpx.Request) -> httpx.Response:
        sent_at.append(fake_time.now)
        return httpx.Response(200, json={"item_id": 1}, headers=_figures(1000, 900))

    api.get("/item/1").mock(side_effect=read)
    podio = Podio("cid", SECRET, rate_limit_wait=60)
    await podio.set_token(token_body("acc"))
    started = fake_time.now
    await podio.items.filter(1, limit=1)  # 420, waits 20 s, then answered
    assert fake_time.sleeps == [20.0]
    # Right after it the pause is over: the read goes at once.
    await podio.request("GET", "/item/1")
    assert sent_at == [started + 20.0]
    await podio.aclose()


async def test_with_budget_swap_the_emulator_s_filter_is_paced_by_its_real_budget(
    fake_time: FakeTime,
) -> None:
    # 50 calls an hour in general, 12 for "rate limited" ones; filter counted in general.
    emu = Emulator(items=5, rate_limit=50, rate_limit_limited=12,
                   quirks={"budget_swap": "POST /item/app/{app_id}/filter/"})  # fmt: skip
    creds = emu.credentials
    app = creds["apps"][0]
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
    async with http, Podio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http,
        pace=True, pace_threshold=0.2,
    ) as podio:  # fmt: skip
        await podio.authenticate_with_app(app["app_id"], app["app_token"])
        page = await podio.items.filter(app["app_id"], limit=1)
        item_id = page.items[0].item_id
        for _ in range(39):  # the general budget down to 10 of 50: pacing is due
            await podio.items.get_basic(item_id)
        assert podio.rate_limit.remaining == 10
        before = len(fake_time.sleeps)
        paced = []
        for _ in range(5):
            mark = len(fake_time.sleeps)
            await podio.items.filter(app["app_id"], limit=1)
            paced.append(sum(fake_time.sleeps[mark:]))
            await podio.authenticate_with_app(app["app_id"], app["app_token"])
        assert all(w > 0 for w in paced), paced  # every filter waited for its budget
        # The reset was estimated when 49 of 50 were left (98 % of the hour): never past it.
        assert sum(fake_time.sleeps[before:]) < 3600 * 0.98
    assert emu.stats()["rate_limited"] == 0
