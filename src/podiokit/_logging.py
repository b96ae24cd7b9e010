"""podiokit's logger, and the context every one of its records carries.

Every record of the `podiokit` loggers gets `podio_operation` (the operation being called,
`items.get`, or None outside one) and, while podiokit's OpenTelemetry instrumentation is on,
`otelTraceID` and `otelSpanID` (the names OpenTelemetry's logging instrumentation uses; "0"
outside a span). A formatter can name them (`%(podio_operation)s`), a JSON formatter finds
them on the record. The operation is a context variable the pipeline sets per call, so the
filter costs nothing until a record is actually emitted.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import TYPE_CHECKING

from . import _instrument

if TYPE_CHECKING:
    from ._resource import Operation

__all__ = ["logger", "operation"]

logger = logging.getLogger("podiokit")

#: The operation the current task is calling (set by the pipeline for the call's duration).
operation: ContextVar[Operation | None] = ContextVar("podiokit_operation", default=None)

#: podiokit's loggers whose records carry the context (the emulator's are the fake server's).
LOGGERS = ("podiokit", "podiokit.integrations.fastapi")


class ContextFilter(logging.Filter):
    """Adds `podio_operation` (and, while tracing, `otelTraceID`/`otelSpanID`) to a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = operation.get()
        record.podio_operation = current.name if current is not None else None
        if _instrument.carrying:
            from ._otel import log_ids

            record.otelTraceID, record.otelSpanID = log_ids()
        elif not hasattr(record, "otelTraceID"):  # OpenTelemetry's own logging hook may set them
            record.otelTraceID = record.otelSpanID = "0"
        return True


_FILTER = ContextFilter()


def _install() -> None:
    for name in LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, ContextFilter) for f in target.filters):
            target.addFilter(_FILTER)


_install()
