"""One client span per Podio operation: names, attributes, events, errors, parentage."""

from __future__ import annotations

import anyio
import httpx
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from podiokit import Podio, PodioNotFoundError
from podiokit.testing import Emulator

from .conftest import Recorded, Scripted, app_of

pytestmark = pytest.mark.anyio


async def test_an_operation_is_one_client_span_named_for_it(
    otel: Recorded, podio: Podio, emulator: Emulator
) -> None:
    app_id, _ = app_of(emulator)
    page = await podio.items.filter(app_id, limit=2)
    item_id = page.items[0].item_id
    otel.exporter.clear()

    item = await podio.items.get(item_id)

    (span,) = otel.spans()
    assert span.name == "podio items.get"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes or {})
    assert attributes == {
        "http.request.method": "GET",
        "server.address": "podio.emulator",
        "server.port": 80,
        "url.template": "/item/{item_id}",
        "podio.operation": "items.get",
        "podio.area": "items",
        "podio.session": "default",
        "podio.retries": 0,
        "http.response.status_code": 200,
        "podio.rate_limit.limit": podio.rate_limit.limit,
        "podio.rate_limit.remaining": podio.rate_limit.remaining,
    }
    assert isinstance(attributes["podio.rate_limit.remaining"], int)
    assert item.item_id == item_id
    assert str(item_id) not in span.name


async def test_every_page_of_an_iteration_is_a_span(
    otel: Recorded, podio: Podio, emulator: Emulator
) -> None:
    app_id, _ = app_of(emulator)
    otel.exporter.clear()
    seen = [item async for item in podio.items.filter(app_id, limit=10)]
    assert len(seen) == 30
    spans = otel.spans("podio items.filter")
    assert len(spans) == 3
    assert {s.attributes["url.template"] for s in spans} == {"/item/app/{app_id}/filter/"}
    assert all(s.attributes["http.request.method"] == "POST" for s in spans)


async def test_a_raw_request_has_a_generic_name_and_no_template(
    otel: Recorded, podio: Podio, emulator: Emulator
) -> None:
    app_id, _ = app_of(emulator)
    otel.exporter.clear()
    await podio.request("GET", f"/app/{app_id}")
    (span,) = otel.spans()
    assert span.name == "podio request"
    assert span.attributes["podio.operation"] == "request"
    assert span.attributes["http.request.method"] == "GET"
    assert "url.template" not in span.attributes and "podio.area" not in span.attributes
    assert not any(str(app_id) in str(v) for v in span.attributes.values())


async def test_an_error_answer_sets_error_type_and_status(otel: Recorded, podio: Podio) -> None:
    otel.exporter.clear()
    with pytest.raises(PodioNotFoundError):
        await podio.items.get(987654321)
    (span,) = otel.spans("podio items.get")
    assert span.attributes["error.type"] == "404"
    assert span.attributes["http.response.status_code"] == 404
    assert span.status.status_code is StatusCode.ERROR
    # The class, never Podio's message (it may quote what was sent).
    assert span.status.description == "PodioNotFoundError"


