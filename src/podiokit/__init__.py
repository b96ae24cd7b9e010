"""podiokit: the async-first, typed Python SDK for the Podio API."""

from __future__ import annotations

from ._client import Podio
from ._ratelimit import RateLimit
from ._resource import NOT_GIVEN, NotGiven
from .auth import OAuthToken, TokenRef
from .errors import (
    PodioAuthorizationError,
    PodioBadRequestError,
    PodioConflictError,
    PodioConnectionError,
    PodioError,
    PodioForbiddenError,
    PodioGoneError,
    PodioInvalidGrantError,
    PodioNotFoundError,
    PodioRateLimitError,
    PodioResponseError,
    PodioServerError,
    PodioTimeoutError,
    PodioUnavailableError,
    SessionStoreError,
)
from .fields import FieldValueError
from .sessions import FileSessionStore, MemorySessionStore, SessionStore

__version__ = "0.1.0"

__all__ = [
    "NOT_GIVEN",
    "FieldValueError",
    "FileSessionStore",
    "MemorySessionStore",
    "NotGiven",
    "OAuthToken",
    "Podio",
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
    "RateLimit",
    "SessionStore",
    "SessionStoreError",
    "TokenRef",
    "__version__",
]
