"""What a call's span and duration start from is built once per operation and reused: each
call's attributes must still be its own (its session kind, its server, its outcome)."""

from __future__ import annotations

import httpx
import pytest

from podiokit import Podio, PodioNotFoundError
from podiokit.testing import Emulator

from .conftest import Recorded, Scripted, app_of

pytestmark = pytest.mark.anyio


async def test_an_outcome_never_leaks_into_the_next_call_of_the_operation(
    otel: Recorded, podio: Podio, transport: Scripted, emulator: Emulator
) -> None:
    app_id, _ = app_of(emulator)
    await podio.apps.get(app_id)
    transport.script = lambda request: httpx.Response(404, json={"error": "not_found"})
    with pytest.raises(PodioNotFoundError):
        await podio.apps.get(app_id)
    transport.script = lambda request: None
    otel.exporter.clear()

    await podio.apps.get(app_id)

    (span,) = otel.spans("podio apps.get")
    assert span.attributes["http.response.status_code"] == 200
    assert "error.type" not in span.attributes
    assert span.attributes["podio.retries"] == 0
    points = {
        (p.attributes.get("http.response.status_code"), p.attributes.get("error.type")): p.count
        for p in otel.points("podio.client.operation.duration")
        if p.attributes["podio.operation"] == "apps.get"
    }
    assert points == {(200, None): 2, (404, "404"): 1}


async def test_each_client_names_its_own_server(otel: Recorded, emulator: Emulator) -> None:
    app_id, app_token = app_of(emulator)
    creds = emulator.credentials
    seen = []
    for api_url in (creds["api_url"], "http://mirror.podio.test:8080"):
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator.app))
        async with Podio(
            creds["client_id"], creds["client_secret"], api_url=api_url, http_client=http
        ) as podio:
            await podio.authenticate_with_app(app_id, app_token)
            otel.exporter.clear()
            await podio.apps.get(app_id)
        await http.aclose()
        span = otel.span("podio apps.get")
        seen.append((span.attributes["server.address"], span.attributes["server.port"]))
    assert seen == [("podio.emulator", 80), ("mirror.podio.test", 8080)]


async def test_a_files_link_names_its_host_and_the_next_call_the_api(
    otel: Recorded, podio: Podio, transport: Scripted, emulator: Emulator
) -> None:
    app_id, _ = app_of(emulator)
    transport.script = lambda request: (
        httpx.Response(200, json={"ok": True}) if request.url.host == "files.podio.com" else None
    )
    otel.exporter.clear()

    await podio.request("GET", "https://files.podio.com/123456")
    await podio.request("GET", f"/app/{app_id}")

    first, second = otel.spans("podio request")
    assert (first.attributes["server.address"], first.attributes["server.port"]) == (
        "files.podio.com",
        443,
    )
    assert second.attributes["server.address"] == "podio.emulator"
    # The link (which names the file) is never an attribute.
    assert not any("123456" in str(v) for v in first.attributes.values())


async def test_session_kinds_keep_their_own_attributes_across_calls(
    otel: Recorded, podio: Podio, emulator: Emulator
) -> None:
    app_id, app_token = app_of(emulator)
    views = {"app": podio.session("app:1"), "user": podio.session("user:2")}
    for view in views.values():
        await view.authenticate_with_app(app_id, app_token)
    otel.exporter.clear()

    for _ in range(2):  # the second round reuses what the first built
        for view in (views["app"], podio, views["user"]):
            await view.apps.get(app_id)

    kinds = [s.attributes["podio.session"] for s in otel.spans("podio apps.get")]
    assert kinds == ["app", "default", "user"] * 2
    sessions = {
        p.attributes["podio.session"]: p.count
        for p in otel.points("podio.client.operation.duration")
        if p.attributes["podio.operation"] == "apps.get"
    }
    assert sessions["app"] == 2 and sessions["user"] == 2
