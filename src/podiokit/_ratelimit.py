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


class RateLimitState:
    """Shared by every view of one session key."""

    __slots__ = ("limit", "remaining", "window_start")

    def __init__(self) -> None:
        self.limit: int | None = None
        self.remaining: int | None = None
        self.window_start: float | None = None

    def update(self, limit: str | None, remaining: str | None) -> None:
        if limit is None and remaining is None:
            return
        now = time.monotonic()
        try:
            new_limit = int(limit) if limit is not None else self.limit
            new_remaining = int(remaining) if remaining is not None else self.remaining
        except ValueError:
            return
        if (
            self.window_start is None
            or now - self.window_start >= WINDOW_SECONDS
            or (
                new_remaining is not None
                and self.remaining is not None
                and new_remaining > self.remaining + 1
            )
        ):
            # The budget went up: a new window started.
            self.window_start = now
        self.limit, self.remaining = new_limit, new_remaining

    def snapshot(self) -> RateLimit:
        return RateLimit(self.limit, self.remaining)

    def pace_delay(self, threshold: float) -> float:
        """How long to wait before the next call so the remaining budget lasts the rest of
        the window, once less than `threshold` (a share of the limit) is left."""
        if not self.limit or self.remaining is None or self.window_start is None:
            return 0.0
        if self.remaining > self.limit * threshold:
            return 0.0
        left = WINDOW_SECONDS - (time.monotonic() - self.window_start)
        if left <= 0:
            return 0.0
        return left / max(self.remaining, 1)
