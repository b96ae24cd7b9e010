"""Podio's error envelope (docs/dev/podio-behaviour.md §2.1) and the exception handlers raise to produce it."""

from __future__ import annotations

import json
from typing import Any

from ._common import JSON


class ApiError(Exception):
    """Raised by a handler; the app turns it into Podio's six-key error body."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str,
        *,
        detail: str | None = None,
        parameters: JSON | None = None,
        propagate: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.detail = detail
        self.parameters = parameters or {}
        self.propagate = propagate
        self.headers = headers or {}


def dumps_text(value: Any) -> str:
    """A value as Podio quotes it in an error_description: JSON, never a Python repr."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def not_found(suffix: str = "") -> ApiError:
    # Podio answers unknown routes and missing required parameters alike (§2.2).
    text = "No matching operation could be found."
    return ApiError(404, "not_found", f"{text} {suffix}".strip())


def missing_object(kind: str, object_id: Any) -> ApiError:
    return ApiError(404, "not_found", f"Object not found: {kind} {object_id}", detail=None)


def invalid_value(description: str) -> ApiError:
    return ApiError(400, "invalid_value", description)


def forbidden(description: str = "You do not have the right to do this") -> ApiError:
    return ApiError(403, "forbidden", description, propagate=True)


def envelope(err: ApiError, *, path: str, query: str, method: str) -> bytes:
    """Serialise in the wire order seen in real bodies, with PHP-style escaped slashes."""
    body = {
        "error_parameters": err.parameters,
        "error_detail": err.detail,
        "error_propagate": err.propagate,
        "request": {
            "url": f"http://api.podio.com{path}",
            "query_string": query,
            "method": method.upper(),
        },
        "error_description": err.description,
        "error": err.error,
    }
    return json.dumps(body, separators=(",", ":")).replace("/", "\\/").encode()
