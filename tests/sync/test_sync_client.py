"""SyncPodio against the in-process emulator: typed reads, pages, errors, threads, loops."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import respx

from podiokit import (
    OAuthToken,
    PodioAuthorizationError,
    PodioNotFoundError,
    SyncPodio,
)
from podiokit.models.apps import App
from podiokit.models.items import Item, ItemFilterResult
from podiokit.pagination import SyncPage
from podiokit.testing.emulator import Emulator


def _app_id(emulator: Emulator) -> int:
    return int(emulator.credentials["apps"][0]["app_id"])


def _filter_requests(emulator: Emulator) -> int:
    routes: dict[str, int] = emulator.stats()["routes"]
    return sum(n for route, n in routes.items() if "filter" in route)


def test_typed_reads(podio_sync_client: SyncPodio, podio_emulator: Emulator) -> None:
    app_id = _app_id(podio_emulator)
    app = podio_sync_client.apps.get(app_id)
    assert isinstance(app, App) and app.app_id == app_id
    first = podio_sync_client.items.filter(app_id, limit=1).items[0]
    item = podio_sync_client.items.get(first.item_id)
    assert isinstance(item, Item)
    assert item.item_id == first.item_id and item.title == first.title
    assert podio_sync_client.rate_limit.limit is not None


def test_first_page(podio_sync_client: SyncPodio, podio_emulator: Emulator) -> None:
    page = podio_sync_client.items.filter(_app_id(podio_emulator), limit=7)
    assert isinstance(page, SyncPage)
    assert isinstance(page.page, ItemFilterResult)
    assert len(page.items) == 7 and all(isinstance(i, Item) for i in page.items)
    assert page.total == 300 and page.filtered == 300
    assert _filter_requests(podio_emulator) == 1  # the call itself made the one request


def test_iteration_walks_every_item_page_by_page(
    podio_sync_client: SyncPodio, podio_emulator: Emulator
) -> None:
    app_id = _app_id(podio_emulator)
    ids = [item.item_id for item in podio_sync_client.items.filter(app_id, limit=50)]
    assert len(ids) == 300 and len(set(ids)) == 300
    assert _filter_requests(podio_emulator) == 6  # the first page is reused, not refetched


def test_iteration_without_limit_asks_for_the_largest_page(
    podio_sync_client: SyncPodio, podio_emulator: Emulator
) -> None:
    page = podio_sync_client.items.filter(_app_id(podio_emulator))
    assert len(page.items) == 300  # one page of up to 500
    assert sum(1 for _ in page) == 300
    assert _filter_requests(podio_emulator) == 1


def test_iteration_keeps_one_page_in_memory(
    podio_sync_client: SyncPodio, podio_emulator: Emulator
) -> None:
    page = podio_sync_client.items.filter(_app_id(podio_emulator), limit=100)
    walk = iter(page)
    for _ in range(101):  # into the second page
        next(walk)
    assert page._first is None  # the first page was dropped before the second was fetched
    assert len(page.items) == 100  # and is fetched again when asked for
    assert sum(1 for _ in walk) == 199


def test_errors_are_the_async_face_errors(
    podio_sync_client: SyncPodio, podio_emulator: Emulator
) -> None:
    with pytest.raises(PodioNotFoundError) as info:
        podio_sync_client.items.get(987_654_321)
    assert info.value.status == 404 and info.value.path == "/item/987654321"
    stranger = podio_sync_client.session("nobody")
    with pytest.raises(PodioAuthorizationError, match="not authenticated"):
        stranger.items.get(1)


def test_request_and_sessions(podio_sync_client: SyncPodio, podio_emulator: Emulator) -> None:
    app_id = _app_id(podio_emulator)
    body: Any = podio_sync_client.request("GET", f"/app/{app_id}")
    assert body["app_id"] == app_id
    view = podio_sync_client.session("other")
    assert view.session_key == "other" and view.token is None
    creds = podio_emulator.credentials["apps"][0]
    token = view.authenticate_with_app(creds["app_id"], creds["app_token"])
    assert isinstance(token, OAuthToken) and view.is_authenticated()
    view.close()  # a view owns nothing: the client goes on working
    assert podio_sync_client.apps.get(app_id).app_id == app_id


def test_eight_threads_across_expiry_make_one_refresh(
    podio_sync_client: SyncPodio, podio_emulator: Emulator
) -> None:
    app_id = _app_id(podio_emulator)
    item_id = podio_sync_client.items.filter(app_id, limit=1).items[0].item_id
    before = podio_emulator.stats()["token_grants"].get("refresh_token", 0)
    podio_emulator.expire_tokens()
    start = threading.Barrier(8)

    def worker() -> int:
        start.wait()  # all 8 calls go out together, each with the expired token
        return podio_sync_client.items.get(item_id).item_id

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(worker) for _ in range(8)]
        results = [f.result(timeout=30) for f in futures]
    assert results == [item_id] * 8
    assert podio_emulator.stats()["token_grants"].get("refresh_token", 0) - before == 1


def test_works_inside_a_running_asyncio_loop(
    podio_sync_client: SyncPodio, podio_emulator: Emulator
) -> None:
    app_id = _app_id(podio_emulator)

    async def notebook_cell() -> int:
        # A sync call inside a running loop (a notebook cell, a sync callback in an async
        # framework): it blocks this loop for the call and returns.
        return podio_sync_client.apps.get(app_id).app_id

    assert asyncio.run(notebook_cell()) == app_id


def test_works_inside_a_running_trio_loop(
    podio_sync_client: SyncPodio, podio_emulator: Emulator
) -> None:
    trio = pytest.importorskip("trio")
    app_id = _app_id(podio_emulator)

    async def callback() -> int:
        return sum(1 for _ in podio_sync_client.items.filter(app_id, limit=100))

    assert trio.run(callback) == 300


@pytest.mark.anyio
async def test_made_and_used_inside_async_code(podio_emulator: Emulator) -> None:
    """Built and called from async code under asyncio and trio (a sync helper called from
    async code): the engine's tasks must not inherit the caller's context, which tells anyio
    which library is running, onto the client's own asyncio loop."""
    creds = podio_emulator.credentials
    app = creds["apps"][0]
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=podio_emulator.app), base_url=creds["api_url"]
    )
    with SyncPodio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    ) as podio:
        podio.authenticate_with_app(app["app_id"], app["app_token"])
        assert podio.apps.get(app["app_id"]).app_id == app["app_id"]


