"""A minimal `Requester` for the generated tests: httpx straight to respx, no auth or retries.

It records the flags each call passes (`idempotent`, `rate_limited`) and the operation it
names (name, method, path template) so the tests can assert what the spec says about every
operation.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from podiokit._resource import NOT_GIVEN, Operation, TimeoutArg, decode_json
from podiokit.errors import error_for_status

# Building an SSL context costs more than a mocked request: build one for the whole session.
_SSL = ssl.create_default_context()


class RecordingRequester:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self.flags: list[tuple[bool | None, bool]] = []
        self.operations: list[tuple[str, str, str | None] | None] = []

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: TimeoutArg = NOT_GIVEN,
        idempotent: bool | None = None,
        rate_limited: bool = False,
        max_retries: int | None = None,
        operation: Operation | None = None,
    ) -> httpx.Response:
        self.flags.append((idempotent, rate_limited))
        self.operations.append(
            None if operation is None else (operation.name, operation.method, operation.template)
        )
        response = await self._client.request(
            method,
            path,
            params=params,
            json=json,
            data=data,
            files=files,
            headers=headers,
            timeout=httpx.USE_CLIENT_DEFAULT if timeout is NOT_GIVEN else timeout,
        )
        if response.status_code >= 400:
            raise error_for_status(
                response.status_code, decode_json(response), method=method, path=path
            )
        return response


@pytest.fixture
async def requester() -> AsyncIterator[RecordingRequester]:
    async with httpx.AsyncClient(base_url="https://api.podio.com", verify=_SSL) as client:
        yield RecordingRequester(client)


def as_json(element: Any) -> Any:
    """An element of a page as the JSON it came from (models dumped losslessly)."""
    if hasattr(element, "model_dump"):
        return element.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return element
