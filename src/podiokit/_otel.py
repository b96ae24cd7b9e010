"""podiokit's OpenTelemetry instrumentation: a span and metrics for every Podio operation.

Imported only when instrumentation is turned on (`_instrument.py`): `import podiokit` and a
call made while it is off never load opentelemetry.

- One client span per operation, named for it (`podio items.get`; `podio request` for a raw
  `request()`), with the HTTP client attributes of OpenTelemetry's semantic conventions
  (`http.request.method`, `server.address`, `server.port`, `url.template`,
  `http.response.status_code`, `error.type`, `http.request.resend_count`) and podiokit's
  (`podio.operation`, `podio.area`, `podio.session`, `podio.retries`,
  `podio.rate_limit.remaining`, `podio.rate_limit.limit`). Retries, rate-limit waits and
  pacing are events on it.
- A token refresh is a span of its own (`podio refresh`), the child of the call that
  started it and linked to every call that waited for it; a sign-in is `podio
  authenticate`.
- Nothing that identifies data goes into a name or an attribute: paths are templates, never
  ids; no `url.full` (a query holds search text), no exception message (Podio's may quote a
  value); `podio.session` is the session key's kind (`user`, `app`, `default`), never the
  key, an id or a token.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import Context
from typing import TYPE_CHECKING, Any, Final

import httpx
from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import INVALID_SPAN, Link, SpanKind, Status, StatusCode

from ._resource import RAW_REQUEST, Operation
from ._version import __version__
from .errors import PodioError

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.trace import Span, SpanContext

    from ._pipeline import Caller, Pipeline
    from ._ratelimit import RateLimit, RateLimitState
    from ._refresh import SessionAuth
    from .auth import OAuthToken

__all__ = ["CallTrace", "Telemetry", "carry_context", "log_ids", "session_kind"]

SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.26.0"

# Attribute names (OpenTelemetry's HTTP client conventions, then podiokit's own).
METHOD: Final = "http.request.method"
STATUS: Final = "http.response.status_code"
ERROR: Final = "error.type"
RESEND: Final = "http.request.resend_count"
ADDRESS: Final = "server.address"
PORT: Final = "server.port"
TEMPLATE: Final = "url.template"
OPERATION: Final = "podio.operation"
AREA: Final = "podio.area"
SESSION: Final = "podio.session"
RETRIES: Final = "podio.retries"
REMAINING: Final = "podio.rate_limit.remaining"
LIMIT: Final = "podio.rate_limit.limit"
GRANT: Final = "podio.grant_type"

#: OpenTelemetry's advice for HTTP client durations (seconds), up to Podio's slow filters.
DURATION_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
                           5.0, 7.5, 10.0, 30.0, 60.0)  # fmt: skip

_AUTHENTICATE: Final = Operation("", "authenticate", "POST", "/oauth/token")
_REFRESH: Final = Operation("", "refresh", "POST", "/oauth/token")
_JOBS: Final = ("export", "mirror")
#: At most this many attribute sets are kept for reuse (status codes and errors vary).
_MAX_CACHED: Final = 4096
_ABSOLUTE: Final = ("http://", "https://")
_CLIENT: Final = SpanKind.CLIENT


def session_kind(key: str) -> str:
    """What kind of identity a session key names, never which one: `default`, the prefix of
    `user:42` or `app:7` (lower-case letters only), else `other`."""
    if key == "default":
        return key
    head, colon, _ = key.partition(":")
    if colon and 0 < len(head) <= 16 and head.isalpha() and head.islower() and head.isascii():
        return head
    return "other"


def _server(url: str) -> tuple[str, int]:
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.host, port


def _error_type(exc: BaseException) -> str:
    """`error.type`: the status code of an answer from Podio, else the exception's class."""
    if isinstance(exc, PodioError) and exc.status is not None:
        return str(exc.status)
    return type(exc).__qualname__


