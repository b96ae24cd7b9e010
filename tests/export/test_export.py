"""The exporter: exact item sets, byte-exact lines, sessions per app, mutation, faults,
rate limits."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from podiokit import Podio
from podiokit._bulk import _fetch
from podiokit.export import ExportProgress, export, output_paths
from podiokit.export import _run as export_run
from podiokit.testing import Emulator
from podiokit.testing._items import create_item, delete_item, update_item

from .conftest import CLIENTS, PROJECTS, app_tokens, exported_ids, make_podio, world_ids

pytestmark = pytest.mark.anyio


async def test_every_item_once_as_the_bytes_podio_sent(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    out = tmp_path / "items.jsonl"
    result = await export(podio, [PROJECTS], out, page_size=100, concurrency=3)
    lines = out.read_bytes().splitlines()
    world = emu._core.world
    assert len(lines) == len(world_ids(emu, PROJECTS)) == result.items == 1_200
    # Each line is byte for byte what the emulator serialised for that item.
    sent = {emu._core.serializer.short(world.items[i]) for i in world_ids(emu, PROJECTS)}
    assert set(lines) == sent
    assert result.per_app == {PROJECTS: 1_200}
    # Nothing left beside the output.
    _, part, checkpoint = output_paths(out)
    assert not part.exists() and not checkpoint.exists()
    # About one call per page: 12 pages, the probe, one empty sweep, and the two calls
    # checking that ranges are honoured (once per session and API URL).
    assert emu.stats()["routes"]["POST /item/app/{app_id}/filter/"] == 12 + 2 + 2


async def test_each_app_with_its_own_app_token(emu: Emulator, tmp_path: Path) -> None:
    podio, http = make_podio(emu)
    out = tmp_path / "both.jsonl"
    try:
        result = await export(
            podio, [PROJECTS, CLIENTS], out, app_tokens=app_tokens(emu), page_size=250
        )
        # One app grant per app, each app read under its own session key.
        assert emu.stats()["token_grants"] == {"app": 2}
        assert podio.session(f"app:{PROJECTS}").rate_limit.remaining is not None
        assert podio.session(f"app:{CLIENTS}").rate_limit.remaining is not None
    finally:
        await podio.aclose()
        await http.aclose()
    ids = exported_ids(out)
    assert set(ids) == world_ids(emu, PROJECTS) | world_ids(emu, CLIENTS)
    assert max(ids.values()) == 1
    assert result.per_app == {PROJECTS: 1_200, CLIENTS: 1_200}


async def test_empty_app_and_items_beyond_a_deleted_tail(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    world = emu._core.world
    app = world.apps[CLIENTS]
    for item_id in list(app.item_ids):
        delete_item(world, world.items[item_id])
    out = tmp_path / "empty.jsonl"
    result = await export(podio, [CLIENTS], out)
    assert result.items == 0 and out.read_bytes() == b""


async def test_no_item_lost_or_duplicated_while_the_app_changes(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    world = emu._core.world
    app = world.apps[PROJECTS]
    by = world.users[world.demo_user_id].byline()
    start = world_ids(emu, PROJECTS)
    ordered = sorted(start, key=lambda i: world.items[i].app_item_id)
    deleted: set[int] = set()
    created: set[int] = set()
    pages = [0]

    def mutate(progress: ExportProgress) -> None:
        # After every page: delete an early item and a late one (offsets would shift),
        # edit one, and create two (they sort after every existing item).
        pages[0] += 1
        for item_id in (ordered[pages[0] * 7], ordered[-pages[0] * 5]):
            if item_id in world.items:
                delete_item(world, world.items[item_id])
                deleted.add(item_id)
        edited = world.items[ordered[pages[0] * 11 + 1]]
        update_item(world, edited, {"fields": {"title": f"edited {pages[0]}"}}, by)
        for _ in range(2):
            created.add(create_item(world, app, {"fields": {"title": "new"}}, by).item_id)

    out = tmp_path / "changing.jsonl"
    await export(podio, [PROJECTS], out, page_size=100, concurrency=4, on_progress=mutate)
    ids = exported_ids(out)
    assert pages[0] > 10 and deleted and created
    assert max(ids.values()) == 1, "an item was written twice"
    # Every item that lived through the export is there; deleted ones at most once; new
    # ones created before the sweep finished are there too (all of them here, since the
    # sweep reads until it finds no more).
    assert start - deleted <= set(ids)
    assert set(ids) <= start | created
    assert set(ids) - deleted == world_ids(emu, PROJECTS) - (created - set(ids))


async def test_offset_paging_would_fail_the_mutation_test(emu: Emulator, podio: Podio) -> None:
    """The mutation above is one that breaks offset paging: the test can fail."""
    world = emu._core.world
    seen: list[int] = []
    offset = 0
    while True:
        page = await podio.request(
            "POST",
            f"/item/app/{PROJECTS}/filter/",
            json={"sort_by": "app_item_id", "sort_desc": False, "limit": 100, "offset": offset},
        )
        seen.extend(i["item_id"] for i in page["items"])
        if len(page["items"]) < 100:
            break
        first = min(world.apps[PROJECTS].item_ids, key=lambda i: world.items[i].app_item_id)
        delete_item(world, world.items[first])  # an early item goes: later ones move up
        offset += 100
    assert len(set(seen)) == len(seen)
    assert set(world_ids(emu, PROJECTS)) - set(seen), "offset paging skipped no item"


async def test_faults_are_retried_without_loss_or_duplicates(tmp_path: Path) -> None:
    emu = Emulator(items=1_000, fault_rate=0.25, fault_seed=7)
    podio, http = make_podio(emu, max_retries=10, backoff_base=0.0)
    out = tmp_path / "faulty.jsonl"
    try:
        creds = emu.credentials
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
        await export(podio, [PROJECTS, CLIENTS], out, page_size=100, concurrency=4)
    finally:
        await podio.aclose()
        await http.aclose()
    assert sum(emu.stats()["faults"].values()) > 5
    ids = exported_ids(out)
    assert max(ids.values()) == 1
    assert set(ids) == world_ids(emu, PROJECTS) | world_ids(emu, CLIENTS)


async def test_waits_for_the_rate_limit_instead_of_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Four filter calls an hour: the export needs about eleven.
    emu = Emulator(items=1_000, rate_limit_limited=4)
    waits: list[float] = []

    async def an_hour_passes(seconds: float) -> None:
        waits.append(seconds)
        emu._core.limiter._used.clear()  # the window rolls over

    monkeypatch.setattr(_fetch, "sleep", an_hour_passes)
    seen: list[ExportProgress] = []
    podio, http = make_podio(emu)
    out = tmp_path / "limited.jsonl"
    try:
        await podio.authenticate_with_app(PROJECTS, app_tokens(emu)[PROJECTS])
        await export(podio, [PROJECTS], out, page_size=100, concurrency=2, on_progress=seen.append)
    finally:
        await podio.aclose()
        await http.aclose()
    assert waits and all(3000 < w <= 3600 for w in waits)
    assert any(p.waiting > 3000 for p in seen)  # progress says it is waiting
    assert any(p.calls_left == 0 for p in seen)
    ids = exported_ids(out)
    assert max(ids.values()) == 1 and set(ids) == world_ids(emu, PROJECTS)


async def test_bad_arguments_are_named(podio: Podio, tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    with pytest.raises(ValueError, match="format 'xml'"):
        await export(podio, [PROJECTS], out, format="xml")
    with pytest.raises(ValueError, match="page_size"):
        await export(podio, [PROJECTS], out, page_size=501)
    with pytest.raises(ValueError, match="concurrency"):
        await export(podio, [PROJECTS], out, concurrency=0)
    with pytest.raises(ValueError, match="duplicates"):
        await export(podio, [PROJECTS, PROJECTS], out)
    assert not out.exists()


async def test_faults_and_expiring_tokens_with_app_sessions(tmp_path: Path) -> None:
    """The issue's soak case, scaled down: 3% faults, tokens expiring during the export."""
    emu = Emulator(items=3_000, fault_rate=0.03, fault_seed=3, token_lifetime=20)
    podio, http = make_podio(emu, max_retries=6, backoff_base=0.0)
    pages = [0]

    def expire_now_and_then(progress: ExportProgress) -> None:
        pages[0] += 1
        if pages[0] % 5 == 0:
            emu.expire_tokens()

    out = tmp_path / "soak.jsonl"
    try:
        await export(
            podio, [PROJECTS, CLIENTS], out, app_tokens=app_tokens(emu), page_size=200,
            on_progress=expire_now_and_then,
        )  # fmt: skip
    finally:
        await podio.aclose()
        await http.aclose()
    stats = emu.stats()
    assert stats["token_grants"].get("refresh_token", 0) >= 2 and stats["faults"]
    ids = exported_ids(out)
    assert max(ids.values()) == 1
    assert set(ids) == world_ids(emu, PROJECTS) | world_ids(emu, CLIENTS)


