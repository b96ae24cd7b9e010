"""Which failures are retried, and how long to wait between tries."""

from __future__ import annotations

import random

import httpx

__all__ = ["IDEMPOTENT_METHODS", "RETRY_STATUSES", "backoff", "never_sent"]

#: Statuses retried for idempotent operations: Podio's transient server failures.
RETRY_STATUSES = frozenset({500, 502, 503, 504})

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def never_sent(exc: Exception) -> bool:
    """The request cannot have reached Podio: safe to retry even a create."""
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter (AWS's "full jitter": spreads retries of many
    clients evenly instead of in synchronized waves)."""
    if base <= 0:
        return 0.0
    return random.uniform(0, min(cap, base * (2**attempt)))
