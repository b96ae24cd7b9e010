"""Per-identity hourly budgets in two pools (§3): general and Podio's "rate limited" ops."""

from __future__ import annotations

import math
import time
from typing import Any

from ._errors import ApiError

WINDOW = 3600.0


class RateLimiter:
    def __init__(self, general: int, limited: int, *, window: float = WINDOW) -> None:
        self.limits = {"general": general, "limited": limited}
        self.window = window
        # (identity, pool) -> [window start, calls used]
        self._used: dict[tuple[Any, str], list[float]] = {}
        #: Calls refused with 420 (stats()["rate_limited"]).
        self.refused = 0

    def peek(self, identity: Any, pool: str) -> dict[str, str]:
        """The headers for a call that does not count (auth failures, unknown routes)."""
        limit = self.limits[pool]
        slot = self._used.get((identity, pool))
        used = 0 if slot is None or time.time() - slot[0] >= self.window else int(slot[1])
        return {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Remaining": str(limit - used)}

    def start_new_windows(self) -> int:
        """Every identity's window ends now, as if its hour had passed; how many there were."""
        count = len(self._used)
        self._used.clear()
        return count

    def take(self, identity: Any, pool: str) -> dict[str, str]:
        """Count one call; the headers to send. Raises the 420 when the budget is spent."""
        limit = self.limits[pool]
        now = time.time()
        slot = self._used.get((identity, pool))
        if slot is None or now - slot[0] >= self.window:
            slot = self._used[(identity, pool)] = [now, 0]
        if slot[1] >= limit:
            wait = max(1, math.ceil(slot[0] + self.window - now))
            headers = {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Remaining": "0"}
            self.refused += 1
            raise ApiError(
                420,
                "rate_limit",
                f"You have hit the rate limit. Please wait {wait} seconds before trying again",
                headers=headers,
            )
        slot[1] += 1
        return {
            "X-Rate-Limit-Limit": str(limit),
            "X-Rate-Limit-Remaining": str(int(limit - slot[1])),
        }
