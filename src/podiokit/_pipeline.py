"""The request pipeline: auth header, send, retry with backoff, rate limits, errors.

One `Pipeline` is shared by a client and every session view made from it (one connection
pool, one store, one concurrency limit); per-key state (token, rate-limit figures) lives in
dicts keyed by the session key. Of the client making a call it needs only the `Caller`
protocol: the session key it acts as (the client itself is only handed to
`on_token_will_refresh`).
"""

from __future__ import annotations

import json as _json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import anyio
import httpx

from . import _defaults, _instrument, _logging, _options, _refresh
from ._loop_local import LoopLocal
from ._ratelimit import RateLimitState, _Pool, operation_key
from ._resource import NOT_GIVEN, RAW_REQUEST, NotGiven, Operation, TimeoutArg
from ._retry import IDEMPOTENT_METHODS, RETRY_STATUSES, backoff, never_sent
from .auth import OAuthToken, secret
from .errors import (
    PodioAuthorizationError,
    PodioConnectionError,
    PodioError,
    PodioRateLimitError,
    PodioTimeoutError,
    error_for_status,
    wait_hint,
)
from .fields import json_default
from .sessions._base import SharedRateLimits

if TYPE_CHECKING:
    from ._otel import CallTrace, Telemetry
    from .sessions import SessionStore

__all__ = ["Caller", "Config", "Pipeline"]

logger = _logging.logger
#: httpx's logger: podiokit's direct path logs the line httpx's client would.
_httpx_logger = logging.getLogger("httpx")

_JSON_HEADERS = {"Content-Type": "application/json"}
_TOKEN_PATH = "/oauth/token"
_TOKEN_OPERATION = operation_key("POST", _TOKEN_PATH)
#: The shared store's record of a 420's pause, which holds for every budget of a session.
_SESSION_PAUSE = "pause"
#: Answers a caller may ask to get back instead of an error (`send(redirects=True)`).
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

#: Every wait of the pipeline (backoff, 420 hints, pacing) goes through here; tests replace it.
sleep = anyio.sleep


class Caller(Protocol):
    """What the pipeline needs of the client a call is made with (`Podio`)."""

    @property
    def session_key(self) -> str: ...


#: The client type: the pipeline hands it, untouched, to `on_token_will_refresh`.
C = TypeVar("C", bound=Caller)


@dataclass(frozen=True)
class Config:
    api_url: str
    auth_url: str
    client_id: str
    #: Kept out of the repr: a traceback that prints locals must not show it.
    client_secret: str | None = field(repr=False)
    max_retries: int
    backoff_base: float
    backoff_cap: float
    rate_limit_wait: float
    pace: bool
    pace_threshold: float
    max_concurrency: int | None


