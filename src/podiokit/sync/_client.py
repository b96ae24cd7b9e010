"""`SyncPodio`: the blocking face of `Podio`, driving the same engine on a loop thread.

A `SyncPodio` owns a `Podio` and an event loop on a daemon thread (`_runner.LoopThread`).
Every method builds the async call and blocks until the loop has run it, so refresh (single
flight across every thread), retries, 420 waits, the session stores and the models are the
async face's own, never a second copy. Only the forwarding below is hand-written; the
`podio.<area>.<op>` methods are generated (`sync/resources/`).
"""

from __future__ import annotations

import ssl
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from types import TracebackType
from typing import Any, Literal, TypeVar, cast

import httpx

from .. import _defaults
from .._client import DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, Podio
from .._ratelimit import RateLimit
from .._resource import NOT_GIVEN, TimeoutArg
from ..auth import OAuthToken, secret
from ..sessions import SessionStore
from ._runner import LoopThread
from .resources import SyncResourceNamespaces

__all__ = ["OnSyncTokenWillRefresh", "SyncPodio"]

T = TypeVar("T")

#: Client-side flow only: called with the `SyncPodio` of the session whose token expired, in
#: a worker thread (so it may call that client's methods); it should re-authenticate.
OnSyncTokenWillRefresh = Callable[["SyncPodio"], object]