def test_closed_client_refuses_calls(podio_emulator: Emulator) -> None:
    creds = podio_emulator.credentials
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=podio_emulator.app))
    with SyncPodio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    ) as podio:
        podio.authenticate_with_app(creds["apps"][0]["app_id"], creds["apps"][0]["app_token"])
        thread = podio._runner._thread
    assert podio.closed and not thread.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        podio.apps.get(1)
    podio.close()  # twice is fine


def test_client_side_flow_calls_the_sync_hook_in_a_worker_thread() -> None:
    seen: list[tuple[str, bool]] = []

    def reauth(client: SyncPodio) -> None:
        seen.append((client.session_key, threading.current_thread() is threading.main_thread()))
        client.authenticate_with_fragment("#access_token=second&expires_in=3600")

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") == "OAuth2 second":
            return httpx.Response(200, json={"item_id": 1})
        return httpx.Response(
            401,
            json={"error": "unauthorized", "error_description": "expired_token"},
            headers={"WWW-Authenticate": 'Bearer realm="podio", error="expired_token"'},
        )

    with respx.mock(base_url="https://api.podio.com", assert_all_called=False) as api:
        token_route = api.post("/oauth/token")
        api.get("/item/1").mock(side_effect=answer)
        with SyncPodio("cid", None, on_token_will_refresh=reauth) as podio:
            podio.authenticate_with_fragment("#access_token=first&expires_in=1&refresh_token=r")
            assert podio.request("GET", "/item/1") == {"item_id": 1}
    assert seen == [("default", False)]
    assert token_route.call_count == 0


def test_repr_shows_no_secret(podio_sync_client: SyncPodio) -> None:
    text = repr(podio_sync_client)
    assert text.startswith("SyncPodio(") and "secret" not in text
    token = podio_sync_client.token
    assert token is not None and token.access_token not in text


def test_a_session_view_keeps_its_client_alive(podio_emulator: Emulator) -> None:
    creds = podio_emulator.credentials
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=podio_emulator.app))
    view = SyncPodio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    ).session("app")  # the client itself is dropped at once
    gc.collect()
    app = creds["apps"][0]
    view.authenticate_with_app(app["app_id"], app["app_token"])
    assert view.apps.get(app["app_id"]).app_id == app["app_id"]
    runner = view._runner
    del view
    gc.collect()  # now nothing holds the client: it is closed, its thread stopped
    assert runner.closed and not runner._thread.is_alive()


def test_iterate_drives_an_async_iterator_and_closes_it_when_stopped_early(
    podio_sync_client: SyncPodio,
) -> None:
    # What files.stream becomes on the sync face: a plain iterator, closed on the loop.
    closed: list[bool] = []

    async def chunks() -> AsyncIterator[bytes]:
        try:
            for i in range(5):
                await asyncio.sleep(0)  # runs on the client's loop, not the caller's thread
                yield bytes([i])
        finally:
            closed.append(True)

    assert list(podio_sync_client._iterate(chunks())) == [bytes([i]) for i in range(5)]
    assert closed == [True]
    walk = podio_sync_client._iterate(chunks())
    assert next(walk) == b"\x00"
    walk.close()  # stopping early
    assert closed == [True, True]
