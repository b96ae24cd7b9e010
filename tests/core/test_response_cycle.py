"""Every response the pipeline reads is freed by reference counting alone: httpx 0.28 keeps a
read response in a cycle with its stream, which only the cyclic GC would collect."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from podiokit import Podio
from podiokit.errors import PodioNotFoundError

from .conftest import API, SECRET, token_body

BIG = b'{"items": "' + b"x" * 1_000_000 + b'"}'


def _handler(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/oauth/token":
        return httpx.Response(200, json=token_body("acc-1"))
    if request.url.path == "/missing":
        return httpx.Response(404, json={"error": "not_found", "error_description": "gone"})
    return httpx.Response(200, content=BIG, headers={"Content-Type": "application/json"})


class _Spy(httpx.AsyncClient):
    """Records a weak reference to every response it hands out."""

    def __init__(self) -> None:
        super().__init__(transport=httpx.MockTransport(_handler), base_url=API)
        self.responses: list[weakref.ref[httpx.Response]] = []

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = await super().send(request, **kwargs)
        self.responses.append(weakref.ref(response))
        return response


@pytest.fixture
def no_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.anyio
async def test_read_responses_are_freed_without_the_cyclic_gc(no_gc: None) -> None:
    http = _Spy()
    podio = Podio("client", SECRET, http_client=http)
    try:
        await podio.authenticate_with_app(1, "app-token")  # the token endpoint's response
        body = await podio.request("GET", "/big")  # a 1 MB body
        assert len(body["items"]) == 1_000_000
        del body
        with pytest.raises(PodioNotFoundError):
            await podio.request("GET", "/missing")  # an error response
        assert len(http.responses) == 3
        alive = [i for i, ref in enumerate(http.responses) if ref() is not None]
        assert alive == [], f"responses {alive} are kept alive by a reference cycle"
    finally:
        await podio.aclose()
        await http.aclose()


@pytest.mark.anyio
async def test_a_streamed_response_is_left_to_its_reader(no_gc: None) -> None:
    http = _Spy()
    podio = Podio("client", SECRET, http_client=http)
    try:
        await podio.authenticate_with_app(1, "app-token")
        response = await podio._send("GET", "/big", stream=True)
        # Unread: the stream is the caller's to iterate, so the pipeline left it alone.
        chunks = [chunk async for chunk in response.aiter_bytes()]
        assert b"".join(chunks) == BIG
        await response.aclose()
    finally:
        await podio.aclose()
        await http.aclose()
