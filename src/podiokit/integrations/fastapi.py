"""FastAPI: Podio sign-in with a checked `state`, a per-user client, webhook receivers.

```python
podio = Podio(client_id, client_secret, session_store=FileSessionStore("tokens.json"))
auth = PodioAuth(podio, redirect_uri="https://example.com/auth/callback", secret_key=KEY)
app.include_router(auth.router, prefix="/auth")   # GET /auth/login, /auth/callback, POST /auth/logout

@app.get("/me")
async def me(user: Podio = Depends(auth.client)):  # 401 unless signed in
    return await user.users.get_status()

async def on_event(event: HookEvent) -> None: ...
app.include_router(PodioWebhooks(podio, on_event).router)  # POST /podio/hooks
```

Needs the `fastapi` extra (FastAPI, itsdangerous for signed cookies, python-multipart for
Podio's form-encoded hook deliveries).
"""

from __future__ import annotations

import hmac
import html
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from .._client import Podio
from ..errors import (
    PodioBadRequestError,
    PodioConnectionError,
    PodioError,
    PodioInvalidGrantError,
    PodioServerError,
    PodioUnavailableError,
)
from .hook_events import HookEvent, MalformedHookEvent

__all__ = ["HookEvent", "MalformedHookEvent", "PodioAuth", "PodioWebhooks"]

log = logging.getLogger("podiokit.integrations.fastapi")

#: The session key a user's tokens are stored under.
USER_KEY = "user:{}"
# The code is exchanged under this key, then the token moves to `user:<id>` (the user is
# only known from the token's `ref`).
_EXCHANGE_KEY = "podiokit:oauth-exchange"


class PodioAuth:
    """Podio's server-side OAuth flow for a FastAPI app, and a per-user client.

    `router` has `GET /login` (redirects to Podio with a fresh `state`, bound to this
    browser by a signed cookie), `GET /callback` (checks `state`, exchanges the code, stores
    the token under `user:<id>` in `podio`'s session store, sets a signed session cookie and
    redirects to `after_login`) and `POST /logout` (forgets the token and the cookie, then
    redirects to `after_logout`). `redirect_uri` is where the callback route is mounted, as
    registered for your API key.

    `client` is a dependency yielding `podio.session("user:<id>")` for the signed-in user,
    answering 401 when there is none or Podio refuses the user's refresh token (503 when
    Podio cannot be reached to refresh it).

    Cookies are signed with `secret_key` (itsdangerous), HttpOnly, SameSite=Lax, and Secure
    when `redirect_uri` is https. The session cookie holds the user id only; tokens stay in
    the session store. It lasts `max_age` seconds (14 days); the state cookie `state_max_age`
    (10 minutes).
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
        scope: str | None = None,
        max_age: int = 14 * 24 * 3600,
        state_max_age: int = 600,
    ) -> None:
        if not secret_key or len(secret_key) < 16:
            raise ValueError("secret_key must be at least 16 characters (use secrets.token_hex)")
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            raise ValueError(f"redirect_uri must be an http(s) URL, not {redirect_uri!r}")
        if not cookie_name:
            raise ValueError("cookie_name must not be empty")
        self.podio = podio
        self.redirect_uri = redirect_uri
        self.cookie_name = cookie_name
        self.state_cookie_name = f"{cookie_name}_state"
        self.after_login = after_login
        self.after_logout = after_logout
        self.scope = scope
        self.max_age = max_age
        self.state_max_age = state_max_age
        self._secure = urlsplit(redirect_uri).scheme == "https"
        # One salt per purpose: a state cookie can never pass for a session cookie.
        self._session = URLSafeTimedSerializer(secret_key, salt="podiokit.session")
        self._state = URLSafeTimedSerializer(secret_key, salt="podiokit.oauth-state")
        self.router = APIRouter()
        self.router.add_api_route("/login", self.login, methods=["GET"], name="podio_login")
        self.router.add_api_route(
            "/callback", self.callback, methods=["GET"], name="podio_callback"
        )
        self.router.add_api_route("/logout", self.logout, methods=["POST"], name="podio_logout")

    def __repr__(self) -> str:
        return f"PodioAuth(redirect_uri={self.redirect_uri!r}, cookie_name={self.cookie_name!r})"

    # -- routes ----------------------------------------------------------------------------

    async def login(self) -> Response:
        state = secrets.token_urlsafe(32)
        url = self.podio.authorization_url(self.redirect_uri, state=state, scope=self.scope)
        response = RedirectResponse(url, status_code=302)
        self._set_cookie(
            response, self.state_cookie_name, self._state.dumps(state), self.state_max_age
        )
        return response

    async def callback(self, request: Request) -> Response:
        query = request.query_params
        if not self._state_matches(request, query.get("state")):
            return self._page(400, "Sign-in failed", "The sign-in request is missing or was "
                              "not started in this browser. Please sign in again.")  # fmt: skip
        error = query.get("error")
        if error == "access_denied":
            return self._page(403, "Sign-in cancelled",
                              "You did not allow access to your Podio account.")  # fmt: skip
        if error:
            return self._page(400, "Sign-in failed", f"Podio answered: {error}.")
        code = query.get("code")
        if not code:
            return self._page(400, "Sign-in failed", "Podio sent no authorization code.")
        exchange = self.podio.session(_EXCHANGE_KEY)
        try:
            token = await exchange.authenticate_with_code(code, self.redirect_uri)
        except PodioBadRequestError:  # a used, expired or foreign code
            return self._page(400, "Sign-in failed", "The authorization code was refused. "
                              "Please sign in again.")  # fmt: skip
        except PodioError as exc:
            log.warning("Podio sign-in: the code exchange failed: %s", type(exc).__name__)
            return self._page(502, "Sign-in failed", "Podio could not be reached. Try again.")
        finally:
            await exchange.logout()
        if token.ref is None or token.ref.type != "user":
            return self._page(400, "Sign-in failed", "Podio did not say which user signed in.")
        await self.podio.session(USER_KEY.format(token.ref.id)).set_token(token)
        response = RedirectResponse(self.after_login, status_code=303)
        self._set_cookie(
            response, self.cookie_name, self._session.dumps({"user_id": token.ref.id}),
            self.max_age,
        )  # fmt: skip
        return response

    async def logout(self, request: Request) -> Response:
        user_id = self.user_id(request)
        if user_id is not None:
            await self.podio.session(USER_KEY.format(user_id)).logout()
        response = RedirectResponse(self.after_logout, status_code=303)
        self._delete_cookie(response, self.cookie_name)
        return response

    # -- dependencies ----------------------------------------------------------------------

    def user_id(self, request: Request) -> int | None:
        """The signed-in user's Podio id from the session cookie (a dependency), or None.
        It does not check that Podio still accepts the user's tokens: `client` does."""
        raw = request.cookies.get(self.cookie_name)
        if not raw:
            return None
        try:
            data = self._session.loads(raw, max_age=self.max_age)
        except BadSignature:  # also SignatureExpired
            return None
        user_id = data.get("user_id") if isinstance(data, dict) else None
        return user_id if isinstance(user_id, int) and not isinstance(user_id, bool) else None

    async def client(self, request: Request) -> AsyncIterator[Podio]:
        """A dependency: `podio.session("user:<id>")` for the signed-in user; 401 when no
        one is signed in, the user has no token, or Podio refuses the refresh token."""
        user_id = self.user_id(request)
        if user_id is None:
            raise HTTPException(401, "Not signed in to Podio")
        session = self.podio.session(USER_KEY.format(user_id))
        try:
            usable = await session.is_authenticated()
        except PodioInvalidGrantError:
            usable = False
        except (PodioConnectionError, PodioServerError, PodioUnavailableError):
            # Podio did not answer the refresh: the user may well still be signed in.
            raise HTTPException(503, "Podio could not be reached: try again") from None
        if not usable:
            raise HTTPException(401, "The Podio session has ended: sign in again")
        try:
            yield session
        except PodioInvalidGrantError:
            # The refresh token died during this request (revoked, or 28 days old).
            await session.logout()
            raise HTTPException(401, "The Podio session has ended: sign in again") from None

    # -- helpers ---------------------------------------------------------------------------

    def _state_matches(self, request: Request, sent: str | None) -> bool:
        cookie = request.cookies.get(self.state_cookie_name)
        if not sent or not cookie:
            return False
        try:
            expected = self._state.loads(cookie, max_age=self.state_max_age)
        except BadSignature:
            return False
        return isinstance(expected, str) and hmac.compare_digest(expected, sent)

    def _page(self, status: int, title: str, message: str) -> Response:
        body = (
            f"<!doctype html><title>{html.escape(title)}</title>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
            f'<p><a href="login">Sign in with Podio</a></p>'
        )
        response = HTMLResponse(body, status_code=status)
        # A state is good for one callback, whatever its outcome.
        self._delete_cookie(response, self.state_cookie_name)
        return response

    def _set_cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
            secure=self._secure,
        )  # fmt: skip

    def _delete_cookie(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=self._secure)


