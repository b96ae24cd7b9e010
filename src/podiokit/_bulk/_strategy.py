"""Which strategy reads an app's items: keyset ranges of `app_item_id` ("ranges") or offset
pages sorted by `app_item_id` ("offset").

Podio documents sorting by `app_item_id`, not filtering on it as a range
(docs/dev/podio-behaviour.md §4.1, §11). So before the range reader is trusted, one probe
per session and API URL checks that both bounds are honoured; when they are not, the
offset reader (`_offset.py`), which rests on documented behaviour only, reads the app.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from ._fetch import _decode, _post_filter
from ._plan import SWEEP_HI

if TYPE_CHECKING:
    from .._client import Podio

__all__ = ["STRATEGIES", "check_strategy", "ranges_honoured", "resolve"]

#: The values of `strategy=` (and `--strategy`).
STRATEGIES = ("auto", "ranges", "offset")

# session -> {API URL: honoured?}: one probe per session and URL for the process's life.
_verified: weakref.WeakKeyDictionary[Any, dict[str, bool]] = weakref.WeakKeyDictionary()


class _Key(msgspec.Struct):
    app_item_id: int


_key = msgspec.json.Decoder(_Key)


def check_strategy(strategy: object) -> str:
    """The strategy, or ValueError naming the value."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    return str(strategy)


def _api_url(session: Podio) -> str:
    return str(session._pipeline.config.api_url)


async def ranges_honoured(
    session: Podio,
    app_id: int,
    highest: int,
    *,
    on_wait: Callable[[float], None] | None = None,
    calls: list[int] | None = None,
) -> bool | None:
    """Whether Podio honours both bounds of an `app_item_id` range, tried on `app_id` whose
    highest id is `highest` (three calls); None when the app is too small to tell (fewer
    than two ids). Cached per session and API URL: later calls cost nothing."""
    url = _api_url(session)
    known = _verified.get(session, {}).get(url)
    if known is not None:
        return known
    if highest < 2:
        return None

    async def ids(lo: int, hi: int, limit: int, desc: bool) -> list[int]:
        body = {
            "sort_by": "app_item_id",
            "sort_desc": desc,
            "filters": {"app_item_id": {"from": lo, "to": hi}},
            "limit": limit,
        }
        page = _decode(await _post_filter(session, app_id, body, on_wait), app_id)
        if calls is not None:
            calls[0] += 1
        return [_key.decode(raw).app_item_id for raw in page.items]

    honoured = (
        # A range of one known id: exactly that item.
        await ids(highest, highest, 2, False) == [highest]
        # A range above the highest id: none.
        and await ids(highest + 1, SWEEP_HI, 1, False) == []
        # A range [lo, mid], newest first: nothing above mid (a Podio ignoring `to` fails).
        and all(i <= highest - 1 for i in await ids(1, highest - 1, 1, True))
    )
    _verified.setdefault(session, {})[url] = honoured
    return honoured


async def resolve(
    strategy: str,
    session: Podio,
    app_id: int,
    highest: int,
    *,
    on_wait: Callable[[float], None] | None = None,
    calls: list[int] | None = None,
) -> str:
    """The strategy that reads `app_id`: "ranges" or "offset". `auto` probes (once per
    session and API URL); an app too small to probe is read by offset (it is one page or
    two: the same calls either way)."""
    if strategy != "auto":
        return strategy
    honoured = await ranges_honoured(session, app_id, highest, on_wait=on_wait, calls=calls)
    return "ranges" if honoured else "offset"