class SyncPodio(SyncResourceNamespaces):
    """A blocking Podio API client with the same surface as `Podio`.

    ```python
    with SyncPodio(client_id, client_secret) as podio:
        podio.authenticate_with_app(app_id, app_token)
        item = podio.items.get(item_id)
        for item in podio.items.filter(app_id):     # every item, page by page
            ...
    ```

    Safe to share between threads: every call runs on the client's own event loop thread,
    so concurrent threads share one connection pool, one concurrency limit and one refresh
    per expired token. It also works inside a running event loop (a notebook cell, a sync
    callback in an async framework), blocking that loop for the call like any blocking I/O.
    """

    _async: Podio
    _runner: LoopThread
    _root: bool
    #: A view keeps the client that made it alive: the loop thread and the pool are closed
    #: when that client is collected.
    _owner: SyncPodio | None

    def __init__(
        self,
        client_id: str,
        client_secret: str | None = None,
        *,
        api_url: str = _defaults.API_URL,
        auth_url: str = _defaults.AUTH_URL,
        session_store: SessionStore | None = None,
        session_key: str = "default",
        on_token_will_refresh: OnSyncTokenWillRefresh | None = None,
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
        """Takes `Podio`'s arguments (see `Podio.__init__`), with two differences:
        `on_token_will_refresh` is a plain function, called with this client's session in
        a worker thread (it may call the client); `http_client`, when given, is an
        `httpx.AsyncClient`, used on the client's loop thread and never closed by
        podiokit. `session_store` is any `SessionStore`, as for `Podio`: stores run on
        that loop too. With instrumentation on, a call's span is the child of the span
        current in the calling thread."""
        if client_secret is not None:  # a traceback printing locals shows '***'
            client_secret = secret(client_secret)
        runner = LoopThread()
        try:
            hook = _refresh_hook(on_token_will_refresh, runner) if on_token_will_refresh else None
            podio = Podio(
                client_id,
                client_secret,
                api_url=api_url,
                auth_url=auth_url,
                session_store=session_store,
                session_key=session_key,
                on_token_will_refresh=hook,
                timeout=timeout,
                max_retries=max_retries,
                max_concurrency=max_concurrency,
                rate_limit_wait=rate_limit_wait,
                pace=pace,
                pace_threshold=pace_threshold,
                backoff_base=backoff_base,
                backoff_cap=backoff_cap,
                http_client=http_client,
                transport=transport,
                verify=verify,
                instrument=instrument,
            )
        except Exception:
            runner.close()
            raise
        self._async = podio
        self._runner = runner
        self._root = True
        self._owner = None
        # Closes the pool and stops the loop when the client is closed, collected, or still
        # open at interpreter exit (finalize runs at exit), bounded by CLOSE_TIMEOUT.
        self._finalizer = weakref.finalize(self, _shutdown, runner, podio)

    @classmethod
    def _wrap(cls, podio: Podio, runner: LoopThread, owner: SyncPodio | None) -> SyncPodio:
        view = cls.__new__(cls)
        view._async = podio
        view._runner = runner
        view._root = False
        view._owner = owner
        return view

    # -- the interface generated resources use (`sync._resource.SyncRequester`) ----------

    @property
    def _async_client(self) -> Podio:
        return self._async

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coro)

    def _iterate(self, source: AsyncIterator[T]) -> Iterator[T]:
        """A plain iterator over an async one (a file's chunks), one element per hop. Stopping
        early (or the iterator being collected) closes the async iterator on the loop."""
        try:
            while True:
                done, element = self._run(_next(source))
                if done:
                    return
                yield cast(T, element)  # an element whenever done is False
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None and not self._runner.closed:
                self._run(aclose())

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> SyncPodio:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool (if this client created it) and stop the loop thread.
        On a view made with `session(key)` this does nothing: both belong to the client
        that made it."""
        if self._root:
            self._finalizer()

    @property
    def closed(self) -> bool:
        return self._runner.closed

    def __repr__(self) -> str:
        # Never the secret or a token.
        inner = getattr(self, "_async", None)
        return "SyncPodio(<not initialised>)" if inner is None else "Sync" + repr(inner)

    # -- sessions ------------------------------------------------------------------------

    def session(self, key: str) -> SyncPodio:
        """Another `SyncPodio` acting as identity `key`, sharing this client's pool, loop,
        store and concurrency limit (see `Podio.session`)."""
        return SyncPodio._wrap(self._async.session(key), self._runner, self._owner or self)

    @property
    def session_key(self) -> str:
        return self._async.session_key

    @property
    def session_store(self) -> SessionStore:
        return self._async.session_store

    @property
    def token(self) -> OAuthToken | None:
        """The session's current token, as last loaded or obtained."""
        return self._async.token

    @property
    def rate_limit(self) -> RateLimit:
        """`limit` and `remaining` from the latest response of this session key."""
        return self._async.rate_limit

    def is_authenticated(self) -> bool:
        """True when a usable token exists (loaded from the store, refreshed if needed)."""
        return self._run(self._async.is_authenticated())

    def set_token(self, token: OAuthToken | Mapping[str, Any]) -> OAuthToken:
        """Use a token obtained elsewhere; saved in the store (see `Podio.set_token`)."""
        return self._run(self._async.set_token(token))

    def logout(self) -> None:
        """Forget this session's token, here and in the store."""
        self._run(self._async.logout())

    # -- the four flows ------------------------------------------------------------------

    def authorization_url(
        self,
        redirect_uri: str,
        *,
        state: str | None = None,
        scope: str | None = None,
        response_type: Literal["code", "token"] = "code",
    ) -> str:
        """Podio's authorize page (see `Podio.authorization_url`). Makes no request."""
        return self._async.authorization_url(
            redirect_uri, state=state, scope=scope, response_type=response_type
        )

    def authenticate_with_code(self, code: str, redirect_uri: str) -> OAuthToken:
        """Server-side flow: exchange the `code` of the authorize redirect for a token."""
        code = secret(code)  # a traceback printing locals shows '***', here as in the engine
        return self._run(self._async.authenticate_with_code(code, redirect_uri))

    def authenticate_with_credentials(self, username: str, password: str) -> OAuthToken:
        """Password flow (Podio's "username and password")."""
        password = secret(password)
        return self._run(self._async.authenticate_with_credentials(username, password))

    def authenticate_with_app(self, app_id: int, app_token: str) -> OAuthToken:
        """App flow: act as the app (see `Podio.authenticate_with_app`)."""
        app_token = secret(app_token)
        return self._run(self._async.authenticate_with_app(app_id, app_token))

    def authenticate_with_fragment(self, url_or_fragment: str) -> OAuthToken:
        """Client-side flow: take the token from the redirect's fragment. No call is made."""
        url_or_fragment = secret(url_or_fragment)
        return self._run(self._async.authenticate_with_fragment(url_or_fragment))

    # -- calls ---------------------------------------------------------------------------

    def request(
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
        """Any Podio call; returns the decoded JSON, or None for an empty body (see
        `Podio.request`). `timeout=`: omitted, the client's; None, no timeout at all."""
        return self._run(
            self._async.request(
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
        )


def _refresh_hook(
    callback: OnSyncTokenWillRefresh, runner: LoopThread
) -> Callable[[Podio], Coroutine[Any, Any, None]]:
    async def hook(podio: Podio) -> None:
        import anyio.to_thread

        # In a worker thread: the callback re-authenticates through the client, whose calls
        # need this loop free. No owner: the hook must not keep the client alive (the
        # client is busy calling, so it is alive anyway).
        await anyio.to_thread.run_sync(callback, SyncPodio._wrap(podio, runner, None))

    return hook


async def _next(source: AsyncIterator[T]) -> tuple[bool, T | None]:
    # (done, element): StopAsyncIteration stays on the loop rather than crossing threads.
    try:
        return False, await source.__anext__()
    except StopAsyncIteration:
        return True, None


def _shutdown(runner: LoopThread, podio: Podio) -> None:
    runner.close(podio.aclose())
