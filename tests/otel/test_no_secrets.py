"""No token, secret, id or item content in any span name, attribute, event, link, status or
metric attribute, whatever the calls did: sign-ins, refreshes, writes, searches, errors."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import anyio
import httpx
import pytest

from podiokit import Podio, PodioError
from podiokit.testing import Emulator

from .conftest import Recorded, app_of

pytestmark = pytest.mark.anyio

MARKER = "Zebra-Quartz-7731"  # item content: titles, values, search text, file names


def _texts(otel: Recorded) -> list[str]:
    """Every string the instrumentation emitted, with where it came from."""
    found: list[str] = []

    def add(where: str, attributes: Any) -> None:
        for key, value in dict(attributes or {}).items():
            values = value if isinstance(value, (list, tuple)) else [value]
            found.extend(f"{where} {key}={v}" for v in values)

    for span in otel.spans():
        found.append(f"name {span.name}")
        found.append(f"status {span.status.description}")
        add(span.name, span.attributes)
        for event in span.events:
            found.append(f"event {event.name}")
            add(event.name, event.attributes)
        for link in span.links:
            add("link", link.attributes)
    data = otel.reader.get_metrics_data()
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.append(f"metric {metric.name}")
                for point in metric.data.data_points:
                    add(metric.name, point.attributes)
    return found


async def test_nothing_sensitive_is_emitted(
    otel: Recorded, emulator: Emulator, waits: list[float]
) -> None:
    creds = emulator.credentials
    app_id, app_token = app_of(emulator, 1)
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url=creds["api_url"]
    )
    tokens: set[str] = set()
    ids: set[int] = set()

    def keep(podio: Podio) -> None:
        token = podio.token
        assert token is not None
        tokens.add(token.access_token)
        if token.refresh_token:
            tokens.add(token.refresh_token)

    async with Podio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    ) as podio:
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
        keep(podio)
        app = podio.session(f"app:{app_id}")
        await app.authenticate_with_app(app_id, app_token)
        keep(app)
        created = await app.items.create(app_id, fields={"title": f"{MARKER} title"})
        ids.add(created.item_id)
        await app.items.update(created.item_id, fields={"title": f"{MARKER} again"})
        emulator.expire_tokens()
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(app.items.get, created.item_id)
        keep(app)
        page = await app.items.filter(app_id, limit=3)
        ids.update(item.item_id for item in page.items)
        for call in (
            app.request("GET", f"/search/app/{app_id}/", params={"query": MARKER}),
            app.items.get(10**9 + 7),
            app.request("POST", f"/item/app/{app_id}/", json={"fields": {"nope": MARKER}}),
            app.files.upload(MARKER.encode(), f"{MARKER}.txt"),
        ):
            with contextlib.suppress(PodioError):
                await call
    await http.aclose()

    secrets = {creds["client_secret"], creds["password"], app_token, *tokens}
    texts = _texts(otel)
    assert len(otel.spans()) >= 10 and any("podio refresh" in t for t in texts)
    for text in texts:
        assert MARKER not in text, text
        assert creds["username"] not in text, text
        for secret in secrets:
            assert secret not in text, text
    # No id in a span name or a template: paths are templates.
    names = [t for t in texts if t.startswith("name ") or "url.template=" in t]
    for name in names:
        assert not re.search(r"\d{3,}", name), name
    for item_id in ids:
        assert not any(re.search(rf"\b{item_id}\b", t) for t in texts)