HookHandler = Callable[[HookEvent], Awaitable[Any]]


class PodioWebhooks:
    """A receiver for Podio's webhooks: `router` has `POST {path}` ("/podio/hooks").

    Register the public URL of that route with `podio.hooks.create(...)`. A `hook.verify`
    delivery is answered by validating its code with `podio` (so `podio` must be allowed to
    manage the hook: the app or user that created it), which makes the hook active. Every
    other delivery becomes a `HookEvent` awaited by `handler`, including event types
    podiokit does not know. A delivery that is not Podio's form (no `type`, an id that is
    not an integer) gets 400 and a log line; if `handler` raises, the receiver answers 500
    so that Podio tries again.
    """

    def __init__(self, podio: Podio, handler: HookHandler, *, path: str = "/podio/hooks") -> None:
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', not {path!r}")
        self.podio = podio
        self.handler = handler
        self.router = APIRouter()
        self.router.add_api_route(
            path, self.receive, methods=["POST"], name="podio_webhooks", include_in_schema=False
        )

    async def receive(self, request: Request) -> Response:
        try:
            event = HookEvent.from_params(await _form(request))
        except MalformedHookEvent as exc:
            log.warning("Podio webhook: malformed delivery refused: %s", exc)
            return PlainTextResponse(f"malformed hook delivery: {exc}", status_code=400)
        if event.type == "hook.verify":
            return await self._verify(event)
        try:
            await self.handler(event)
        except Exception:
            log.exception("Podio webhook: the handler failed on %s (hook %s)",
                          event.type, event.hook_id)  # fmt: skip
            return PlainTextResponse("the handler failed", status_code=500)
        return PlainTextResponse("ok")

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
