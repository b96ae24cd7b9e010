"""Soak: thousands of idempotent calls against the emulator over loopback, with 5 % faults,
tokens expired mid-run (rotating refresh tokens) and a rate limit that trips. Every call must
be answered with the right item.

Nothing here depends on the machine's speed: the rate limit trips by count (more calls than
the budget), the tokens are expired through the control API at fixed points of progress, and
the client's waits are recorded instead of slept, a wait for the rate limit ending the
emulator's window through its control API, as the hour passing would."""

from __future__ import annotations

import random
from collections import Counter

import anyio
import anyio.lowlevel
import httpx
import pytest

import podiokit._pipeline
from podiokit import Podio
from podiokit.testing import Emulator

pytestmark = pytest.mark.anyio

CALLS = 2000
WORKERS = 16
RATE_LIMIT = 250  # per hour: 2000 calls must trip it several times
EXPIRE_AT = (500, 1000, 1500)  # answered calls after which every access token is expired
BACKOFF_CAP = 0.5  # the client's retry backoff never waits longer; rate-limit waits do


async def test_soak_faults_expiry_and_rate_limit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = Emulator(
        items=300,
        refresh="rotate",
        rate_limit=RATE_LIMIT,
        fault_rate=0.05,
        fault_seed=11,
    )
    creds = emu.credentials
    app = creds["apps"][0]
    statuses: Counter[int] = Counter()
    waits: list[float] = []

    async def count(response: httpx.Response) -> None:
        statuses[response.status_code] += 1

    answered = 0
    # A safety net for a hang, not a speed requirement.
    with anyio.fail_after(600):
        async with emu.serve() as url:
            control = httpx.AsyncClient(base_url=f"{url}/_emulator")

            async def no_sleep(seconds: float) -> None:
                waits.append(seconds)
                if seconds > BACKOFF_CAP:  # Podio's "Please wait N seconds": let the hour pass
                    (await control.post("/reset-rate-limits")).raise_for_status()
                await anyio.lowlevel.checkpoint()

            monkeypatch.setattr(podiokit._pipeline, "sleep", no_sleep)
            http = httpx.AsyncClient(event_hooks={"response": [count]}, timeout=30)
            async with (
                control,
                http,
                Podio(
                    creds["client_id"],
                    creds["client_secret"],
                    api_url=url,
                    http_client=http,
                    max_retries=8,
                    backoff_base=0.02,
                    backoff_cap=BACKOFF_CAP,
                    rate_limit_wait=3600,
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
                        if answered in EXPIRE_AT:
                            (await control.post("/expire-tokens")).raise_for_status()

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
            f"grants {grants}; rate-limit waits {sum(w > BACKOFF_CAP for w in waits)}; "
            f"rate_limit.remaining={remaining}"
        )
    assert faults > 0  # 5 % of more than 2000 requests
    # 2000 calls against 250 an hour: the limit tripped, and each trip was waited out.
    assert statuses[420] >= CALLS // RATE_LIMIT - 1
    assert any(w > BACKOFF_CAP for w in waits)
    # One refresh per expiry at least (single flight keeps it near one each).
    assert grants.get("refresh_token", 0) + grants.get("app", 0) - 1 >= len(EXPIRE_AT)
