"""`AsyncPage`: one page when awaited, every element when iterated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from podiokit.pagination import AsyncPage

pytestmark = pytest.mark.anyio


@dataclass
class Page:
    total: int
    filtered: int
    items: list[int]


@dataclass
class FakeServer:
    """A listing of `rows`, capped at `cap` per page, that records each request."""

    rows: list[int]
    cap: int = 500
    calls: list[tuple[int | None, int | None]] = field(default_factory=list)

    async def page(self, offset: int | None, limit: int | None) -> Page:
        self.calls.append((offset, limit))
        start = offset or 0
        size = min(limit if limit is not None else 30, self.cap)
        return Page(len(self.rows), len(self.rows), self.rows[start : start + size])

    async def listing(self, offset: int | None, limit: int | None) -> list[int]:
        return (await self.page(offset, limit)).items


def filtered_page(server: FakeServer, **kwargs: int | None) -> AsyncPage[Page, int]:
    return AsyncPage(
        server.page,
        items=lambda p: p.items,
        filtered=lambda p: p.filtered,
        max_limit=500,
        **kwargs,  # type: ignore[arg-type]
    )


def list_page(server: FakeServer, max_limit: int = 100) -> AsyncPage[list[int], int]:
    def same(p: list[int]) -> Sequence[int]:
        return p

    return AsyncPage(server.listing, items=same, max_limit=max_limit)


async def test_await_is_one_request_with_the_callers_arguments() -> None:
    server = FakeServer(list(range(100)))
    page = await filtered_page(server, limit=10, offset=20)
    assert page.items == list(range(20, 30))
    assert (page.total, page.filtered) == (100, 100)
    assert server.calls == [(20, 10)]


async def test_await_without_arguments_leaves_podios_defaults() -> None:
    server = FakeServer(list(range(100)))
    page = await filtered_page(server)
    assert len(page.items) == 30
    assert server.calls == [(None, None)]


async def test_iteration_uses_the_largest_page_and_stops_at_filtered() -> None:
    server = FakeServer(list(range(1200)))
    seen = [x async for x in filtered_page(server)]
    assert seen == list(range(1200))
    assert server.calls == [(0, 500), (500, 500), (1000, 500)]


async def test_iteration_of_an_exact_multiple_makes_no_extra_call() -> None:
    server = FakeServer(list(range(1000)))
    assert len([x async for x in filtered_page(server)]) == 1000
    assert len(server.calls) == 2


async def test_iteration_honours_limit_and_offset() -> None:
    server = FakeServer(list(range(50)))
    seen = [x async for x in filtered_page(server, limit=20, offset=5)]
    assert seen == list(range(5, 50))
    assert server.calls == [(5, 20), (25, 20), (45, 20)]


async def test_a_server_cap_below_the_page_size_drops_nothing_when_counted() -> None:
    server = FakeServer(list(range(700)), cap=250)
    seen = [x async for x in filtered_page(server)]
    assert seen == list(range(700))


async def test_empty_listing() -> None:
    server = FakeServer([])
    assert [x async for x in filtered_page(server)] == []
    assert len(server.calls) == 1


async def test_list_listing_stops_on_a_short_page() -> None:
    server = FakeServer(list(range(250)))
    seen = [x async for x in list_page(server)]
    assert seen == list(range(250))
    assert server.calls == [(0, 100), (100, 100), (200, 100)]


async def test_list_listing_stops_on_an_empty_page() -> None:
    server = FakeServer(list(range(200)))
    assert len([x async for x in list_page(server)]) == 200
    assert server.calls[-1] == (200, 100)


async def test_key_skips_an_element_seen_on_an_earlier_page() -> None:
    # Between two requests a new row lands in front, so row 2 comes back on page two.
    pages = {0: [0, 1, 2], 3: [2, 3, 4], 6: []}

    async def fetch(offset: int | None, limit: int | None) -> list[int]:
        return pages[offset or 0]

    page: AsyncPage[list[int], int] = AsyncPage(
        fetch, items=lambda p: p, max_limit=3, key=lambda x: x
    )
    assert [x async for x in page] == [0, 1, 2, 3, 4]


async def test_one_page_object_can_be_iterated_twice() -> None:
    server = FakeServer(list(range(10)))
    page = filtered_page(server)
    first = [x async for x in page]
    second = [x async for x in page]
    # Both walks see every row: equal lists alone would pass if both were empty.
    assert first == second == list(range(10))
    assert server.calls == [(0, 500), (0, 500)]


def test_bad_arguments() -> None:
    async def fetch(offset: int | None, limit: int | None) -> list[int]:
        return []

    with pytest.raises(ValueError, match="limit"):
        AsyncPage(fetch, items=lambda p: p, max_limit=500, limit=0)
    with pytest.raises(ValueError, match="offset"):
        AsyncPage(fetch, items=lambda p: p, max_limit=500, offset=-1)
    with pytest.raises(ValueError, match="max_limit"):
        AsyncPage(fetch, items=lambda p: p, max_limit=0)
