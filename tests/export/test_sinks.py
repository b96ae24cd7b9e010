"""Sinks and the plan: CSV columns and readable values, JSONL lines, range sizes."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from podiokit import Podio
from podiokit._bulk import _fetch
from podiokit._bulk._plan import (
    SWEEP_HI,
    Window,
    first_windows,
    plan_ranges,
    plan_with_windows,
    window_page,
)
from podiokit._bulk._values import date_parts, money_parts, readable
from podiokit.export import _output, export
from podiokit.export._checkpoint import Checkpoint
from podiokit.export._output import Output
from podiokit.export._sinks import CsvSink, JsonlSink
from podiokit.testing import Emulator
from podiokit.testing._items import create_item

from .conftest import CLIENTS, PROJECTS, world_ids


@pytest.mark.anyio
async def test_csv_one_column_per_field_with_readable_values(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    out = tmp_path / "items.csv"
    result = await export(podio, [PROJECTS, CLIENTS], out, format="csv", page_size=250)
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode(), newline="")))
    assert len(rows) == result.items == 2_400
    assert {int(r["item_id"]) for r in rows} == world_ids(emu, PROJECTS) | world_ids(emu, CLIENTS)
    header = out.read_text().splitlines()[0].split(",")
    # The item's ids, title and metadata, then every field of both apps by external_id,
    # each once: money as amount and currency, a date range as start and end.
    assert header[:4] == ["app_id", "item_id", "app_item_id", "title"]
    assert header[4:11] == [
        "created_on", "created_by", "created_by_id", "last_event_on", "revision",
        "external_id", "link",
    ]  # fmt: skip
    assert header[11:16] == ["status", "client", "owner", "budget", "budget_currency"]
    assert header[header.index("deadline") + 1] == "deadline_end"
    assert "industry" in header and len(header) == len(set(header))
    project = next(r for r in rows if r["app_id"] == str(PROJECTS) and r["app_item_id"] == "1")
    assert project["title"] == "Amber Atlas 1"
    assert project["created_on"] == "2023-11-14 22:13:20"
    assert project["created_by"] == "Dana Demo" and project["created_by_id"] == "1001"
    assert project["last_event_on"] == "2023-11-14 22:18:20" and project["revision"] == "0"
    assert project["external_id"] == "project-1"
    assert project["link"].endswith("/apps/projects/items/1")
    assert project["status"] == "Done"
    assert project["client"] == "Acme Atlas 1 (1000001)"
    assert project["owner"] == "Dana Demo (2001)"
    assert (project["budget"], project["budget_currency"]) == ("1000", "EUR")
    assert project["hours"] == "5" and project["cost"] == "300"
    assert (project["deadline"], project["deadline_end"]) == ("2023-12-14", "2023-12-15")
    assert project["industry"] == ""  # a Clients field
    client = next(r for r in rows if r["app_id"] == str(CLIENTS) and r["app_item_id"] == "1")
    assert client["email"] == "contact@acme1.example (work)"
    assert client["tier"] == "Gold" and client["industry"] == "Retail"
    assert client["website"] == "https://acme.example"
    assert re.fullmatch(r"\S+\.png \(https://files\.podio\.com/700000\)", client["logo"])
    assert client["status"] == ""


@pytest.mark.anyio
async def test_excel_csv_has_a_bom_and_shows_formulas_as_text(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    """OWASP's CSV injection: a cell starting with =, +, -, @ (or a tab, a carriage return)
    is run by a spreadsheet; with excel=True it starts with a ' instead. Numbers stay
    numbers; without excel=True the cells are as Podio sent them."""
    world = emu._core.world
    by = world.users[world.demo_user_id].byline()
    titles = ['=HYPERLINK("http://evil.example")', "@SUM(A1)", "-2+3", "+1", "-12.5", "plain"]
    for title in titles:
        create_item(world, world.apps[CLIENTS], {"fields": {"title": title}}, by)
    out, plain = tmp_path / "excel.csv", tmp_path / "plain.csv"
    await export(podio, [CLIENTS], out, format="csv", excel=True)
    await export(podio, [CLIENTS], plain, format="csv")
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfapp_id,item_id,")
    assert not plain.read_bytes().startswith(b"\xef\xbb\xbf")
    shown = _new_titles(data.decode("utf-8-sig"))
    assert shown == [
        "'=HYPERLINK(\"http://evil.example\")", "'@SUM(A1)", "'-2+3", "+1", "-12.5", "plain"
    ]  # fmt: skip
    raw = _new_titles(plain.read_text())
    assert raw == titles
    with pytest.raises(ValueError, match="excel is for format='csv'"):
        await export(podio, [CLIENTS], tmp_path / "x.jsonl", excel=True)


def test_csv_columns_never_collide_and_a_date_without_end_is_one_column() -> None:
    fields = [
        {"external_id": "link", "type": "text"},  # the item's own column has the name
        {"external_id": "price", "type": "money"},
        {"external_id": "when", "type": "date", "config": {"settings": {"end": "disabled"}}},
        {"external_id": "gone", "type": "text", "status": "deleted"},
    ]
    header = CsvSink().prepare([{"fields": fields}]).decode().strip().split(",")
    assert header[11:] == ["field_link", "price", "price_currency", "when"]


def _new_titles(text: str) -> list[str]:
    """The titles of the items created by the test (above the seeded 1,200), in id order."""
    rows = [r for r in csv.DictReader(io.StringIO(text)) if int(r["app_item_id"]) > 1_200]
    return [r["title"] for r in sorted(rows, key=lambda r: int(r["app_item_id"]))]


def test_money_and_dates_in_parts() -> None:
    assert money_parts([{"currency": "USD", "value": "12.5000"}]) == ("12.5", "USD")
    assert money_parts([]) == ("", "")
    assert money_parts([{"currency": "EUR", "value": "12345678901234.5678"}]) == (
        "12345678901234.5678", "EUR"
    )  # fmt: skip
    day = {"start": "2016-06-24 00:00:00", "start_date": "2016-06-24", "start_time": None}
    assert date_parts([day]) == ("2016-06-24", "")
    timed = {"start": "2016-06-24 15:00:00", "start_date": "2016-06-24", "start_time": "15:00:00",
             "end": "2016-06-25 16:00:00", "end_date": "2016-06-25", "end_time": "16:00:00"}  # fmt: skip
    assert date_parts([timed]) == ("2016-06-24 15:00:00", "2016-06-25 16:00:00")


def test_readable_values_of_each_kind() -> None:
    assert readable("category", [{"value": {"text": "A"}}, {"value": {"text": "B"}}]) == "A; B"
    assert readable("money", [{"currency": "USD", "value": "12.5000"}]) == "12.5 USD"
    assert readable("number", [{"value": "6513.5100"}]) == "6513.51"
    assert readable("date", [{"start": "2016-06-24 15:00:00", "start_date": "2016-06-24",
                              "start_time": "15:00:00"}]) == "2016-06-24 15:00:00"  # fmt: skip
    assert readable("location", [{"value": "x", "formatted": "Paris"}]) == "Paris"
    assert readable("text", [{"value": "plain"}]) == "plain"
    assert readable("unknown-kind", [{"value": 3}]) == "3"


def test_jsonl_keeps_the_bytes_and_one_item_per_line() -> None:
    sink = JsonlSink()
    page = msgspec.json.decode(b'[{"a": 1},{"b":\n 2}]', type=list[msgspec.Raw])
    data = sink.encode(1, page)
    assert data.splitlines() == [b'{"a": 1}', b'{"b":  2}']
    assert [msgspec.json.decode(line) for line in data.splitlines()] == [{"a": 1}, {"b": 2}]
    compact = msgspec.json.decode(b'[{"a":1},{"b":2}]', type=list[msgspec.Raw])
    assert sink.encode(1, compact) == b'{"a":1}\n{"b":2}\n'

    # A carriage return alone is a line break for `splitlines` readers too.
    cr = msgspec.json.decode(b'[{"a":\r1},{"b":2}]', type=list[msgspec.Raw])
    assert sink.encode(1, cr) == b'{"a": 1}\n{"b":2}\n'


def test_jsonl_trusts_a_page_known_to_be_compact(tmp_path: Path) -> None:
    """`compact=True` (the page had no raw line break) skips the search for line breaks in
    the items: the lines are the items as they are, written without joining them first."""
    items = msgspec.json.decode(b'[{"a":1},{"b":2}]', type=list[msgspec.Raw])
    chunks = JsonlSink().encode(1, items, compact=True)
    assert not isinstance(chunks, bytes)
    assert _written(tmp_path, chunks) == b'{"a":1}\n{"b":2}\n'


def _written(tmp_path: Path, chunks: bytes | list[bytes | msgspec.Raw]) -> bytes:
    out = tmp_path / "out.jsonl"
    output = Output(out, tmp_path / "out.jsonl.part", tmp_path / "out.jsonl.checkpoint")
    checkpoint = Checkpoint("jsonl", [1], [])
    output.create(checkpoint, b"")
    output.append(checkpoint, chunks)
    assert checkpoint.offset == (tmp_path / "out.jsonl.part").stat().st_size
    output.commit()
    return out.read_bytes()


def test_short_writes_lose_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The OS may write less than asked (a signal, a full pipe): the rest follows, in order,
    through more writev calls than 1,024 buffers need (writes through the page cache; see
    test_output.py for the others)."""
    monkeypatch.setattr(_output.DirectFile, "open", classmethod(lambda cls, *a: None))
    real = os.writev
    calls: list[int] = []

    def short(fd: int, buffers: list[memoryview]) -> int:
        calls.append(len(buffers))
        return real(fd, [b"".join(buffers[:3])[:21]])  # at most 21 bytes a call

    monkeypatch.setattr(os, "writev", short)
    items = msgspec.json.decode(
        b"[" + b",".join(b'{"n":%d,"s":"%s"}' % (n, b"x" * n) for n in range(1200)) + b"]",
        type=list[msgspec.Raw],
    )
    chunks = JsonlSink().encode(1, items, compact=True)
    expected = b"".join(bytes(item) + b"\n" for item in items)
    assert _written(tmp_path, chunks) == expected
    assert len(calls) > len(expected) // 21


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "compact"),
    [
        (b'{"items":[{"app_item_id":1},{"app_item_id":2}],"filtered":2}', True),
        (b'{"items":[{"app_item_id":1},\n{"app_item_id":2}],"filtered":2}', False),
        (b'{"items":[{"app_item_id":1,\r"x":0},{"app_item_id":2}],"filtered":2}', False),
    ],
)
async def test_a_page_says_whether_it_is_compact(body: bytes, compact: bool) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with Podio("id", "secret", http_client=http) as podio, http:
        await podio.set_token({"access_token": "t", "refresh_token": "r", "expires_in": 3600})
        page = await _fetch.fetch_page(podio, 7, 1, 10, 2)
    assert page.last == 2 and len(page.items) == 2
    assert page.compact is compact


