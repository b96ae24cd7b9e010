"""Podio's rate limit as the client sees it, per session key, and optional pacing.

Podio keeps budgets per user per API key and hour: 1,000 calls, and 250 for its "rate
limited" operations; each answer's `X-Rate-Limit-Limit` is "the ceiling for the request you
just made" (docs/dev/podio-behaviour.md §3). Which operations draw on the smaller budget is
not documented, so the figures are kept per budget, keyed by that ceiling, and each
operation (method and path, ids blanked) remembers the ceiling its latest answer carried.
The spec's `rate_limited` flag only guesses the budget of an operation's first call (by
the ceiling the latest call with the same flag showed; Podio's documented figures at first).

A 420 pauses every call of the session, whatever its budget: Podio answers 420 "for all API
calls" once the limit is hit (§3). The pipeline waits a pause out when it is within the
client's `rate_limit_wait`; a longer one lets calls go, for Podio's answer to decide.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

__all__ = ["RateLimit", "RateLimitState", "operation_key"]

#: Podio counts calls per user per API key over one hour.
WINDOW_SECONDS = 3600.0

#: Podio's documented ceilings: the guess for an operation never answered yet, by its
#: spec flag `rate_limited`.
DOCUMENTED_LIMITS = {False: 1000, True: 250}

#: Operations remembered per session (paths with ids blanked; external ids stay, so bound
#: it): the map is a cache of what answers said, cleared when full.
_MAX_OPERATIONS = 2048

_IDS = re.compile(r"/\d+(?=/|$)")


def operation_key(method: str, path: str) -> str:
    """ "GET /item/{}" for GET /item/42: one key per operation, whatever its ids."""
    return f"{method} {_IDS.sub('/{}', path)}"


#: The pacing clock; tests replace it.
clock = time.monotonic


@dataclass(frozen=True)
class RateLimit:
    """The figures of the latest response: `limit` is the pool's ceiling for the call just
    made, `remaining` what is left of it this hour. None before any response."""

    limit: int | None = None
    remaining: int | None = None


class _Pool:
    """One of Podio's budgets (1,000/hour, 250/hour for "rate limited" operations), as the
    answers that carried its ceiling describe it.

    Podio never says when its hour resets (docs/dev/podio-behaviour.md §3), so `reset_at` is an estimate:
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

    def is_stale(self, stale_after: float) -> bool:
        """Nothing learnt yet, or learnt more than `stale_after` seconds ago."""
        return self.seen_at is None or clock() - self.seen_at > stale_after

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
    """Shared by every view of one session key. Each budget is tracked on its own, keyed by
    the ceiling its answers carry: mixing the figures of two budgets would read a switch
    from the 250 one to the 1,000 one as a new window (see the module doc)."""

    __slots__ = ("_flag_limits", "_operations", "_paused_until", "_pools", "latest")

    def __init__(self) -> None:
        self.latest = RateLimit()
        self._pools: dict[int, _Pool] = {}
        self._operations: dict[str, int] = {}
        self._flag_limits = dict(DOCUMENTED_LIMITS)
        self._paused_until: float | None = None

    def limit_for(self, operation: str | None = None, *, rate_limited: bool = False) -> int:
        """The ceiling of the budget a call of `operation` is expected to draw on."""
        if operation is not None:
            learnt = self._operations.get(operation)
            if learnt is not None:
                return learnt
        return self._flag_limits[rate_limited]

    def pool(self, operation: str | None = None, *, rate_limited: bool = False) -> _Pool:
        """The budget a call of `operation` is expected to draw on."""
        return self.pool_of(self.limit_for(operation, rate_limited=rate_limited))

    def pool_of(self, limit: int) -> _Pool:
        found = self._pools.get(limit)
        if found is None:
            found = self._pools[limit] = _Pool()
        return found

    def update(
        self,
        limit: str | None,
        remaining: str | None,
        *,
        operation: str | None = None,
        rate_limited: bool = False,
    ) -> _Pool | None:
        """One answer's headers: its figures go to the budget its ceiling names (the
        expected one when it names none), and `operation` learns that budget. The budget
        updated, None when the answer said nothing usable."""
        if limit is None and remaining is None:
            return None
        try:
            new_limit = int(limit) if limit is not None else None
            new_remaining = int(remaining) if remaining is not None else None
        except ValueError:
            return None
        if new_limit is not None and new_limit < 1:
            return None
        ceiling = new_limit or self.limit_for(operation, rate_limited=rate_limited)
        pool = self.pool_of(ceiling)
        pool.update(ceiling, new_remaining)
        if new_limit is not None:
            if operation is not None:
                if len(self._operations) >= _MAX_OPERATIONS:
                    self._operations.clear()
                self._operations[operation] = new_limit
            self._flag_limits[rate_limited] = new_limit
        self.latest = RateLimit(
            new_limit if new_limit is not None else self.latest.limit,
            new_remaining if new_remaining is not None else self.latest.remaining,
        )
        return pool

    def note_reset(
        self,
        seconds: float,
        *,
        limit: int | None = None,
        operation: str | None = None,
        rate_limited: bool = False,
    ) -> None:
        """Podio answered 420 "Please wait N seconds": that budget (the one `limit` names,
        else the expected one) resets in N seconds."""
        pool = self.pool_of(limit) if limit else self.pool(operation, rate_limited=rate_limited)
        pool.note_reset(seconds)

    def pause(self, seconds: float) -> None:
        """A 420: no call of this session goes out for `seconds` (Podio refuses them all)."""
        until = clock() + max(seconds, 0.0)
        if self._paused_until is None or until > self._paused_until:
            self._paused_until = until

    def waited(self) -> None:
        """A call waited out the pause: it is over (with the clock as with a sleep that
        returns early, as tests' sleeps do; a later 420 pauses again)."""
        self._paused_until = None

    def paused_for(self) -> float:
        """Seconds left of a 420's pause (0: none)."""
        if self._paused_until is None:
            return 0.0
        left = self._paused_until - clock()
        if left <= 0:
            self._paused_until = None
            return 0.0
        return left

    def snapshot(self) -> RateLimit:
        return self.latest

    def pace_delay(
        self, threshold: float, *, operation: str | None = None, rate_limited: bool = False
    ) -> float:
        """How long to wait before the next call of that budget so what is left of it lasts
        until the estimated reset, once less than `threshold` (a share of the ceiling) is left."""
        return self.pool(operation, rate_limited=rate_limited).pace_delay(threshold)