class Pipeline(Generic[C]):
    def __init__(
        self,
        config: Config,
        http: httpx.AsyncClient,
        *,
        owns_http: bool,
        store: SessionStore,
        on_token_will_refresh: _refresh.OnRefresh[C] | None,
        direct: httpx.AsyncBaseTransport | None = None,
        instrument: bool | None = None,
    ) -> None:
        self.config = config
        #: OpenTelemetry (`_otel.py`): None follows `podiokit.instrument()`, True always
        #: (the global providers unless `instrument()` named others), False never.
        self.instrument = instrument
        self._telemetry = _instrument.client_telemetry() if instrument else None
        self.http = http
        # podiokit's own client, with nothing the client layer would add (no proxy, hooks,
        # auth, cookies or redirects to follow): requests go straight to its transport,
        # skipping the client layer's CPU (benchmarks/bench_cpu64.py measures it).
        self._direct = direct
        self.owns_http = owns_http
        self.store = store
        self.on_token_will_refresh = on_token_will_refresh
        self.sessions: dict[str, _refresh.SessionAuth] = {}
        self.rate_limits: dict[str, RateLimitState] = {}
        limit = config.max_concurrency
        self._limiter: LoopLocal[anyio.Semaphore] | None = (
            LoopLocal(lambda: anyio.Semaphore(limit)) if limit else None
        )
        # A store that shares the rate-limit figures (Redis): processes acting as the same
        # identity pace and wait together. Asked only near the threshold (see _share_band):
        # far from it every process reads the shared figure in Podio's own headers already.
        self._shared: SharedRateLimits | None = (
            store if isinstance(store, SharedRateLimits) else None
        )
        self._share_band = min(1.0, max(2 * config.pace_threshold, _defaults.MIN_SHARE_BAND))
        self._token_url = config.api_url + _TOKEN_PATH
        api = httpx.URL(config.api_url)
        # The one origin the token may go to over plain http: an http api_url the user
        # configured (the emulator's), exactly that scheme, host and port.
        self._api_origin = (api.scheme, api.host, api.port)

    # -- per-key state -------------------------------------------------------------------

    def session_auth(self, key: str) -> _refresh.SessionAuth:
        state = self.sessions.get(key)
        if state is None:
            state = self.sessions[key] = _refresh.SessionAuth(key)
        return state

    def rate_limit(self, key: str) -> RateLimitState:
        state = self.rate_limits.get(key)
        if state is None:
            state = self.rate_limits[key] = RateLimitState()
        return state

    # -- authenticated calls -------------------------------------------------------------

    def telemetry(self) -> Telemetry | None:
        """The instrumentation of this client's calls now, or None (the usual case)."""
        if self.instrument is False:
            return None
        return _instrument.active or self._telemetry

    async def send(
        self,
        caller: C,
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
        read_body: BodyReader | None = None,
        redirects: bool = False,
        authenticate: bool = True,
        operation: Operation | None = None,
    ) -> httpx.Response:
        """One call of `operation` (see `_call`), named in log records and, when
        instrumentation is on, traced as one span and measured."""
        named = _logging.operation.set(operation or RAW_REQUEST)
        trace = None
        try:
            telemetry = self.telemetry()
            if telemetry is not None:
                trace = telemetry.start(self, caller, method, path, operation)
            response = await self._call(
                caller, method, path, params=params, json=json, data=data, files=files,
                headers=headers, timeout=timeout, idempotent=idempotent,
                rate_limited=rate_limited, max_retries=max_retries, stream=stream,
                read_body=read_body, redirects=redirects, authenticate=authenticate,
                trace=trace,
            )  # fmt: skip
        except BaseException as exc:
            if trace is not None:
                trace.finish(exc)
            raise
        finally:
            _logging.operation.reset(named)
        if trace is not None:
            trace.finish(None)
        return response

    async def _call(
        self,
        caller: C,
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
        read_body: BodyReader | None = None,
        redirects: bool = False,
        authenticate: bool = True,
        trace: CallTrace | None = None,
    ) -> httpx.Response:
        """One call. With `stream=True` a successful response comes back unread (the caller
        iterates and closes it: file downloads); error responses are always read. With
        `read_body`, a successful response's body is read by it instead of into
        `response.content`, within the retries (a body cut short is retried like any
        dropped connection): the exporter reads pages into buffers it reuses.

        With `redirects=True` a redirect (301, 302, 303, 307, 308) is returned, read, for
        the caller to follow. With `authenticate=False` the call goes to an absolute URL
        without the token, and counts against no rate-limit budget: a signed URL on another
        origin (a file link's redirect, _files.py)."""
        key = caller.session_key
        method = method.upper()
        if max_retries is not None:
            _options.count("max_retries", max_retries)
        if not authenticate:
            return await self._send_plain(
                key, method, path, params=params, headers=headers, timeout=timeout,
                max_retries=self.config.max_retries if max_retries is None else max_retries,
                stream=stream, read_body=read_body, redirects=redirects,
            )  # fmt: skip
        # Before the token is loaded: a URL that may not carry it fails without a request.
        url, path = self._url(path)
        auth = self.session_auth(key)
        token = await _refresh.load(auth, self.store)
        if token is None:
            raise PodioAuthorizationError(
                "not authenticated: call one of the authenticate_with_* methods first",
                method=method,
                path=path,
            )
        content = None
        extra_headers = dict(headers) if headers else {}
        if json is not None:
            # Encoded once: retries and the replay after a refresh resend the same bytes.
            # Dates, datetimes and Decimals take the forms item fields use (fields.py).
            content = _json.dumps(json, separators=(",", ":"), default=json_default).encode()
            extra_headers.update(_JSON_HEADERS)
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        operation = operation_key(method, path)
        sent: list[OAuthToken] = [token]

        async def authorize(request_headers: dict[str, str]) -> None:
            # Before every attempt, not once per call: a retry after a backoff or a 420 wait
            # must not go out with a token that expired (or was refreshed) meanwhile.
            current = auth.token or sent[0]
            if current.is_expired or current.dead:
                current = await self.refresh(caller, auth, current)
            request_headers["Authorization"] = auth.auth_header or f"OAuth2 {current.access_token}"
            sent[0] = current

        replayed = False
        while True:
            response = await self._send_with_retries(
                key,
                method,
                url,
                path,
                params=params,
                content=content,
                data=data,
                files=files,
                headers=extra_headers,
                timeout=timeout,
                idempotent=idempotent,
                max_retries=self.config.max_retries if max_retries is None else max_retries,
                authorize=authorize,
                rate_limited=rate_limited,
                operation=operation,
                stream=stream,
                read_body=read_body,
                trace=trace,
            )
            status = response.status_code
            if status < 300 or (redirects and status in REDIRECT_STATUSES):
                return response
            body = _error_body(response)
            if status in (400, 401) and not replayed and _is_token_failure(status, body, response):
                replayed = True
                await self.refresh(caller, auth, sent[0])
                continue
            retry_after = _rate_limit_wait(response) if status in (420, 429) else None
            raise error_for_status(status, body, method=method, path=path, retry_after=retry_after)

    async def _send_plain(
        self,
        key: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        timeout: TimeoutArg,
        max_retries: int,
        stream: bool,
        read_body: BodyReader | None,
        redirects: bool,
    ) -> httpx.Response:
        """`send(authenticate=False)`: no token, no budget; retries as an idempotent call."""
        target = httpx.URL(url)
        if target.scheme not in ("http", "https") or not target.host:
            raise ValueError(f"an unauthenticated call needs an absolute http(s) URL, not {url!r}")
        plain = {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}
        response = await self._send_with_retries(
            key, method, url, target.path, params=params, content=None, data=None,
            files=None, headers=plain, timeout=timeout, idempotent=method in IDEMPOTENT_METHODS,
            max_retries=max_retries, stream=stream, read_body=read_body, metered=False,
        )  # fmt: skip
        status = response.status_code
        if status < 300 or (redirects and status in REDIRECT_STATUSES):
            return response
        raise error_for_status(status, _error_body(response), method=method, path=target.path)

    def _url(self, path: str) -> tuple[str, str]:
        """The absolute URL and the path to report. Absolute URLs (a file's `link` on
        files.podio.com) carry the token, so they must be https on Podio's hosts on the
        default port, or exactly the configured API origin."""
        if not path[:8].lower().startswith(("http://", "https://")):
            if not path.startswith("/"):
                path = "/" + path  # "@evil.example" appended to the API URL would change its host
            return self.config.api_url + path, path
        target = httpx.URL(path)
        if not self._may_carry_token(target):
            raise ValueError(
                f"refusing to send the Podio token to {_origin(target)}: only the API at "
                f"{self.config.api_url} and https://*.podio.com (default port) get it"
            )
        return path, target.path

    def _may_carry_token(self, url: httpx.URL) -> bool:
        if (url.scheme, url.host, url.port) == self._api_origin:
            return True
        host = url.host
        return (
            url.scheme == "https"
            and url.port is None  # httpx normalises :443 away
            and (host == "podio.com" or host.endswith(".podio.com"))
        )

    async def refresh(
        self, caller: C, auth: _refresh.SessionAuth, failed: OAuthToken | None
    ) -> OAuthToken:
        telemetry = self.telemetry()
        if telemetry is not None:
            # The refresh becomes a span of its own, linked to every call that waited for it.
            return await telemetry.refresh(self, caller, auth, failed)
        return await self.run_refresh(caller, auth, failed, lambda p: self.grant(auth.key, p))

    async def run_refresh(
        self,
        caller: C,
        auth: _refresh.SessionAuth,
        failed: OAuthToken | None,
        grant: _refresh.GrantFunc,
    ) -> OAuthToken:
        return await _refresh.refresh(
            caller,
            auth,
            self.store,
            failed,
            grant=grant,
            can_refresh=self.config.client_secret is not None,
            on_token_will_refresh=self.on_token_will_refresh,
        )

    async def _send_with_retries(
        self,
        key: str,
        method: str,
        url: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        content: bytes | None,
        data: Mapping[str, Any] | None,
        files: Any,
        headers: dict[str, str],
        timeout: TimeoutArg,
        idempotent: bool,
        max_retries: int,
        authorize: Callable[[dict[str, str]], Awaitable[None]] | None = None,
        rate_limited: bool = False,
        operation: str | None = None,
        stream: bool = False,
        read_body: BodyReader | None = None,
        metered: bool = True,
        trace: CallTrace | None = None,
    ) -> httpx.Response:
        """Send with retries, paced and paused by the session's budgets unless `metered` is
        False (a call that is not Podio's: it neither waits for nor tells a budget)."""
        config = self.config
        rate = self.rate_limit(key) if metered else None
        file_positions = _file_positions(files)
        attempt = 0
        rate_limit_waits = 0
        waited_pause = False  # this call just waited out its own 420's pause
        while True:
            if rate is not None:
                await self._wait_for_budget(
                    key, rate, method, path, operation, rate_limited,
                    skip_pause=waited_pause, trace=trace,
                )  # fmt: skip
                waited_pause = False
            _rewind(file_positions)
            request_headers = headers
            if authorize is not None:
                request_headers = dict(headers)
                await authorize(request_headers)
            request = self.http.build_request(
                method,
                url,
                params=params,
                content=content,
                data=data,
                files=files,
                headers=request_headers,
                # None is "no timeout", as in httpx; NOT_GIVEN the client's default.
                timeout=httpx.USE_CLIENT_DEFAULT if isinstance(timeout, NotGiven) else timeout,
            )
            try:
                response = await self._transmit(request, path, stream=stream, read_body=read_body)
            except PodioConnectionError as exc:
                cause = exc.__cause__
                retryable = idempotent or (isinstance(cause, Exception) and never_sent(cause))
                if not retryable or attempt >= max_retries:
                    raise
                delay = backoff(attempt, config.backoff_base, config.backoff_cap)
                if trace is not None:
                    trace.retry(attempt + 1, type(exc).__name__, delay)
                await sleep(delay)
                attempt += 1
                continue
            status = response.status_code
            if trace is not None:
                trace.response(response)
            if rate is not None:
                figures = response.headers
                # The figures go to the budget the answer names (its ceiling), not the one
                # the spec's flag guessed.
                pool = rate.update(
                    figures.get("x-rate-limit-limit"),
                    figures.get("x-rate-limit-remaining"),
                    operation=operation,
                    rate_limited=rate_limited,
                ) or rate.pool(operation, rate_limited=rate_limited)
                shared = self._shared
                if shared is not None and (
                    status in (420, 429)
                    or pool.needs_sharing(self._share_band, _defaults.SHARE_STALE)
                ):
                    name = _pool_name(pool, rate, operation, rate_limited)
                    await self._share(shared, key, name, pool, response)
            if status in RETRY_STATUSES and idempotent and attempt < max_retries:
                logger.debug(
                    "%s %s -> %d; retrying (attempt %d)", method, path, status, attempt + 1
                )
                delay = backoff(attempt, config.backoff_base, config.backoff_cap)
                if trace is not None:
                    trace.retry(attempt + 1, str(status), delay)
                await sleep(delay)
                attempt += 1
                continue
            if status in (420, 429) and rate is not None:
                wait = _rate_limit_wait(response)
                if wait is not None:
                    # Podio's "Please wait N seconds" is the one exact reset time it gives.
                    pool.note_reset(wait)
                if wait is None:
                    wait = backoff(
                        rate_limit_waits, max(config.backoff_base, 1.0), config.backoff_cap
                    )
                # Podio answers 420 to every call once a budget is spent: the whole session
                # waits, whatever budget its other calls draw on.
                rate.pause(wait)
                if wait <= config.rate_limit_wait and rate_limit_waits < max(max_retries, 1):
                    logger.log(
                        logging.INFO if wait >= _defaults.LOUD_WAIT else logging.DEBUG,
                        "rate limited on %s %s; waiting %.1f s",
                        method,
                        path,
                        wait,
                    )
                    if trace is not None:
                        trace.rate_limit_wait(wait)
                    await sleep(wait)
                    rate.waited()
                    rate_limit_waits += 1
                    waited_pause = True
                    continue
            return response

    async def _wait_for_budget(
        self,
        key: str,
        rate: RateLimitState,
        method: str,
        path: str,
        operation: str | None,
        rate_limited: bool,
        *,
        skip_pause: bool = False,
        trace: CallTrace | None = None,
    ) -> None:
        """Before a call: wait out a 420's pause, a shared reset, or the paced slot of the
        budget the call is expected to draw on (raise instead when that is too long).
        `skip_pause`: the caller has just waited out the pause its own 420 set."""
        config = self.config
        pool = rate.pool(operation, rate_limited=rate_limited)
        paused = 0.0 if skip_pause else rate.paused_for()
        if paused > config.rate_limit_wait:
            # Longer than the caller would wait for a 420 of its own: the call goes, and
            # Podio's answer decides (a 420 then raises with its own exact wait).
            paused = 0.0
        share = None
        shared = self._shared
        if shared is not None and pool.needs_sharing(self._share_band, _defaults.SHARE_STALE):
            if pool.is_stale(_defaults.SHARE_STALE) and not skip_pause:
                # Figures this process has not seen lately: another process may have met a
                # 420 since, which pauses the session whatever the budget.
                told = await shared.rate_limit_get(key, _SESSION_PAUSE, pace_threshold=None)
                if told is not None and told.blocked and told.wait > paused:
                    rate.pause(told.wait)
                    if told.wait <= config.rate_limit_wait:
                        paused = told.wait
            share = await shared.rate_limit_get(
                key,
                _pool_name(pool, rate, operation, rate_limited),
                pace_threshold=config.pace_threshold if config.pace else None,
            )
            if share is not None:
                pool.adopt(share.limit, share.remaining, share.reset_in)
        if share is not None:
            # The shared wait: the time to the reset when another process (or this one)
            # spent the budget, else this process's paced slot.
            delay = share.wait
            if share.blocked and delay > config.rate_limit_wait:
                raise PodioRateLimitError(
                    f"the hourly budget of session {key!r} is spent (seen by a process "
                    f"sharing it); it resets in about {delay:.0f} s",
                    status=420,
                    method=method,
                    path=path,
                    retry_after=delay,
                )
        elif config.pace:
            delay = pool.pace_delay(config.pace_threshold)
        else:
            delay = 0.0
        if paused > delay:
            logger.log(
                logging.INFO if paused >= _defaults.LOUD_WAIT else logging.DEBUG,
                "session %r is paused after a 420; waiting %.1f s",
                key,
                paused,
            )
            if trace is not None:
                trace.paced(paused)
            await sleep(paused)
            rate.waited()
        elif delay > 0:
            logger.log(
                logging.INFO if delay >= _defaults.LOUD_WAIT else logging.DEBUG,
                "pacing session %r: %s of %s calls left this hour; waiting %.1f s",
                key,
                pool.remaining,
                pool.limit,
                delay,
            )
            if trace is not None:
                trace.paced(delay)
            await sleep(delay)

    async def _share(
        self,
        shared: SharedRateLimits,
        key: str,
        pool_name: str,
        pool: _Pool,
        response: httpx.Response,
    ) -> None:
        """Tell the shared store this response's figures (a 420's wait included) and take the
        merged ones: the lowest remaining any process saw, and the shared reset estimate."""
        wait = _rate_limit_wait(response) if response.status_code in (420, 429) else None
        if response.status_code in (420, 429) and wait is None:
            return  # a 420 without a wait tells the others nothing they can plan on
        share = await shared.rate_limit_update(
            key, pool_name, limit=pool.limit, remaining=pool.remaining, wait=wait
        )
        if wait is not None:  # the whole session pauses, in every process
            await shared.rate_limit_update(
                key, _SESSION_PAUSE, limit=None, remaining=None, wait=wait
            )
        pool.adopt(share.limit, share.remaining, share.reset_in)

    async def _transmit(
        self,
        request: httpx.Request,
        path: str,
        *,
        stream: bool = False,
        read_body: BodyReader | None = None,
    ) -> httpx.Response:
        """One HTTP exchange, under the concurrency limit; transport failures become
        `PodioConnectionError`/`PodioTimeoutError` (the httpx exception is the cause).
        With `stream`, only an error response's body is read here (retries and errors need it);
        with `read_body`, a successful response's body is read by it."""
        started = time.perf_counter()
        send = self.http.send if self._direct is None else self._send_direct
        unread = stream or read_body is not None
        try:
            if self._limiter is None:
                response = await send(request, stream=unread)
            else:
                async with self._limiter.get():
                    response = await send(request, stream=unread)
            if unread and response.status_code >= 300:
                await response.aread()
            elif read_body is not None:
                try:
                    await read_body(response)
                finally:
                    await response.aclose()  # the connection goes back, or closes if cut short
            if not stream or response.status_code >= 300:
                _release_stream(response)
        except httpx.TransportError as exc:
            _name_request(exc, request)
            if isinstance(exc, httpx.TimeoutException):
                raise PodioTimeoutError(
                    f"timed out: {type(exc).__name__}", method=request.method, path=path
                ) from exc
            raise PodioConnectionError(
                f"connection failed: {type(exc).__name__}: {_safe_reason(exc)}",
                method=request.method,
                path=path,
            ) from exc
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d (%.1f ms)",
                request.method,
                path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
        return response

    async def _send_direct(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        """`httpx.AsyncClient.send` for podiokit's own client, without the client layer, but
        with what of it a caller sees: cookies the server sets are kept in the client's jar
        (a load balancer's stickiness; `build_request` sends them back), httpx's
        "HTTP Request:" INFO line is logged, and failures name their request."""
        assert self._direct is not None
        started = time.perf_counter()
        response = await self._direct.handle_async_request(request)
        response.request = request
        if "set-cookie" in response.headers:
            self.http.cookies.extract_cookies(response)
        if _httpx_logger.isEnabledFor(logging.INFO):
            _httpx_logger.info(
                'HTTP Request: %s %s "%s %d %s"',
                request.method,
                request.url,
                response.http_version,
                response.status_code,
                response.reason_phrase,
            )
        if not stream:
            try:
                await response.aread()  # closes the stream once read: the connection is free
            except BaseException:
                await response.aclose()
                raise
            response.elapsed = timedelta(seconds=time.perf_counter() - started)
        return response

    # -- the token endpoint --------------------------------------------------------------

    async def grant(
        self, key: str, params: Mapping[str, str], *, trace: CallTrace | None = None
    ) -> OAuthToken:
        """POST /oauth/token with the client credentials in the form body, as every official
        client sends them. Never logs the form: it holds secrets. A sign-in (not a refresh,
        which passes its `trace`) is a span of its own when instrumentation is on."""
        if trace is None:
            telemetry = self.telemetry()
            if telemetry is not None:
                return await telemetry.authenticate(self, key, params)
        config = self.config
        if config.client_secret is None:
            raise PodioAuthorizationError(
                "this client has no client_secret (client-side flow) and cannot call the token endpoint"
            )
        # Masked reprs: a traceback that prints locals shows '***' for these.
        form = {
            name: secret(value) if name in _SECRET_FORM_KEYS else value
            for name, value in params.items()
        }
        form["client_id"] = config.client_id
        form["client_secret"] = secret(config.client_secret)
        # Retried like an idempotent call. A refresh that Podio did process before the
        # connection dropped has rotated the pair, so the retry gets invalid_grant: the
        # same outcome as not retrying (and an app session then re-authenticates), while a
        # refresh that never arrived succeeds.
        response = await self._send_with_retries(
            key,
            "POST",
            self._token_url,
            _TOKEN_PATH,
            params=None,
            content=None,
            data=form,
            files=None,
            headers={},
            timeout=NOT_GIVEN,
            idempotent=True,
            max_retries=config.max_retries,
            rate_limited=True,  # the token endpoint is in Podio's 250/hour pool
            operation=_TOKEN_OPERATION,
            trace=trace,
        )
        grant_type = params.get("grant_type")
        if response.status_code >= 300:
            body = _error_body(response)
            error = error_for_status(response.status_code, body, method="POST", path=_TOKEN_PATH)
            error.message = f"authentication with grant {grant_type!r} failed: {error.message}"
            error.args = (error.message,)
            raise error
        try:
            body = response.json()
            token = OAuthToken.from_response(body)
        except (ValueError, KeyError, TypeError):
            raise PodioError(
                f"the token endpoint answered {response.status_code} without a token",
                status=response.status_code,
                method="POST",
                path=_TOKEN_PATH,
            ) from None
        logger.debug("session %r obtained a token (grant %s)", key, grant_type)
        return token

    async def aclose(self) -> None:
        if self.owns_http:
            await self.http.aclose()


_SECRET_FORM_KEYS = frozenset({"refresh_token", "app_token", "password", "code"})


def _pool_name(pool: _Pool, rate: RateLimitState, operation: str | None, rate_limited: bool) -> str:
    """A budget's name in a shared store: its ceiling ("1000", "250")."""
    limit = pool.limit or rate.limit_for(operation, rate_limited=rate_limited)
    return str(limit)


def _origin(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}"


#: Reads a successful response's body (see `Pipeline.send`).
BodyReader = Callable[[httpx.Response], Awaitable[None]]


def _release_stream(response: httpx.Response) -> None:
    """Break the reference cycle httpx 0.28 leaves around a read response (response -> its
    bound stream -> response): without this, each body (a 4 MB filter page, say) lives until
    the cyclic GC happens to run, and code that allocates few objects per call (the exporter's
    msgspec slicing) sees memory grow with the number of calls. The body is read and its
    stream closed, so nothing is lost; `response.content` still holds the bytes."""
    response.stream = httpx.ByteStream(b"")


def _error_body(response: httpx.Response) -> Any:
    content = response.content
    if not content:
        return None
    try:
        return _json.loads(content)
    except ValueError:
        return None  # an HTML page from the load balancer still maps to its status class


def _is_token_failure(status: int, body: Any, response: httpx.Response) -> bool:
    """401 (or, rarely, 400) saying the access token expired or is invalid."""
    if isinstance(body, Mapping):
        error = body.get("error")
        description = body.get("error_description")
        if error == "invalid_token" or description in ("expired_token", "invalid_token"):
            return True
        if status == 400:
            return False
        return isinstance(description, str) and "expired_token" in description
    challenge = response.headers.get("www-authenticate", "")
    return status == 401 and ("expired_token" in challenge or "invalid_token" in challenge)


def _rate_limit_wait(response: httpx.Response) -> float | None:
    retry_after = response.headers.get("retry-after")
    if retry_after:
        try:
            return max(float(retry_after), 0.0)
        except ValueError:
            pass
    body = _error_body(response)
    if isinstance(body, Mapping):
        description = body.get("error_description")
        return wait_hint(description if isinstance(description, str) else None)
    return None


def _file_positions(files: Any) -> list[tuple[Any, int]]:
    """File objects in a `files=` argument and where they start, so a retry (or the replay
    after a refresh) sends the whole file again instead of an empty part."""
    if not files:
        return []
    values = files.values() if isinstance(files, Mapping) else [v for _, v in files]
    positions: list[tuple[Any, int]] = []
    for value in values:
        fileobj = value[1] if isinstance(value, tuple) and len(value) > 1 else value
        if hasattr(fileobj, "seek") and hasattr(fileobj, "tell"):
            try:
                positions.append((fileobj, fileobj.tell()))
            except (OSError, ValueError):
                continue
    return positions


def _rewind(positions: list[tuple[Any, int]]) -> None:
    for fileobj, position in positions:
        fileobj.seek(position)


def _name_request(exc: httpx.TransportError, request: httpx.Request) -> None:
    """Give `exc` its request when it has none (raised below httpx's client layer: podiokit's
    direct path, or a body read into the caller's buffer), as httpx's client would."""
    try:
        exc.request  # noqa: B018 (a property that raises RuntimeError when unset)
    except RuntimeError:
        exc.request = request


def _safe_reason(exc: Exception) -> str:
    # httpx transport messages name hosts and errno text, never headers; keep them short.
    return str(exc)[:200] or "no detail"
