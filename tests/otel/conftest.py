"""Fixtures for the OpenTelemetry tests: podiokit instrumented with the SDK's in-memory span
exporter and metric reader, and clients of the in-process emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import podiokit
import podiokit._pipeline
from podiokit import Podio
from podiokit.testing import Emulator


@dataclass
class Recorded:
    """What the instrumentation emitted: finished spans and collected metrics."""

    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        spans = list(self.exporter.get_finished_spans())
        return [s for s in spans if name is None or s.name == name]

    def span(self, name: str) -> ReadableSpan:
        (found,) = self.spans(name)
        return found

    def points(self, metric: str) -> list[Any]:
        """The data points of `metric` (empty if it was never recorded)."""
        data = self.reader.get_metrics_data()
        found: list[Any] = []
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for m in scope.metrics:
                    if m.name == metric:
                        found += list(m.data.data_points)
        return found

    def total(self, metric: str, **attributes: Any) -> float:
        """The sum of a counter's points (or a histogram's counts) whose attributes include
        `attributes` (dots spelled `__`)."""
        wanted = {k.replace("__", "."): v for k, v in attributes.items()}
        total = 0.0
        for point in self.points(metric):
            if all(point.attributes.get(k) == v for k, v in wanted.items()):
                total += getattr(point, "count", None) or getattr(point, "value", 0)
        return total

    def tracer(self) -> Any:
        return self.tracer_provider.get_tracer("tests")


@pytest.fixture
def otel() -> Iterator[Recorded]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    podiokit.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        yield Recorded(exporter, reader, tracer_provider, meter_provider)
    finally:
        podiokit.uninstrument()
        meter_provider.shutdown()
        tracer_provider.shutdown()


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(items=30)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pipeline's waits (backoff, 420), recorded instead of slept through."""
    waited: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(podiokit._pipeline, "sleep", no_sleep)
    return waited


class Scripted(httpx.AsyncBaseTransport):
    """The emulator's transport, answering first what `script` says for matching requests:
    `script` takes a request and returns a response (or raises) to use instead, or None to
    let the emulator answer."""

    def __init__(self, emulator: Emulator) -> None:
        self._inner = httpx.ASGITransport(app=emulator.app)
        self.script: Callable[[httpx.Request], httpx.Response | None] = lambda request: None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.script(request)
        if answer is not None:
            return answer
        return await self._inner.handle_async_request(request)


@pytest.fixture
def transport(emulator: Emulator) -> Scripted:
    return Scripted(emulator)


def app_of(emulator: Emulator, index: int = 0) -> tuple[int, str]:
    app = emulator.credentials["apps"][index]
    return int(app["app_id"]), str(app["app_token"])


@pytest.fixture
async def podio(emulator: Emulator, transport: Scripted) -> AsyncIterator[Podio]:
    """A `Podio` of the emulator, signed in as its first app (session key "default")."""
    creds = emulator.credentials
    http = httpx.AsyncClient(transport=transport, base_url=creds["api_url"])
    client = Podio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    )
    app_id, app_token = app_of(emulator)
    try:
        await client.authenticate_with_app(app_id, app_token)
        yield client
    finally:
        await client.aclose()
        await http.aclose()
