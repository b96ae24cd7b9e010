"""RedisSessionStore's shared rate-limit figures (`SharedRateLimits`), on a real redis-server:
the merge rules of its scripts. redis.asyncio runs on asyncio only."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator

import pytest

import podiokit._ratelimit
from podiokit.sessions import RedisSessionStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (CI installs it with apt-get)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait()


_prefixes = iter(range(1_000_000))


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[RedisSessionStore]:
    s = RedisSessionStore(redis_url, prefix=f"rb{next(_prefixes)}:")
    yield s
    await s.aclose()


async def test_nothing_shared_yet(store: RedisSessionStore) -> None:
    assert await store.rate_limit_get("default", "general", pace_threshold=0.2) is None


async def test_the_lowest_remaining_wins_within_a_window(store: RedisSessionStore) -> None:
    first = await store.rate_limit_update("default", "general", limit=1000, remaining=300)
    # 30 % left: the reset is estimated at 30 % of the hour.
    assert first.remaining == 300 and first.reset_in == pytest.approx(1080, abs=2)
    # Another process's older response (sent before, answered after) does not raise it...
    late = await store.rate_limit_update("default", "general", limit=1000, remaining=302)
    assert late.remaining == 300
    lower = await store.rate_limit_update("default", "general", limit=1000, remaining=290)
    assert lower.remaining == 290 and lower.reset_in == pytest.approx(1080, abs=2)
    # ...but a figure well above it means Podio's new window began: an hour from now.
    fresh = await store.rate_limit_update("default", "general", limit=1000, remaining=999)
    assert fresh.remaining == 999 and fresh.reset_in == pytest.approx(3600, abs=2)
    # The pools and the session keys are separate.
    other = await store.rate_limit_update("default", "limited", limit=250, remaining=240)
    assert other.remaining == 240
    assert await store.rate_limit_get("app:1", "general", pace_threshold=None) is None


async def test_a_420_blocks_everyone_until_its_reset(store: RedisSessionStore) -> None:
    await store.rate_limit_update("default", "general", limit=1000, remaining=3)
    told = await store.rate_limit_update("default", "general", limit=1000, remaining=None, wait=120)
    assert told.remaining == 0 and told.reset_in == pytest.approx(120, abs=1)
    share = await store.rate_limit_get("default", "general", pace_threshold=None)
    assert share is not None and share.blocked and share.wait == pytest.approx(120, abs=1)
    ttl = await store._redis.ttl(store._prefix + "default:rate:general")
    assert 3500 < ttl <= 3600  # kept for the window


async def test_nothing_left_without_a_420_is_no_block(store: RedisSessionStore) -> None:
    # The reset is only an estimate then: the next call goes, and its 420 gives the real one.
    await store.rate_limit_update("default", "general", limit=1000, remaining=5)
    await store.rate_limit_update("default", "general", limit=1000, remaining=0)
    share = await store.rate_limit_get("default", "general", pace_threshold=None)
    assert share is not None and not share.blocked and share.wait == 0


async def test_paced_slots_are_handed_out_in_turn(
    store: RedisSessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(podiokit._ratelimit, "WINDOW_SECONDS", 100.0)
    # 10 of 100 left: the reset is estimated 10 s away, so one call a second.
    await store.rate_limit_update("default", "general", limit=100, remaining=10)
    waits = []
    for _ in range(3):
        share = await store.rate_limit_get("default", "general", pace_threshold=0.2)
        assert share is not None and not share.blocked
        waits.append(share.wait)
    assert waits[0] == pytest.approx(0, abs=0.05)
    assert waits[1] == pytest.approx(1.0, abs=0.05)
    assert waits[2] == pytest.approx(2.0, abs=0.05)
    # Without pacing (or above the threshold), no turn is taken.
    share = await store.rate_limit_get("default", "general", pace_threshold=None)
    assert share is not None and share.wait == 0