async def test_a_transport_failure_names_its_class(
    otel: Recorded, podio: Podio, transport: Scripted, waits: list[float]
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport.script = refuse
    otel.exporter.clear()
    with pytest.raises(Exception) as caught:
        await podio.items.get(1, max_retries=1)
    assert type(caught.value).__name__ == "PodioConnectionError"
    (span,) = otel.spans("podio items.get")
    assert span.attributes["error.type"] == "PodioConnectionError"
    assert "http.response.status_code" not in span.attributes
    assert span.attributes["podio.retries"] == 1
    (event,) = span.events
    assert event.name == "podio.retry"
    assert event.attributes["podio.retry.reason"] == "PodioConnectionError"


async def test_retries_are_events_and_counted(
    otel: Recorded, podio: Podio, transport: Scripted, waits: list[float], emulator: Emulator
) -> None:
    failures = iter([503, 502])

    def flaky(request: httpx.Request) -> httpx.Response | None:
        status = next(failures, None)
        return None if status is None else httpx.Response(status, json={"error": "unavailable"})

    transport.script = flaky
    app_id, _ = app_of(emulator)
    otel.exporter.clear()
    app = await podio.apps.get(app_id)
    assert app.app_id == app_id
    (span,) = otel.spans("podio apps.get")
    assert span.attributes["podio.retries"] == 2
    assert span.attributes["http.request.resend_count"] == 2
    assert span.attributes["http.response.status_code"] == 200
    events = [(e.name, dict(e.attributes or {})) for e in span.events]
    assert events == [
        ("podio.retry", {"podio.attempt": 1, "podio.retry.reason": "503",
                         "podio.wait.seconds": waits[0]}),
        ("podio.retry", {"podio.attempt": 2, "podio.retry.reason": "502",
                         "podio.wait.seconds": waits[1]}),
    ]  # fmt: skip
    assert otel.total("podio.client.retries", podio__operation="apps.get") == 2
    assert otel.total("podio.client.retries", podio__retry__reason="503") == 1


async def test_a_rate_limit_wait_is_an_event_and_a_420_is_counted(
    otel: Recorded, podio: Podio, transport: Scripted, waits: list[float], emulator: Emulator
) -> None:
    answers = iter([420])

    def limited(request: httpx.Request) -> httpx.Response | None:
        if next(answers, None) is None:
            return None
        return httpx.Response(
            420,
            json={"error": "rate_limit", "error_description": "You have hit the rate limit. Please wait 7 seconds before trying again"},
        )  # fmt: skip

    transport.script = limited
    app_id, _ = app_of(emulator)
    otel.exporter.clear()
    await podio.apps.get(app_id)
    (span,) = otel.spans("podio apps.get")
    assert [e.name for e in span.events] == ["podio.rate_limit.wait"]
    assert span.events[0].attributes["podio.wait.seconds"] == 7.0
    assert waits == [7.0]
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["podio.retries"] == 1
    assert otel.total("podio.client.rate_limited", podio__operation="apps.get") == 1


async def test_a_span_current_in_the_caller_is_the_parent(
    otel: Recorded, podio: Podio, emulator: Emulator
) -> None:
    app_id, _ = app_of(emulator)
    tracer = otel.tracer()
    otel.exporter.clear()
    parents = {}

    async def handler(name: str) -> None:
        with tracer.start_as_current_span(name) as parent:
            parents[name] = parent.get_span_context().span_id
            await podio.apps.get(app_id)
            await podio.items.filter(app_id, limit=1)

    async with anyio.create_task_group() as tg:
        for name in ("a", "b", "c"):
            tg.start_soon(handler, name)
    for name, span_id in parents.items():
        (root,) = otel.spans(name)
        children = [s for s in otel.spans() if s.parent and s.parent.span_id == span_id]
        assert sorted(c.name for c in children) == ["podio apps.get", "podio items.filter"]
        assert all(c.context.trace_id == root.context.trace_id for c in children)
    # Outside any span, a call is a root span: nothing leaked from the handlers.
    otel.exporter.clear()
    await podio.apps.get(app_id)
    assert otel.span("podio apps.get").parent is None


async def test_sessions_report_their_kind_never_their_key(
    otel: Recorded, podio: Podio, emulator: Emulator
) -> None:
    app_id, app_token = app_of(emulator)
    for key, kind in (("app:4711", "app"), ("user:12345", "user"), ("tenant-9:x", "other")):
        view = podio.session(key)
        await view.authenticate_with_app(app_id, app_token)
        otel.exporter.clear()
        await view.apps.get(app_id)
        span = otel.span("podio apps.get")
        assert span.attributes["podio.session"] == kind
        assert key not in str(dict(span.attributes))


async def test_sign_in_is_a_span(otel: Recorded, emulator: Emulator, transport: Scripted) -> None:
    creds = emulator.credentials
    http = httpx.AsyncClient(transport=transport, base_url=creds["api_url"])
    async with Podio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    ) as podio:
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
    await http.aclose()
    span = otel.span("podio authenticate")
    assert span.kind is SpanKind.CLIENT
    assert span.attributes["podio.grant_type"] == "password"
    assert span.attributes["url.template"] == "/oauth/token"
    assert span.attributes["http.response.status_code"] == 200
    assert otel.total("podio.client.token.refreshes") == 0  # a sign-in is not a refresh


async def test_a_refresh_is_its_own_span_linked_to_every_call_that_waited(
    otel: Recorded, podio: Podio, emulator: Emulator
) -> None:
    app_id, _ = app_of(emulator)
    emulator.expire_tokens()
    otel.exporter.clear()
    grants = emulator.stats()["token_grants"].get("refresh_token", 0)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(podio.apps.get, app_id)

    assert emulator.stats()["token_grants"].get("refresh_token", 0) == grants + 1
    refresh = otel.span("podio refresh")
    calls = otel.spans("podio apps.get")
    assert len(calls) == 5
    call_ids = {c.context.span_id for c in calls}
    linked = {link.context.span_id for link in refresh.links}
    assert linked == call_ids  # every call waited for the one refresh
    assert refresh.parent is not None and refresh.parent.span_id in call_ids
    assert refresh.attributes["podio.grant_type"] == "refresh_token"
    assert refresh.attributes["podio.operation"] == "refresh"
    assert otel.total("podio.client.token.refreshes", podio__grant_type="refresh_token") == 1


async def test_a_client_can_opt_out(otel: Recorded, emulator: Emulator) -> None:
    creds = emulator.credentials
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url=creds["api_url"]
    )
    app_id, app_token = app_of(emulator)
    async with Podio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"],
        http_client=http, instrument=False,
    ) as podio:  # fmt: skip
        await podio.authenticate_with_app(app_id, app_token)
        await podio.apps.get(app_id)
    await http.aclose()
    assert otel.spans() == []


async def test_uninstrument_turns_it_off(otel: Recorded, podio: Podio, emulator: Emulator) -> None:
    import podiokit

    app_id, _ = app_of(emulator)
    podiokit.uninstrument()
    otel.exporter.clear()
    await podio.apps.get(app_id)
    assert otel.spans() == []


def test_instrument_takes_a_bool_or_none() -> None:
    with pytest.raises(TypeError, match="instrument must be True, False or None"):
        Podio("id", "secret", instrument="yes")  # type: ignore[arg-type]
