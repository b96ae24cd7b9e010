"""Every record of podiokit's loggers names the operation, and the trace and span while
tracing is on."""

from __future__ import annotations

import logging

import httpx
import pytest

from podiokit import Podio
from podiokit.testing import Emulator

from .conftest import Recorded, Scripted, app_of

pytestmark = pytest.mark.anyio


def _podiokit_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "podiokit"]


async def test_records_carry_the_operation(
    podio: Podio, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    app_id, _ = app_of(emulator)
    caplog.set_level(logging.DEBUG, logger="podiokit")
    await podio.apps.get(app_id)
    await podio.request("GET", f"/app/{app_id}")
    ops = [r.podio_operation for r in _podiokit_records(caplog)]  # type: ignore[attr-defined]
    assert ops == ["apps.get", "request"]
    # Outside an operation the attribute is there, and None.
    logging.getLogger("podiokit").warning("outside")
    assert _podiokit_records(caplog)[-1].podio_operation is None  # type: ignore[attr-defined]


async def test_a_formatter_can_name_the_operation(
    podio: Podio, emulator: Emulator, transport: Scripted, waits: list[float]
) -> None:
    """The record of a retry (inside the pipeline) names its operation in a plain format."""
    app_id, _ = app_of(emulator)
    answers = iter([503])
    transport.script = lambda request: (
        httpx.Response(503) if next(answers, None) is not None else None
    )
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(
        logging.Formatter("%(podio_operation)s %(otelTraceID)s %(otelSpanID)s %(message)s")
    )
    logger = logging.getLogger("podiokit")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        await podio.apps.get(app_id)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    retry = next(line for line in lines if "retrying" in line)
    assert retry.startswith("apps.get 0 0 GET /app/")


async def test_records_carry_trace_and_span_ids_when_tracing(
    otel: Recorded, podio: Podio, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    app_id, _ = app_of(emulator)
    caplog.set_level(logging.DEBUG, logger="podiokit")
    otel.exporter.clear()
    await podio.apps.get(app_id)
    span = otel.span("podio apps.get")
    (record,) = _podiokit_records(caplog)
    assert record.podio_operation == "apps.get"  # type: ignore[attr-defined]
    assert record.otelTraceID == format(span.context.trace_id, "032x")  # type: ignore[attr-defined]
    assert record.otelSpanID == format(span.context.span_id, "016x")  # type: ignore[attr-defined]