async def test_a_fetched_page_is_freed_without_the_cyclic_gc(
    podio: Podio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory stays bounded by the pages in flight: a page's response must not wait for a
    garbage collection (msgspec allocates too little to trigger one)."""
    responses: list[weakref.ref[httpx.Response]] = []
    send = podio._send

    async def spy(*args: Any, **kwargs: Any) -> httpx.Response:
        response = await send(*args, **kwargs)
        responses.append(weakref.ref(response))
        return response

    monkeypatch.setattr(podio, "_send", spy)
    gc.collect()
    gc.disable()
    try:
        page = await _fetch.fetch_page(podio, PROJECTS, 1, 500, 500)
        assert len(page.items) == 500
        assert responses and responses[0]() is None, "the response is kept by a reference cycle"
    finally:
        gc.enable()


async def test_the_first_page_is_read_with_the_probe(
    emu: Emulator, podio: Podio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One round trip less before the pages flow: the probe is still waiting when the first
    page is asked for (it would wait forever if the page came after it)."""
    asked = anyio.Event()
    probe, fetch_page = export_run.probe, _fetch.fetch_page

    async def slow_probe(*args: Any, **kwargs: Any) -> tuple[int, int]:
        await asked.wait()
        return await probe(*args, **kwargs)

    async def spy(session: Podio, app_id: int, lo: int, *args: Any, **kwargs: Any) -> Any:
        if lo == 1:
            asked.set()
        return await fetch_page(session, app_id, lo, *args, **kwargs)

    monkeypatch.setattr(export_run, "probe", slow_probe)
    monkeypatch.setattr(_fetch, "fetch_page", spy)
    out = tmp_path / "items.jsonl"
    with anyio.fail_after(10):
        result = await export(podio, [PROJECTS], out, page_size=100, concurrency=3)
    assert exported_ids(out) == dict.fromkeys(world_ids(emu, PROJECTS), 1)
    # Still about one call per page: 12 pages, the probe, one empty sweep, and the three
    # calls checking that ranges are honoured.
    assert emu.stats()["routes"]["POST /item/app/{app_id}/filter/"] == 12 + 2 + 2
    assert result.calls == 12 + 2 + 2


@pytest.mark.parametrize("concurrency", [1, 2])
async def test_no_more_first_pages_read_with_the_probes_than_the_concurrency(
    emu: Emulator, podio: Podio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, concurrency: int
) -> None:
    """Memory stays bounded by the pages in flight: with many apps, only the first
    `concurrency` apps have their first page read during the plan."""
    asked = anyio.Event()
    before_plan: list[int] = []
    calls: list[int] = []
    probe, fetch_page = export_run.probe, _fetch.fetch_page

    async def slow_probe(*args: Any, **kwargs: Any) -> tuple[int, int]:
        await asked.wait()
        result = await probe(*args, **kwargs)
        before_plan.append(len(calls))
        return result

    async def spy(session: Podio, app_id: int, lo: int, *args: Any, **kwargs: Any) -> Any:
        calls.append(app_id)
        asked.set()
        return await fetch_page(session, app_id, lo, *args, **kwargs)

    monkeypatch.setattr(export_run, "probe", slow_probe)
    monkeypatch.setattr(_fetch, "fetch_page", spy)
    out = tmp_path / "items.jsonl"
    with anyio.fail_after(10):
        await export(podio, [PROJECTS, CLIENTS], out, page_size=250, concurrency=concurrency)
    assert max(before_plan) == concurrency
    assert set(calls[:concurrency]) == ({PROJECTS, CLIENTS} if concurrency == 2 else {PROJECTS})
    expected = world_ids(emu, PROJECTS) | world_ids(emu, CLIENTS)
    assert exported_ids(out) == dict.fromkeys(expected, 1)


def _shrink(emu: Emulator, app_id: int, keep: int) -> None:
    """Leave the app's first `keep` items; the next one created gets an id far above."""
    world = emu._core.world
    ordered = sorted(world.apps[app_id].item_ids, key=lambda i: world.items[i].app_item_id)
    for item_id in ordered[keep:]:
        delete_item(world, world.items[item_id])


def _create(emu: Emulator, app_id: int) -> int:
    world = emu._core.world
    by = world.users[world.demo_user_id].byline()
    return create_item(world, world.apps[app_id], {"fields": {"title": "new"}}, by).item_id


@pytest.mark.parametrize("windows_first", [True, False])
@pytest.mark.parametrize("next_id", [8, 1_201], ids=["inside-a-window", "above-the-windows"])
async def test_items_created_between_the_probe_and_the_first_windows(
    emu: Emulator,
    podio: Podio,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    windows_first: bool,
    next_id: int,
) -> None:
    """The probe and the windows read with it are answered in either order, and an item
    created between them is still written exactly once: read again above a window's last
    item when the windows came first, cut from a window's page (the sweep reads it) when
    the probe came first, whether its id falls inside a window or above them all."""
    _shrink(emu, CLIENTS, 5)
    emu._core.world.apps[CLIENTS].next_app_item_id = next_id
    probe, fetch_page = export_run.probe, _fetch.fetch_page
    probed, windows_read = anyio.Event(), anyio.Event()
    planning = [True]
    pending = [3]  # the windows of concurrency 3
    created: list[int] = []

    async def ordered_probe(*args: Any, **kwargs: Any) -> tuple[int, int]:
        if windows_first:
            await windows_read.wait()
            created.append(_create(emu, CLIENTS))
        result = await probe(*args, **kwargs)
        probed.set()
        planning[0] = False
        return result

    async def ordered_fetch(*args: Any, **kwargs: Any) -> Any:
        if not planning[0]:
            return await fetch_page(*args, **kwargs)
        if not windows_first:
            await probed.wait()
            if not created:
                created.append(_create(emu, CLIENTS))
        page = await fetch_page(*args, **kwargs)
        pending[0] -= 1
        if pending[0] == 0:
            windows_read.set()
        return page

    monkeypatch.setattr(export_run, "probe", ordered_probe)
    monkeypatch.setattr(_fetch, "fetch_page", ordered_fetch)
    out = tmp_path / "small.jsonl"
    with anyio.fail_after(10):
        result = await export(podio, [CLIENTS], out, page_size=100, concurrency=3)
    assert len(created) == 1
    assert exported_ids(out) == dict.fromkeys(world_ids(emu, CLIENTS), 1)
    assert result.items == 6


async def test_a_small_app_costs_at_most_the_windows_more(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    """An app smaller than the windows read with its probe: a few calls more, never a
    page per id range."""
    _shrink(emu, CLIENTS, 5)
    out = tmp_path / "small.jsonl"
    result = await export(podio, [CLIENTS], out, concurrency=4)
    assert exported_ids(out) == dict.fromkeys(world_ids(emu, CLIENTS), 1)
    # The probe, four windows (three of them empty), the sweep, and the two calls
    # checking that ranges are honoured.
    assert emu.stats()["routes"]["POST /item/app/{app_id}/filter/"] == 6 + 2
    assert result.calls == 6 + 2


async def test_a_short_budget_spends_no_call_on_a_guess(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    """When the latest rate-limit figure says little of the hour's budget is left, the
    exporter reads one window per app with the probes, not `concurrency` of them: the
    small app costs its probe, its page and the sweep, nothing more."""
    _shrink(emu, CLIENTS, 5)
    podio._pipeline.rate_limit(podio._key).update("250", "30", rate_limited=True)
    out = tmp_path / "small.jsonl"
    result = await export(podio, [CLIENTS], out, concurrency=4)
    assert exported_ids(out) == dict.fromkeys(world_ids(emu, CLIENTS), 1)
    # The probe, its page, the sweep, and the check that ranges are honoured (two).
    assert emu.stats()["routes"]["POST /item/app/{app_id}/filter/"] == 3 + 2
    assert result.calls == 3 + 2


class _Halves(httpx.AsyncByteStream):
    """Half of a body, then the connection is lost."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def __aiter__(self) -> Any:
        yield self._body[: len(self._body) // 2]
        raise httpx.ReadError("connection lost mid-body")

    async def aclose(self) -> None:
        pass


class _CutShort(httpx.AsyncBaseTransport):
    """The emulator in process, with the first `cuts` filter answers cut off mid-body."""

    def __init__(self, emu: Emulator, cuts: int) -> None:
        self._inner = httpx.ASGITransport(app=emu.app)
        self.cuts = cuts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if not request.url.path.endswith("/filter/") or self.cuts == 0:
            return response
        self.cuts -= 1
        body = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, stream=_Halves(body))


async def test_pages_cut_short_mid_body_are_read_again_and_buffers_are_reused(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Page bodies go into buffers the exporter reuses (no fresh memory per page): a body
    cut short is retried into its buffer, and every item still comes out once."""
    from podiokit._bulk import PageBuffers

    made: list[bytearray] = []
    take = PageBuffers.take

    def counting(self: PageBuffers) -> bytearray:
        buffer = take(self)
        if not any(buffer is seen for seen in made):
            made.append(buffer)
        return buffer

    monkeypatch.setattr(PageBuffers, "take", counting)
    creds = emu.credentials
    transport = _CutShort(emu, cuts=3)
    http = httpx.AsyncClient(transport=transport, base_url=creds["api_url"])
    podio = Podio(creds["client_id"], creds["client_secret"], api_url=creds["api_url"],
                  http_client=http, backoff_base=0.0)  # fmt: skip
    out = tmp_path / "cut.jsonl"
    try:
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
        result = await export(podio, [PROJECTS], out, page_size=50, concurrency=2)
    finally:
        await podio.aclose()
        await http.aclose()
    assert transport.cuts == 0
    assert exported_ids(out) == dict.fromkeys(world_ids(emu, PROJECTS), 1)
    # 24 pages, and the cut ones read again: 3 calls more than a clean run.
    assert emu.stats()["routes"]["POST /item/app/{app_id}/filter/"] == result.calls + 3
    assert result.calls > 24
    assert len(made) <= 2 * 2 + 2 < 24


def test_a_buffer_still_viewed_is_not_reused() -> None:
    from podiokit._bulk import PageBuffers

    buffers = PageBuffers(keep=4)
    buffer = buffers.take()
    buffer += b'{"items":[]}'
    view = memoryview(buffer)
    buffers.give(buffer)  # an item sliced out of it may still be written: not taken back
    assert buffers.take() is not buffer
    view.release()
    buffers.give(buffer)
    assert buffers.take() is buffer


class _Gzipped(httpx.AsyncBaseTransport):
    """The emulator in process, every answer gzip-compressed (as a proxy in front of Podio
    may send it: httpx asks for gzip)."""

    def __init__(self, emu: Emulator) -> None:
        self._inner = httpx.ASGITransport(app=emu.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import gzip

        response = await self._inner.handle_async_request(request)
        body = gzip.compress(await response.aread())
        headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-length"]
        headers += [(b"content-encoding", b"gzip"), (b"content-length", str(len(body)).encode())]
        return httpx.Response(response.status_code, headers=headers, content=body)


async def test_compressed_pages_come_out_as_the_json_podio_sent(
    emu: Emulator, tmp_path: Path
) -> None:
    """The exporter reads each page into its buffer decoded: a compressed page's lines are
    the items' JSON, exactly."""
    creds = emu.credentials
    http = httpx.AsyncClient(transport=_Gzipped(emu), base_url=creds["api_url"])
    podio = Podio(creds["client_id"], creds["client_secret"], api_url=creds["api_url"],
                  http_client=http)  # fmt: skip
    out = tmp_path / "gz.jsonl"
    try:
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
        await export(podio, [PROJECTS], out, page_size=200)
    finally:
        await podio.aclose()
        await http.aclose()
    world = emu._core.world
    sent = {emu._core.serializer.short(world.items[i]) for i in world_ids(emu, PROJECTS)}
    lines = out.read_bytes().splitlines()
    assert len(lines) == len(sent) and set(lines) == sent
