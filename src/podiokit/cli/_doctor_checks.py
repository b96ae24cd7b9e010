"""The read-only probes of `podiokit doctor`: each behaviour podiokit infers about Podio
(docs/dev/podio-behaviour.md §11), asked of one account and one app.

Every call here reads: GET, or the item filter (a POST that reads). Nothing is created,
changed or deleted. The calls are few and fixed (8 to 10); `Report.calls` counts the HTTP
requests actually sent, sign-in included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from podiokit import Podio

__all__ = ["SCHEMA_VERSION", "STATUSES", "Check", "Report", "run_checks"]

#: The version of `podiokit doctor --json`'s document; raised only when a key changes
#: meaning or goes away (new keys may be added within a version).
SCHEMA_VERSION = 1
STATUSES = ("ok", "differs", "not_checked", "error")

_MICRO_KEYS = {"item_id", "app_item_id", "title", "revision"}  # §4.2
_FILTER = "/item/app/{app_id}/filter/"


@dataclass
class Check:
    """One line of the report: `name`, `status` (one of STATUSES), what was `observed`, what
    podiokit `expected`, and a `detail` saying what it means."""

    name: str
    status: str
    observed: str
    expected: str
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "status": self.status,
            "observed": self.observed,
            "expected": self.expected,
            "detail": self.detail,
        }


@dataclass
class Report:
    api_url: str
    app_id: int
    checks: list[Check] = field(default_factory=list)
    calls: int = 0
    strategy: str = "offset"

    @property
    def all_ok(self) -> bool:
        return all(c.status in ("ok", "not_checked") for c in self.checks)


async def run_checks(podio: Podio, report: Report, grant: str) -> None:
    """Fill `report` with every check after sign-in (`grant`: how `podio` signed in)."""
    report.checks.append(_sign_in(podio, report.api_url, grant))
    app_id = report.app_id
    app = await podio._send("GET", f"/app/{app_id}", idempotent=True)
    general = _budget(app)
    top, limited, micro = await _newest(podio, app_id)
    report.checks.append(micro)
    ranges = await _ranges(podio, app_id, top)
    report.checks.append(ranges)
    report.checks.append(_rate_limits(general, limited))
    report.checks.extend(await _files(podio, app_id))
    report.strategy = "ranges" if ranges.status == "ok" else "offset"
    report.checks.append(
        Check(
            "strategy",
            "ok" if report.strategy == "ranges" else "differs",
            report.strategy,
            "ranges",
            "export and mirror read by app_item_id ranges"
            if report.strategy == "ranges"
            else "export and mirror fall back to offset paging sorted by app_item_id "
            "(documented behaviour only; slower, de-duplicated by item_id)",
        )
    )


def _sign_in(podio: Podio, api_url: str, grant: str) -> Check:
    token = podio.token
    lifetime = "unknown lifetime"
    if token is not None and token.expires_at is not None:
        left = (token.expires_at - datetime.now(timezone.utc)).total_seconds()
        lifetime = f"valid {_duration(left)} more"
    # Never the token itself: only how it was obtained and how long it lasts.
    return Check(
        "sign_in", "ok", f"reached {api_url}; signed in with {grant}; token {lifetime}",
        "reachable; signed in", "",
    )  # fmt: skip


def _duration(seconds: float) -> str:
    seconds = max(0, math.floor(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60} s"


def _budget(response: httpx.Response) -> tuple[int, int] | None:
    """(limit, remaining) from a response's rate-limit headers, None when either is absent."""
    try:
        return (
            int(response.headers["x-rate-limit-limit"]),
            int(response.headers["x-rate-limit-remaining"]),
        )
    except (KeyError, ValueError):
        return None


async def _filter(
    podio: Podio, app_id: int, body: dict[str, Any], params: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], httpx.Response]:
    response = await podio._send(
        "POST", _FILTER.format(app_id=app_id), json=body, params=params,
        idempotent=True, rate_limited=True,
    )  # fmt: skip
    items = response.json().get("items") or []
    return [i for i in items if isinstance(i, dict)], response


async def _newest(podio: Podio, app_id: int) -> tuple[list[int], tuple[int, int] | None, Check]:
    """The two highest app_item_ids (one filter call, micro view asked): the ids, the
    filter's budget and the micro view check."""
    items, response = await _filter(
        podio, app_id, {"sort_by": "app_item_id", "sort_desc": True, "limit": 2},
        {"fields": "items.view(micro)"},
    )  # fmt: skip
    ids = [int(i["app_item_id"]) for i in items if isinstance(i.get("app_item_id"), int)]
    expected = "micro items: " + ", ".join(sorted(_MICRO_KEYS))
    if not items:
        micro = Check("micro_view", "not_checked", "the app has no items", expected)
    else:
        extra = sorted(set(items[0]) - _MICRO_KEYS)
        if not extra:
            micro = Check("micro_view", "ok", "micro items", expected)
        else:
            shown = ", ".join(extra[:5]) + (", ..." if len(extra) > 5 else "")
            micro = Check(
                "micro_view", "differs", f"full items (also {shown})", expected,
                "fields=items.view(micro) is ignored: listings cost full items",
            )  # fmt: skip
    return ids, _budget(response), micro