class Telemetry:
    """The tracer, the meter's instruments and the state behind the rate-budget gauge."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        self.tracer = trace.get_tracer(
            "podiokit", __version__, tracer_provider=tracer_provider, schema_url=SCHEMA_URL
        )
        #: False with a no-op tracer provider (metrics only): a call then opens no span and
        #: changes no context. (A proxy of the global provider may get an SDK later: traced.)
        self.traced = not isinstance(self.tracer, trace.NoOpTracer)
        meter = metrics.get_meter(
            "podiokit", __version__, meter_provider=meter_provider, schema_url=SCHEMA_URL
        )
        self.duration = meter.create_histogram(
            "podio.client.operation.duration",
            unit="s",
            description="Duration of Podio operations, retries and waits included.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.retries = meter.create_counter(
            "podio.client.retries", unit="{retry}", description="Requests sent again."
        )
        self.rate_limited = meter.create_counter(
            "podio.client.rate_limited",
            unit="{response}",
            description="Answers 420 (or 429): the rate limit was reached.",
        )
        self.refreshes = meter.create_counter(
            "podio.client.token.refreshes", unit="{refresh}", description="Token refreshes."
        )
        self.items = {
            job: meter.create_counter(
                f"podio.{job}.items", unit="{item}", description=f"Items the {job} wrote."
            )
            for job in _JOBS
        }
        self.pages = {
            job: meter.create_counter(
                f"podio.{job}.pages", unit="{page}", description=f"Pages the {job} wrote."
            )
            for job in _JOBS
        }
        #: (session kind, pool limit) -> calls left this hour, as of the latest response.
        self.budget: dict[tuple[str, int], int] = {}
        meter.create_observable_gauge(
            "podio.client.rate_limit.remaining",
            callbacks=[self._observe_budget],
            unit="{call}",
            description="Calls left of the hourly rate budget, per session kind and pool.",
        )
        #: What the calls of one operation share (see `_Call`), by operation, method, session
        #: kind and API URL: built once, then every call starts from it.
        self._calls: dict[tuple[Operation, str, str, str], _Call] = {}
        self._measured: dict[tuple[str, str, str, int | None, str | None], dict[str, Any]] = {}
        self._kinds: dict[str, str] = {}
        self._servers: dict[str, tuple[str, int]] = {}
        self._flights: dict[int, _Flight] = {}

    # -- attributes ----------------------------------------------------------------------

    def _server_of(self, pipeline: Pipeline[Any], path: str) -> tuple[str, int]:
        if path[:1] != "/" and path[:8].lower().startswith(_ABSOLUTE):
            return _server(path)  # a file's link: rare, not cached (the URL names the file)
        url = pipeline.config.api_url
        server = self._servers.get(url)
        if server is None:
            server = self._servers[url] = _server(url)
        return server

    @staticmethod
    def _start_attributes(
        operation: Operation, method: str, server: tuple[str, int], kind: str
    ) -> dict[str, Any]:
        """The attributes a call's span starts with (`_Call` keeps them for reuse)."""
        attributes = {METHOD: method, ADDRESS: server[0], PORT: server[1],
                      OPERATION: operation.name, SESSION: kind}  # fmt: skip
        if operation.area:
            attributes[AREA] = operation.area
        if operation.template is not None:
            attributes[TEMPLATE] = operation.template
        return attributes

    # -- calls ---------------------------------------------------------------------------

    def _kind(self, key: str) -> str:
        kind = self._kinds.get(key)
        if kind is None:
            kind = session_kind(key)
            if len(self._kinds) < _MAX_CACHED:
                self._kinds[key] = kind
        return kind

    def _call(
        self, pipeline: Pipeline[Any], method: str, path: str, op: Operation, kind: str
    ) -> _Call:
        """What every call of `op` by this kind of session shares: looked up once per call,
        built on the first (a file's link, whose URL names its own server, is not cached)."""
        absolute = path[:1] != "/" and path[:8].lower().startswith(_ABSOLUTE)
        key = (op, method, kind, pipeline.config.api_url)
        call = None if absolute else self._calls.get(key)
        if call is None:
            upper = method.upper()
            server = self._server_of(pipeline, path)
            call = _Call(op, upper, kind, self._start_attributes(op, upper, server, kind))
            if not absolute and len(self._calls) < _MAX_CACHED:
                self._calls[key] = call
        return call

    def start(
        self,
        pipeline: Pipeline[Any],
        caller: Caller,
        method: str,
        path: str,
        operation: Operation | None,
    ) -> CallTrace:
        """Open the span of one call, current until `CallTrace.finish`: one lookup of what
        the operation's calls share, the SDK's span started with all of its attributes in
        one mapping, and the span made current (its children: a token refresh, the trace
        ids of log records, spans of an instrumented transport)."""
        key = caller.session_key
        call = self._call(pipeline, method, path, operation or RAW_REQUEST, self._kind(key))
        if self.traced:
            span = self.tracer.start_span(call.span_name, kind=_CLIENT, attributes=call.attributes)
        else:
            span = INVALID_SPAN
        record = CallTrace(self, span, call.operation, call.kind)
        record.method = call.method
        record.call = call
        record.rate = pipeline.rate_limit(key)
        if self.traced:
            record.token = otel_context.attach(trace.set_span_in_context(span))
        record.started = time.perf_counter()
        return record

    def _measured_attributes(
        self, record: CallTrace, error: BaseException | None
    ) -> dict[str, Any]:
        """The duration's attributes; one dict per distinct set, reused (a success's are
        its operation's, by status code)."""
        call = record.call
        if error is None and call is not None:
            measured = call.measured.get(record.status)
            if measured is None:
                measured = {
                    OPERATION: record.operation,
                    METHOD: record.method,
                    SESSION: record.kind,
                }
                if record.status is not None:
                    measured[STATUS] = record.status
                if len(call.measured) < 64:  # status codes are few; never grows without bound
                    call.measured[record.status] = measured
            return measured
        error_type = _error_type(error) if error is not None else None
        key = (record.operation, record.method, record.kind, record.status, error_type)
        measured = self._measured.get(key)
        if measured is None:
            measured = {OPERATION: record.operation, METHOD: record.method, SESSION: record.kind}
            if record.status is not None:
                measured[STATUS] = record.status
            if error_type is not None:
                measured[ERROR] = error_type
            if len(self._measured) < _MAX_CACHED:
                self._measured[key] = measured
        return measured

    def _finish(
        self,
        span: Span,
        record: CallTrace,
        error: BaseException | None,
        budget: RateLimit | None = None,
    ) -> None:
        """The outcome's attributes (status, retries, the rate budget), then the end."""
        if error is not None and isinstance(error, PodioError) and error.status is not None:
            record.status = error.status
        limit = remaining = None
        if budget is not None and record.last is not None:
            # The session's figures after this call (the pipeline read the headers already);
            # the gauge follows them whether or not the span is sampled.
            limit, remaining = budget.limit, budget.remaining
            if limit is not None and remaining is not None:
                self.budget[(record.kind, limit)] = remaining
        if not span.is_recording():  # sampled out: nothing to add
            span.end()
            return
        ending: dict[str, Any] = {RETRIES: record.retries}
        if record.retries:
            ending[RESEND] = record.retries
        if record.status is not None:
            ending[STATUS] = record.status
        if limit is not None:
            ending[LIMIT] = limit
        if remaining is not None:
            ending[REMAINING] = remaining
        if error is not None:
            ending[ERROR] = _error_type(error)
            # The class, never the message: Podio's messages may quote the values sent.
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.set_attributes(ending)
        span.end()

    def _observe_budget(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        return [
            Observation(remaining, {SESSION: kind, LIMIT: limit})
            for (kind, limit), remaining in list(self.budget.items())
        ]

    # -- tokens --------------------------------------------------------------------------

    async def authenticate(
        self, pipeline: Pipeline[Any], key: str, params: Mapping[str, str]
    ) -> OAuthToken:
        """A sign-in (`authenticate_with_*`): one span, `podio authenticate`."""
        with self._token_span(pipeline, _AUTHENTICATE, key, params) as record:
            return await pipeline.grant(key, params, trace=record)

    async def refresh(
        self,
        pipeline: Pipeline[Any],
        caller: Caller,
        auth: SessionAuth,
        failed: OAuthToken | None,
    ) -> OAuthToken:
        """The pipeline's refresh, with the token request as a span of its own linked to
        every call that waited for it (single flight: one refresh, many waiters)."""
        flight = self._flights.get(id(auth))
        if flight is None:
            flight = self._flights[id(auth)] = _Flight()
        waiter = trace.get_current_span().get_span_context()
        if waiter.is_valid:
            flight.waiting.append(waiter)
            if flight.span is not None:
                flight.span.add_link(waiter)
        flight.calls += 1

        async def grant(params: Mapping[str, str]) -> OAuthToken:
            with self._token_span(pipeline, _REFRESH, auth.key, params, flight) as record:
                return await pipeline.grant(auth.key, params, trace=record)

        try:
            return await pipeline.run_refresh(caller, auth, failed, grant)
        finally:
            flight.calls -= 1
            if waiter.is_valid:
                flight.waiting.remove(waiter)
            if not flight.calls:
                del self._flights[id(auth)]

    @contextmanager
    def _token_span(
        self,
        pipeline: Pipeline[Any],
        operation: Operation,
        key: str,
        params: Mapping[str, str],
        flight: _Flight | None = None,
    ) -> Iterator[CallTrace]:
        kind = session_kind(key)
        grant_type = str(params.get("grant_type", ""))
        attributes = self._start_attributes(operation, "POST", self._server_of(pipeline, "/"), kind)
        attributes[GRANT] = grant_type
        links = [Link(c) for c in flight.waiting] if flight is not None else None
        span = self.tracer.start_span(
            operation.span_name, kind=SpanKind.CLIENT, attributes=attributes, links=links
        )
        if flight is not None:
            flight.span = span
        token = otel_context.attach(trace.set_span_in_context(span))
        record = CallTrace(self, span, operation.name, kind)
        error: BaseException | None = None
        try:
            yield record
        except BaseException as exc:
            error = exc
            raise
        finally:
            if flight is not None:
                flight.span = None
            otel_context.detach(token)
            self._finish(span, record, error, pipeline.rate_limit(key).snapshot())
            if operation is _REFRESH:
                counted = {SESSION: kind, GRANT: grant_type}
                if error is not None:
                    counted[ERROR] = _error_type(error)
                self.refreshes.add(1, counted)

    # -- bulk jobs -----------------------------------------------------------------------

    @contextmanager
    def job_span(self, name: str) -> Iterator[None]:
        """The span of one export or mirror run, the parent of its calls."""
        with self.tracer.start_as_current_span(
            f"podio {name}", kind=SpanKind.INTERNAL, attributes={OPERATION: name}
        ):
            yield

    def count_page(self, job: str, items: int) -> None:
        attributes = {OPERATION: job}
        self.pages[job].add(1, attributes)
        if items:
            self.items[job].add(items, attributes)


class _Call:
    """What every call of one operation shares, for one kind of session and server: its
    span's name and start attributes, and its duration's attributes by status code."""

    __slots__ = ("attributes", "kind", "measured", "method", "operation", "span_name")

    def __init__(self, op: Operation, method: str, kind: str, attributes: dict[str, Any]) -> None:
        self.span_name = op.span_name
        self.operation = op.name
        self.method = method
        self.kind = kind
        #: Handed to the SDK as is at every span's start (it copies them, never changes them).
        self.attributes = attributes
        self.measured: dict[int | None, dict[str, Any]] = {}


class _Flight:
    """One session's refresh in flight: the calls waiting, and its span once it asks."""

    __slots__ = ("calls", "span", "waiting")

    def __init__(self) -> None:
        self.calls = 0
        self.waiting: list[SpanContext] = []
        self.span: Span | None = None


class CallTrace:
    """One call's span while the pipeline makes it: responses, retries and waits are
    reported here, and `finish` ends the span and records the duration."""

    __slots__ = ("call", "kind", "last", "method", "operation", "rate", "retries", "span",
                 "started", "status", "telemetry", "token")  # fmt: skip

    def __init__(self, telemetry: Telemetry, span: Span, operation: str, kind: str) -> None:
        self.telemetry = telemetry
        self.span = span
        self.operation = operation
        self.kind = kind
        self.retries = 0
        self.status: int | None = None
        self.last: httpx.Response | None = None
        self.method = ""
        self.rate: RateLimitState | None = None
        self.call: _Call | None = None
        self.token: object = None
        self.started = 0.0

    def finish(self, error: BaseException | None) -> None:
        """The call is over (`error` if it failed): end its span, record its duration."""
        elapsed = time.perf_counter() - self.started
        telemetry = self.telemetry
        if self.token is not None:
            otel_context.detach(self.token)  # type: ignore[arg-type]
        rate = self.rate
        telemetry._finish(self.span, self, error, rate.snapshot() if rate is not None else None)
        telemetry.duration.record(elapsed, telemetry._measured_attributes(self, error))

    def response(self, response: httpx.Response) -> None:
        """A response arrived (any attempt)."""
        self.last = response
        self.status = response.status_code
        if self.status in (420, 429):
            self.telemetry.rate_limited.add(1, {OPERATION: self.operation, SESSION: self.kind})

    def retry(self, attempt: int, reason: str, delay: float) -> None:
        """Attempt `attempt` follows in `delay` seconds, because of `reason` (a status code,
        or the transport error's class)."""
        self.retries += 1
        self.span.add_event(
            "podio.retry",
            {"podio.attempt": attempt, "podio.retry.reason": reason, "podio.wait.seconds": delay},
        )
        self.telemetry.retries.add(
            1, {OPERATION: self.operation, SESSION: self.kind, "podio.retry.reason": reason}
        )

    def rate_limit_wait(self, seconds: float) -> None:
        """Podio answered 420: the call waits `seconds`, then asks again."""
        self.retries += 1
        self.span.add_event("podio.rate_limit.wait", {"podio.wait.seconds": seconds})

    def paced(self, seconds: float) -> None:
        """The call waits `seconds` first, so the hourly budget lasts (`pace=True`)."""
        self.span.add_event("podio.rate_limit.pace", {"podio.wait.seconds": seconds})


def carry_context(target: Context) -> None:
    """Make the current trace context (this thread's) the current one in `target`."""
    target.run(otel_context.attach, otel_context.get_current())


def log_ids() -> tuple[str, str]:
    """The current trace and span ids as log records carry them ("0" outside a span)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return "0", "0"
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
