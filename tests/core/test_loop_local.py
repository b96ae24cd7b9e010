"""Per-event-loop primitives (`_loop_local.LoopLocal`), kept with anyio's RunVar alone."""

from __future__ import annotations

import asyncio
import gc
import weakref

import anyio
import pytest
import trio

from podiokit._loop_local import LoopLocal


@pytest.mark.anyio
async def test_one_value_per_loop_made_on_first_use() -> None:
    made: list[object] = []
    local = LoopLocal(lambda: made.append(object()) or made[-1])
    first = local.get()
    assert local.get() is first
    assert len(made) == 1
    other = LoopLocal(object)
    assert other.get() is not first


def test_a_new_loop_gets_a_new_value() -> None:
    local: LoopLocal[anyio.Lock] = LoopLocal(anyio.Lock)

    async def grab() -> anyio.Lock:
        lock = local.get()
        async with lock:  # usable in the loop that made it
            pass
        return lock

    a = asyncio.run(grab())
    b = asyncio.run(grab())
    c = trio.run(grab)
    assert a is not b and b is not c


@pytest.mark.anyio
async def test_a_dropped_owner_releases_its_value() -> None:
    class Thing:
        pass

    local: LoopLocal[Thing] = LoopLocal(Thing)
    ref = weakref.ref(local.get())
    del local
    gc.collect()
    assert ref() is None
