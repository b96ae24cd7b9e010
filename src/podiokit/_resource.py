"""The small interface generated resources and page objects use.

Generated code in `resources/` sees only this module (and `fields.py`, `pagination.py`,
`errors.py`): a `Requester` that sends one request through the pipeline, and helpers that
decode a response into JSON, a model, or bytes. Auth, retries and rate limits stay behind
`Requester._send`.
"""

from __future__ import annotations

import gc
import json as _json
from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias, TypeVar, final, overload

import httpx

from .errors import PodioResponseError

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = [
    "NOT_GIVEN",
    "RAW_REQUEST",
    "APIResource",
    "NotGiven",
    "Operation",
    "Requester",
    "TimeoutArg",
    "decode_json",
    "parse_as",
    "read_bytes",
]

_gc_isenabled, _gc_disable, _gc_enable = gc.isenabled, gc.disable, gc.enable
#: A body this big validates into hundreds of thousands of objects (a page of 500 items of a
#: filter is about 6.6 MB): see `_validate_gc_paused`.
_LARGE_BODY = 1 << 20

T = TypeVar("T")


@final
class NotGiven:
    """The default of a per-call `timeout=`: "use the client's timeout". A sentinel, because
    `timeout=None` means no timeout at all, as in httpx."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        # A copy or a pickle is the module's one instance, so `is NOT_GIVEN` still holds.
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

#: A per-call timeout: seconds, an `httpx.Timeout`, None (no timeout) or NOT_GIVEN (the
#: client's default).
TimeoutArg: TypeAlias = float | httpx.Timeout | NotGiven | None


@final
class Operation:
    """Which Podio operation a request belongs to: `items.get`, `GET`, `/item/{item_id}`.

    Each generated module holds one per operation, built at import, and passes it with every
    call it makes: spans, metrics and log records name the operation and its path template
    (never a path with ids in it) without building a string per call.
    """

    __slots__ = ("area", "method", "name", "span_name", "template")

    def __init__(self, area: str, name: str, method: str, template: str | None) -> None:
        #: Podio's doc area in plural snake case (`items`); "" for a raw `request()`.
        self.area = area
        #: `area.operation` (`items.get`), or "request" for a raw `request()`.
        self.name = f"{area}.{name}" if area else name
        self.method = method
        #: The path template (`/item/{item_id}`); None for a raw `request()`.
        self.template = template
        self.span_name = f"podio {self.name}"

    def __repr__(self) -> str:
        return f"<Operation {self.name} {self.method} {self.template or '-'}>"


#: `podio.request(...)`: any call, whose path is not known to be one operation's.
RAW_REQUEST: Final = Operation("", "request", "", None)


class Requester(Protocol):
    """What a resource needs from the client: one call through the request pipeline.

    `_send` raises the `podiokit.errors` class for any non-2xx status, after refresh,
    retries and rate-limit waits; it returns only successful responses. With `stream=True`
    the response comes back unread: the caller iterates it and must close it. With
    `read_body`, a successful response's body is read by it, within the retries (a body cut
    short is retried). With
    `redirects=True` a redirect comes back too (read), for the caller to follow; with
    `authenticate=False` an absolute URL is fetched without the token (a signed URL on
    another origin) and counts against no rate-limit budget.
    `operation` names the operation the call belongs to (spans, metrics, log records).
    """

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
        stream: bool = False,
        read_body: Callable[[httpx.Response], Awaitable[None]] | None = None,
        redirects: bool = False,
        authenticate: bool = True,
        operation: Operation | None = None,
    ) -> httpx.Response: ...


class APIResource:
    """Base of every generated resource class (`podio.items`, `podio.apps`, ...)."""

    __slots__ = ("_podio",)

    def __init__(self, podio: Requester) -> None:
        self._podio = podio


def _excerpt(response: httpx.Response) -> str:
    text = response.content[:200].decode("utf-8", "replace")
    return text.replace("\n", " ")


def _request_parts(response: httpx.Response) -> tuple[str | None, str | None]:
    try:
        request = response.request
    except RuntimeError:
        return None, None
    return request.method, request.url.path


def decode_json(response: httpx.Response) -> Any:
    """The body as JSON; None for an empty body. A body that is not JSON raises
    `PodioResponseError` with the status and a short excerpt."""
    content = response.content
    if not content.strip():
        return None
    try:
        return _json.loads(content)
    except ValueError:
        method, path = _request_parts(response)
        raise PodioResponseError(
            f"{response.status_code} response is not JSON: {_excerpt(response)!r}",
            status=response.status_code,
            method=method,
            path=path,
        ) from None


@cache
def _validate_json(tp: Any) -> Callable[[bytes], Any]:
    # One TypeAdapter per type, built once: building one costs far more than a validation.
    # pydantic is imported here, not at module level, so `import podiokit` stays light.
    # The core validator's own method is kept: TypeAdapter.validate_json only forwards to it.
    from pydantic import TypeAdapter

    validate: Callable[[bytes], Any] = TypeAdapter(tp).validator.validate_json
    return validate


def _validate_gc_paused(validate: Callable[[bytes], Any], content: bytes) -> Any:
    """`validate(content)` with the cyclic GC paused. A big body builds thousands of objects in
    one go; the collector would walk them again and again as they are made, although none can
    be garbage yet (about 4% of the validation of a 24 KB item). Validation never awaits, so no
    other task runs meanwhile; the GC is left alone when the application has disabled it.

    After a large body (a page of items), what was built is moved straight to the oldest
    generation (`gc.freeze()` then `gc.unfreeze()`: two list splices, no walk). Left young,
    those objects, all alive while the caller reads the page, would be walked by the next
    young collection, again when promoted, and counted towards full collections: more CPU
    than the validation itself for typed iteration over a filter (benchmarks/bench_iterate.py).
    Skipped when the application freezes objects itself (that would unfreeze its own)."""
    if not _gc_isenabled():
        return validate(content)
    _gc_disable()
    try:
        result = validate(content)
        if len(content) >= _LARGE_BODY and gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        return result
    finally:
        _gc_enable()


@overload
def parse_as(response: httpx.Response, tp: type[T]) -> T: ...
@overload
def parse_as(response: httpx.Response, tp: Any) -> Any: ...
def parse_as(response: httpx.Response, tp: Any) -> Any:
    """Validate the JSON body as `tp` (a model, `list[Model]`, ...) straight from bytes."""
    content = response.content
    if not content.strip():
        return None
    validate = _validate_json(tp)
    try:
        return _validate_gc_paused(validate, content)
    except _validation_error() as exc:
        method, path = _request_parts(response)
        kind = "not JSON" if _is_json_error(exc) else f"not a valid {_type_name(tp)}"
        raise PodioResponseError(
            f"{response.status_code} response is {kind}: {_excerpt(response)!r}",
            status=response.status_code,
            method=method,
            path=path,
        ) from None


@cache
def _validation_error() -> type[ValidationError]:
    from pydantic import ValidationError

    return ValidationError


def read_bytes(response: httpx.Response) -> bytes:
    """The raw body, for operations that return a file."""
    return response.content


def _is_json_error(exc: ValidationError) -> bool:
    return any(err.get("type") == "json_invalid" for err in exc.errors())


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp)
