"""The switch of podiokit's OpenTelemetry instrumentation, without importing OpenTelemetry.

`import podiokit` never imports opentelemetry, and a call made while instrumentation is off
pays for one check of `active` here. The instrumentation itself (spans, metrics, the context
carried to the sync face's loop) is `_otel.py`, imported only by `instrument()` or a client
made with `instrument=True`. Its guide: docs/guides/observability.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from ._otel import Telemetry

__all__ = ["active", "carrying", "client_telemetry", "instrument", "job", "uninstrument"]

P = ParamSpec("P")
R = TypeVar("R")

#: What `podiokit.instrument()` turned on, for every client that was not made with
#: `instrument=False`; None while it is off.
active: Telemetry | None = None
#: The instrumentation of clients made with `instrument=True` (OpenTelemetry's global
#: providers), made by the first of them.
_default: Telemetry | None = None
#: Set once any instrumentation exists: the sync face then carries the caller's trace context
#: to its loop thread, and log records get trace and span ids.
carrying = False


def instrument(*, tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Trace and measure every Podio operation of every client in this process (but those
    made with `instrument=False`), with OpenTelemetry.

    Each operation is a client span named for it (`podio items.get`) with the HTTP client
    attributes of OpenTelemetry's semantic conventions; retries and rate-limit waits are
    events on it, a token refresh its own span. Metrics: operation durations, retries,
    rate-limit answers, refreshes, the rate budget left, and the exporter's and the
    mirror's items and pages.

    `tracer_provider` and `meter_provider` default to OpenTelemetry's global ones (set by
    your application, or by `opentelemetry-instrument`). Needs `opentelemetry-api`
    (`pip install 'podiokit[otel]'`); without an SDK configured, spans and metrics go
    nowhere and cost next to nothing. Calling it again replaces the providers;
    `uninstrument()` turns it off.
    """
    global active, carrying
    active = _telemetry_class()(tracer_provider, meter_provider)
    carrying = True


def uninstrument() -> None:
    """Turn off what `instrument()` turned on (clients made with `instrument=True` stay
    instrumented)."""
    global active
    active = None


def client_telemetry() -> Telemetry:
    """The instrumentation of a client made with `instrument=True`, over OpenTelemetry's
    global providers (which may be set later: its tracer and meter follow them)."""
    global _default, carrying
    if _default is None:
        _default = _telemetry_class()(None, None)
    carrying = True
    return _default


def _telemetry_class() -> type[Telemetry]:
    try:
        from ._otel import Telemetry
    except ImportError as exc:
        raise ImportError(
            f"podiokit's instrumentation needs OpenTelemetry's API ({exc}): "
            "pip install 'podiokit[otel]'"
        ) from exc
    return Telemetry


def current() -> Telemetry | None:
    """The instrumentation the exporter and the mirror report to, if any is on."""
    return active if active is not None else _default


def job(name: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Wrap a bulk job (`export`, `mirror`) in one span, `podio <name>`, the parent of its
    calls' spans, when instrumentation is on."""

    def decorate(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @wraps(func)
        async def run(*args: P.args, **kwargs: P.kwargs) -> R:
            telemetry = current()
            if telemetry is None:
                return await func(*args, **kwargs)
            with telemetry.job_span(name):
                return await func(*args, **kwargs)

        return run

    return decorate


def count_page(job: str, items: int) -> None:
    """One page of `items` written by the exporter or the mirror (`job`)."""
    telemetry = current()
    if telemetry is not None:
        telemetry.count_page(job, items)