async def _ranges(podio: Podio, app_id: int, top: list[int]) -> Check:
    """Both bounds of an app_item_id range (§4.1), by the very check export and mirror make
    before they trust ranges (`podiokit._rangecheck`): what it finds here is what they do."""
    from podiokit._rangecheck import check_ranges

    expected = "both bounds honoured"
    if not top:
        return Check("range_filter", "not_checked", "the app has no items", expected)

    async def highest() -> int:
        return top[0]

    async def ids(lo: int, hi: int, limit: int, desc: bool) -> list[int]:
        items, _ = await _filter(podio, app_id, _range(lo, hi, limit, desc))
        return [int(i["app_item_id"]) for i in items if isinstance(i.get("app_item_id"), int)]

    result = await check_ranges(podio, app_id, highest, ids)
    observed = f"{result.from_seen}; {result.to_seen}"
    if result.from_seen == result.to_seen:  # one reason for both (a refused filter)
        observed = result.from_seen
    status = {True: "ok", False: "differs", None: "not_checked"}[result.honoured]
    return Check("range_filter", status, observed, expected, result.detail)


def _range(low: int, high: int, limit: int, desc: bool) -> dict[str, Any]:
    return {
        "sort_by": "app_item_id",
        "sort_desc": desc,
        "limit": limit,
        "filters": {"app_item_id": {"from": low, "to": high}},
    }


def _rate_limits(general: tuple[int, int] | None, limited: tuple[int, int] | None) -> Check:
    """§3: a GET counts in the general budget (1,000), the item filter in the rate-limited
    one (250), each answer carrying its own pool's ceiling."""
    expected = "headers on every answer; item filter in a smaller budget than a GET"
    if general is None or limited is None:
        missing = [n for n, b in (("GET", general), ("item filter", limited)) if b is None]
        return Check(
            "rate_limits", "differs",
            f"no X-Rate-Limit-Limit/Remaining on {' and '.join(missing)}", expected,
            "podiokit cannot pace: it will learn the budget from 420 answers only",
        )  # fmt: skip
    observed = (
        f"GET: {general[1]} of {general[0]} left; item filter: {limited[1]} of {limited[0]} left"
    )
    if limited[0] >= general[0]:
        return Check(
            "rate_limits", "differs", observed, expected,
            "the item filter is not in the smaller budget: podiokit keys each pool by the "
            "ceiling its answers carry, so pacing still works",
        )  # fmt: skip
    return Check("rate_limits", "ok", observed, expected)


async def _files(podio: Podio, app_id: int) -> list[Check]:
    """§6: a file's link answers its bytes (200) without a redirect; /file/{id}/raw works."""
    from podiokit.errors import PodioError

    link_expected, raw_expected = "200 with the bytes", "200 with the bytes"
    files = await podio._send("GET", f"/file/app/{app_id}/", params={"limit": 1},
                              idempotent=True)  # fmt: skip
    found = [f for f in (files.json() or []) if isinstance(f, dict) and f.get("file_id")]
    if not found:
        reason = "not checked: no file found"
        return [
            Check("file_link", "not_checked", reason, link_expected),
            Check("file_raw", "not_checked", reason, raw_expected),
        ]
    file_id, link = int(found[0]["file_id"]), str(found[0].get("link") or "")
    checks = [await _link(podio, link, link_expected) if link else
              Check("file_link", "differs", "the file has no link", link_expected)]  # fmt: skip
    try:
        raw = await podio._send("GET", f"/file/{file_id}/raw", stream=True, idempotent=True,
                                headers={"Accept": "*/*"})  # fmt: skip
        await raw.aclose()  # the status is the answer; the bytes are not needed
        checks.append(Check("file_raw", "ok", str(raw.status_code), raw_expected))
    except PodioError as exc:
        checks.append(Check(
            "file_raw", "differs", f"{exc.status or type(exc).__name__}: {exc}", raw_expected,
            "downloads have no fallback when a link fails",
        ))  # fmt: skip
    return checks


async def _link(podio: Podio, link: str, expected: str) -> Check:
    import httpx

    from podiokit.errors import PodioError

    try:
        response = await podio._send("GET", link, stream=True, redirects=True,
                                     idempotent=True, headers={"Accept": "*/*"})  # fmt: skip
        await response.aclose()
    except PodioError as exc:
        return Check("file_link", "differs", f"{exc.status or type(exc).__name__}: {exc}",
                     expected, "downloads fall back to GET /file/{id}/raw")  # fmt: skip
    if response.is_success:
        return Check("file_link", "ok", str(response.status_code), expected)
    here = httpx.URL(link)
    target = here.join(response.headers.get("location", ""))
    where = "the same origin" if target.host == here.host else f"another origin ({target.host})"
    # One hop, without the token (a signed URL on another host takes none): does it work?
    try:
        hop = await podio._send("GET", str(target), stream=True, idempotent=True,
                                authenticate=target.host == here.host,
                                headers={"Accept": "*/*"})  # fmt: skip
        await hop.aclose()
        answer = f"which answers {hop.status_code}"
        detail = "downloads follow it, never sending the token to another host"
    except ValueError:  # the pipeline refuses to send a token to that host
        answer, detail = "not followed", "downloads fall back to GET /file/{id}/raw"
    except PodioError as exc:
        answer = f"which answers {exc.status or type(exc).__name__}"
        detail = "downloads fall back to GET /file/{id}/raw"
    return Check(
        "file_link", "differs", f"{response.status_code} redirect to {where}, {answer}",
        expected, detail,
    )  # fmt: skip
