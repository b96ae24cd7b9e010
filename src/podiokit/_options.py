"""Checks for the client's tunables, run before any request: a bad value raises at once,
naming the option, instead of being sent or silently ignored."""

from __future__ import annotations

import math

__all__ = ["count", "seconds", "share"]


def count(name: str, value: object, *, minimum: int = 0) -> int:
    """A whole number >= `minimum` (`max_retries`, `max_concurrency`)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__} ({value!r})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, not {value!r}")
    return value


def seconds(name: str, value: object) -> float:
    """A finite duration >= 0 (`rate_limit_wait`, `backoff_base`, `backoff_cap`)."""
    number = _number(name, value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, not {value!r}")
    return number


def share(name: str, value: object) -> float:
    """A fraction from 0 to 1 (`pace_threshold`: the share of the hourly budget)."""
    number = _number(name, value)
    if not 0 <= number <= 1:  # also rejects NaN
        raise ValueError(f"{name} must be a share from 0 to 1 (0.2 = 20 %), not {value!r}")
    return number


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__} ({value!r})")
    return float(value)
