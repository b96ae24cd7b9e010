"""pytest plugin (entry point `pytest11`): test your code against the Podio emulator.

    async def test_my_export(podio_client):          # a Podio signed in with the demo app
        page = await podio_client.items.filter(app_id)

    def test_script(podio_sync_client):              # the same, blocking (SyncPodio)
        page = podio_sync_client.items.filter(app_id)

    def test_raw(podio_emulator):                    # the Emulator itself
        app_id = podio_emulator.credentials["apps"][0]["app_id"]

Configure per test with `@pytest.mark.podio_emulator(items=50, refresh="reuse", ...)`
(any `Emulator` option). pytest loads this module in every run, so it imports the emulator
and the SDK only inside the fixtures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from podiokit import Podio, SyncPodio

    from .emulator import Emulator


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "podio_emulator(**options): options for the podio_emulator fixture"
    )


@pytest.fixture
def podio_emulator(request: pytest.FixtureRequest) -> Emulator:
    """A fresh, seeded in-process emulator (`seed="demo"`, 300 items per app)."""
    from .emulator import Emulator

    marker = request.node.get_closest_marker("podio_emulator")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    return Emulator(**options)


@pytest.fixture
async def podio_client(podio_emulator: Emulator) -> AsyncIterator[Podio]:
    """A `Podio` authenticated with the first demo app's token, talking to the emulator
    in process (no socket). Needs an async test (`@pytest.mark.anyio`)."""
    import httpx

    from podiokit import Podio

    creds = podio_emulator.credentials
    transport = httpx.ASGITransport(app=podio_emulator.app)
    http = httpx.AsyncClient(transport=transport, base_url=creds["api_url"])
    podio = Podio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    )
    try:
        app = creds["apps"][0]
        await podio.authenticate_with_app(app["app_id"], app["app_token"])
        yield podio
    finally:
        await podio.aclose()
        await http.aclose()


@pytest.fixture
def podio_sync_client(podio_emulator: Emulator) -> Iterator[SyncPodio]:
    """A `SyncPodio` authenticated with the first demo app's token, talking to the
    emulator in process (no socket). For plain (non-async) tests."""
    import httpx

    from podiokit import SyncPodio

    creds = podio_emulator.credentials
    transport = httpx.ASGITransport(app=podio_emulator.app)
    # Used on the client's loop thread, like any http_client given to SyncPodio.
    http = httpx.AsyncClient(transport=transport, base_url=creds["api_url"])
    podio = SyncPodio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    )
    try:
        app = creds["apps"][0]
        podio.authenticate_with_app(app["app_id"], app["app_token"])
        yield podio
    finally:
        podio._run(http.aclose())
        podio.close()
