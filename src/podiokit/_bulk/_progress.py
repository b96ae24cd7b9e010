"""The progress snapshot the exporter and the mirror report, and the rate-limit figure in it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._client import Podio

__all__ = ["ExportProgress", "calls_left"]


@dataclass(frozen=True)
class ExportProgress:
    """A snapshot after each page (and while waiting for the rate limit)."""

    items: int
    #: Items the apps held when the export started (items created since come on top).
    total: int
    calls: int
    elapsed: float
    #: The lowest `X-Rate-Limit-Remaining` among the sessions (None before any response).
    calls_left: int | None
    #: Seconds the exporter is waiting for the rate limit, 0 when it is not.
    waiting: float = 0.0


def calls_left(sessions: Mapping[int, Podio]) -> int | None:
    """The lowest `X-Rate-Limit-Remaining` among the sessions (None before any response)."""
    left = [s.rate_limit.remaining for s in set(sessions.values())]
    known = [n for n in left if n is not None]
    return min(known) if known else None
