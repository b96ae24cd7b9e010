"""Export against a Podio that does not honour `app_item_id` ranges (the emulator's quirks):
the check before ranges are trusted, the offset fallback (under mutation, with its count
check and repair), the page check, `strategy=`, and the doctor agreeing with export."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from podiokit import Podio
from podiokit._bulk import RangeFilterError, _offset
from podiokit.errors import PodioConnectionError
from podiokit.export import ExportProgress, export, output_paths
from podiokit.testing import Emulator
from podiokit.testing._items import create_item, delete_item, update_item

from .conftest import CLIENTS, PROJECTS, exported_ids, make_podio, world_ids

pytestmark = pytest.mark.anyio

FILTER = "POST /item/app/{app_id}/filter/"
QUIRKS = [("honoured", "ranges"), ("ignored", "offset"), ("ignore_to", "offset")]


def filters(emu: Emulator) -> int:
    return int(emu.stats()["routes"].get(FILTER, 0))


@pytest.mark.parametrize(("quirk", "strategy"), QUIRKS)
@pytest.mark.parametrize("micro_view", ["honoured", "ignored"])
async def test_each_quirk_every_item_once_and_the_strategy_said(
    emu: Emulator, podio: Podio, tmp_path: Path, quirk: str, strategy: str, micro_view: str
) -> None:
    emu.set_quirks(range_filter=quirk, micro_view=micro_view)
    out = tmp_path / "items.jsonl"
    result = await export(podio, [PROJECTS, CLIENTS], out, page_size=100, concurrency=3)
    ids = exported_ids(out)
    assert max(ids.values()) == 1
    assert set(ids) == world_ids(emu, PROJECTS) | world_ids(emu, CLIENTS)
    assert result.strategy == strategy
    assert result.strategies == {PROJECTS: strategy, CLIENTS: strategy}
    assert result.calls == filters(emu)  # counted exactly, the check's calls included


def record_checks(podio: Podio) -> list[dict[str, Any]]:
    """The app_item_id ranges of the filter calls `podio` sends from now on."""
    ranges: list[dict[str, Any]] = []
    original = podio._send

    async def recorded(method: str, path: str, **kw: Any) -> httpx.Response:
        body = kw.get("json") or {}
        if "app_item_id" in body.get("filters", {}):
            ranges.append(body["filters"]["app_item_id"])
        return await original(method, path, **kw)

    podio._send = recorded  # type: ignore[method-assign]
    return ranges


def checks(ranges: list[dict[str, Any]], highest: int) -> list[dict[str, Any]]:
    """The ranges checker's calls among `ranges`."""
    asked = [{"from": 2**30, "to": 2**31 - 1}, {"from": 1, "to": 1}]
    asked.append({"from": highest, "to": highest})
    return [r for r in ranges if r in asked]


@pytest.mark.parametrize("quirk", ["honoured", "ignored", "ignore_to"])
async def test_the_check_costs_two_calls_once_per_session(
    emu: Emulator, podio: Podio, tmp_path: Path, quirk: str
) -> None:
    emu.set_quirks(range_filter=quirk)
    ranges = record_checks(podio)
    await export(podio, [PROJECTS], tmp_path / "a.jsonl", concurrency=1)
    assert len(checks(ranges, 1_200)) == 2
    # Once per session and API URL: a second export spends none.
    ranges.clear()
    await export(podio, [PROJECTS], tmp_path / "b.jsonl", concurrency=1)
    assert checks(ranges, 1_200) == []


async def test_no_item_1_costs_a_third_call(emu: Emulator, podio: Podio, tmp_path: Path) -> None:
    world = emu._core.world
    first = min(world.apps[CLIENTS].item_ids, key=lambda i: world.items[i].app_item_id)
    delete_item(world, world.items[first])
    ranges = record_checks(podio)
    result = await export(podio, [CLIENTS], tmp_path / "c.jsonl", concurrency=1)
    assert result.strategy == "ranges"
    assert len(checks(ranges, 1_200)) == 3
    assert exported_ids(tmp_path / "c.jsonl").keys() == world_ids(emu, CLIENTS)


