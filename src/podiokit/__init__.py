"""podiokit: the async-first, typed Python SDK for the Podio API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._client import Podio
from ._instrument import instrument, uninstrument
from ._ratelimit import RateLimit
from ._resource import NOT_GIVEN, NotGiven
from ._version import __version__
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

if TYPE_CHECKING:
    from .sync import SyncPodio

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
    "SyncPodio",
    "TokenRef",
    "__version__",
    "instrument",
    "uninstrument",
]


def __getattr__(name: str) -> Any:
    # The sync face (its loop thread machinery) loads only for those who use it.
    if name == "SyncPodio":
        from .sync import SyncPodio

        return SyncPodio
    raise AttributeError(f"module 'podiokit' has no attribute {name!r}")
