"""Fixtures for the core tests: a respx-mocked Podio API and token bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import respx

API = "https://api.podio.com"
SECRET = "s3cr3t-client-secret"


def token_body(
    access: str,
    refresh: str | None = "refresh-1",
    *,
    expires_in: int = 28800,
    ref_type: str = "user",
    ref_id: int = 7,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": expires_in,
        "scope": "global:all",
        "ref": {"type": ref_type, "id": ref_id},
    }
    if refresh is not None:
        body["refresh_token"] = refresh
    return body


def error_body(
    status_error: str, description: str, *, method: str = "GET", path: str = "/item/1"
) -> dict[str, Any]:
    return {
        "error_parameters": {},
        "error_detail": None,
        "error_propagate": False,
        "request": {"url": f"http://api.podio.com{path}", "query_string": "", "method": method},
        "error_description": description,
        "error": status_error,
    }


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        yield router
