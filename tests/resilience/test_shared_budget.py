"""One hourly budget across processes, through RedisSessionStore, on a real redis-server and
real subprocesses (RedisSessionStore runs under asyncio only)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest

from podiokit import Podio
from podiokit.sessions import RedisSessionStore
from podiokit.testing import Emulator

WORKER = Path(__file__).with_name("budget_worker.py")
PROJECTS = 3002


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """A throwaway redis-server that can be stopped and started again on its port."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed (CI installs it with apt-get)")
        self.binary = binary
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def served() -> Iterator[tuple[Emulator, str]]:
    """An emulator on a loopback port with a tiny budget: 20 calls per 4-second window."""
    emu = Emulator(items=20, rate_limit=20, rate_window=4.0)
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(emu.serve()) as url,
    ):
        yield emu, url


@pytest.fixture
def served_roomier() -> Iterator[tuple[Emulator, str]]:
    """`served` with a budget twice as large: 10 filter calls per 4-second window, room
    for a whole small export (sign-in, probe, first window, the ranges check, a page)."""
    emu = Emulator(items=20, rate_limit=40, rate_window=4.0)
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(emu.serve()) as url,
    ):
        yield emu, url


def _client(emu: Emulator, url: str, store: RedisSessionStore, **options: Any) -> Podio:
    creds = emu.credentials
    return Podio(
        creds["client_id"], creds["client_secret"], api_url=url, session_store=store, **options
    )


def _sign_in(emu: Emulator, url: str, redis_url: str, prefix: str) -> None:
    async def sign_in() -> None:
        store = RedisSessionStore(redis_url, prefix=prefix)
        async with _client(emu, url, store) as podio:
            creds = emu.credentials
            await podio.authenticate_with_credentials(creds["username"], creds["password"])
        await store.aclose()

    asyncio.run(sign_in())


def _item_id(emu: Emulator) -> int:
    return min(emu._core.world.apps[PROJECTS].item_ids)