def test_plan_covers_every_id_once_and_ends_with_the_sweep() -> None:
    ranges = plan_ranges(7, count=1_000, highest=1_000, page_size=500)
    assert [(r.lo, r.hi) for r in ranges] == [(1, 500), (501, 1_000), (1_001, SWEEP_HI)]
    # Half the ids deleted: ranges twice as wide, still about one page each.
    sparse = plan_ranges(7, count=500, highest=1_000, page_size=100)
    assert [r.hi - r.lo + 1 for r in sparse[:-1]] == [200] * 5
    assert plan_ranges(7, count=0, highest=0, page_size=500)[0].lo == 1
    for plan in (ranges, sparse):
        covered = [i for r in plan[:-1] for i in range(r.lo, r.hi + 1)]
        assert covered == list(range(1, plan[-1].lo))


def test_plan_from_above_the_first_page() -> None:
    """The ranges after the first page (read with the probe) start above it; the sweep
    starts above both the highest id and that page."""
    ranges = plan_ranges(7, count=500, highest=1_000, page_size=500, start=501)
    assert [(r.lo, r.hi, r.cursor) for r in ranges] == [(501, 1_000, 501), (1_001, SWEEP_HI, 1_001)]
    # Items deleted since the first page: nothing left below it but the sweep.
    assert [(r.lo, r.hi) for r in plan_ranges(7, 0, 300, 500, start=501)] == [(501, SWEEP_HI)]


