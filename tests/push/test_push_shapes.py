"""Push messages of shapes nobody documents (issue 24 #4): delivered as raw events or logged
and skipped, never the end of a subscription. Item and task channel events are inferred
(docs/dev/podio-behaviour.md §8), so the subscription must survive whatever comes."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from podiokit.push import PushEvent
from podiokit.testing import Emulator

from .test_push import _first_item, connect

pytestmark = pytest.mark.anyio

_KEYS = ["event", "ref", "created_by", "created_via", "data", "channel", "raw", "id", "x"]


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([0, -1, 7, 2**40, 2**70, rng.randrange(-(10**6), 10**6)])
    if kind == 3:
        return round(rng.uniform(-1e6, 1e6), 3)
    if kind == 4:
        return "".join(rng.choice('ab1 \u00e9\u4e2d"\\/{}') for _ in range(rng.randrange(6)))
    if kind == 5:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 6:
        return {str(_value(rng, 3)): _value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return _message(rng, depth + 1)


def _message(rng: random.Random, depth: int = 0) -> Any:
    """A Bayeux `data`: mostly objects with some of Podio's keys, each well or badly typed."""
    if rng.random() < 0.15:
        return _value(rng, 3)  # not an object at all
    out: dict[str, Any] = {}
    for key in rng.sample(_KEYS, rng.randrange(len(_KEYS) + 1)):
        if key == "event" and rng.random() < 0.5:
            out[key] = rng.choice(["update", "comment_create", "delete", ""])
        elif key == "ref" and rng.random() < 0.5:
            ref_id = rng.choice([5, "5", "five", None, 5.5, [5]])
            out[key] = {"type": rng.choice(["item", "task", 3]), "id": ref_id}
        else:
            out[key] = _value(rng, depth)
    return out


async def _take(events: AsyncIterator[PushEvent], count: int) -> list[PushEvent]:
    got = []
    with anyio.fail_after(30):
        async for event in events:
            got.append(event)
            if len(got) == count:
                break
    return got


async def test_a_subscription_survives_1000_messages_of_random_shapes() -> None:
    emu = Emulator(items=3)
    rng = random.Random(24)
    messages = [_message(rng) for _ in range(1000)]
    async with connect(emu) as (podio, push):
        item = await _first_item(podio, emu)
        channel = f"/item/{item.item_id}"
        async with push.subscribe(item.push) as events:
            for message in messages:
                emu.publish_push(channel, message)
            got = await _take(events, 1000)
            # Every message arrived, in order, kept exactly as it came.
            assert [e.raw for e in got] == messages
            assert all(e.channel == channel for e in got)
            raw = [e for e in got if e.is_raw]
            assert 500 < len(raw) < 1000  # most are odd; some are well formed by chance
            for event in got:
                if not event.is_raw:
                    assert isinstance(event.event, str) and event.ref is not None
                    assert isinstance(event.ref.id, int)
            # ...and the subscription still carries real events.
            await podio.items.update(item.item_id, fields={"title": "still listening"})
            (last,) = await _take(events, 1)
            assert (last.event, last.ref, last.is_raw) == ("update", last.ref, False)
            assert last.ref is not None and last.ref.id == item.item_id


async def test_unknown_shapes_can_be_logged_and_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu = Emulator(items=3)
    rng = random.Random(7)
    messages = [_message(rng) for _ in range(300)]
    async with connect(emu) as (podio, push):
        item = await _first_item(podio, emu)
        channel = f"/item/{item.item_id}"
        with caplog.at_level(logging.WARNING, logger="podiokit.push"):
            async with push.subscribe(item.push, unknown="skip") as events:
                for message in messages:
                    emu.publish_push(channel, message)
                await podio.items.update(item.item_id, fields={"title": "after the noise"})
                got = []
                with anyio.fail_after(30):
                    async for event in events:
                        assert not event.is_raw
                        got.append(event)
                        data = event.data
                        if isinstance(data, dict) and data.get("title") == "after the noise":
                            break
        skipped = [r for r in caplog.records if "unknown shape" in r.getMessage()]
        assert len(skipped) + len(got) == 301
        # The log names the shape, never the values.
        assert all("\u4e2d" not in r.getMessage() for r in skipped)


async def test_the_emulator_quirk_sends_odd_shapes_before_each_event() -> None:
    emu = Emulator(items=3, quirks={"push_unknown_shapes": True})
    async with connect(emu) as (podio, push):
        item = await _first_item(podio, emu)
        async with push.subscribe(item.push) as events:
            await podio.items.update(item.item_id, fields={"title": "odd company"})
            got = await _take(events, 9)  # eight odd shapes, then the event itself
        assert got[-1].event == "update" and got[-1].ref is not None
        assert got[-1].raw["ref"] == {"type": "item", "id": item.item_id}
        # A string id is read as the number it holds, and an event's own `data` may be
        # anything: those two are not raw.
        assert [e.is_raw for e in got] == [True, True, False, True, True, False, True, True, False]
        assert any(e.event is None for e in got) and any(e.ref is None for e in got)
        assert any(not isinstance(e.raw, dict) for e in got)
        async with push.subscribe(item.push, unknown="skip") as events:
            await podio.items.update(item.item_id, fields={"title": "only this"})
            with anyio.fail_after(10):
                first = await events.__anext__()
        assert (first.event, first.data["title"]) == ("update", "only this")


async def test_bad_unknown_option_is_refused() -> None:
    emu = Emulator(items=1)
    async with connect(emu) as (podio, push):
        item = await _first_item(podio, emu)
        with pytest.raises(ValueError, match="unknown must be 'deliver' or 'skip'"):
            async with push.subscribe(item.push, unknown="drop"):  # type: ignore[arg-type]
                pass
