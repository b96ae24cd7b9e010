"""The sync face: a span current in the calling thread is the parent of the call's span."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from podiokit import SyncPodio
from podiokit.testing import Emulator

from .conftest import Recorded, app_of


@pytest.fixture
def sync_podio(otel: Recorded, emulator: Emulator) -> Iterator[SyncPodio]:
    creds = emulator.credentials
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url=creds["api_url"]
    )
    podio = SyncPodio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    )
    app_id, app_token = app_of(emulator)
    try:
        podio.authenticate_with_app(app_id, app_token)
        yield podio
    finally:
        podio._run(http.aclose())
        podio.close()


def test_the_callers_span_is_the_parent(
    otel: Recorded, sync_podio: SyncPodio, emulator: Emulator
) -> None:
    app_id, _ = app_of(emulator)
    tracer = otel.tracer()
    otel.exporter.clear()
    with tracer.start_as_current_span("script") as parent:
        sync_podio.apps.get(app_id)
        items = list(sync_podio.items.filter(app_id, limit=10))
    assert len(items) == 30
    parent_id = parent.get_span_context().span_id
    calls = [s for s in otel.spans() if s.name.startswith("podio ")]
    assert sorted({s.name for s in calls}) == ["podio apps.get", "podio items.filter"]
    assert len(calls) == 4  # apps.get and three pages
    assert all(s.parent is not None and s.parent.span_id == parent_id for s in calls)


def test_each_thread_has_its_own_parent(
    otel: Recorded, sync_podio: SyncPodio, emulator: Emulator
) -> None:
    app_id, _ = app_of(emulator)
    tracer = otel.tracer()
    otel.exporter.clear()
    parents: dict[str, int] = {}
    errors: list[Exception] = []

    def work(name: str) -> None:
        try:
            with tracer.start_as_current_span(name) as span:
                parents[name] = span.get_span_context().span_id
                for _ in range(3):
                    sync_podio.apps.get(app_id)
        except Exception as exc:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for span_id in parents.values():
        children = [s for s in otel.spans("podio apps.get") if s.parent.span_id == span_id]
        assert len(children) == 3


def test_no_span_in_the_caller_makes_a_root_span(
    otel: Recorded, sync_podio: SyncPodio, emulator: Emulator
) -> None:
    app_id, _ = app_of(emulator)
    with otel.tracer().start_as_current_span("before"):
        sync_podio.apps.get(app_id)
    otel.exporter.clear()
    sync_podio.apps.get(app_id)  # the previous call's context did not stay on the loop
    assert otel.span("podio apps.get").parent is None


def test_a_sync_client_can_be_instrumented_on_its_own(emulator: Emulator) -> None:
    """`SyncPodio(instrument=True)` uses OpenTelemetry's global providers: in a process of
    its own, as the global provider can be set once."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import httpx
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from podiokit import SyncPodio
        from podiokit.testing import Emulator

        emu = Emulator(items=5)
        creds = emu.credentials
        make = lambda: httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
        app = creds["apps"][0]
        plain = SyncPodio(creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=make())
        traced = SyncPodio(creds["client_id"], creds["client_secret"], api_url=creds["api_url"],
                           http_client=make(), instrument=True, session_key="app:1")
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)  # after the client was made: it follows
        for podio in (plain, traced):
            podio.authenticate_with_app(app["app_id"], app["app_token"])
            podio.apps.get(app["app_id"])
        print(sorted(s.name for s in exporter.get_finished_spans()))
        plain.close(); traced.close()
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "['podio apps.get', 'podio authenticate']"
