"""Podio's rate limit as the client sees it, per session key, and optional pacing."""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["RateLimit", "RateLimitState"]

#: Podio counts calls per user per API key over one hour.
WINDOW_SECONDS = 3600.0

#: The pacing clock; tests replace it.
clock = time.monotonic


@dataclass(frozen=True)
class RateLimit:
    """The figures of the latest response: `limit` is the pool's ceiling for the call just
    made, `remaining` what is left of it this hour. None before any response."""

    limit: int | None = None
    remaining: int | None = None


class _Pool:
    """One of Podio's two budgets (general, or the 250/hour "rate limited" operations).

    Podio never says when its hour resets (behaviour.md §3), so `reset_at` is an estimate:
    - after a 420's "Please wait N seconds": now + N, the one exact figure Podio gives;
    - after the budget went back up (a new window began since the last response): an hour on;
    - otherwise (a fresh process, or an estimate that ran out): the share of the hour that
      the share of the budget still left implies (9 of 100 left: 9 % of the hour). Assuming
      instead that the hour began at this process's first call made one call wait 400 s.
    """

    __slots__ = ("limit", "remaining", "reset_at", "seen_at")

    def __init__(self) -> None:
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reset_at: float | None = None
        #: When these figures were last learnt (a response, or a shared store).
        self.seen_at: float | None = None

    def update(self, limit: int | None, remaining: int | None) -> None:
        now = self.seen_at = clock()
        went_up = (
            remaining is not None and self.remaining is not None and remaining > self.remaining + 1
        )
        if limit is not None:
            self.limit = limit
        if remaining is not None:
            self.remaining = remaining
        if went_up:
            self.reset_at = now + WINDOW_SECONDS
        elif (self.reset_at is None or now >= self.reset_at) and (
            self.limit and self.remaining is not None
        ):
            left = min(max(self.remaining, 0), self.limit) / self.limit
            self.reset_at = now + WINDOW_SECONDS * left

    def note_reset(self, seconds: float) -> None:
        self.reset_at = clock() + max(seconds, 0.0)

    def adopt(self, limit: int | None, remaining: int | None, reset_in: float | None) -> None:
        """Take the figures of a shared store (the lowest remaining any process saw this
        window, and the shared reset estimate) as this process's own."""
        now = self.seen_at = clock()
        if limit is not None:
            self.limit = limit
        if remaining is not None:
            self.remaining = remaining
        if reset_in is not None:
            self.reset_at = now + max(reset_in, 0.0)

    def needs_sharing(self, share: float, stale_after: float) -> bool:
        """Whether a shared store must be asked before the next call: nothing known yet, or
        known long ago, or at most `share` of the budget left (pacing or a 420 ahead)."""
        if self.seen_at is None or not self.limit or self.remaining is None:
            return True
        if clock() - self.seen_at > stale_after:
            return True
        return self.remaining <= self.limit * share

    def pace_delay(self, threshold: float) -> float:
        if not self.limit or self.remaining is None or self.reset_at is None:
            return 0.0
        if self.remaining > self.limit * threshold:
            return 0.0
        left = self.reset_at - clock()
        if left <= 0:
            return 0.0  # the estimated reset passed: the next response tells us more
        # Spread what is left over the time to the reset; never wait past the reset.
        return min(left, left / max(self.remaining, 1))


class RateLimitState:
    """Shared by every view of one session key. Podio's headers describe the pool of the call
    just made, so each pool is tracked on its own (mixing them would read a switch from the
    250 pool to the 1,000 pool as a new window)."""

    __slots__ = ("_general", "_limited", "latest")

    def __init__(self) -> None:
        self.latest = RateLimit()
        self._general = _Pool()
        self._limited = _Pool()

    def pool(self, *, rate_limited: bool = False) -> _Pool:
        return self._limited if rate_limited else self._general

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
        self.pool(rate_limited=rate_limited).update(new_limit, new_remaining)
        self.latest = RateLimit(
            new_limit if new_limit is not None else self.latest.limit,
            new_remaining if new_remaining is not None else self.latest.remaining,
        )

    def note_reset(self, seconds: float, *, rate_limited: bool = False) -> None:
        """Podio answered 420 "Please wait N seconds": the pool resets in N seconds."""
        self.pool(rate_limited=rate_limited).note_reset(seconds)

    def snapshot(self) -> RateLimit:
        return self.latest

    def pace_delay(self, threshold: float, *, rate_limited: bool = False) -> float:
        """How long to wait before the next call of that pool so its remaining budget lasts
        until the estimated reset, once less than `threshold` (a share of the limit) is left."""
        return self.pool(rate_limited=rate_limited).pace_delay(threshold)
