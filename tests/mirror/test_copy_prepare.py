"""The range reader's `prepare` stage (`_bulk.copy_ranges(prepare=...)`), which the mirror
builds its rows in: every page prepared then written, in each range's order, one page at
a time in each stage, its items dropped (and its buffer given back) before it is written;
an error in either stage ends the copy with that error."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator

import msgspec
import pytest

from podiokit import Podio
from podiokit._bulk import FetchedPage, PageBuffers, Range, copy_ranges, plan_ranges, probe
from podiokit.testing import Emulator

from ._helpers import PROJECTS, make_podio

pytestmark = pytest.mark.anyio


class _Id(msgspec.Struct):
    item_id: int


@pytest.fixture
def emu() -> Emulator:
    return Emulator(items=2_300)


@pytest.fixture
async def session(emu: Emulator) -> AsyncIterator[Podio]:
    podio, http = make_podio(emu)
    creds = emu.credentials
    await podio.authenticate_with_credentials(creds["username"], creds["password"])
    try:
        yield podio
    finally:
        await podio.aclose()
        await http.aclose()


async def _ranges(session: Podio) -> list[Range]:
    count, highest = await probe(session, PROJECTS)
    return plan_ranges(PROJECTS, count, highest, 500)


async def test_every_page_is_prepared_then_written_in_order(session: Podio) -> None:
    ranges = await _ranges(session)
    prepared_in: set[str] = set()
    written_in: set[str] = set()
    prepared: list[tuple[int, int]] = []
    written: list[tuple[int, int, list[int]]] = []
    busy = threading.Lock()

    def prepare(page: FetchedPage) -> list[int]:
        assert busy.acquire(blocking=False)  # one page at a time in this stage
        try:
            prepared_in.add(threading.current_thread().name)
            prepared.append((page.range.lo, page.cursor))
            return [msgspec.json.decode(raw, type=_Id).item_id for raw in page.items]
        finally:
            busy.release()

    def write(page: FetchedPage) -> None:
        written_in.add(threading.current_thread().name)
        assert page.items == [] and page.buffer is None  # dropped once prepared
        written.append((page.range.lo, page.cursor, page.prepared))

    buffers = PageBuffers(keep=8)
    await copy_ranges(
        {PROJECTS: session}, ranges, write, concurrency=3, prepare=prepare, buffers=buffers
    )
    ids = [i for _, _, page in written for i in page]
    assert len(ids) == len(set(ids)) == 2_300
    assert [(lo, cursor) for lo, cursor, _ in written] == prepared  # the order prepared in
    for lo in {lo for lo, _ in prepared}:  # each range's pages in its order
        cursors = [cursor for range_lo, cursor in prepared if range_lo == lo]
        assert cursors == sorted(cursors)
    assert threading.main_thread().name not in prepared_in | written_in  # worker threads


@pytest.mark.parametrize("stage", ["prepare", "write"])
async def test_an_error_in_either_stage_ends_the_copy(session: Podio, stage: str) -> None:
    ranges = await _ranges(session)
    seen = {"prepare": 0, "write": 0}

    def step(name: str) -> None:
        seen[name] += 1
        if name == stage and seen[name] == 2:
            raise RuntimeError(f"{stage} failed")

    def prepare(page: FetchedPage) -> None:
        step("prepare")

    def write(page: FetchedPage) -> None:
        step("write")

    with pytest.raises(RuntimeError, match=f"{stage} failed"):
        await copy_ranges({PROJECTS: session}, ranges, write, concurrency=2, prepare=prepare)
    # It stopped: the stage that failed saw no page after it; `prepare` ran ahead by two
    # pages at most (one waiting for the writer, one being prepared).
    assert seen[stage] == 2 and seen["write"] <= seen["prepare"] <= 4


async def test_several_writers_write_every_page_once(session: Podio) -> None:
    ranges = await _ranges(session)
    written: list[int] = []
    lock = threading.Lock()
    at_once = [0, 0]  # now, most

    def prepare(page: FetchedPage) -> list[int]:
        return [msgspec.json.decode(raw, type=_Id).item_id for raw in page.items]

    def write(page: FetchedPage) -> None:
        with lock:
            at_once[0] += 1
            at_once[1] = max(at_once[1], at_once[0])
        time.sleep(0.01)  # a transaction's worth: the next page comes meanwhile
        with lock:
            written.extend(page.prepared)
            at_once[0] -= 1

    await copy_ranges({PROJECTS: session}, ranges, write, concurrency=3, prepare=prepare, writers=2)
    assert len(written) == len(set(written)) == 2_300
    assert at_once[1] == 2