@pytest.mark.parametrize("quirk", ["honoured", "ignored", "ignore_to"])
async def test_offset_under_mutation_every_live_item_once(
    emu: Emulator, podio: Podio, tmp_path: Path, quirk: str
) -> None:
    """Items deleted (early ones too: offsets shift), edited and created between pages."""
    emu.set_quirks(range_filter=quirk)
    world = emu._core.world
    app = world.apps[PROJECTS]
    by = world.users[world.demo_user_id].byline()
    start = world_ids(emu, PROJECTS)
    ordered = sorted(start, key=lambda i: world.items[i].app_item_id)
    deleted: set[int] = set()
    created: set[int] = set()
    pages = [0]

    def mutate(progress: ExportProgress) -> None:
        pages[0] += 1
        # Early items go (more than the pages' overlap): the next page moves past items.
        for item_id in [*ordered[pages[0] * 20 : pages[0] * 20 + 12], ordered[-pages[0] * 5]]:
            if item_id in world.items:
                delete_item(world, world.items[item_id])
                deleted.add(item_id)
        edited = world.items.get(ordered[pages[0] * 11 + 1])
        if edited is not None:
            update_item(world, edited, {"fields": {"title": f"edited {pages[0]}"}}, by)
        for _ in range(2):
            created.add(create_item(world, app, {"fields": {"title": "new"}}, by).item_id)

    out = tmp_path / "changing.jsonl"
    result = await export(
        podio, [PROJECTS], out, page_size=100, strategy="offset", on_progress=mutate
    )
    assert result.strategy == "offset"
    ids = exported_ids(out)
    assert pages[0] > 10 and deleted and created
    assert max(ids.values()) == 1, "an item was written twice"
    assert start - deleted <= set(ids), "an item that lived through the export is missing"
    assert set(ids) <= start | created
    assert result.items == len(ids)


class _Hides(httpx.AsyncBaseTransport):
    """The emulator, but the first offset page leaves out one item (a Podio whose offsets
    slipped): the count check must find the gap and the repair pass fill it."""

    def __init__(self, emu: Emulator) -> None:
        self._inner = httpx.ASGITransport(app=emu.app)
        self.hidden: int | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if self.hidden is not None or not request.url.path.endswith("/filter/"):
            return response
        body = json.loads(request.content)
        if "offset" not in body or "filters" in body:
            return response
        page = json.loads(await response.aread())
        self.hidden = page["items"].pop(3)["item_id"]
        return httpx.Response(200, json=page)


async def test_a_gap_found_by_the_count_check_is_repaired(emu: Emulator, tmp_path: Path) -> None:
    transport = _Hides(emu)
    creds = emu.credentials
    async with httpx.AsyncClient(transport=transport, base_url=creds["api_url"]) as http:
        podio = Podio(
            creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
        )
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
        out = tmp_path / "repaired.jsonl"
        result = await export(podio, [PROJECTS], out, page_size=500, strategy="offset")
    assert transport.hidden is not None
    ids = exported_ids(out)
    assert max(ids.values()) == 1 and set(ids) == world_ids(emu, PROJECTS)
    assert transport.hidden in ids
    # The probe; a first page one item short, taken for the last; the repair pass's three.
    assert result.calls == 1 + 1 + 3


