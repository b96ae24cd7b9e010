"""Which strategy reads an app's items: keyset ranges of `app_item_id` ("ranges") or offset
pages sorted by `app_item_id` ("offset").

Podio documents sorting by `app_item_id`, not filtering on it as a range
(docs/dev/podio-behaviour.md §4.1). So before the range reader is trusted, a probe checks
once per session and API URL that both bounds are honoured; when they are not, the offset
reader (`_offset.py`), which rests on documented behaviour only, reads the app.
`podiokit doctor` reports the same probe (`check_ranges`), so the two never disagree.

The probe costs two calls, sent alongside the app's own first call (`probe`), so it adds no
round trip; a third, after it, only when the app has no item 1 (see `check_ranges`).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import msgspec

from ..errors import PodioBadRequestError
from ._fetch import _body, _decode, _post_filter
from ._plan import SWEEP_HI
from ._tasks import run_all

if TYPE_CHECKING:
    from .._client import Podio

__all__ = ["STRATEGIES", "RangeCheck", "check_ranges", "check_strategy", "choose", "known"]

#: The values of `strategy=` (and `--strategy`).
STRATEGIES = ("auto", "ranges", "offset")
#: The low bound of the range that must come back empty: far above any app's ids (an app
#: would need a billion items to reach it), and its items are checked against it anyway.
_ABOVE = 2**30

# session -> {API URL: honoured?}: one verdict per session and URL for the process's life.
_verified: weakref.WeakKeyDictionary[Any, dict[str, bool]] = weakref.WeakKeyDictionary()


class _Key(msgspec.Struct):
    app_item_id: int


_key = msgspec.json.Decoder(_Key)


@dataclass(frozen=True)
class RangeCheck:
    """What the probe saw. `honoured`: both bounds honoured (True), not (False), or could not
    tell (None: the app has fewer than two items). `from_seen`, `to_seen`: what each bound
    did, in words; `detail`: what it means for export and mirror; `calls`: calls spent."""

    honoured: bool | None
    from_seen: str
    to_seen: str
    detail: str
    calls: int


def check_strategy(strategy: object) -> str:
    """The strategy, or ValueError naming the value."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    return str(strategy)


def _api_url(session: Podio) -> str:
    return str(session._pipeline.config.api_url)


def known(session: Podio) -> bool | None:
    """The verdict already reached for this session and API URL, if any."""
    return _verified.get(session, {}).get(_api_url(session))


def remember(session: Podio, honoured: bool) -> None:
    _verified.setdefault(session, {})[_api_url(session)] = honoured


async def check_ranges(
    session: Podio,
    app_id: int,
    highest: Callable[[], Awaitable[int]],
    *,
    on_wait: Callable[[float], None] | None = None,
) -> RangeCheck:
    """Ask Podio whether it honours both bounds of an `app_item_id` range, on `app_id`
    (`highest`: the app's highest id, awaited only once both calls are sent, so the caller
    can read it concurrently). Two calls at once:

    - `[2**30, SWEEP_HI]`: above every id, must return none (else `from` is ignored);
    - `[1, 1]` newest first: must return item 1 or nothing (else `to` is ignored).

    When item 1 is absent (nothing came back), one more: `[highest, highest]` must return
    exactly that item (a `to` that is honoured but exclusive would lose an item per range).
    A filter Podio refuses (400) counts as not honoured. The verdict is remembered for the
    session and API URL (`known`)."""
    calls = 0

    async def ids(lo: int, hi: int, limit: int, desc: bool) -> list[int]:
        nonlocal calls
        content = await _post_filter(session, app_id, _body(lo, hi, limit, desc=desc), on_wait)
        calls += 1
        return [_key.decode(raw).app_item_id for raw in _decode(content, app_id).items]

    answers: dict[str, list[int]] = {}
    tops: list[int] = []

    async def ask(name: str, lo: int, hi: int, limit: int, desc: bool) -> None:
        answers[name] = await ids(lo, hi, limit, desc)

    async def read_top() -> None:
        tops.append(await highest())

    try:
        await run_all(
            [
                partial(ask, "above", _ABOVE, SWEEP_HI, 1, False),
                partial(ask, "first", 1, 1, 1, True),
                read_top,
            ]
        )
        top = tops[0]
        if top > 1 and answers["first"] == [] and answers["above"] == []:
            answers["top"] = await ids(top, top, 2, False)
    except PodioBadRequestError as exc:
        detail = "Podio refuses app_item_id ranges: export and mirror use offset pages"
        seen = f"rejected: {exc}"
        return _verdict(session, False, seen, seen, detail, calls)
    above, first = answers["above"], answers["first"]
    from_ok = all(i >= _ABOVE for i in above)
    from_seen = (
        "a range above the highest id returned none"
        if from_ok
        else f"a range above the highest id ({top}) returned {len(above)} item(s)"
    )
    to_ok: bool | None
    if any(i > 1 for i in first):
        to_ok, to_seen = False, f"a range of id 1 returned id {first[0]}"
    elif first == [1]:
        to_ok, to_seen = (None, "the app has one item") if top <= 1 else (True, "")
        to_seen = to_seen or "a range of id 1 returned exactly it"
    elif "top" in answers:
        got = answers["top"]
        to_ok = got == [top]
        to_seen = (
            "a range of one id returned exactly it"
            if to_ok
            else f"a range of one id ({top}) returned {got}"
        )
    else:  # nothing at all, or one item that is not item 1
        to_ok, to_seen = None, ("the app has no items" if top == 0 else "the app has one item")
    if top == 0:
        return _verdict(session, None, "the app has no items", to_seen, "", calls)
    if not from_ok:
        detail = "`from` is ignored" if to_ok is not False else "the range filter is ignored"
        return _verdict(session, False, from_seen, to_seen, detail + _FALLBACK, calls)
    if to_ok is False:
        detail = "only `to` is ignored: ranges would overlap" + _FALLBACK
        return _verdict(session, False, from_seen, to_seen, detail, calls)
    if to_ok is None:
        return _verdict(session, None, from_seen, "to not checked: " + to_seen, "", calls)
    return _verdict(session, True, from_seen, to_seen, "", calls)


_FALLBACK = "; export and mirror use offset pages"


def _verdict(
    session: Podio, honoured: bool | None, from_seen: str, to_seen: str, detail: str, calls: int
) -> RangeCheck:
    if honoured is not None:
        remember(session, honoured)
    return RangeCheck(honoured, from_seen, to_seen, detail, calls)


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
        result = await check_ranges(
            sessions[app_id], app_id, partial(highest, app_id), on_wait=on_wait
        )
        calls += result.calls

    await run_all([partial(check, app_id) for app_id in first.values()])
    tried = set(first.values())
    for app_id in app_ids:  # rare: a session whose first app had fewer than two items
        if app_id not in tried and known(sessions[app_id]) is None and await highest(app_id) > 1:
            tried.add(app_id)
            await check(app_id)
    return {a: "ranges" if known(sessions[a]) else "offset" for a in app_ids}, calls
