"""OAuth: the token endpoint (form and /v2 JSON, every grant), and the authorize page: a
consent page for a person, an immediate redirect for a program."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from . import _consent
from ._common import dumps
from ._errors import ApiError, dumps_text
from ._router import Ctx, Reply, Route
from ._state import Token
from ._tokens import invalid_grant


def redirect_allowed(redirect_uri: str, domains: tuple[str, ...]) -> bool:
    """True when the URI's host is a registered domain or below one. `*.test` names every
    host under .test; a loopback address allows every loopback address."""
    parts = urlsplit(redirect_uri)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return False
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in domains:
        entry = entry.lower().strip("[]")
        if address is not None:
            try:
                allowed = ipaddress.ip_address(entry)
            except ValueError:
                continue
            if address == allowed or (address.is_loopback and allowed.is_loopback):
                return True
            continue
        domain = entry[2:] if entry.startswith("*.") else entry
        if host == domain or host.endswith("." + domain):
            return True
    return False


def _invalid_client() -> ApiError:
    return ApiError(400, "invalid_client", "invalid_auth")


def _invalid_request(description: str) -> ApiError:
    return ApiError(400, "invalid_request", description)


async def _params(ctx: Ctx, *, as_json: bool) -> dict[str, Any]:
    """Parameters from the query string, the body, and HTTP Basic client credentials."""
    params: dict[str, Any] = dict(ctx.request.query_params)
    raw = await ctx.raw_body()
    is_json = ctx.request.headers.get("content-type", "").startswith("application/json")
    if is_json and not as_json:
        # §1.3: /oauth/token takes a form body; the JSON variant is /oauth/token/v2.
        raise _invalid_request(
            "POST /oauth/token takes application/x-www-form-urlencoded parameters; "
            "send JSON to /oauth/token/v2"
        )
    if as_json:
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise _invalid_request("The body is not valid JSON") from None
            if not isinstance(body, dict):
                raise _invalid_request("The body must be an object")
            params.update(body)
    else:
        # Form-encoded (every client); parsed here so python-multipart is not needed.
        params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    auth = ctx.request.headers.get("authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise _invalid_client() from None
        params.setdefault("client_id", client_id)
        params.setdefault("client_secret", secret)
    return params


def _identity(ctx: Ctx, params: dict[str, Any]) -> tuple[tuple[str, Any], str]:
    """Whose hourly budget a token call spends: per user (or app) per API key (§3)."""
    grant, client_id = params.get("grant_type"), str(params.get("client_id", ""))
    who: tuple[str, Any] = ("client", client_id)
    if grant == "password":
        user = ctx.world.user_by_mail(str(params.get("username", "")))
        who = ("user", user.user_id if user else str(params.get("username", "")))
    elif grant == "app":
        app_id = str(params.get("app_id", ""))
        who = ("app", int(app_id) if app_id.isdigit() else app_id)
    elif grant == "refresh_token":
        old = ctx.core.tokens.by_refresh.get(str(params.get("refresh_token", "")))
        if old is not None:
            who = old.identity
    return (who, client_id)


def _grant(ctx: Ctx, params: dict[str, Any]) -> Token:
    world, tokens = ctx.world, ctx.core.tokens
    client_id = str(params.get("client_id") or "")
    if client_id != world.client_id or params.get("client_secret") != world.client_secret:
        raise _invalid_client()
    grant = params.get("grant_type")
    if grant == "password":
        user = world.user_by_mail(str(params.get("username", "")))
        if user is None:
            raise invalid_grant("The username is not valid", "user.invalid.username")
        if params.get("password") != user.password:
            raise invalid_grant("The password is not valid", "user.invalid.password")
        return tokens.issue(client_id, "user", user.user_id, "password")
    if grant == "app":
        try:
            app = world.apps.get(int(params.get("app_id", "")))
        except ValueError:
            app = None
        if app is None or params.get("app_token") != app.token:
            raise invalid_grant("The app_id or app_token is not valid", "app.invalid.token")
        return tokens.issue(client_id, "app", app.app_id, "app")
    if grant == "authorization_code":
        code = str(params.get("code", ""))
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:  # §1.3: code and redirect_uri are both required
            raise _invalid_request(
                "Missing parameter redirect_uri for grant_type authorization_code"
            )
        user_id = tokens.redeem_code(client_id, code, redirect_uri)
        return tokens.issue(client_id, "user", user_id, "authorization_code")
    if grant == "refresh_token":
        return tokens.refresh(client_id, str(params.get("refresh_token", "")))
    raise ApiError(400, "unsupported_grant_type", f"Unsupported grant_type {dumps_text(grant)}")


def token_body(ctx: Ctx, token: Token) -> dict[str, Any]:
    return {
        "access_token": token.access_token,
        "token_type": "bearer",
        "expires_in": ctx.core.options.token_lifetime,
        "refresh_token": token.refresh_token,
        "scope": token.scope,
        "ref": {"type": token.ref_type, "id": token.ref_id},
    }


async def _token(ctx: Ctx, *, as_json: bool) -> Reply:
    # Every answer carries the rate-limit headers (§3: seen on a 400 from /oauth/token), even
    # one refused before its parameters are known.
    ctx.rate_headers = ctx.core.limiter.peek((("client", ""), ""), "limited")
    params = await _params(ctx, as_json=as_json)
    # The token endpoint is in the low pool: X-Rate-Limit-Limit: 250 was observed on it
    # (podio-objc#6), the figure of the operations marked "rate limited", and limits are
    # "per user per API key" (§3). So a user's grants and filters spend one 250/hour budget.
    headers = ctx.core.limiter.take(_identity(ctx, params), "limited")
    ctx.rate_headers = headers
    token = _grant(ctx, params)
    return Reply(200, dumps(token_body(ctx, token)), headers)


async def token(ctx: Ctx) -> Reply:
    return await _token(ctx, as_json=False)


async def token_v2(ctx: Ctx) -> Reply:
    return await _token(ctx, as_json=True)


async def authorize(ctx: Ctx) -> Reply:
    """A browser (it accepts text/html) gets the consent page; a program, or a request
    carrying a switch (`user=`, `deny=1`), is answered at once, as if the user approved (or
    denied) as the demo user (or `user`). `Emulator(consent_page=False)` answers browsers at
    once too."""
    q = dict(ctx.request.query_params)
    try:
        redirect_uri = _checked_redirect(ctx, q)
        answer_now = "user" in q or "deny" in q or not ctx.core.options.consent_page
        if answer_now or not _browser(ctx):
            return _answer(ctx, q, redirect_uri, status=302)
    except ApiError as err:
        if _browser(ctx):
            return _html(err.status, _consent.error_page(err.description))
        raise
    page = _consent.consent_page(
        q, ctx.world.users.values(), ctx.world.demo_user_id, urlsplit(redirect_uri).netloc
    )
    return _html(200, page)


async def authorize_decision(ctx: Ctx) -> Reply:
    """The consent page's form: `decision` ("approve" | "deny"), `user`, and the original
    parameters. Answered with a 303 back to the redirect URI."""
    raw = await ctx.raw_body()
    form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        redirect_uri = _checked_redirect(ctx, form)
        if form.get("decision") == "deny":
            form["deny"] = "1"
        elif form.get("decision") != "approve":
            raise _invalid_request("The consent form needs decision=approve or decision=deny")
        return _answer(ctx, form, redirect_uri, status=303)
    except ApiError as err:
        return _html(err.status, _consent.error_page(err.description))


def _browser(ctx: Ctx) -> bool:
    return "text/html" in ctx.request.headers.get("accept", "")


def _html(status: int, body: bytes) -> Reply:
    return Reply(status, body, {"Cache-Control": "no-store"}, media_type="text/html; charset=utf-8")


def _checked_redirect(ctx: Ctx, q: dict[str, str]) -> str:
    redirect_uri = q.get("redirect_uri")
    if not redirect_uri or q.get("client_id") != ctx.world.client_id:
        raise _invalid_request("Unknown client_id or missing redirect_uri")
    if not redirect_allowed(redirect_uri, ctx.core.options.redirect_domains):
        # §1.2: the redirect must be on the API key's domain. Never redirect elsewhere
        # (RFC 6749 §4.1.2.1); Podio's exact answer is UNCONFIRMED.
        raise _invalid_request(
            f"redirect_uri {redirect_uri} is not on a domain registered for the API key"
        )
    return redirect_uri


def _answer(ctx: Ctx, q: dict[str, str], redirect_uri: str, *, status: int) -> Reply:
    """Send the browser back: an error for a denial, else a code (or, for the implicit
    flow, a token in the fragment) for the signed-in user."""
    state = q.get("state")
    sep = "&" if "?" in redirect_uri else "?"
    extra = {"state": state} if state is not None else {}
    user_id = _signing_in(ctx, q.get("user"))
    if q.get("deny"):  # the user pressed "Deny"
        params = {"error_reason": "user_denied", "error": "access_denied",
                  "error_description": "The user denied your request.", **extra}  # fmt: skip
        location = f"{redirect_uri}{sep}{urlencode(params)}"
    elif q.get("response_type", "code") == "token":
        issued = ctx.core.tokens.issue(ctx.world.client_id, "user", user_id, "implicit")
        body = token_body(ctx, issued)
        params = {k: body[k] for k in ("access_token", "token_type", "expires_in",
                                       "refresh_token", "scope")}  # fmt: skip
        location = f"{redirect_uri}#{urlencode({**params, **extra})}"
    else:
        code = ctx.core.tokens.new_code(ctx.world.client_id, redirect_uri, user_id)
        location = f"{redirect_uri}{sep}{urlencode({'code': code, **extra})}"
    return Reply(status, b"", {"Location": location}, media_type=None)


def _signing_in(ctx: Ctx, who: str | None) -> int:
    """`user=<user_id or e-mail>` signs in as that seeded user (the demo user by default),
    as if they had typed their password on Podio's page."""
    if not who:
        return ctx.world.demo_user_id
    user = ctx.world.user_by_mail(who)
    if user is None and who.isdigit() and int(who) in ctx.world.users:
        user = ctx.world.users[int(who)]
    if user is None:
        raise _invalid_request(f"No such user {who!r}")
    return user.user_id


async def scope(ctx: Ctx) -> Any:
    if ctx.token is not None and ctx.token.ref_type == "app":
        return [{"ref_type": "app", "ref_id": ctx.token.ref_id, "permissions": ["all"]}]
    return [{"ref_type": None, "ref_id": None, "permissions": ["all"]}]


ROUTES = [
    Route("POST", "/oauth/token/v2", token_v2, auth=False, pool="self"),
    Route("POST", "/oauth/token", token, auth=False, pool="self"),
    Route("GET", "/oauth/authorize", authorize, auth=False, pool="none"),
    Route("POST", "/oauth/authorize", authorize_decision, auth=False, pool="none"),
    Route("GET", "/oauth/scope", scope),
]
