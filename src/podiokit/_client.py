"""`Podio`: configuration, the shared pipeline, resource namespaces and session views."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import httpx

from . import _defaults, _instrument, _options, _refresh
from . import auth as _auth
from ._pipeline import Config, Pipeline
from ._ratelimit import RateLimit
from ._resource import NOT_GIVEN, Operation, TimeoutArg, decode_json
from ._transport import PodioTransport, check_verify, ssl_context
from ._version import __version__
from .auth import OAuthToken
from .errors import (
    PodioConnectionError,
    PodioError,
    PodioServerError,
    PodioUnavailableError,
    SessionStoreError,
)
from .resources import ResourceNamespaces
from .sessions import MemorySessionStore, SessionStore

if TYPE_CHECKING:
    from .push import PushClient

__all__ = ["DEFAULT_TIMEOUT", "OnTokenWillRefresh", "Podio"]

#: The defaults of `Podio` and `SyncPodio` (their values and reasons: `_defaults.py`).
DEFAULT_TIMEOUT = httpx.Timeout(_defaults.TIMEOUT, connect=_defaults.CONNECT_TIMEOUT)
DEFAULT_MAX_RETRIES = _defaults.MAX_RETRIES
DEFAULT_MAX_CONCURRENCY = _defaults.MAX_CONCURRENCY

#: Client-side flow only: awaited (or called) with the client whose session's token expired;
#: it should re-authenticate.
OnTokenWillRefresh = Callable[["Podio"], "Awaitable[None] | None"]


class Podio(ResourceNamespaces):
    """An async Podio API client.

    ```python
    async with Podio(client_id, client_secret) as podio:
        await podio.authenticate_with_app(app_id, app_token)
        item = await podio.items.get(item_id)
    ```

    One `Podio` owns one `httpx.AsyncClient` (unless you pass `http_client`); views made
    with `session(key)` share it, the session store and the concurrency limit, and each has
    its own token and rate-limit figures.
    """

    _pipeline: Pipeline[Podio]
    _key: str
    _root: bool

    def __init__(
        self,
        client_id: str,
        client_secret: str | None = None,
        *,
        api_url: str = _defaults.API_URL,
        auth_url: str = _defaults.AUTH_URL,
        session_store: SessionStore | None = None,
        session_key: str = "default",
        on_token_will_refresh: OnTokenWillRefresh | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY,
        rate_limit_wait: float = _defaults.RATE_LIMIT_WAIT,
        pace: bool = False,
        pace_threshold: float = _defaults.PACE_THRESHOLD,
        backoff_base: float = _defaults.BACKOFF_BASE,
        backoff_cap: float = _defaults.BACKOFF_CAP,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | str | bool = True,
        instrument: bool | None = None,
    ) -> None:
        """
        Args:
            client_id: your Podio API key's id.
            client_secret: your Podio API key's secret. It may be None only for the
                client-side (implicit) flow, which never calls the token endpoint.
            session_store: where tokens are kept (default: in memory).
            session_key: the identity this client acts as in the store.
            on_token_will_refresh: client-side flow only: awaited with this client when its
                token expires; it should re-authenticate.
            timeout: default per-request timeout (a per-call `timeout=` overrides it).
            max_retries: retries of idempotent calls on connection errors, timeouts and
                500/502/503/504 (a call can override it).
            max_concurrency: requests in flight at once across this client and its sessions
                (None: unlimited).
            rate_limit_wait: on Podio's 420, wait and retry when it asks for at most this
                many seconds; otherwise raise `PodioRateLimitError` with `retry_after`.
            pace: slow down before the hourly budget runs out (once less than
                `pace_threshold` of it is left), instead of running into 420.
            backoff_base: the first wait of the exponential backoff (full jitter) between
                retries, in seconds.
            backoff_cap: the longest wait between retries, in seconds.
            http_client: your own `httpx.AsyncClient` (you configure TLS, proxies and pool;
                podiokit never closes it).
            transport: the httpx transport of the client podiokit makes (e.g.
                `podiokit.transports.aiohttp_transport()`); podiokit closes it.
            verify: TLS verification, as httpx takes it: True (certifi's CAs, or
                SSL_CERT_FILE / SSL_CERT_DIR when set), an `ssl.SSLContext` or the path of
                a CA bundle (a private CA behind an inspecting proxy), or False (off: never
                in production). Not with `http_client` or `transport`: configure those.
            instrument: OpenTelemetry spans and metrics for every operation (needs the
                `otel` extra): True for this client, False never; None (the default)
                follows `podiokit.instrument()`. See docs/guides/observability.md.
        """
        if client_secret is not None:  # a traceback printing locals shows '***'
            client_secret = _auth.secret(client_secret)
        if not client_id:
            raise ValueError("client_id is required")
        if instrument is not None and not isinstance(instrument, bool):
            raise TypeError(f"instrument must be True, False or None, got {instrument!r}")
        if instrument:
            _instrument.client_telemetry()  # without OpenTelemetry, fail before opening a pool
        # Every tunable is checked here, before any request, naming the option.
        _options.count("max_retries", max_retries)
        if max_concurrency is not None:
            _options.count("max_concurrency", max_concurrency, minimum=1)
        rate_limit_wait = _options.seconds("rate_limit_wait", rate_limit_wait)
        backoff_base = _options.seconds("backoff_base", backoff_base)
        backoff_cap = _options.seconds("backoff_cap", backoff_cap)
        pace_threshold = _options.share("pace_threshold", pace_threshold)
        api_url = _check_api_url(api_url)
        config = Config(
            api_url=api_url,
            auth_url=auth_url,
            client_id=client_id,
            client_secret=client_secret,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            rate_limit_wait=rate_limit_wait,
            pace=pace,
            pace_threshold=pace_threshold,
            max_concurrency=max_concurrency,
        )
        if transport is not None and http_client is not None:
            raise ValueError(
                "pass either http_client or transport, not both: give your own client its transport"
            )
        verify = check_verify(verify)
        if verify is not True and (transport is not None or http_client is not None):
            raise ValueError(
                "verify= configures podiokit's own transport: with http_client or transport, "
                "set TLS verification on them instead"
            )
        owns_http = http_client is None
        direct: PodioTransport | None = None
        if http_client is None:
            pool = max(max_concurrency or 0, _defaults.MAX_CONNECTIONS)
            # podiokit's own transport (_transport/), unless a proxy is configured in the
            # environment: httpx honours HTTP(S)_PROXY only with its own transports.
            if transport is None and not _env_proxies():
                transport = direct = PodioTransport(max_connections=pool, verify=verify)
            http_client = httpx.AsyncClient(
                timeout=timeout,
                limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
                headers={"User-Agent": f"podiokit/{__version__}", "Accept": "application/json"},
                # Used by httpx's own transports (a proxy from the environment); a CA path
                # becomes a context here, as httpx deprecates paths.
                verify=verify if isinstance(verify, bool) else ssl_context(verify),
                follow_redirects=False,
                transport=transport,
            )
        self._pipeline = Pipeline(
            config,
            http_client,
            owns_http=owns_http,
            store=session_store if session_store is not None else MemorySessionStore(),
            on_token_will_refresh=on_token_will_refresh,
            direct=direct,
            instrument=instrument,
        )
        self._key = session_key
        self._root = True

    @classmethod
    def _view(cls, pipeline: Pipeline[Podio], key: str) -> Podio:
        view = cls.__new__(cls)
        view._pipeline = pipeline
        view._key = key
        view._root = False
        return view

    # -- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Podio:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (if this client created it). On a view made with
        `session(key)` this does nothing: the pool belongs to the client that made it."""
        if self._root:
            await self._pipeline.aclose()

    def __repr__(self) -> str:
        # Never the secret or a token. A client whose constructor failed has no pipeline: a
        # traceback printing locals shows it too.
        pipeline = getattr(self, "_pipeline", None)
        if pipeline is None:
            return "Podio(<not initialised>)"
        config = pipeline.config
        return (
            f"Podio(client_id={config.client_id!r}, api_url={config.api_url!r}, "
            f"session_key={self._key!r})"
        )

    # -- sessions ------------------------------------------------------------------------

    def session(self, key: str) -> Podio:
        """Another `Podio` acting as identity `key` (e.g. `f"user:{user_id}"`, or one per
        app in an exporter). It shares this client's connection pool, store and
        concurrency limit, never its token; rate-limit figures belong to the key."""
        if not key:
            raise ValueError("a session key must be a non-empty string")
        return Podio._view(self._pipeline, key)

    @property
    def session_key(self) -> str:
        return self._key

    @property
    def session_store(self) -> SessionStore:
        return self._pipeline.store

    @property
    def token(self) -> OAuthToken | None:
        """The session's current token, as last loaded or obtained (None before the first
        call that needed one: `await is_authenticated()` loads it from the store)."""
        return self._pipeline.session_auth(self._key).token

    @property
    def rate_limit(self) -> RateLimit:
        """`limit` and `remaining` from the latest response of this session key."""
        return self._pipeline.rate_limit(self._key).snapshot()

    async def is_authenticated(self) -> bool:
        """True when a usable token exists: loaded from the store, and refreshed if it
        expired and can be refreshed."""
        auth = self._pipeline.session_auth(self._key)
        token = await _refresh.load(auth, self._pipeline.store)
        if token is None:
            return False
        if not token.is_expired and not token.dead:
            return True
        try:
            await self._pipeline.refresh(self, auth, token)
        except (PodioConnectionError, PodioServerError, PodioUnavailableError):
            raise  # Podio did not answer: we cannot tell, so do not say "no"
        except SessionStoreError:
            raise  # a broken store is not "logged out": say what is wrong
        except PodioError:
            return False
        return True

    async def set_token(self, token: OAuthToken | Mapping[str, Any]) -> OAuthToken:
        """Use a token obtained elsewhere (podio-js's `setAccessToken`); saved in the store.

        Takes an `OAuthToken`, or a mapping with an `access_token` (the token endpoint's JSON
        with `expires_in`, or `OAuthToken.to_storage()`'s form). Anything else raises
        TypeError, a mapping without an access token ValueError, before anything is saved."""
        return await self._save(_auth.coerce_token(token))

    async def logout(self) -> None:
        """Forget this session's token, here and in the store."""
        auth = self._pipeline.session_auth(self._key)
        auth.adopt(None)
        auth.app_credentials = None
        auth.unsaved = None
        await self._pipeline.store.delete(self._key)

    async def _save(self, token: OAuthToken) -> OAuthToken:
        auth = self._pipeline.session_auth(self._key)
        await self._pipeline.store.set(self._key, token)
        auth.unsaved = None  # a new sign-in replaces a refreshed token still waiting
        auth.adopt(token)
        return token

    # -- the four flows ------------------------------------------------------------------

    def authorization_url(
        self,
        redirect_uri: str,
        *,
        state: str | None = None,
        scope: str | None = None,
        response_type: Literal["code", "token"] = "code",
    ) -> str:
        """Podio's authorize page: `response_type="code"` for the server-side flow (finish
        with `authenticate_with_code`), `"token"` for the client-side flow (finish with
        `authenticate_with_fragment`)."""
        config = self._pipeline.config
        return _auth.authorization_url(
            config.auth_url,
            config.client_id,
            redirect_uri,
            state=state,
            scope=scope,
            response_type=response_type,
        )

    async def authenticate_with_code(self, code: str, redirect_uri: str) -> OAuthToken:
        """Server-side flow: exchange the `code` of the authorize redirect for a token."""
        code = _auth.secret(code)  # a traceback printing locals shows '***'
        token = await self._pipeline.grant(
            self._key,
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
        )
        return await self._save(token)

    async def authenticate_with_credentials(self, username: str, password: str) -> OAuthToken:
        """Password flow (Podio's "username and password")."""
        password = _auth.secret(password)  # a traceback printing locals shows '***'
        token = await self._pipeline.grant(
            self._key, {"grant_type": "password", "username": username, "password": password}
        )
        return await self._save(token)

    async def authenticate_with_app(self, app_id: int, app_token: str) -> OAuthToken:
        """App flow: act as the app. The app token stays in memory so the session can
        re-authenticate if Podio refuses its refresh token."""
        app_token = _auth.secret(app_token)  # a traceback printing locals shows '***'
        token = await self._pipeline.grant(
            self._key, {"grant_type": "app", "app_id": str(app_id), "app_token": app_token}
        )
        self._pipeline.session_auth(self._key).app_credentials = (int(app_id), app_token)
        return await self._save(token)

    async def authenticate_with_fragment(self, url_or_fragment: str) -> OAuthToken:
        """Client-side flow: take the token from the redirect's fragment
        (`#access_token=...&expires_in=...`). A redirect with `error=` raises
        `PodioAuthorizationError` with Podio's reason. No call is made."""
        url_or_fragment = _auth.secret(url_or_fragment)  # it carries the access token
        return await self._save(_auth.token_from_redirect(url_or_fragment))

    @property
    def push(self) -> PushClient:
        """Realtime push (`podiokit.push`), imported on first use: the core needs none of it."""
        from .push import PushClient

        return PushClient(self)

    # -- calls ---------------------------------------------------------------------------

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
    ) -> httpx.Response:
        return await self._pipeline.send(
            self,
            method,
            path,
            params=params,
            json=json,
            data=data,
            files=files,
            headers=headers,
            timeout=timeout,
            idempotent=idempotent,
            rate_limited=rate_limited,
            max_retries=max_retries,
            stream=stream,
            read_body=read_body,
            redirects=redirects,
            authenticate=authenticate,
            operation=operation,
        )

    async def request(
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
        max_retries: int | None = None,
    ) -> Any:
        """Any Podio call (`path` relative to the API, e.g. "/item/42", or an absolute URL on
        a Podio host such as a file's `link`); returns the decoded JSON, or None for an empty
        body. Retries apply to GET/PUT/DELETE unless `idempotent=` says otherwise.
        `timeout=` is this call's timeout: omitted, the client's; None, no timeout at all."""
        if not path.startswith(("/", "http://", "https://")):
            path = "/" + path
        response = await self._send(
            method,
            path,
            params=params,
            json=json,
            data=data,
            files=files,
            headers=headers,
            timeout=timeout,
            idempotent=idempotent,
            max_retries=max_retries,
        )
        return decode_json(response)


def _check_api_url(api_url: str) -> str:
    """`api_url` without its trailing slash; only http(s) to a named host, so that a typo
    (`htps://`) fails here instead of sending the token in clear text later."""
    try:
        url = httpx.URL(api_url)
    except (httpx.InvalidURL, TypeError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"api_url must be an http:// or https:// URL with a host, not {api_url!r}")
    return api_url.rstrip("/")


def _env_proxies() -> bool:
    """HTTP(S)_PROXY or ALL_PROXY is set (the variables httpx reads, through the same
    stdlib function)."""
    import urllib.request  # imported by httpx already (its cookie jar)

    return any(scheme in urllib.request.getproxies() for scheme in ("http", "https", "all"))