def _worker(emu: Emulator, url: str, redis_url: str, prefix: str, **config: Any) -> dict[str, Any]:
    creds = emu.credentials
    full = {
        "api_url": url,
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "redis_url": redis_url,
        "prefix": prefix,
        "item_id": _item_id(emu),
        "window": 4.0,
        **config,
    }
    result = subprocess.run(
        [sys.executable, str(WORKER), json.dumps(full)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


def test_a_420_seen_by_one_process_makes_the_next_wait_for_the_same_reset(
    served: tuple[Emulator, str], redis_server: RedisServer
) -> None:
    emu, url = served
    prefix = "b1:"
    _sign_in(emu, url, redis_server.url, prefix)
    # The first process spends the window's 20 calls and meets the 420 on the 21st.
    first = _worker(emu, url, redis_server.url, prefix, calls=30, rate_limit_wait=0)
    assert first["answered"] == 20 and first["limited"] is not None
    assert emu.stats()["rate_limited"] == 1
    # The second process, started afresh, learns from Redis that the budget is spent and
    # waits for the reset the first one was told, instead of collecting a 420 of its own.
    second = _worker(emu, url, redis_server.url, prefix, calls=5, rate_limit_wait=30)
    assert second["answered"] == 5 and second["limited"] is None
    assert emu.stats()["rate_limited"] == 1
    assert second["waits"] and 0.5 < second["waits"][0] <= first["limited"] + 0.5


def test_two_processes_at_once_share_one_budget(
    served: tuple[Emulator, str], redis_server: RedisServer
) -> None:
    """Two processes running together spend one identity's budget and both finish: every call
    answered, no PodioRateLimitError, at most one 420 per process per spent window (one for the
    call that found the budget spent, one for a call of the other process already on its way).
    In runs here: 2 with the shared figures, 3 or 4 without them; the strict "waits instead of
    collecting a 420" is the sequential test above."""
    emu, url = served
    prefix = "b2:"
    _sign_in(emu, url, redis_server.url, prefix)
    creds = emu.credentials
    config = {
        "api_url": url,
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "redis_url": redis_server.url,
        "prefix": prefix,
        "item_id": _item_id(emu),
        "window": 4.0,
        "calls": 30,
        "rate_limit_wait": 30,
    }
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), json.dumps(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["answered"] for r in results] == [30, 30]
    # 60 calls against 20 a window: three windows, and at most one 420 per process per window
    # (their calls in flight) instead of one per call that finds the budget spent.
    assert emu.stats()["rate_limited"] <= 4


def test_a_lock_holder_that_dies_lets_another_process_refresh(
    served: tuple[Emulator, str], redis_server: RedisServer
) -> None:
    emu, url = served
    prefix = "b3:"
    _sign_in(emu, url, redis_server.url, prefix)
    holder = subprocess.Popen(
        [
            sys.executable,
            str(WORKER),
            json.dumps(
                {
                    "redis_url": redis_server.url,
                    "prefix": prefix,
                    "hold_lock": True,
                    "lock_timeout": 1.5,
                }
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    os.kill(holder.pid, signal.SIGKILL)  # dies holding the refresh lock
    holder.wait()
    emu.expire_tokens()

    async def refresh_after_the_lock_expires() -> tuple[str | None, str | None, float]:
        store = RedisSessionStore(redis_server.url, prefix=prefix, lock_timeout=1.5)
        started = time.monotonic()
        async with _client(emu, url, store) as podio:
            item = await podio.request("GET", f"/item/{_item_id(emu)}")
            assert item["item_id"] == _item_id(emu)
            mine = podio.token
        stored = await store.get("default")
        await store.aclose()
        assert mine is not None and stored is not None
        return mine.refresh_token, stored.refresh_token, time.monotonic() - started

    mine, stored, took = asyncio.run(refresh_after_the_lock_expires())
    assert mine == stored  # the rotated pair is in Redis: nothing lost
    assert emu.stats()["token_grants"] == {"password": 1, "refresh_token": 1}
    assert took < 10  # it waited for the dead holder's lock to expire, not for lock_wait


def test_redis_unreachable_is_one_clear_error(tmp_path: Path) -> None:
    port = _free_port()  # nothing listens there
    script = f"""
import asyncio
from podiokit import Podio, SessionStoreError
from podiokit.sessions import RedisSessionStore

async def main():
    store = RedisSessionStore("redis://:hunter2@127.0.0.1:{port}/0")
    async with Podio("id", "secret", session_store=store) as podio:
        try:
            await podio.request("GET", "/item/1")
        except SessionStoreError as exc:
            print(type(exc).__name__, exc.location, "|", exc)
    await store.aclose()

asyncio.run(main())
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no traceback, no warning noise
    out = result.stdout.strip()
    assert out.startswith(f"SessionStoreError redis://127.0.0.1:{port}/0 | cannot use Redis at ")
    assert "hunter2" not in out and "ConnectionError" in out


def test_redis_down_mid_refresh_loses_no_token(
    served: tuple[Emulator, str],
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis goes away after Podio rotated the pair and before it was saved: the process keeps
    the new pair, carries on, and saves it once Redis is back; nobody refreshes twice."""
    emu, url = served
    prefix = "b4:"
    _sign_in(emu, url, redis_server.url, prefix)
    emu.expire_tokens()
    item = _item_id(emu)

    async def scenario() -> None:
        store = RedisSessionStore(redis_server.url, prefix=prefix)
        async with _client(emu, url, store) as podio:
            grant = podio._pipeline.grant

            async def grant_then_lose_redis(key: str, params: Any) -> Any:
                token = await grant(key, params)
                redis_server.stop()
                return token

            podio._pipeline.grant = grant_then_lose_redis  # type: ignore[method-assign]
            with caplog.at_level(logging.WARNING, logger="podiokit"):
                assert (await podio.request("GET", f"/item/{item}"))["item_id"] == item
            assert "kept in memory" in caplog.text
            podio._pipeline.grant = grant  # type: ignore[method-assign]
            kept = podio.token
            assert kept is not None
            # Redis still down: the token in memory still serves.
            assert (await podio.request("GET", f"/item/{item}"))["item_id"] == item
            redis_server.start()
            assert (await podio.request("GET", f"/item/{item}"))["item_id"] == item
            stored = await store.get("default")
            assert stored is not None and stored.refresh_token == kept.refresh_token
        # Another process, using what Redis holds now, needs no refresh at all.
        async with _client(emu, url, store) as other:
            assert (await other.request("GET", f"/item/{item}"))["item_id"] == item
        await store.aclose()

    asyncio.run(scenario())
    assert emu.stats()["token_grants"] == {"password": 1, "refresh_token": 1}
    for record in caplog.records:
        assert "hunter2" not in record.getMessage()


def test_far_from_the_threshold_no_redis_round_trip(
    served: tuple[Emulator, str], redis_server: RedisServer
) -> None:
    """The shared figures are read once per process and pool, then only near the threshold."""
    emu, url = served
    prefix = "b5:"
    _sign_in(emu, url, redis_server.url, prefix)

    async def count_scripts(calls: int) -> int:
        import redis.asyncio as aioredis

        admin = aioredis.Redis.from_url(redis_server.url)
        await admin.config_resetstat()
        store = RedisSessionStore(redis_server.url, prefix=prefix)
        async with _client(emu, url, store) as podio:
            for _ in range(calls):
                await podio.request("GET", f"/item/{_item_id(emu)}")
        await store.aclose()
        stats = await admin.info("commandstats")
        await admin.aclose()
        return sum(
            int(v["calls"]) for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval")
        )

    # The budget (20 a window) is 20 % spent after 4 calls: the first read (the budget's
    # figures and the session's pause), then none.
    assert asyncio.run(count_scripts(4)) == 2


@pytest.mark.parametrize("shared", [True, False], ids=["PODIO_REDIS_URL", "control"])
def test_podiokit_export_waits_for_a_reset_another_exporter_was_told(
    served_roomier: tuple[Emulator, str], redis_server: RedisServer, tmp_path: Path, shared: bool
) -> None:
    """`podiokit export` with PODIO_REDIS_URL: another exporter acting as the same user was
    just answered 420 (the 250/hour pool of filters and tokens, here 10 per 4 s), so this one
    waits for that reset instead of collecting a 420 of its own (the control, without Redis,
    collects one)."""
    from podiokit.cli._session import REDIS_PREFIX, session_namespace
    from podiokit.errors import PodioRateLimitError

    emu, url = served_roomier
    creds = emu.credentials
    namespace = session_namespace(url, creds["client_id"])

    async def spend_the_pool() -> None:
        store = RedisSessionStore(redis_server.url, prefix=REDIS_PREFIX + namespace)
        async with _client(emu, url, store, rate_limit_wait=0, max_retries=0) as podio:
            await podio.authenticate_with_credentials(creds["username"], creds["password"])
            with pytest.raises(PodioRateLimitError):
                for _ in range(20):
                    await podio.items.filter(PROJECTS, limit=1)
        await store.aclose()

    asyncio.run(spend_the_pool())
    assert emu.stats()["rate_limited"] == 1
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIO_")}
    env.update(
        PODIO_CLIENT_ID=creds["client_id"],
        PODIO_CLIENT_SECRET=creds["client_secret"],
        PODIO_API_URL=url,
        PODIO_USERNAME=creds["username"],
        PODIO_PASSWORD=creds["password"],
        PODIO_SESSION_FILE=str(tmp_path / "none.json"),
    )
    if shared:
        env["PODIO_REDIS_URL"] = redis_server.url
    out = tmp_path / "out.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "podiokit.cli", "export", str(PROJECTS), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert len(out.read_text().splitlines()) == 20
    assert emu.stats()["rate_limited"] == (1 if shared else 2)
