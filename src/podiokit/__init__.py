"""podiokit: the async-first, typed Python SDK for the Podio API."""

from __future__ import annotations

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
)

__version__ = "0.1.0"

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
    "__version__",
]
