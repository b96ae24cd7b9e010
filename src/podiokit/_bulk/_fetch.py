"""One page of `items.filter` as bytes, sliced into the items' own JSON without parsing them.

The page goes through the client's request pipeline (auth, refresh, retries, rate-limit
headers) by its low-level `_send`, the way generated resources call it, but nothing is
validated: `msgspec.Raw` keeps each item as a slice of the bytes Podio sent, a small part of
what parsing and writing each item back would cost (benchmarks/bench_export.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from .._defaults import RATE_LIMIT_WAIT
from .._resource import Operation
from ..errors import PodioRateLimitError, PodioResponseError
from ._buffers import BodyReader, PageBuffers
from ._plan import SWEEP_HI

if TYPE_CHECKING:
    from .._client import Podio

__all__ = [
    "DEFAULT_RATE_LIMIT_WAIT",
    "FILTER",
    "Page",
    "RangeFilterError",
    "fetch_page",
    "probe",
    "wait_out",
]

#: The operation the pages are read with (spans, metrics, logs name it).
FILTER = Operation("items", "filter", "POST", "/item/app/{app_id}/filter/")

#: The query asking for micro items: `item_id`, `app_item_id`, `title`, `revision` (§4.2).
MICRO = {"fields": "items.view(micro)"}

#: Every long rate-limit wait of the bulk engine goes through here; tests replace it.
sleep = anyio.sleep
#: A 420 without a usable hint: wait this long before asking again.
DEFAULT_RATE_LIMIT_WAIT = RATE_LIMIT_WAIT


class RangeFilterError(PodioResponseError):
    """A page of an `app_item_id` range holds an item below it, or out of order: Podio does
    not honour the range filter (docs/dev/podio-behaviour.md §4.1), and writing the page
    could write items twice. Raised by the "ranges" strategy; "auto" probes first and
    reads such a Podio by offset pages instead."""


class _RawPage(msgspec.Struct):
    items: list[msgspec.Raw]
    total: int = 0
    filtered: int = 0


class _Key(msgspec.Struct):
    app_item_id: int


_page_decoder = msgspec.json.Decoder(_RawPage)
_key_decoder = msgspec.json.Decoder(_Key)


@dataclass
class Page:
    """`items`: each item's JSON exactly as sent; `last`: the highest `app_item_id` in it;
    `compact`: the body has no raw line break, so each item is already one line;
    `buffer`: the buffer of `PageBuffers` the items are views of, if any."""

    items: list[msgspec.Raw]
    last: int
    filtered: int
    compact: bool = False
    buffer: bytearray | None = None


def _body(lo: int, hi: int, limit: int, *, desc: bool = False) -> dict[str, Any]:
    return {
        "sort_by": "app_item_id",
        "sort_desc": desc,
        "filters": {"app_item_id": {"from": lo, "to": hi}},
        "limit": limit,
    }


async def _post_filter(
    session: Podio,
    app_id: int,
    body: dict[str, Any],
    on_wait: Callable[[float], None] | None,
    reader: BodyReader | None = None,
    *,
    micro: bool = False,
) -> bytes:
    """The page's bytes; with `reader`, read into its buffer instead (and b"" returned).
    `micro`: ask for micro items (ids, title, revision: docs/dev/podio-behaviour.md §4.2)."""
    path = f"/item/app/{int(app_id)}/filter/"
    params = MICRO if micro else None
    while True:
        try:
            response = await session._send(
                "POST", path, params=params, json=body, idempotent=True, rate_limited=True,
                read_body=reader, operation=FILTER,
            )  # fmt: skip
        except PodioRateLimitError as exc:
            await wait_out(exc, on_wait)
            continue
        if reader is not None:
            return b""
        # The pipeline has already broken httpx's response <-> stream cycle (_pipeline.py), so
        # the page's bytes go as soon as the caller drops them, without the cyclic GC.
        return response.content


async def wait_out(exc: PodioRateLimitError, on_wait: Callable[[float], None] | None) -> None:
    """Wait for the rate limit a 420 names (`on_wait` told how long first), to ask again.
    The pipeline waits out short 420s itself; a long one (Podio's hour) is the bulk
    engine's to wait for: the alternative is failing a long export at 90%."""
    wait = exc.retry_after if exc.retry_after is not None else DEFAULT_RATE_LIMIT_WAIT
    if on_wait is not None:
        on_wait(wait)
    await sleep(wait)


def _decode(content: bytes | bytearray | memoryview, app_id: int) -> _RawPage:
    try:
        return _page_decoder.decode(content)
    except msgspec.DecodeError as exc:
        raise PodioResponseError(
            f"filter of app {app_id} answered a body that is not a page of items: {exc}",
            method="POST",
            path=f"/item/app/{app_id}/filter/",
        ) from None


def _app_item_id(raw: msgspec.Raw, app_id: int) -> int:
    try:
        return _key_decoder.decode(raw).app_item_id
    except msgspec.DecodeError:
        raise PodioResponseError(
            f"filter of app {app_id} answered an item without an app_item_id",
            method="POST",
            path=f"/item/app/{app_id}/filter/",
        ) from None


async def fetch_page(
    session: Podio,
    app_id: int,
    lo: int,
    hi: int,
    limit: int,
    *,
    on_wait: Callable[[float], None] | None = None,
    buffers: PageBuffers | None = None,
    micro: bool = False,
) -> Page:
    """The first `limit` items with `lo <= app_item_id <= hi`, in `app_item_id` order. With
    `buffers`, the body is read into one of them (`Page.buffer`; give it back once the
    items are written and dropped). `micro`: micro items (a Podio ignoring the view sends
    full ones)."""
    reader = BodyReader(buffers) if buffers is not None else None
    content: bytes | bytearray = await _post_filter(
        session, app_id, _body(lo, hi, limit), on_wait, reader, micro=micro
    )
    size = len(content)
    if reader is not None and reader.buffer is not None:
        content, size = reader.buffer, reader.size
    page = _decode(memoryview(content)[:size] if reader is not None else content, app_id)
    last = _app_item_id(page.items[-1], app_id) if page.items else hi
    if last < lo:
        raise RangeFilterError(
            f"filter of app {app_id} answered ids up to {last} for the range from {lo}",
            method="POST",
            path=f"/item/app/{app_id}/filter/",
        )
    # Two memchr scans of the body: far cheaper than looking for line breaks in the items.
    compact = content.find(b"\n", 0, size) < 0 and content.find(b"\r", 0, size) < 0
    buffer = content if isinstance(content, bytearray) else None
    return Page(page.items, last, page.filtered, compact, buffer)


async def probe(
    session: Podio, app_id: int, *, on_wait: Callable[[float], None] | None = None
) -> tuple[int, int]:
    """(items in the app, highest `app_item_id`): one call, the item with the highest id."""
    content = await _post_filter(session, app_id, _body(1, SWEEP_HI, 1, desc=True), on_wait)
    page = _decode(content, app_id)
    highest = _app_item_id(page.items[0], app_id) if page.items else 0
    return page.filtered, highest
