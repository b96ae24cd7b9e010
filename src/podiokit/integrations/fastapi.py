"""FastAPI: Podio sign-in with real browser sessions, a per-user client, webhook receivers.

```python
podio = Podio(client_id, client_secret, session_store=FileSessionStore("tokens.json"))
auth = PodioAuth(podio, redirect_uri="https://example.com/auth/callback", secret_key=KEY)
app.include_router(auth.router, prefix="/auth")   # GET /auth/login, /auth/callback, POST /auth/logout
add_exception_handlers(app)                        # Podio unreachable inside a route: 503

@app.get("/me")
async def me(user: Podio = Depends(auth.client)):  # 401 unless signed in
    return await user.users.get_status()

@app.get("/items")
async def items(user: Podio = Depends(auth.page_client)):  # signed out: 303 to /auth/login
    ...

async def on_event(event: HookEvent) -> None: ...      # runs in a worker, after the answer
webhooks = PodioWebhooks(podio, on_event, secret=HOOK_SECRET)
app.include_router(webhooks.router)                   # POST /podio/hooks; workers run with the app
await webhooks.repair("app", app_id, "https://example.com", types=["item.create"])
```

Needs the `fastapi` extra (FastAPI, itsdangerous for signed cookies, python-multipart for
Podio's form-encoded hook deliveries).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import posixpath
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, MutableSet
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from .. import _defaults
from .._client import Podio
from ..errors import (
    PodioBadRequestError,
    PodioConnectionError,
    PodioError,
    PodioInvalidGrantError,
    PodioServerError,
    PodioUnavailableError,
    SessionStoreError,
)
from ..models.hooks import Hook
from ._hook_queue import HookQueue, HookStats
from ._web_sessions import WebSessions
from .hook_events import HookEvent, MalformedHookEvent
from .hook_repair import HookRepair, list_hooks, repair_hooks

__all__ = [
    "HookEvent",
    "HookRepair",
    "HookStats",
    "MalformedHookEvent",
    "PodioAuth",
    "PodioWebhooks",
    "add_exception_handlers",
    "list_hooks",
    "podio_outage_handler",
    "repair_hooks",
]

log = logging.getLogger("podiokit.integrations.fastapi")

#: The session key a user's tokens are stored under.
USER_KEY = "user:{}"
# The code is exchanged under this key, then the token moves to `user:<id>` (the user is
# only known from the token's `ref`).
_EXCHANGE_KEY = "podiokit:oauth-exchange"
_SIGNED_OUT = "Not signed in to Podio"
_ENDED = "The Podio session has ended: sign in again"


class PodioAuth:
    """Podio's server-side OAuth flow for a FastAPI app, real browser sessions, and a
    per-user client.

    Args:
        podio: the app-wide client; users' tokens and sessions live in its session store
            (a `RedisSessionStore` when several processes or machines serve the app).
        redirect_uri: the public URL of the callback route, as registered for your API key.
        secret_key: signs the cookies (at least 16 characters: `secrets.token_hex()`).
        cookie_name: the session cookie's name; pending sign-ins use `<cookie_name>_state_*`.
        after_login: where a finished sign-in lands when `/login` was given no `next`.
        after_logout: where `/logout` sends the browser.
        login_url: the login route's public path (by default: beside the callback's).
        scope: Podio's `scope` parameter, if any.
        max_age: how long a browser session lasts, in seconds (14 days).
        state_max_age: how long a sign-in may take, from `/login` to `/callback` (10 minutes).

    `router` has:

    - `GET /login[?next=/path]`: redirects to Podio with a fresh, signed `state`, bound to
      this browser by a cookie of its own, so several sign-ins (two tabs) may be pending at
      once and any of them completes. `next` (a path of this app, nothing else) is where
      the browser goes once signed in.
    - `GET /callback`: takes a state this app issued, not expired, whose cookie this browser
      holds; exchanges the code; stores the token under `user:<id>` in the session store;
      opens a session for this browser (its id in a signed cookie, its record in the store)
      and redirects. Each state is good once. A state this app did not issue changes nothing
      (a forged link cannot cancel a pending sign-in). Failures are small HTML pages saying
      what happened: the sign-in took too long, cookies are blocked, consent was denied...
    - `POST /logout`: ends this browser's session only (the user's other browsers stay
      signed in, and their token stays in the store); with `everywhere=1` in the query or
      form it ends every session of the user and forgets their token (`end_sessions`).

    `client` is a dependency yielding `podio.session("user:<id>")` for the browser's open
    session, answering JSON 401 when there is none (never signed in, logged out, expired,
    ended everywhere) or Podio refuses the user's refresh token, and 503 when Podio cannot
    be reached to refresh it. `page_client` is the same for pages: instead of 401 it
    redirects (303) to `/login?next=<this page>`.

    Cookies are signed with `secret_key` (itsdangerous), HttpOnly, SameSite=Lax, and Secure
    when `redirect_uri` is https. The session cookie holds the user id and the session id;
    tokens stay in the session store.
    """

    def __init__(
        self,
        podio: Podio,
        *,
        redirect_uri: str,
        secret_key: str | bytes,
        cookie_name: str = "podiokit",
        after_login: str = "/",
        after_logout: str = "/",
        login_url: str | None = None,
        scope: str | None = None,
        max_age: int = 14 * 24 * 3600,
        state_max_age: int = 600,
    ) -> None:
        if not secret_key or len(secret_key) < 16:
            raise ValueError("secret_key must be at least 16 characters (use secrets.token_hex)")
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"redirect_uri must be an http(s) URL, not {redirect_uri!r}")
        if not cookie_name or not cookie_name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(
                f"cookie_name must be letters, digits, '_' or '-', not {cookie_name!r}"
            )
        if max_age < 1 or state_max_age < 1:
            raise ValueError("max_age and state_max_age must be at least 1 second")
        self.podio = podio
        self.redirect_uri = redirect_uri
        self.cookie_name = cookie_name
        self.state_cookie_prefix = f"{cookie_name}_state_"
        self.after_login = after_login
        self.after_logout = after_logout
        callback_path = parts.path or "/"
        self.login_url = login_url or posixpath.join(posixpath.dirname(callback_path), "login")
        self.scope = scope
        self.max_age = max_age
        self.state_max_age = state_max_age
        self.sessions = WebSessions(podio.session_store, max_age)
        self._secure = parts.scheme == "https"
        # Pending-state cookies go only to the callback, not with every request of the app.
        self._state_path = callback_path
        # One salt per purpose: no signed value can pass for another.
        self._session = URLSafeTimedSerializer(secret_key, salt="podiokit.session")
        self._state = URLSafeTimedSerializer(secret_key, salt="podiokit.oauth-state")
        self._pending = URLSafeTimedSerializer(secret_key, salt="podiokit.oauth-pending")
        self.router = APIRouter()
        self.router.add_api_route("/login", self.login, methods=["GET"], name="podio_login")
        self.router.add_api_route(
            "/callback", self.callback, methods=["GET"], name="podio_callback"
        )
        self.router.add_api_route("/logout", self.logout, methods=["POST"], name="podio_logout")

    def __repr__(self) -> str:
        return f"PodioAuth(redirect_uri={self.redirect_uri!r}, cookie_name={self.cookie_name!r})"

    # -- routes ----------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        # The state is signed and dated: the callback can tell ours (too old or not) from a
        # forged one without any server-side record.
        state = self._state.dumps(secrets.token_urlsafe(24))
        url = self.podio.authorization_url(self.redirect_uri, state=state, scope=self.scope)
        response = RedirectResponse(url, status_code=302)
        pending = {"state": _digest(state), "next": safe_next(request.query_params.get("next"))}
        self._set_cookie(
            response, self._state_cookie(state), self._pending.dumps(pending),
            self.state_max_age, path=self._state_path,
        )  # fmt: skip
        return response

    async def callback(self, request: Request) -> Response:
        query = request.query_params
        state = query.get("state")
        if not state:
            return self._page(400, "Sign-in failed", "The sign-in link has no state: it did "
                              "not come from this app's sign-in. Please sign in again.")  # fmt: skip
        cookie_name = self._state_cookie(state)
        try:
            self._state.loads(state, max_age=self.state_max_age)
        except SignatureExpired:
            minutes = max(1, round(self.state_max_age / 60))
            return self._page(400, "Sign-in took too long", f"The sign-in took longer than "
                              f"{minutes} minutes. Please sign in again.", forget=cookie_name)  # fmt: skip
        except BadSignature:
            # Not a state this app issued: a forged or mangled link. Change nothing, so
            # it cannot cancel a sign-in this browser has pending.
            return self._page(400, "Sign-in failed", "This sign-in link was not issued by "
                              "this app. Please sign in again.")  # fmt: skip
        raw = request.cookies.get(cookie_name)
        if raw is None:
            if not request.cookies:
                return self._page(400, "Cookies are blocked", "Your browser did not send back "
                                  "the cookie this app set when the sign-in started: cookies "
                                  "seem to be blocked for this site. Allow them and sign in "
                                  "again.")  # fmt: skip
            return self._page(400, "Sign-in failed", "This sign-in was not started in this "
                              "browser, or it was already completed. Please sign in again.")  # fmt: skip
        try:
            pending = self._pending.loads(raw, max_age=self.state_max_age)
        except BadSignature:
            pending = None
        if not isinstance(pending, dict) or not hmac.compare_digest(
            str(pending.get("state")), _digest(state)
        ):
            return self._page(400, "Sign-in failed", "The sign-in cookie is not valid. Please "
                              "sign in again.", forget=cookie_name)  # fmt: skip
        # From here the state is used up, whatever the outcome.
        error = query.get("error")
        if error == "access_denied":
            return self._page(403, "Sign-in cancelled",
                              "You did not allow access to your Podio account.", forget=cookie_name)  # fmt: skip
        if error:
            return self._page(
                400, "Sign-in failed", f"Podio answered: {error}.", forget=cookie_name
            )
        code = query.get("code")
        if not code:
            return self._page(400, "Sign-in failed", "Podio sent no authorization code.",
                              forget=cookie_name)  # fmt: skip
        exchange = self.podio.session(_EXCHANGE_KEY)
        try:
            token = await exchange.authenticate_with_code(code, self.redirect_uri)
        except PodioBadRequestError:  # a used, expired or foreign code
            return self._page(400, "Sign-in failed", "The authorization code was refused. "
                              "Please sign in again.", forget=cookie_name)  # fmt: skip
        except SessionStoreError:
            raise  # this app's store failed, not Podio: a server error
        except PodioError as exc:
            log.warning("Podio sign-in: the code exchange failed: %s", type(exc).__name__)
            return self._page(502, "Sign-in failed", "Podio could not be reached. Try again.",
                              forget=cookie_name)  # fmt: skip
        finally:
            await exchange.logout()
        if token.ref is None or token.ref.type != "user":
            return self._page(400, "Sign-in failed", "Podio did not say which user signed in.",
                              forget=cookie_name)  # fmt: skip
        user_id = token.ref.id
        await self.podio.session(USER_KEY.format(user_id)).set_token(token)
        sid = await self._session_for(request, user_id)
        response = RedirectResponse(pending.get("next") or self.after_login, status_code=303)
        self._set_cookie(
            response, self.cookie_name, self._session.dumps({"user_id": user_id, "sid": sid}),
            self.max_age,
        )  # fmt: skip
        self._delete_cookie(response, cookie_name, path=self._state_path)
        return response

    async def _session_for(self, request: Request, user_id: int) -> str:
        """This browser's session for `user_id`: the one it has open (a second tab's
        sign-in), else a new one; a session of another user in this browser ends."""
        signed = self._signed(request)
        if signed is not None:
            if signed[0] == user_id and await self.sessions.is_open(*signed):
                return signed[1]
            await self.sessions.end(signed[1])
        return await self.sessions.open(user_id)

    async def logout(self, request: Request) -> Response:
        everywhere = request.query_params.get("everywhere")
        if everywhere is None and _is_form(request):
            try:
                value = (await request.form()).get("everywhere")
            except (StarletteHTTPException, MultiPartException, ValueError):
                value = None
            everywhere = value if isinstance(value, str) else None
        signed = self._signed(request)
        if signed is not None:
            user_id, sid = signed
            if everywhere in ("1", "true", "yes", "on"):
                await self.end_sessions(user_id)
            else:
                await self.sessions.end(sid)
        response = RedirectResponse(self.after_logout, status_code=303)
        self._delete_cookie(response, self.cookie_name)
        return response

    async def end_sessions(self, user_id: int) -> None:
        """Sign `user_id` out everywhere: end every session they opened until now (in every
        browser and every process sharing the store) and forget their Podio token."""
        await self.sessions.end_all(user_id)
        await self.podio.session(USER_KEY.format(user_id)).logout()

    # -- dependencies ----------------------------------------------------------------------

    def user_id(self, request: Request) -> int | None:
        """The user id in this browser's signed session cookie, or None. It reads the cookie
        only: the session may have ended since (use `current_user` or `client` to know)."""
        signed = self._signed(request)
        return signed[0] if signed is not None else None

    async def current_user(self, request: Request) -> int | None:
        """A dependency: the user id of this browser's open session, or None (signed out,
        logged out, expired, ended everywhere). It does not ask Podio: `client` does."""
        signed = self._signed(request)
        if signed is None or not await self.sessions.is_open(*signed):
            return None
        return signed[0]

    async def client(self, request: Request) -> AsyncIterator[Podio]:
        """A dependency: `podio.session("user:<id>")` for this browser's open session; JSON
        401 when there is none, the user has no token, or Podio refuses the refresh token."""
        session = await self._open(request, login_redirect=False)
        try:
            yield session
        except PodioInvalidGrantError:
            # The refresh token died during this request (revoked, or 28 days old).
            await session.logout()
            raise HTTPException(401, _ENDED) from None

    async def page_client(self, request: Request) -> AsyncIterator[Podio]:
        """`client` for pages (login-redirect mode): where `client` answers 401, a GET or
        HEAD is redirected (303) to `/login?next=<this page>` and comes back after sign-in."""
        session = await self._open(request, login_redirect=True)
        try:
            yield session
        except PodioInvalidGrantError:
            await session.logout()
            raise self._to_login(request) from None

    # -- helpers ---------------------------------------------------------------------------

    async def _open(self, request: Request, *, login_redirect: bool) -> Podio:
        def refuse(detail: str) -> HTTPException:
            if login_redirect and request.method in ("GET", "HEAD"):
                return self._to_login(request)
            return HTTPException(401, detail)

        signed = self._signed(request)
        if signed is None:
            raise refuse(_SIGNED_OUT)
        user_id, sid = signed
        if not await self.sessions.is_open(user_id, sid):
            raise refuse(_ENDED)
        session = self.podio.session(USER_KEY.format(user_id))
        try:
            usable = await session.is_authenticated()
        except PodioInvalidGrantError:
            usable = False
        except (PodioConnectionError, PodioServerError, PodioUnavailableError):
            # Podio did not answer the refresh: the user may well still be signed in.
            raise HTTPException(503, "Podio could not be reached: try again") from None
        if not usable:
            raise refuse(_ENDED)
        return session

    def _to_login(self, request: Request) -> HTTPException:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = self.login_url
        if safe_next(here):
            target += "?" + urlencode({"next": here})
        return HTTPException(303, "Sign in to continue", headers={"Location": target})

    def _signed(self, request: Request) -> tuple[int, str] | None:
        """(user id, session id) from a good session cookie, or None."""
        raw = request.cookies.get(self.cookie_name)
        if not raw:
            return None
        try:
            data = self._session.loads(raw, max_age=self.max_age)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict):
            return None
        user_id, sid = data.get("user_id"), data.get("sid")
        if not isinstance(user_id, int) or isinstance(user_id, bool) or not isinstance(sid, str):
            return None
        return user_id, sid

    def _state_cookie(self, state: str) -> str:
        # One cookie per pending state, named after it: sign-ins in two tabs never overwrite
        # each other, and a callback touches only its own.
        return self.state_cookie_prefix + _digest(state)[:24]

    def _page(
        self, status: int, title: str, message: str, *, forget: str | None = None
    ) -> Response:
        login = html.escape(self.login_url, quote=True)
        body = (
            '<!doctype html><html lang="en"><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
            f'<p><a href="{login}">Sign in with Podio</a></p></html>'
        )
        response = HTMLResponse(body, status_code=status)
        if forget is not None:
            self._delete_cookie(response, forget, path=self._state_path)
        return response

    def _set_cookie(
        self, response: Response, name: str, value: str, max_age: int, *, path: str = "/"
    ) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path=path, httponly=True, samesite="lax",
            secure=self._secure,
        )  # fmt: skip

    def _delete_cookie(self, response: Response, name: str, *, path: str = "/") -> None:
        response.delete_cookie(name, path=path, httponly=True, samesite="lax", secure=self._secure)


def safe_next(value: str | None) -> str | None:
    """`value` when it is a path of this app (`/items?page=2`), else None: never another
    site (`https://...`, `//host`, `/\\host`), never control characters."""
    if not value or len(value) > 2000 or not value.startswith("/"):
        return None
    if value.startswith(("//", "/\\")) or "\\" in value:
        return None
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in ("application/x-www-form-urlencoded", "multipart/form-data")


# -- Podio outages inside a route ------------------------------------------------------------


async def podio_outage_handler(request: Request, exc: Exception) -> Response:
    """An exception handler: `PodioConnectionError` (timeouts included) and
    `PodioUnavailableError` raised by a route's own Podio calls become 503 with
    `Retry-After`, as JSON (`{"detail": ...}`) or, for a browser, a small HTML page;
    never a 500 with a traceback. `add_exception_handlers(app)` installs it."""
    log.warning("Podio could not be reached during %s %s: %s",
                request.method, request.url.path, type(exc).__name__)  # fmt: skip
    detail = "Podio could not be reached: try again in a moment"
    headers = {"Retry-After": "30"}
    if "text/html" in request.headers.get("accept", ""):
        body = (
            '<!doctype html><html lang="en"><meta charset="utf-8">'
            "<title>Podio is unavailable</title><h1>Podio is unavailable</h1>"
            f"<p>{detail}.</p></html>"
        )
        return HTMLResponse(body, status_code=503, headers=headers)
    return JSONResponse({"detail": detail}, status_code=503, headers=headers)


def add_exception_handlers(app: FastAPI) -> None:
    """Answer 503 (not 500) when Podio cannot be reached or is unavailable (502/503/504)
    during a request: `podio_outage_handler` for `PodioConnectionError` and
    `PodioUnavailableError`."""
    app.add_exception_handler(PodioConnectionError, podio_outage_handler)
    app.add_exception_handler(PodioUnavailableError, podio_outage_handler)


# -- webhooks --------------------------------------------------------------------------------

HookHandler = Callable[[HookEvent], Awaitable[Any]]
KnownHooks = Collection[int] | Callable[[], Awaitable[Collection[int]]]
HookMode = Literal["background", "inline"]


class PodioWebhooks:
    """A receiver for Podio's webhooks: `router` has `POST {path}` ("/podio/hooks").

    Args:
        podio: validates `hook.verify` codes: the app or user that created the hooks.
        handler: awaited with a `HookEvent` for every delivery but `hook.verify`.
        path: the route's path.
        secret: a shared secret the hook URL carries in its query (register
            `webhooks.hook_url(public_base_url)`); a delivery without it is refused (403).
        secret_param: the query parameter holding `secret` ("podiokit_secret").
        known_hooks: the hook ids this app created (a set you keep up to date, or an async
            function returning them); a delivery for another hook id is refused (403).
        mode: "background" (the default): a delivery is answered as soon as it is accepted
            and `handler` runs in a worker task, apart from Podio's request. "inline": the
            answer waits for `handler`, and is 500 if it raises.
        queue_size: background mode: how many accepted events may wait for a worker (1000).
            When the queue is full a delivery gets 503, so it is not acknowledged.
        workers: background mode: how many events are handled at once (1: one after the
            other, in the order they arrived).
        drain_timeout: background mode: at shutdown, seconds the workers have to finish the
            queued events before they are cancelled (10).

    Podio does not sign its deliveries: anyone who knows the URL can POST a well-formed
    event. The ids in an event are only a hint (fetch the item, as your app, before
    trusting it); `secret` keeps strangers out, since Podio moves the hook URL's query
    string into the body it posts, and `known_hooks` refuses deliveries for hooks you did
    not create. `hook.verify` is checked against `secret` but not `known_hooks` (it comes
    before `hooks.create` returns the id): a verify for a hook that `podio` cannot manage
    fails at Podio and gets 502.

    A `hook.verify` delivery is answered by validating its code with `podio`, which makes
    the hook active. Every other delivery becomes a `HookEvent` for `handler`, including
    event types podiokit does not know. A delivery that is not Podio's form (no `type`, an
    id that is not an integer) gets 400 and a log line.

    Whether Podio retries a failed delivery, and when it turns a hook inactive, is unknown
    (docs/dev/podio-behaviour.md §7): never count on a retry. In background mode an
    accepted event is answered 200 at once; if `handler` raises, the failure is logged and
    counted (`stats()`) and the event is not retried. The workers run while the app
    runs: `app.include_router(webhooks.router)` adds the router's lifespan to the app's
    (FastAPI 0.112.2 or later), or enter `webhooks.lifespan()` yourself. At shutdown new
    deliveries get 503, and the queued events are handled for up to `drain_timeout`
    seconds; those left are counted as dropped and logged. A delivery that arrives while
    the workers are not running (an app served without its lifespan) is handled inline,
    with a warning. To see and repair your hooks (an inactive hook receives nothing),
    use `hooks()` and `repair()`.
    """

    def __init__(
        self,
        podio: Podio,
        handler: HookHandler,
        *,
        path: str = "/podio/hooks",
        secret: str | None = None,
        secret_param: str = "podiokit_secret",
        known_hooks: KnownHooks | None = None,
        mode: HookMode = "background",
        queue_size: int = _defaults.WEBHOOK_QUEUE_SIZE,
        workers: int = _defaults.WEBHOOK_WORKERS,
        drain_timeout: float = _defaults.WEBHOOK_DRAIN_TIMEOUT,
    ) -> None:
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', not {path!r}")
        if secret is not None and len(secret) < 16:
            raise ValueError("secret must be at least 16 characters (use secrets.token_urlsafe)")
        if not secret_param:
            raise ValueError("secret_param must not be empty")
        if mode not in ("background", "inline"):
            raise ValueError(f"mode must be 'background' or 'inline', not {mode!r}")
        for name, value in (("queue_size", queue_size), ("workers", workers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, not {value!r}")
        if not drain_timeout >= 0:
            raise ValueError(f"drain_timeout must be >= 0 seconds, not {drain_timeout!r}")
        self.podio = podio
        self.handler = handler
        self.path = path
        self.secret = secret
        self.secret_param = secret_param
        self.known_hooks = known_hooks
        self.mode: HookMode = mode
        self._queue = HookQueue(
            handler, size=queue_size, workers=workers, drain_timeout=drain_timeout
        )
        self._warned_not_running = False
        self.router = APIRouter(lifespan=self.lifespan)
        self.router.add_api_route(
            path, self.receive, methods=["POST"], name="podio_webhooks", include_in_schema=False
        )

    def __repr__(self) -> str:
        return (
            f"PodioWebhooks(path={self.path!r}, mode={self.mode!r}, "
            f"secret={'***' if self.secret else None})"
        )

    def hook_url(self, public_url: str) -> str:
        """The URL to register with `podio.hooks.create`: `public_url` (your origin, e.g.
        "https://myapp.example", to which the route's path is added; or the receiver's
        whole public URL when it has a path) with the secret in its query, if any."""
        parts = urlsplit(public_url)
        url = public_url.rstrip("/") + self.path if parts.path in ("", "/") else public_url
        if self.secret is not None:
            sep = "&" if parts.query else "?"
            url += f"{sep}{quote(self.secret_param)}={quote(self.secret)}"
        return url

    # -- running ---------------------------------------------------------------------------

    @asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        """The workers of background mode, running while the block runs; at its end new
        deliveries get 503 and the queue is drained (for up to `drain_timeout` seconds).

        It is the router's lifespan: FastAPI runs it with the app's once the router is
        included. Entering it again while it runs (your own lifespan, for an older
        FastAPI) starts nothing more. Inline mode has nothing to run."""
        if self.mode == "inline":
            yield
            return
        async with self._queue.running():
            yield

    def stats(self) -> HookStats:
        """Counts of what the receiver did with the events: accepted, handled, failed,
        refused (503), dropped at shutdown, still queued; and whether it is running."""
        return self._queue.stats()

    async def join(self) -> None:
        """Wait until every accepted event has been handled (in tests, before checking
        what the handler did)."""
        await self._queue.join()

    # -- the hooks at Podio -----------------------------------------------------------------

    async def hooks(self, ref_type: str, ref_id: int, public_url: str | None = None) -> list[Hook]:
        """The hooks on an object, each with its `status` ("active" or "inactive"): only
        those calling this receiver at `hook_url(public_url)` when `public_url` is given."""
        url = None if public_url is None else self.hook_url(public_url)
        return await list_hooks(self.podio, ref_type, ref_id, url=url)

    async def repair(
        self,
        ref_type: str,
        ref_id: int,
        public_url: str,
        *,
        types: Iterable[str] = (),
        retry_for: float = 0.0,
        retry_every: float = 5.0,
    ) -> list[HookRepair]:
        """Make this receiver's hooks on an object active: create those of `types` that are
        missing, ask Podio to verify the inactive ones again (this receiver answers the
        `hook.verify`), and report each one (`repair_hooks`). The ids are added to
        `known_hooks`, as soon as they are known, when it is a set. Run it once the app is serving, or in a task with
        `retry_for` (seconds to keep asking while hooks stay inactive)."""
        known = self.known_hooks if isinstance(self.known_hooks, MutableSet) else None
        return await repair_hooks(
            self.podio, ref_type, ref_id, self.hook_url(public_url), types=types,
            retry_for=retry_for, retry_every=retry_every, known_hooks=known,
        )  # fmt: skip

    # -- the route -------------------------------------------------------------------------

    async def receive(self, request: Request) -> Response:
        try:
            params = await _form(request)
        except MalformedHookEvent as exc:
            log.warning("Podio webhook: malformed delivery refused: %s", exc)
            return PlainTextResponse(f"malformed hook delivery: {exc}", status_code=400)
        if self.secret is not None:
            sent = params.pop(self.secret_param, None) or request.query_params.get(
                self.secret_param, ""
            )
            if not hmac.compare_digest(sent.encode(), self.secret.encode()):
                log.warning("Podio webhook: delivery without the shared secret refused")
                return PlainTextResponse("unknown sender", status_code=403)
        try:
            event = HookEvent.from_params(params)
        except MalformedHookEvent as exc:
            log.warning("Podio webhook: malformed delivery refused: %s", exc)
            return PlainTextResponse(f"malformed hook delivery: {exc}", status_code=400)
        if event.type == "hook.verify":
            return await self._verify(event)
        if self.known_hooks is not None and not await self._known(event.hook_id):
            log.warning("Podio webhook: delivery for unknown hook %s refused", event.hook_id)
            return PlainTextResponse("unknown hook", status_code=403)
        if self.mode == "inline" or self._queue.state == "stopped":
            return await self._inline(event)
        if not self._queue.offer(event):
            # Not acknowledged: whether Podio sends it again is unknown (§7).
            busy = "stopping" if self._queue.state == "stopping" else "busy"
            return PlainTextResponse(f"the receiver is {busy}", status_code=503,
                                     headers={"Retry-After": "30"})  # fmt: skip
        return PlainTextResponse("ok")

    async def _inline(self, event: HookEvent) -> Response:
        if self.mode == "background" and not self._warned_not_running:
            self._warned_not_running = True
            log.warning(
                "Podio webhook: the receiver's workers are not running (the app was started "
                "without its lifespan?): deliveries are handled inline, holding Podio's "
                "request. Include webhooks.router in the app, or enter webhooks.lifespan()"
            )
        if not await self._queue.call(event):
            # Podio's retries are unknown (docs/dev/podio-behaviour.md §7): the 500 tells
            # Podio the delivery failed; it may or may not come again.
            return PlainTextResponse("the handler failed", status_code=500)
        return PlainTextResponse("ok")

    async def _known(self, hook_id: int | None) -> bool:
        if hook_id is None:
            return False
        known = self.known_hooks
        if callable(known):
            known = await known()
        assert known is not None
        return hook_id in known

    async def _verify(self, event: HookEvent) -> Response:
        assert event.hook_id is not None and event.code is not None  # from_params checks
        try:
            await self.podio.hooks.validate_verification(event.hook_id, code=event.code)
        except PodioError as exc:
            log.warning("Podio webhook: hook %s could not be validated: %s (%s)",
                        event.hook_id, type(exc).__name__, exc.status)  # fmt: skip
            return PlainTextResponse("verification failed", status_code=502)
        log.info("Podio webhook: hook %s verified", event.hook_id)
        return PlainTextResponse("ok")


async def _form(request: Request) -> dict[str, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise MalformedHookEvent(f"the body is not a form (content-type {kind or 'missing'!r})")
    try:
        form = await request.form()
    except (StarletteHTTPException, MultiPartException, ValueError) as exc:
        # Starlette turns a broken multipart body into a 400 HTTPException inside an app.
        raise MalformedHookEvent(f"the form could not be parsed ({type(exc).__name__})") from None
    params: dict[str, str] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str):
            raise MalformedHookEvent(f"parameter {name!r} is a file upload")
        params[name] = value
    return params
