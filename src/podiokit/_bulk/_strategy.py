"""Which strategy reads an app's items: keyset ranges of `app_item_id` ("ranges") or offset
pages sorted by `app_item_id` ("offset", `_offset.py`: documented behaviour only).

"auto" trusts ranges only where `podiokit._rangecheck.check_ranges` found Podio honours both
bounds (docs/dev/podio-behaviour.md §4.1), once per session and API URL. Its two calls go
beside the app's own first call (`probe`), so the check adds no round trip; a third follows
only when the app has no item 1.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING

import msgspec

from .._rangecheck import STRATEGIES, RangeCheck, check_ranges, check_strategy, known
from ._fetch import _body, _decode, _post_filter
from ._tasks import run_all

if TYPE_CHECKING:
    from .._client import Podio

__all__ = ["STRATEGIES", "RangeCheck", "check_ranges", "check_strategy", "choose", "known"]


class _Key(msgspec.Struct):
    app_item_id: int


_key = msgspec.json.Decoder(_Key)


def range_ids(
    session: Podio, app_id: int, on_wait: Callable[[float], None] | None = None
) -> Callable[[int, int, int, bool], Awaitable[list[int]]]:
    """`check_ranges`'s filter call through the bulk engine's reader (420s waited out)."""

    async def ids(lo: int, hi: int, limit: int, desc: bool) -> list[int]:
        content = await _post_filter(session, app_id, _body(lo, hi, limit, desc=desc), on_wait)
        return [_key.decode(raw).app_item_id for raw in _decode(content, app_id).items]

    return ids


async def choose(
    strategy: str,
    sessions: Mapping[int, Podio],
    app_ids: Sequence[int],
    highest: Callable[[int], Awaitable[int]],
    *,
    on_wait: Callable[[float], None] | None = None,
) -> tuple[dict[int, str], int]:
    """The strategy that reads each app ("ranges" or "offset"), and the calls spent.

    "ranges" and "offset" are taken as given (the range reader checks every page anyway);
    "auto" checks the ranges of each session not checked yet (`check_ranges`, on its first
    app; `highest(app_id)`: that app's highest id, which the caller reads concurrently).
    A session whose first app is too small to tell is checked again on its next app; an
    app whose session could not be checked at all (no app with two items) is read by
    offset pages: one page or two, the same calls either way, and no unproven range."""
    if strategy != "auto":
        return dict.fromkeys(app_ids, strategy), 0
    calls = 0
    first: dict[int, int] = {}  # id(session) -> the app its ranges are checked on
    for app_id in app_ids:
        if known(sessions[app_id]) is None:
            first.setdefault(id(sessions[app_id]), app_id)

    async def check(app_id: int) -> None:
        nonlocal calls
        session = sessions[app_id]
        result = await check_ranges(
            session, app_id, partial(highest, app_id), range_ids(session, app_id, on_wait)
        )
        calls += result.calls

    await run_all([partial(check, app_id) for app_id in first.values()])
    tried = set(first.values())
    for app_id in app_ids:  # rare: a session whose first app had fewer than two items
        if app_id not in tried and known(sessions[app_id]) is None and await highest(app_id) > 1:
            tried.add(app_id)
            await check(app_id)
    return {a: "ranges" if known(sessions[a]) else "offset" for a in app_ids}, calls