async def test_a_gap_that_stays_fails_loudly(
    emu: Emulator, podio: Podio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = _offset._read

    async def short(*args: Any, **kw: Any) -> _offset.OffsetPage:
        page = await original(*args, **kw)
        page.filtered += 1  # Podio counts one item more than it ever lists
        return page

    monkeypatch.setattr(_offset, "_read", short)
    with pytest.raises(Exception, match="listed 1200 of its 1201 items by offset pages, 3 times"):
        await export(podio, [PROJECTS], tmp_path / "x.jsonl", strategy="offset")
    # Not marked done: a resume reads the app again rather than trust the file.
    assert not (tmp_path / "x.jsonl").exists()


async def test_ranges_against_a_podio_ignoring_them_fails_loudly_and_writes_none_twice(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    emu.set_quirks(range_filter="ignored")
    out = tmp_path / "ranges.jsonl"
    with pytest.raises(RangeFilterError, match=f"filter of app {PROJECTS} answered"):
        await export(podio, [PROJECTS], out, page_size=100, concurrency=4, strategy="ranges")
    _, part, _ = output_paths(out)
    assert not out.exists()
    written = exported_ids(part) if part.exists() else {}
    assert not written or max(written.values()) == 1


async def test_pages_past_their_range_are_trimmed_never_written_twice(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    """`to` ignored, ranges forced: every page runs past its range's end; the page check
    trims it, so the ranges still meet exactly."""
    emu.set_quirks(range_filter="ignore_to")
    out = tmp_path / "trimmed.jsonl"
    result = await export(podio, [PROJECTS], out, page_size=100, concurrency=4, strategy="ranges")
    ids = exported_ids(out)
    assert max(ids.values()) == 1 and set(ids) == world_ids(emu, PROJECTS)
    assert result.strategy == "ranges"


async def test_offset_asked_for_reads_no_window_and_no_check(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    before = filters(emu)
    result = await export(
        podio, [PROJECTS], tmp_path / "o.jsonl", page_size=500, concurrency=4, strategy="offset"
    )
    # The probe, then three offset pages: nothing spent on windows or on the check.
    assert filters(emu) - before == result.calls == 1 + 3


async def test_a_bad_strategy_is_named(podio: Podio, tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match="strategy must be one of auto, ranges, offset, not 'fast'"
    ):
        await export(podio, [PROJECTS], tmp_path / "x.jsonl", strategy="fast")


async def test_an_interrupted_offset_export_resumes_without_duplicates(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    emu.set_quirks(range_filter="ignored")
    out = tmp_path / "resumed.jsonl"
    pages = [0]

    class Stop(Exception):
        pass

    def stop(progress: ExportProgress) -> None:
        pages[0] += 1
        if pages[0] == 4:
            raise Stop

    with pytest.raises(Stop):
        await export(podio, [PROJECTS], out, page_size=100, on_progress=stop)
    result = await export(podio, [PROJECTS], out, page_size=100, resume=True)
    assert result.resumed and result.strategy == "offset"
    ids = exported_ids(out)
    assert max(ids.values()) == 1 and set(ids) == world_ids(emu, PROJECTS)


@pytest.mark.parametrize("quirk", ["honoured", "ignored", "ignore_to"])
def test_the_doctor_reports_the_strategy_export_uses(
    tmp_path: Path, quirk: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import anyio

    from podiokit.cli import doctor

    emu = Emulator(items=50, quirks={"range_filter": quirk})
    creds = emu.credentials
    env = {
        "PODIO_CLIENT_ID": creds["client_id"],
        "PODIO_CLIENT_SECRET": creds["client_secret"],
        "PODIO_USERNAME": creds["username"],
        "PODIO_PASSWORD": creds["password"],
        "PODIO_API_URL": creds["api_url"],
        "PODIO_SESSION_FILE": str(tmp_path / "none.json"),
    }
    doctor.run(PROJECTS, as_json=True, env=env, transport=httpx.ASGITransport(app=emu.app))
    said = json.loads(capsys.readouterr().out)["strategy"]

    async def exported() -> str:
        podio, http = make_podio(emu)
        try:
            await podio.authenticate_with_credentials(creds["username"], creds["password"])
            return (await export(podio, [PROJECTS], tmp_path / "d.jsonl")).strategy
        finally:
            await podio.aclose()
            await http.aclose()

    assert anyio.run(exported) == said == ("ranges" if quirk == "honoured" else "offset")


def test_the_command_says_the_strategy_and_fails_loudly_with_ranges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import anyio.from_thread

    from podiokit.cli import main

    emu = Emulator(items=300, quirks={"range_filter": "ignored"})
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(emu.serve()) as url,
    ):
        creds = emu.credentials
        monkeypatch.delenv("PODIO_APP_TOKEN", raising=False)
        for name, value in (
            ("PODIO_CLIENT_ID", creds["client_id"]),
            ("PODIO_CLIENT_SECRET", creds["client_secret"]),
            ("PODIO_USERNAME", creds["username"]),
            ("PODIO_PASSWORD", creds["password"]),
            ("PODIO_API_URL", url),
            ("PODIO_SESSION_FILE", str(tmp_path / "none.json")),
        ):
            monkeypatch.setenv(name, value)
        out = tmp_path / "auto.jsonl"
        assert main(["export", str(PROJECTS), "--out", str(out)]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[-1] == (
            "  strategy: offset (offset pages sorted by app_item_id, checked against the item count)"
        )
        assert set(exported_ids(out)) == world_ids(emu, PROJECTS)
        code = main(["export", str(PROJECTS), "-o", str(tmp_path / "r.jsonl"), "-c", "3", "--strategy", "ranges"])  # fmt: skip
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1
        assert err[-1].startswith(
            f"podiokit export: Podio does not honour app_item_id ranges: filter of app {PROJECTS}"
        )
        assert "--strategy auto (the default) or --strategy offset" in err[-1]
        assert (
            main(["export", str(PROJECTS), "-o", str(tmp_path / "x.jsonl"), "--strategy", "x"]) == 2
        )
        assert "auto, ranges, offset" in capsys.readouterr().err


def test_the_page_check() -> None:
    import msgspec

    from podiokit._bulk import checked_page

    def page(ids: list[int]) -> list[msgspec.Raw]:
        return [msgspec.Raw(json.dumps({"app_item_id": i, "item_id": i}).encode()) for i in ids]

    def ids(items: list[msgspec.Raw]) -> list[int]:
        return [json.loads(bytes(r))["app_item_id"] for r in items]

    assert ids(checked_page(page(list(range(10, 60))), 10, 40, 1)) == list(range(10, 41))
    assert checked_page([], 10, 40, 1) == []
    with pytest.raises(RangeFilterError, match=r"answered app_item_id 9 for the range 10\.\.40"):
        checked_page(page(list(range(9, 30))), 10, 40, 1)  # `from` ignored
    with pytest.raises(RangeFilterError):
        checked_page(page([*range(10, 30), 5]), 10, 40, 1)  # out of order at the end


class _HidesThenFails(_Hides):
    """`_Hides`, then the network fails on offset page number `fail_on`: the export stops
    after its pass missed an item, before or while a repair pass reads the app again."""

    def __init__(self, emu: Emulator, fail_on: int) -> None:
        super().__init__(emu)
        self.fail_on = fail_on
        self.offset_pages = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/filter/") and "offset" in json.loads(request.content):
            self.offset_pages += 1
            if self.offset_pages == self.fail_on:
                raise httpx.ConnectError("down", request=request)
        return await super().handle_async_request(request)


def csv_ids(path: Path) -> Counter[int]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return Counter(int(row["item_id"]) for row in csv.DictReader(f))


# 1,200 items in pages of 500. The first page, one item short, ends the first pass; the
# count check finds the gap; offset page 2 is the repair pass's first, page 4 its third.
@pytest.mark.parametrize("fail_on", [2, 4], ids=["before-the-repair", "during-the-repair"])
@pytest.mark.parametrize(("format", "excel"), [("jsonl", False), ("csv", False), ("csv", True)])
async def test_an_offset_export_resumed_after_a_missed_item_writes_it_once(
    emu: Emulator, tmp_path: Path, fail_on: int, format: str, excel: bool
) -> None:
    """A cursor is no proof that every item below it was written: a resume reads the app
    from its start and writes what the file lacks (it used to lose the missed item and
    exit 0)."""
    creds = emu.credentials
    out = tmp_path / f"items.{format}"
    transport = _HidesThenFails(emu, fail_on)
    async with httpx.AsyncClient(transport=transport, base_url=creds["api_url"]) as http:
        podio = Podio(
            creds["client_id"], creds["client_secret"], api_url=creds["api_url"],
            http_client=http, max_retries=0,
        )  # fmt: skip
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
        with pytest.raises(PodioConnectionError):
            await export(
                podio, [PROJECTS], out, format=format, excel=excel, page_size=500,
                strategy="offset",
            )  # fmt: skip
    assert transport.hidden is not None and transport.offset_pages == fail_on
    podio, http = make_podio(emu)
    async with http:
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
        result = await export(
            podio, [PROJECTS], out, format=format, excel=excel, page_size=500,
            strategy="offset", resume=True,
        )  # fmt: skip
    ids = exported_ids(out) if format == "jsonl" else csv_ids(out)
    assert max(ids.values()) == 1, "an item was written twice"
    assert transport.hidden in ids, "the item the first pass missed was lost"
    assert set(ids) == world_ids(emu, PROJECTS)
    assert result.items == len(ids)
