"""Metrics: operation durations, retries, 420s, refreshes, the rate budget, bulk progress."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from podiokit import Podio, PodioNotFoundError
from podiokit.testing import Emulator

from .conftest import Recorded, Scripted, app_of

pytestmark = pytest.mark.anyio


async def test_the_duration_of_every_operation_is_recorded(
    otel: Recorded, podio: Podio, emulator: Emulator
) -> None:
    app_id, _ = app_of(emulator)
    await podio.apps.get(app_id)
    await podio.apps.get(app_id)
    await podio.items.filter(app_id, limit=1)
    with pytest.raises(PodioNotFoundError):
        await podio.items.get(123456789)
    points = {
        (p.attributes["podio.operation"], p.attributes.get("http.response.status_code"),
         p.attributes.get("error.type")): p
        for p in otel.points("podio.client.operation.duration")
    }  # fmt: skip
    assert points[("apps.get", 200, None)].count == 2
    assert points[("items.filter", 200, None)].count == 1
    assert points[("items.get", 404, "404")].count == 1
    for point in points.values():
        assert point.sum > 0 and point.attributes["podio.session"] == "default"
        assert set(point.attributes) <= {"podio.operation", "http.request.method",
            "podio.session", "http.response.status_code", "error.type"}  # fmt: skip


async def test_the_rate_budget_left_is_a_gauge_per_session_kind_and_pool(
    otel: Recorded, podio: Podio, emulator: Emulator
) -> None:
    app_id, _ = app_of(emulator)
    await podio.apps.get(app_id)  # the general pool
    general = podio.rate_limit
    await podio.items.filter(app_id, limit=1)  # Podio's rate-limited pool
    limited = podio.rate_limit
    assert general.limit != limited.limit
    budget = {
        (p.attributes["podio.session"], p.attributes["podio.rate_limit.limit"]): p.value
        for p in otel.points("podio.client.rate_limit.remaining")
    }
    assert budget[("default", general.limit)] == general.remaining
    assert budget[("default", limited.limit)] == limited.remaining


async def test_420s_and_refreshes_are_counted(
    otel: Recorded,
    podio: Podio,
    emulator: Emulator,
    transport: Scripted,
    waits: list[float],
) -> None:
    app_id, _ = app_of(emulator)
    limited = iter([True, True])

    def rate_limit(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.startswith("/app/") and next(limited, False):
            return httpx.Response(420, headers={"Retry-After": "1"}, json={"error": "rate_limit"})
        return None

    transport.script = rate_limit
    await podio.apps.get(app_id)
    assert otel.total("podio.client.rate_limited", podio__operation="apps.get") == 2
    emulator.expire_tokens()
    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(podio.apps.get, app_id)
    assert otel.total("podio.client.token.refreshes", podio__session="default") == 1


async def test_export_counts_its_items_and_pages_in_one_span(
    otel: Recorded, podio: Podio, emulator: Emulator, tmp_path: Path
) -> None:
    from podiokit.export import export

    app_id, _ = app_of(emulator)
    result = await export(podio, [app_id], tmp_path / "out.jsonl", page_size=10)
    assert result.items == 30
    assert otel.total("podio.export.items") == 30
    assert otel.total("podio.export.pages") >= 3
    job = otel.span("podio export")
    pages = otel.spans("podio items.filter")
    assert pages and all(p.parent is not None and p.parent.span_id == job.context.span_id
                         for p in pages)  # fmt: skip


async def test_mirror_counts_its_items_and_pages(
    otel: Recorded, podio: Podio, emulator: Emulator, tmp_path: Path
) -> None:
    from podiokit.mirror import mirror

    app_id, _ = app_of(emulator)
    await mirror(podio, [app_id], f"sqlite:///{tmp_path / 'm.db'}", page_size=10)
    assert otel.total("podio.mirror.items") == 30
    assert otel.total("podio.mirror.pages") >= 3
    job = otel.span("podio mirror")
    assert any(s.parent and s.parent.span_id == job.context.span_id for s in otel.spans())


async def test_metrics_stay_exact_when_no_trace_is_sampled(emulator: Emulator) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    import podiokit

    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider(sampler=ALWAYS_OFF)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    podiokit.instrument(
        tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader])
    )
    creds = emulator.credentials
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url=creds["api_url"]
    )
    app_id, app_token = app_of(emulator)
    try:
        async with Podio(
            creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
        ) as podio:
            await podio.authenticate_with_app(app_id, app_token)
            for _ in range(3):
                await podio.apps.get(app_id)
            left = podio.rate_limit
    finally:
        podiokit.uninstrument()
        await http.aclose()
    assert spans.get_finished_spans() == ()
    recorded = Recorded(spans, reader, tracer_provider, MeterProvider())
    assert recorded.total("podio.client.operation.duration", podio__operation="apps.get") == 3
    (budget,) = [
        p.value
        for p in recorded.points("podio.client.rate_limit.remaining")
        if p.attributes["podio.rate_limit.limit"] == left.limit
    ]
    assert budget == left.remaining


async def test_metrics_only_records_every_call_and_leaves_the_callers_span_current(
    emulator: Emulator,
) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import NoOpTracerProvider

    import podiokit

    # The application traces with its own provider; podiokit is given metrics only.
    spans = InMemorySpanExporter()
    app_tracing = TracerProvider()
    app_tracing.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    podiokit.instrument(
        tracer_provider=NoOpTracerProvider(), meter_provider=MeterProvider(metric_readers=[reader])
    )
    creds = emulator.credentials
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url=creds["api_url"]
    )
    app_id, app_token = app_of(emulator)
    try:
        async with Podio(
            creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
        ) as podio:
            await podio.authenticate_with_app(app_id, app_token)
            with app_tracing.get_tracer("app").start_as_current_span("handler") as handler:
                await podio.apps.get(app_id)
                with pytest.raises(PodioNotFoundError):
                    await podio.items.get(987654321)
                assert trace.get_current_span() is handler
    finally:
        podiokit.uninstrument()
        await http.aclose()
    assert [s.name for s in spans.get_finished_spans()] == ["handler"]
    recorded = Recorded(spans, reader, app_tracing, MeterProvider())
    assert recorded.total("podio.client.operation.duration", podio__operation="apps.get") == 1
    assert (
        recorded.total(
            "podio.client.operation.duration", podio__operation="items.get", error__type="404"
        )
        == 1
    )
