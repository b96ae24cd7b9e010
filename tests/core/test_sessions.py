"""Session stores: memory, and the file store that survives runs and processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import anyio
import pytest
import respx

from podiokit import OAuthToken, Podio
from podiokit.sessions import FileSessionStore, MemorySessionStore, SessionStore

from .conftest import SECRET, token_body

pytestmark = pytest.mark.anyio


def _token(access: str, *, hours: float = 8) -> OAuthToken:
    return OAuthToken(
        access_token=access,
        refresh_token=access + "-ref",
        expires_at=datetime.now(timezone.utc) + timedelta(hours=hours),
    )


async def test_stores_satisfy_the_protocol(tmp_path: Path) -> None:
    for store in (MemorySessionStore(), FileSessionStore(tmp_path / "s.json")):
        assert isinstance(store, SessionStore)
        assert await store.get("k") is None
        token = _token("a")
        await store.set("k", token)
        assert await store.get("k") == token  # every attribute survives the store
        await store.delete("k")
        assert await store.get("k") is None
        await store.delete("k")  # deleting a missing key is fine
        async with store.lock("k"):
            pass


async def test_file_store_second_run_reuses_token(tmp_path: Path, api: respx.MockRouter) -> None:
    path = tmp_path / "tokens.json"
    token_route = api.post("/oauth/token").respond(
        json=token_body("acc-1", ref_type="app", ref_id=9)
    )
    item = api.get("/item/1").respond(json={"item_id": 1})

    async def script() -> None:
        # What a cron script does: authenticate only when the store has nothing usable.
        async with Podio(
            "cid", SECRET, session_store=FileSessionStore(path), session_key="app:9"
        ) as podio:
            if not await podio.is_authenticated():
                await podio.authenticate_with_app(9, "app-token")
            await podio.request("GET", "/item/1")

    await script()
    await script()
    assert token_route.call_count == 1
    assert item.call_count == 2
    assert all(call.request.headers["authorization"] == "OAuth2 acc-1" for call in item.calls)


async def test_file_store_mode_0600_many_keys_and_atomic(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "tokens.json"
    store = FileSessionStore(path)
    await store.set("user:1", _token("u1"))
    await store.set("user:2", _token("u2"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert set(data) == {"user:1", "user:2"}
    assert data["user:1"]["access_token"] == "u1"
    # A second store object (another process) sees both and keeps both on write.
    other = FileSessionStore(path)
    await other.set("user:3", _token("u3"))
    assert set(json.loads(path.read_text())) == {"user:1", "user:2", "user:3"}
    assert (await store.get("user:2")).access_token == "u2"  # type: ignore[union-attr]
    # No temporary files left behind.
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(".lock")) == [
        "tokens.json"
    ]


async def test_file_store_warns_about_a_world_readable_file_and_leaves_its_mode(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The user chose 0644 (a group of service accounts may share the file): warn once,
    never chmod it, and keep the mode when the file is rewritten."""
    path = tmp_path / "tokens.json"
    store = FileSessionStore(path)
    await store.set("k", _token("a"))
    os.chmod(path, 0o644)
    with caplog.at_level("WARNING", logger="podiokit"):
        assert await store.get("k") is not None
        await store.set("k2", _token("b"))
        assert await store.get("k2") is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert caplog.text.count("can be read by other users") == 1


async def test_file_store_concurrent_writers_lose_no_key(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    stores = [FileSessionStore(path) for _ in range(4)]
    async with anyio.create_task_group() as tg:
        for i in range(40):
            tg.start_soon(stores[i % 4].set, f"k{i}", _token(f"t{i}"))
    assert len(json.loads(path.read_text())) == 40


def test_file_store_two_processes_refresh_once(tmp_path: Path) -> None:
    """Two processes share one expired token in a file: exactly one refresh happens, and
    the other process uses the token the first one saved."""
    path = tmp_path / "tokens.json"
    counter = tmp_path / "refreshes.log"
    script = textwrap.dedent(
        f"""
        import anyio, httpx, respx, time
        from datetime import datetime, timedelta, timezone
        from podiokit import OAuthToken, Podio
        from podiokit.sessions import FileSessionStore

        def refresh(request):
            with open({str(counter)!r}, "a") as fh:
                fh.write("refresh\\n")
            time.sleep(0.3)  # hold the lock long enough for the other process to queue
            return httpx.Response(200, json={{"access_token": "new", "refresh_token": "new-ref",
                "token_type": "bearer", "expires_in": 28800, "ref": {{"type": "user", "id": 1}}}})

        async def main():
            store = FileSessionStore({str(path)!r})
            with respx.mock(base_url="https://api.podio.com", assert_all_called=False) as api:
                api.post("/oauth/token").mock(side_effect=refresh)
                api.get("/item/1").respond(json={{"item_id": 1}})
                async with Podio("cid", "sec", session_store=store) as podio:
                    await podio.request("GET", "/item/1")
                    assert podio.token.access_token == "new"
        anyio.run(main)
        """
    )
    asyncio_store = FileSessionStore(path)
    expired = OAuthToken(
        access_token="old",
        refresh_token="old-ref",
        expires_at=datetime.now(timezone.utc) - timedelta(hours=1),
    )
    anyio.run(asyncio_store.set, "default", expired)
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    assert counter.read_text().count("refresh") == 1
