"""Soak: thousands of idempotent calls against the emulator over loopback, with 5 % faults,
tokens that expire every few seconds (rotating refresh tokens) and a rate limit that trips.
Every call must be answered with the right item, in bounded time."""

from __future__ import annotations

import random
from collections import Counter

import anyio
import httpx
import pytest

from podiokit import Podio
from podiokit.testing import Emulator

pytestmark = pytest.mark.anyio

CALLS = 2000
WORKERS = 16


async def test_soak_faults_expiry_and_rate_limit(capsys: pytest.CaptureFixture[str]) -> None:
    emu = Emulator(
        items=300,
        token_lifetime=3,
        refresh="rotate",
        rate_limit=250,  # per 2 s window: 2000 calls in a few seconds must trip it
        rate_window=2.0,
        fault_rate=0.05,
        fault_seed=11,
    )
    creds = emu.credentials
    app = creds["apps"][0]
    statuses: Counter[int] = Counter()

    async def count(response: httpx.Response) -> None:
        statuses[response.status_code] += 1

    answered = 0
    with anyio.fail_after(120):
        async with emu.serve() as url:
            http = httpx.AsyncClient(event_hooks={"response": [count]}, timeout=10)
            async with (
                http,
                Podio(
                    creds["client_id"],
                    creds["client_secret"],
                    api_url=url,
                    http_client=http,
                    max_retries=8,
                    backoff_base=0.02,
                    backoff_cap=0.5,
                    rate_limit_wait=5,
                ) as podio,
            ):
                await podio.authenticate_with_app(app["app_id"], app["app_token"])
                # Every item of the app, through the paginated (idempotent POST) filter.
                ids = [item.item_id async for item in podio.items.filter(app["app_id"], limit=100)]
                assert len(ids) == len(set(ids)) == 300
                rng = random.Random(3)
                plan = [rng.choice(ids) for _ in range(CALLS)]
                queue = iter(plan)

                async def worker() -> None:
                    nonlocal answered
                    for item_id in queue:
                        item = await podio.items.get(item_id)
                        assert item.item_id == item_id
                        answered += 1

                async with anyio.create_task_group() as tg:
                    for _ in range(WORKERS):
                        tg.start_soon(worker)
                remaining = podio.rate_limit.remaining
    stats = emu.stats()
    assert answered == CALLS
    grants = stats["token_grants"]
    faults = sum(stats["faults"].values())
    with capsys.disabled():
        print(
            f"\nsoak: {answered} calls answered; server saw {stats['requests']} requests; "
            f"statuses {dict(sorted(statuses.items()))}; faults {stats['faults']}; "
            f"grants {grants}; rate_limit.remaining={remaining}"
        )
    assert faults > 0 and statuses[420] > 0  # the faults and the rate limit did happen
    assert grants.get("refresh_token", 0) + grants.get("app", 0) >= 2  # tokens expired mid-run
