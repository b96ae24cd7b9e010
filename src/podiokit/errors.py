"""The exception hierarchy: podio-js's names, one class per status, all under `PodioError`.

Every error carries what Podio said (`error`, `error_description`, `error_detail`,
`error_parameters`) and where (`method`, `path`), and never a token or a secret: the
path is stored without its query string and messages are built only from these fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "PodioAuthorizationError",
    "PodioBadRequestError",
    "PodioConflictError",
    "PodioConnectionError",
    "PodioError",
    "PodioForbiddenError",
    "PodioGoneError",
    "PodioInvalidGrantError",
    "PodioNotFoundError",
    "PodioRateLimitError",
    "PodioResponseError",
    "PodioServerError",
    "PodioTimeoutError",
    "PodioUnavailableError",
    "SessionStoreError",
    "error_for_status",
]

_WAIT_RE = re.compile(r"wait\s+(\d+)\s+seconds?", re.IGNORECASE)


def wait_hint(description: str | None) -> float | None:
    """The N of Podio's 420 "Please wait N seconds" (it sends no Retry-After header)."""
    found = _WAIT_RE.search(description) if description else None
    return float(found.group(1)) if found else None


class PodioError(Exception):
    """Base class of every error podiokit raises.

    Attributes mirror Podio's error envelope; any may be None when the server sent no JSON
    (an HTML 502 from the load balancer, a dropped connection).
    """

    status: int | None
    error: str | None
    error_description: str | None
    error_detail: str | None
    error_parameters: dict[str, Any]
    error_propagate: bool | None
    method: str | None
    path: str | None

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        error: str | None = None,
        error_description: str | None = None,
        error_detail: str | None = None,
        error_parameters: Mapping[str, Any] | None = None,
        error_propagate: bool | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.error_description = error_description
        self.error_detail = error_detail
        self.error_parameters = dict(error_parameters or {})
        self.error_propagate = error_propagate
        self.method = method
        # Never keep a query string: it is the one place a careless caller could put a token.
        self.path = path.split("?", 1)[0] if path else path
        self.message = message or self._default_message()
        super().__init__(self.message)

    def _default_message(self) -> str:
        parts: list[str] = []
        if self.status is not None:
            parts.append(str(self.status))
        if self.error:
            parts.append(self.error)
        if self.error_description and self.error_description != self.error:
            parts.append(f"({self.error_description})")
        if self.method and self.path:
            parts.append(f"on {self.method} {self.path}")
        return " ".join(parts) or self.__class__.__name__

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(status={self.status!r}, error={self.error!r}, "
            f"error_description={self.error_description!r}, method={self.method!r}, "
            f"path={self.path!r})"
        )


class PodioBadRequestError(PodioError):
    """400: Podio rejected the request (`invalid_value`, a bad parameter ...)."""


class PodioInvalidGrantError(PodioBadRequestError):
    """400 `invalid_grant`: wrong credentials, or a refresh token that is dead."""


class PodioAuthorizationError(PodioError):
    """401, a refused authorization redirect, or a session left without a usable token."""


class PodioForbiddenError(PodioError):
    """403."""


class PodioNotFoundError(PodioError):
    """404: no such object, or Podio's "No matching operation could be found"."""


class PodioConflictError(PodioError):
    """409: e.g. an item update with a stale `revision`."""


class PodioGoneError(PodioError):
    """410: the object was deleted."""


class PodioRateLimitError(PodioError):
    """420 (Podio's rate limit) and 429. `retry_after` is the wait Podio asked for, in seconds."""

    retry_after: float | None

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        retry_after = kwargs.pop("retry_after", None)
        super().__init__(message, **kwargs)
        if retry_after is None:
            retry_after = wait_hint(self.error_description)
        self.retry_after = retry_after


class PodioServerError(PodioError):
    """500."""


class PodioUnavailableError(PodioError):
    """502, 503, 504: Podio or its front end is unavailable."""


class PodioConnectionError(PodioError):
    """The connection failed or dropped before a response arrived."""


class PodioTimeoutError(PodioConnectionError):
    """No response within the timeout."""


class PodioResponseError(PodioError):
    """A 2xx whose body is not what the operation returns (not JSON, or not the model)."""


class SessionStoreError(PodioError):
    """A session store cannot be used: its file is corrupt, unreadable, a directory or
    read-only (on write), a stored token is malformed, or the store cannot run in this event
    loop (Redis under trio). `location` names the file (or Redis key); the message never
    shows a token."""

    location: str | None

    def __init__(self, message: str, *, location: str | None = None) -> None:
        super().__init__(message)
        self.location = location

    def __repr__(self) -> str:
        return f"SessionStoreError({self.message!r}, location={self.location!r})"


_BY_STATUS: dict[int, type[PodioError]] = {
    400: PodioBadRequestError,
    401: PodioAuthorizationError,
    403: PodioForbiddenError,
    404: PodioNotFoundError,
    409: PodioConflictError,
    410: PodioGoneError,
    420: PodioRateLimitError,
    429: PodioRateLimitError,
    500: PodioServerError,
    502: PodioUnavailableError,
    503: PodioUnavailableError,
    504: PodioUnavailableError,
}


def error_for_status(
    status: int,
    body: Any,
    *,
    method: str | None = None,
    path: str | None = None,
    retry_after: float | None = None,
) -> PodioError:
    """Build the error for a non-2xx response; `body` is the decoded JSON or None."""
    envelope: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    error = _str_or_none(envelope.get("error"))
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = PodioServerError if status >= 500 else PodioError
    if status == 400 and error == "invalid_grant":
        cls = PodioInvalidGrantError
    params = envelope.get("error_parameters")
    kwargs: dict[str, Any] = {
        "status": status,
        "error": error,
        "error_description": _str_or_none(envelope.get("error_description")),
        "error_detail": _str_or_none(envelope.get("error_detail")),
        "error_parameters": params if isinstance(params, Mapping) else None,
        "error_propagate": envelope.get("error_propagate")
        if isinstance(envelope.get("error_propagate"), bool)
        else None,
        "method": method,
        "path": path,
    }
    if cls is PodioRateLimitError:
        kwargs["retry_after"] = retry_after
    return cls(**kwargs)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
