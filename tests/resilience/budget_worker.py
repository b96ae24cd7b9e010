"""One exporter-like process for tests/resilience/test_shared_budget.py: it acts as the session
stored in Redis and makes CALLS reads of one item, then prints one JSON line: how many calls
were answered, the retry_after of a PodioRateLimitError that stopped it, and the waits the
pipeline took (for pacing or a shared reset).

    python budget_worker.py CONFIG_JSON

CONFIG: api_url, client_id, client_secret, redis_url, prefix, calls, item_id,
rate_limit_wait, pace, pace_threshold, window (the rate-limit window the client assumes),
hold_lock (instead of calling: take the session's lock, say "held", and sleep).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import anyio

import podiokit._pipeline as http_module
import podiokit._ratelimit as ratelimit
from podiokit import Podio
from podiokit.errors import PodioRateLimitError
from podiokit.sessions import RedisSessionStore


async def main(config: dict[str, Any]) -> dict[str, Any]:
    ratelimit.WINDOW_SECONDS = float(config.get("window", 3600.0))
    waits: list[float] = []

    async def recorded_sleep(seconds: float) -> None:
        waits.append(round(seconds, 3))
        await anyio.sleep(seconds)

    http_module.sleep = recorded_sleep
    store = RedisSessionStore(
        config["redis_url"], prefix=config["prefix"], lock_timeout=config.get("lock_timeout", 30)
    )
    if config.get("hold_lock"):
        async with store.lock("default"):
            print("held", flush=True)
            await asyncio.sleep(120)  # killed long before
    answered = 0
    limited = None
    async with Podio(
        config["client_id"],
        config["client_secret"],
        api_url=config["api_url"],
        session_store=store,
        rate_limit_wait=config["rate_limit_wait"],
        pace=config.get("pace", False),
        pace_threshold=config.get("pace_threshold", 0.2),
        max_retries=0,
    ) as podio:
        for _ in range(config["calls"]):
            try:
                await podio.request("GET", f"/item/{config['item_id']}")
            except PodioRateLimitError as exc:
                limited = exc.retry_after
                break
            answered += 1
    await store.aclose()
    return {"answered": answered, "limited": limited, "waits": waits}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))), flush=True)
