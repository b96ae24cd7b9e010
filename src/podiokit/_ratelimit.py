"""Podio's rate limit as the client sees it, per session key, and optional pacing."""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["RateLimit", "RateLimitState"]

#: Podio counts calls per user per API key over one hour and never says when the window
#: resets, so pacing assumes the window began with the first call this process saw.
WINDOW_SECONDS = 3600.0


@dataclass(frozen=True)
class RateLimit:
    """The figures of the latest response: `limit` is the pool's ceiling for the call just
    made, `remaining` what is left of it this hour. None before any response."""

    limit: int | None = None
    remaining: int | None = None


class _Pool:
    """One of Podio's two budgets (general, or the 250/hour "rate limited" operations)."""

    __slots__ = ("limit", "remaining", "window_start")

    def __init__(self) -> None:
        self.limit: int | None = None
        self.remaining: int | None = None
        self.window_start: float | None = None

    def update(self, limit: int | None, remaining: int | None) -> None:
        now = time.monotonic()
        if (
            self.window_start is None
            or now - self.window_start >= WINDOW_SECONDS
            or (
                remaining is not None
                and self.remaining is not None
                and remaining > self.remaining + 1
            )
        ):
            # The budget went up: a new window started.
            self.window_start = now
        if limit is not None:
            self.limit = limit
        if remaining is not None:
            self.remaining = remaining

    def pace_delay(self, threshold: float) -> float:
        if not self.limit or self.remaining is None or self.window_start is None:
            return 0.0
        if self.remaining > self.limit * threshold:
            return 0.0
        left = WINDOW_SECONDS - (time.monotonic() - self.window_start)
        if left <= 0:
            return 0.0
        return left / max(self.remaining, 1)


class RateLimitState:
    """Shared by every view of one session key. Podio's headers describe the pool of the call
    just made, so each pool is tracked on its own (mixing them would read a switch from the
    250 pool to the 1,000 pool as a new window)."""

    __slots__ = ("_general", "_limited", "latest")

    def __init__(self) -> None:
        self.latest = RateLimit()
        self._general = _Pool()
        self._limited = _Pool()

    def update(
        self, limit: str | None, remaining: str | None, *, rate_limited: bool = False
    ) -> None:
        if limit is None and remaining is None:
            return
        try:
            new_limit = int(limit) if limit is not None else None
            new_remaining = int(remaining) if remaining is not None else None
        except ValueError:
            return
        (self._limited if rate_limited else self._general).update(new_limit, new_remaining)
        self.latest = RateLimit(
            new_limit if new_limit is not None else self.latest.limit,
            new_remaining if new_remaining is not None else self.latest.remaining,
        )

    def snapshot(self) -> RateLimit:
        return self.latest

    def pace_delay(self, threshold: float, *, rate_limited: bool = False) -> float:
        """How long to wait before the next call of that pool so its remaining budget lasts
        the rest of the window, once less than `threshold` (a share of the limit) is left."""
        return (self._limited if rate_limited else self._general).pace_delay(threshold)
