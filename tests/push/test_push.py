"""podio.push against the emulator's Bayeux endpoint: events for item, comment and task
changes, per-channel signatures, two channels on one connection, reconnect, clean close."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import anyio
import httpx
import pytest

from podiokit import Podio
from podiokit import push as push_module
from podiokit.push import PushClient, PushError, PushEvent
from podiokit.testing import Emulator
from podiokit.testing import _push as emulator_push

pytestmark = pytest.mark.anyio


@pytest.fixture
def emu() -> Emulator:
    return Emulator(items=5)


@asynccontextmanager
async def connect(emu: Emulator) -> AsyncIterator[tuple[Podio, PushClient]]:
    creds = emu.credentials
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
    podio = Podio(creds["client_id"], creds["client_secret"], api_url=creds["api_url"],
                  http_client=http)  # fmt: skip
    async with http, podio:
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
        yield podio, PushClient(podio, http_client=http)


async def _first_item(podio: Podio, emu: Emulator, index: int = 0) -> Any:
    app_id = emu.credentials["apps"][0]["app_id"]
    page = await podio.items.filter(app_id, limit=index + 1)
    return await podio.items.get(page.items[index].item_id)


async def _next(events: AsyncIterator[PushEvent]) -> PushEvent:
    with anyio.fail_after(10):
        return await events.__anext__()


async def test_item_update_and_comment_arrive(emu: Emulator) -> None:
    async with connect(emu) as (podio, push):
        item = await _first_item(podio, emu)
        assert item.push is not None
        async with push.subscribe(item.push) as events:
            await podio.items.update(item.item_id, fields={"title": "changed by a test"})
            event = await _next(events)
            assert (event.event, event.ref.type, event.ref.id) == ("update", "item", item.item_id)
            assert event.channel == f"/item/{item.item_id}"
            await podio.comments.create("item", item.item_id, value="hello")
            event = await _next(events)
            assert (event.event, event.ref.id) == ("comment_create", item.item_id)
            assert event.data["value"] == "hello"


async def test_two_channels_on_one_connection(emu: Emulator) -> None:
    async with connect(emu) as (podio, push):
        first = await _first_item(podio, emu, 0)
        second = await _first_item(podio, emu, 1)
        before = emu.stats()["routes"].get("POST /faye", 0)
        async with push.subscribe(first.push, second.push) as events:
            await podio.items.update(second.item_id, fields={"title": "second"})
            await podio.items.update(first.item_id, fields={"title": "first"})
            got = [await _next(events), await _next(events)]
        assert {e.ref.id for e in got} == {first.item_id, second.item_id}
        # handshake, one subscribe batch, polls, disconnect: one client, not one per channel.
        assert emu.stats()["push"]["clients_created"] == 1
        assert emu.stats()["routes"]["POST /faye"] - before >= 3


async def test_bad_signature_is_refused(emu: Emulator) -> None:
    async with connect(emu) as (podio, push):
        item = await _first_item(podio, emu)
        forged = {**item.push.model_dump(), "signature": "0" * 40}
        with pytest.raises(PushError, match="Invalid signature"):
            async with push.subscribe(item.push, forged):
                pass


async def test_reconnect_after_the_poll_is_dropped(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(push_module, "sleep", no_wait)
    async with connect(emu) as (podio, push):
        item = await _first_item(podio, emu)
        async with push.subscribe(item.push) as events:
            await anyio.wait_all_tasks_blocked()
            emu.drop_push_polls()
            await anyio.wait_all_tasks_blocked()
            await podio.items.update(item.item_id, fields={"title": "after the drop"})
            event = await _next(events)
            assert event.ref.id == item.item_id
        assert waits, "the dropped poll was retried after a backoff"
        assert emu.stats()["push"]["drops"] >= 1


async def test_task_events_and_clean_close(emu: Emulator) -> None:
    async with connect(emu) as (podio, push):
        created = await podio.tasks.create(text="push me")
        task = created[0] if isinstance(created, list) else created
        task = await podio.tasks.get(task["task_id"] if isinstance(task, dict) else task.task_id)
        async with push.subscribe(task) as events:
            await podio.tasks.complete(task.task_id)
            event = await _next(events)
            assert (event.event, event.ref.type) == ("complete", "task")
        assert emu.stats()["push"]["clients"] == 0  # /meta/disconnect was sent


async def test_podio_push_uses_the_clients_connection(emu: Emulator) -> None:
    async with connect(emu) as (podio, _):
        item = await _first_item(podio, emu)
        assert podio.push.url == f"{emu.credentials['api_url']}/faye"
        async with podio.push.subscribe(item.push) as events:
            await podio.items.update(item.item_id, fields={"title": "via podio.push"})
            assert (await _next(events)).ref.id == item.item_id


async def test_bad_carriers_are_refused_with_the_reason() -> None:
    client = PushClient(url="http://push.test/faye")  # never contacted: refused before
    with pytest.raises(ValueError, match="lacks signature"):
        async with client.subscribe({"channel": "/item/1", "timestamp": 1}):
            pass
    with pytest.raises(TypeError, match="takes an object's `push`"):
        async with client.subscribe(42):
            pass


def test_default_push_url_is_podios() -> None:
    assert PushClient().url == "https://push.podio.com/faye"


async def test_subscription_is_renewed_before_it_expires(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One clock for the SDK and the emulator's signer, moved by the SDK's (replaced) sleep.
    clock = [time.time()]
    slept: list[float] = []

    parked = anyio.Event()

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) > 1:
            parked.set()
            await anyio.sleep_forever()  # after one renewal: park, as a 6 h wait would
        clock[0] += seconds

    monkeypatch.setattr(push_module, "now", lambda: clock[0])
    monkeypatch.setattr(push_module, "sleep", fake_sleep)
    monkeypatch.setattr(emulator_push, "time", SimpleNamespace(time=lambda: clock[0]))
    refetched: list[str] = []
    async with connect(emu) as (podio, push):
        created = await podio.tasks.create(text="long-lived")
        first = created[0] if isinstance(created, list) else created
        task_id = first["task_id"] if isinstance(first, dict) else first.task_id
        task = await podio.tasks.get(task_id)

        async def refetch(channel: str) -> Any:
            refetched.append(channel)
            return await podio.tasks.get(task_id)

        async with push.subscribe(task, refetch=refetch) as events:
            with anyio.fail_after(10):
                await parked.wait()
            assert refetched == [f"/task/{task_id}"]
            assert 21_600 - 600 - 5 < slept[0] <= 21_600 - 600  # 10 min before expiry
            assert emu.stats()["push"]["subscribes"] == 2
            await podio.tasks.complete(task_id)  # still delivered on the renewed channel
            assert (await _next(events)).event == "complete"
