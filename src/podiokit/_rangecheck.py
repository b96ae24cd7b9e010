"""The check that Podio honours both bounds of an `app_item_id` range filter, shared by the
exporter and the mirror (`_bulk._strategy`) and `podiokit doctor` (`cli/_doctor_checks.py`),
so what the doctor reports is what export and mirror do. No msgspec here: the doctor runs
with the `cli` extra alone; each caller brings its own filter call (`ids`).

Podio documents sorting by `app_item_id`, not filtering on it as a range
(docs/dev/podio-behaviour.md §4.1). The verdict is kept per session and API URL for the
process's life (`known`): one check per run.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio

from .errors import PodioBadRequestError

if TYPE_CHECKING:
    from ._client import Podio

__all__ = ["STRATEGIES", "RangeCheck", "check_ranges", "check_strategy", "known"]

#: The values of `strategy=` (and `--strategy`): export, mirror.
STRATEGIES = ("auto", "ranges", "offset")
#: The sweep's bound (ids are 32-bit), as the bulk engine's plan has it.
_TOP = 2**31 - 1
#: The low bound of the range that must come back empty: far above any app's ids (an app
#: would need a billion items to reach it), and its items are checked against it anyway.
_ABOVE = 2**30

# session -> {API URL: honoured?}
_verified: weakref.WeakKeyDictionary[Any, dict[str, bool]] = weakref.WeakKeyDictionary()


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


def _remember(session: Podio, honoured: bool) -> None:
    _verified.setdefault(session, {})[_api_url(session)] = honoured


async def _beside(
    main: Callable[[], Awaitable[int]], *others: Callable[[], Awaitable[None]]
) -> int:
    """`main()`'s answer, with `others` run beside it; the first error is raised itself
    (not an exception group: the caller catches PodioBadRequestError)."""
    errors: list[Exception] = []
    result: list[int] = []

    async def guarded(task: Callable[[], Awaitable[Any]], keep: bool) -> None:
        try:
            value = await task()
        except Exception as exc:  # noqa: BLE001 - the first one is raised below
            errors.append(exc)
            tg.cancel_scope.cancel()
            return
        if keep:
            result.append(value)

    async with anyio.create_task_group() as tg:
        tg.start_soon(guarded, main, True)
        for task in others:
            tg.start_soon(guarded, task, False)
    if errors:
        raise errors[0]
    return result[0]


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


async def check_ranges(
    session: Podio,
    app_id: int,
    highest: Callable[[], Awaitable[int]],
    ids: Callable[[int, int, int, bool], Awaitable[list[int]]],
) -> RangeCheck:
    """Ask Podio whether it honours both bounds of an `app_item_id` range, on `app_id`
    (`highest`: the app's highest id, awaited only once both calls are sent, so the caller
    can read it concurrently; `ids(lo, hi, limit, desc)`: one filter call of that range,
    sorted by app_item_id, answering the ids, the caller's own reader). Two calls at once:

    - `[2**30, _TOP]`: above every id, must return none (else `from` is ignored);
    - `[1, 1]` newest first: must return item 1 or nothing (else `to` is ignored).

    When item 1 is absent (nothing came back), one more: `[highest, highest]` must return
    exactly that item (a `to` that is honoured but exclusive would lose an item per range).
    A filter Podio refuses (400) counts as not honoured. The verdict is remembered for the
    session and API URL (`known`)."""
    calls = 0
    answers: dict[str, list[int]] = {}

    async def ask(name: str, lo: int, hi: int, limit: int, desc: bool) -> None:
        nonlocal calls
        calls += 1
        answers[name] = await ids(lo, hi, limit, desc)

    try:
        top = await _beside(
            highest,
            partial(ask, "above", _ABOVE, _TOP, 1, False),
            partial(ask, "first", 1, 1, 1, True),
        )
        if top > 1 and answers["first"] == [] and answers["above"] == []:
            await ask("top", top, top, 2, False)
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
    elif top == 1:  # the app's one id, and a range of it returned nothing
        to_ok, to_seen = False, "a range of id 1 (the highest) returned none"
    else:  # no items, or `from` ignored already (the third call not made)
        to_ok, to_seen = None, "the app has no items" if top == 0 else "not checked"
    if top == 0:
        return _verdict(session, None, "the app has no items", to_seen, "", calls)
    if not from_ok:
        detail = "`from` is ignored" if to_ok is not False else "the range filter is ignored"
        return _verdict(session, False, from_seen, to_seen, detail + _FALLBACK, calls)
    if to_ok is False:
        detail = "only `to` is ignored: ranges would overlap" + _FALLBACK
        return _verdict(session, False, from_seen, to_seen, detail, calls)
    if to_ok is None:
        return _verdict(session, None, from_seen, "`to` not checked: " + to_seen, "", calls)
    return _verdict(session, True, from_seen, to_seen, "", calls)


_FALLBACK = "; export and mirror use offset pages"


def _verdict(
    session: Podio, honoured: bool | None, from_seen: str, to_seen: str, detail: str, calls: int
) -> RangeCheck:
    if honoured is not None:
        _remember(session, honoured)
    return RangeCheck(honoured, from_seen, to_seen, detail, calls)