def test_first_windows_fill_the_concurrency() -> None:
    """One app gets every window, ids 1 up in page-wide steps; many apps get one each, the
    first `concurrency` of them."""
    assert [(w.lo, w.hi) for w in first_windows([7], 4, 500)] == [
        (1, 500), (501, 1_000), (1_001, 1_500), (1_501, 2_000)
    ]  # fmt: skip
    assert [(w.app_id, w.lo, w.hi) for w in first_windows([7, 8], 3, 100)] == [
        (7, 1, 100), (7, 101, 200), (8, 1, 100)
    ]  # fmt: skip
    assert [(w.app_id, w.lo) for w in first_windows([7, 8, 9], 2, 100)] == [(7, 1), (8, 1)]


def _ids(ranges: list[Any]) -> list[int]:
    return [i for r in ranges for i in range(r.lo, r.hi + 1)]


def test_plan_with_windows_covers_every_id_once() -> None:
    windows = first_windows([7], 3, 100)
    # A large app: each window starts a range; the rest is planned above them.
    starts, fixed, sweep = plan_with_windows(7, 1_000, 1_000, 100, windows)
    assert [(r.lo, r.hi) for r in starts.values()] == [(1, 100), (101, 200), (201, 300)]
    assert [(r.lo, r.hi) for r in fixed] == [(s, s + 99) for s in range(301, 1_000, 100)]
    assert (sweep.lo, sweep.hi) == (1_001, SWEEP_HI)
    assert _ids([*starts.values(), *fixed]) == list(range(1, 1_001))
    # A small app: ranges end at its highest id, windows above it start none.
    starts, fixed, sweep = plan_with_windows(7, 5, 150, 100, windows)
    assert [(r.lo, r.hi) for r in starts.values()] == [(1, 100), (101, 150)]
    assert windows[2] not in starts and fixed == [] and sweep.lo == 151
    # An empty app: everything is the sweep's.
    starts, fixed, sweep = plan_with_windows(7, 0, 0, 100, windows)
    assert starts == {} and fixed == [] and sweep.lo == 1


def test_a_window_page_is_done_only_when_it_reaches_the_end_of_its_range() -> None:
    rng = plan_with_windows(7, 5, 150, 100, first_windows([7], 2, 100))[0][Window(7, 101, 200)]
    assert (rng.lo, rng.hi) == (101, 150)
    assert window_page(rng, 150) == (151, True)  # reached its end
    assert window_page(rng, 160) == (151, True)  # beyond it: created since the probe
    # Stopped short, or empty: the ids above are read again (they may be items created
    # between this page and the probe).
    assert window_page(rng, 120) == (121, False)
    assert window_page(rng, None) == (101, False)
