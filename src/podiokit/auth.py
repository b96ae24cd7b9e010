"""OAuth: the token object, the authorize URL, the implicit-flow redirect, and refresh.

Refresh is single-flight per session key: the caller takes the store's lock for the key,
re-reads the stored token, and refreshes only if the token is still the one that failed or
expired. Everyone else waiting on the lock then finds the new token in the store. The
token request and the store write run shielded from cancellation, so a cancelled caller
cannot lose a rotated refresh token.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio

from .errors import PodioAuthorizationError, PodioInvalidGrantError, SessionStoreError

if TYPE_CHECKING:
    from ._client import Podio
    from .sessions import SessionStore

__all__ = ["OAuthToken", "TokenRef", "authorization_url", "parse_redirect", "secret"]

logger = logging.getLogger("podiokit")

#: Refresh this long before Podio's expiry, so a request never leaves with a token that
#: dies on the way.
EXPIRY_SKEW = timedelta(seconds=60)


class _Secret(str):
    """A str whose repr hides it: a credential held in a dict or a local still shows as
    '***' in a traceback that prints locals. It encodes (str(), form bodies) as itself."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


def secret(value: str) -> str:
    """`value`, with a repr that never shows it."""
    return value if isinstance(value, _Secret) else _Secret(value)


@dataclass(frozen=True)
class TokenRef:
    """Who the token acts as: `type` is "user" or "app", `id` the user or app id."""

    type: str
    id: int


# A plain frozen dataclass, not a pydantic model: `import podiokit` then builds no model
# classes, and a token needs no validation beyond what `from_response` does.
@dataclass(frozen=True)
class OAuthToken:
    """An access/refresh token pair. Its repr and str never show either token."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    token_type: str = "bearer"
    expires_at: datetime | None = None
    scope: str | None = None
    ref: TokenRef | None = None
    #: When the token was obtained; bounds the refresh skew for short-lived tokens.
    issued_at: datetime | None = None
    #: Podio refused this token's refresh (invalid_grant): it cannot be used or refreshed,
    #: and every session reading it from the store knows so without asking Podio again.
    #: Authenticate again to replace it.
    dead: bool = False

    @classmethod
    def from_response(cls, body: Mapping[str, Any], *, now: datetime | None = None) -> OAuthToken:
        """Build from the token endpoint's JSON (or the implicit flow's fragment)."""
        now = now or datetime.now(timezone.utc)
        expires_in = body.get("expires_in")
        expires_at = None
        if expires_in not in (None, ""):
            # .NET types expires_in as a string; accept both.
            try:
                lifetime = float(expires_in)
            except (TypeError, ValueError):
                raise ValueError(f"expires_in is not a number: {expires_in!r}") from None
            if not math.isfinite(lifetime):
                raise ValueError(f"expires_in is not a finite number: {expires_in!r}")
            expires_at = now + timedelta(seconds=lifetime)
        return cls(
            access_token=str(body["access_token"]),
            refresh_token=body.get("refresh_token") or None,
            token_type=str(body.get("token_type") or "bearer"),
            expires_at=expires_at,
            scope=body.get("scope"),
            ref=_ref(body.get("ref")),
            issued_at=now,
        )

    @classmethod
    def from_storage(cls, data: Mapping[str, Any]) -> OAuthToken:
        """The inverse of `to_storage`. A malformed value raises ValueError naming the key
        (never showing a token)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a stored token is a JSON object, not {type(data).__name__}")
        if not isinstance(data.get("access_token"), str) or not data["access_token"]:
            raise ValueError("the stored token has no access_token")
        refresh_token = data.get("refresh_token")
        if refresh_token is not None and not isinstance(refresh_token, str):
            raise ValueError("the stored token's refresh_token is not a string")
        return cls(
            access_token=data["access_token"],
            refresh_token=refresh_token or None,
            token_type=str(data.get("token_type") or "bearer"),
            expires_at=_parse_time(data.get("expires_at"), "expires_at"),
            scope=data.get("scope"),
            ref=_ref(data.get("ref")),
            issued_at=_parse_time(data.get("issued_at"), "issued_at"),
            dead=data.get("dead") is True,
        )

    def to_storage(self) -> dict[str, Any]:
        """The JSON form session stores keep (it holds the tokens: store it privately)."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": self.token_type,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "scope": self.scope,
            "ref": {"type": self.ref.type, "id": self.ref.id} if self.ref else None,
            "issued_at": self.issued_at.isoformat() if self.issued_at else None,
            "dead": self.dead,
        }

    def expires_within(self, delta: timedelta, *, now: datetime | None = None) -> bool:
        if self.expires_at is None:
            return False
        return self.expires_at - delta <= (now or datetime.now(timezone.utc))

    @property
    def is_expired(self) -> bool:
        """True when the token expires within the refresh skew (or already has). The skew
        is 60 s, or a quarter of the token's lifetime if that is shorter: a token that lives
        a few seconds must not count as expired the moment it arrives."""
        skew = EXPIRY_SKEW
        if self.expires_at is not None and self.issued_at is not None:
            skew = min(skew, (self.expires_at - self.issued_at) / 4)
        return self.expires_within(skew)

    @property
    def is_app(self) -> bool:
        return self.ref is not None and self.ref.type == "app"


def _ref(value: Any) -> TokenRef | None:
    if isinstance(value, Mapping) and "type" in value and "id" in value:
        try:
            return TokenRef(type=str(value["type"]), id=int(value["id"]))
        except (TypeError, ValueError):
            raise ValueError(f"ref.id is not an integer: {value['id']!r}") from None
    return None


def _parse_time(value: Any, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{name} is not an ISO 8601 datetime: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def coerce_token(value: object) -> OAuthToken:
    """`set_token`'s argument: an `OAuthToken`, or a mapping with an `access_token` (the
    token endpoint's JSON with `expires_in`, or `to_storage()`'s form with `expires_at`)."""
    if isinstance(value, OAuthToken):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(
            "set_token takes an OAuthToken or a mapping with an access_token, "
            f"not {type(value).__name__}"
        )
    access = value.get("access_token")
    if not isinstance(access, str) or not access:
        raise ValueError("set_token: the mapping has no 'access_token' (a non-empty string)")
    if "expires_in" in value and "expires_at" in value:
        raise ValueError("set_token: give expires_in or expires_at, not both")
    try:
        if "expires_at" in value:
            return OAuthToken.from_storage(value)
        return OAuthToken.from_response(value)
    except ValueError as exc:
        raise ValueError(f"set_token: {exc}") from None


def authorization_url(
    auth_url: str,
    client_id: str,
    redirect_uri: str,
    *,
    state: str | None = None,
    scope: str | None = None,
    response_type: Literal["code", "token"] = "code",
) -> str:
    """The URL of Podio's authorize page for the server-side (`code`) or client-side
    (`token`) flow. It carries no secret."""
    if response_type not in ("code", "token"):
        raise ValueError(f"response_type must be 'code' or 'token', not {response_type!r}")
    params: dict[str, str] = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": response_type,
    }
    if scope is not None:
        params["scope"] = scope
    if state is not None:
        params["state"] = state
    separator = "&" if "?" in auth_url else "?"
    return f"{auth_url}{separator}{urlencode(params)}"


def parse_redirect(url_or_fragment: str) -> dict[str, str]:
    """The parameters of a redirect: the fragment of the implicit flow
    (`#access_token=...&expires_in=...`), or the query if it carries an `error=`."""
    text = url_or_fragment.strip()
    fragment = ""
    query = ""
    if "#" in text:
        before, fragment = text.split("#", 1)
        query = urlsplit(before).query if "?" in before else ""
    elif "://" in text or text.startswith("/"):
        query = urlsplit(text).query
    else:
        fragment = text.lstrip("?")
    params = dict(parse_qsl(fragment, keep_blank_values=True))
    # Podio reports a refusal in the query string, even in the implicit flow.
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, value)
    return params


def token_from_redirect(url_or_fragment: str) -> OAuthToken:
    """The token of an implicit-flow redirect; `PodioAuthorizationError` if it was refused
    or carries no token."""
    params = parse_redirect(url_or_fragment)
    if "error" in params:
        raise PodioAuthorizationError(
            "authorization refused: "
            + (params.get("error_description") or params.get("error_reason") or params["error"]),
            error=params["error"],
            error_description=params.get("error_description"),
            error_detail=params.get("error_reason"),
        )
    missing = [key for key in ("access_token", "expires_in") if not params.get(key)]
    if missing:
        raise PodioAuthorizationError(
            f"the redirect carries no {' or '.join(missing)}: it is not an implicit-flow redirect"
        )
    try:
        return OAuthToken.from_response(params)
    except ValueError:
        raise PodioAuthorizationError("the redirect's expires_in is not a number") from None


OnTokenWillRefresh = Callable[["Podio"], "Awaitable[None] | None"]
GrantFunc = Callable[[Mapping[str, str]], Awaitable[OAuthToken]]


class SessionAuth:
    """The auth state of one session key, shared by every view of that key.

    `token` caches what the store holds, so a request does not read the store; the store
    is re-read under the lock whenever a refresh is considered.
    """

    __slots__ = ("app_credentials", "auth_header", "key", "loaded", "token", "unsaved")

    def __init__(self, key: str) -> None:
        self.key = key
        self.token: OAuthToken | None = None
        self.auth_header: str | None = None
        self.loaded = False
        # Only kept in memory: an app session re-authenticates with these after
        # invalid_grant. Never written to a store, a log or a repr.
        self.app_credentials: tuple[int, str] | None = None
        #: A refreshed token the store could not take (Redis down, say): used from memory
        #: and saved on the next call, so a pair Podio already rotated is never lost.
        self.unsaved: OAuthToken | None = None

    def adopt(self, token: OAuthToken | None) -> None:
        self.token = token
        self.auth_header = None if token is None else f"OAuth2 {token.access_token}"
        self.loaded = True


async def load(auth: SessionAuth, store: SessionStore) -> OAuthToken | None:
    if auth.unsaved is not None:
        await _save_unsaved(auth, store)
    if not auth.loaded:
        auth.adopt(await store.get(auth.key))
    return auth.token


async def _save_unsaved(auth: SessionAuth, store: SessionStore) -> None:
    token = auth.unsaved
    if token is None:
        return
    try:
        await store.set(auth.key, token)
    except SessionStoreError:
        return  # still down: keep using the token from memory (warned when it was kept)
    if auth.unsaved is token:
        auth.unsaved = None
    logger.info("session %r: the refreshed token kept in memory is saved now", auth.key)


async def refresh(
    podio: Podio,
    auth: SessionAuth,
    store: SessionStore,
    failed: OAuthToken | None,
    *,
    grant: GrantFunc,
    can_refresh: bool,
    on_token_will_refresh: OnTokenWillRefresh | None,
) -> OAuthToken:
    """Make sure the session has a token other than `failed`, refreshing at most once
    across every task (and, with a shared store, every process) that sees it fail."""
    async with store.lock(auth.key):
        stored = await store.get(auth.key)
        if stored is not None and _usable_instead_of(stored, failed):
            auth.adopt(stored)
            return stored
        current = stored or failed
        with anyio.CancelScope(shield=True):
            try:
                token = await _obtain(
                    podio,
                    auth,
                    current,
                    grant=grant,
                    can_refresh=can_refresh,
                    on_token_will_refresh=on_token_will_refresh,
                    store=store,
                )
            except PodioInvalidGrantError:
                if current is None or current.dead:
                    if current is not None:
                        auth.adopt(current)  # known dead here too: later calls send nothing
                    raise
                # Podio refused the refresh token: remember it, so the tasks queued on this
                # lock, later calls and other processes fail at once instead of asking again.
                latest = await _mark_dead(auth, store, current)
                if latest is None:
                    raise
                token = latest  # someone else stored a fresh token meanwhile: use it
            # Adopted first: if the store fails now, this process still has the pair Podio
            # has just rotated (the old one is dead), and saves it on its next call.
            auth.adopt(token)
            if token is not stored:
                try:
                    await store.set(auth.key, token)
                except SessionStoreError as exc:
                    auth.unsaved = token
                    logger.warning(
                        "session %r: the refreshed token could not be saved (%s); it is kept "
                        "in memory and saved when the store answers again",
                        auth.key,
                        exc,
                    )
                else:
                    auth.unsaved = None
        return token


async def _mark_dead(
    auth: SessionAuth, store: SessionStore, refused: OAuthToken
) -> OAuthToken | None:
    """Store `refused` marked dead, unless the store now holds another token: a good one is
    kept and returned (never overwritten by a failed refresh); anything else is left alone."""
    latest = await store.get(auth.key)
    if latest is not None and _usable_instead_of(latest, refused):
        return latest
    if latest is not None and _same(latest, refused):
        dead = dataclasses.replace(latest, dead=True)
        await store.set(auth.key, dead)
        auth.adopt(dead)
    else:
        auth.adopt(latest)
    logger.info(
        "session %r: Podio refused the refresh token (invalid_grant); authenticate again",
        auth.key,
    )
    return None


def _same(a: OAuthToken, b: OAuthToken) -> bool:
    return a.access_token == b.access_token and a.refresh_token == b.refresh_token


def _usable_instead_of(token: OAuthToken, failed: OAuthToken | None) -> bool:
    if token.dead or token.is_expired:
        return False
    return failed is None or token.access_token != failed.access_token


async def _obtain(
    podio: Podio,
    auth: SessionAuth,
    current: OAuthToken | None,
    *,
    grant: GrantFunc,
    can_refresh: bool,
    on_token_will_refresh: OnTokenWillRefresh | None,
    store: SessionStore,
) -> OAuthToken:
    if not can_refresh:
        # Client-side flow: there is no secret, so the token endpoint is off limits. The
        # application re-authenticates (a new implicit-flow redirect) in the callback.
        if on_token_will_refresh is not None:
            result = on_token_will_refresh(podio)
            if inspect.isawaitable(result):
                await result
        token = auth.token if auth.token is not current else await store.get(auth.key)
        if token is not None and _usable_instead_of(token, current):
            return token
        raise PodioAuthorizationError(
            "the access token expired and the client-side flow cannot refresh it; "
            "re-authenticate in on_token_will_refresh"
        )
    if current is not None and current.refresh_token and not current.dead:
        logger.debug("refreshing the token of session %r", auth.key)
        try:
            return await grant(
                {"grant_type": "refresh_token", "refresh_token": secret(current.refresh_token)}
            )
        except PodioInvalidGrantError:
            if auth.app_credentials is None:
                raise
            logger.debug("refresh token of app session %r refused; re-authenticating", auth.key)
    if auth.app_credentials is not None:
        app_id, app_token = auth.app_credentials
        try:
            return await grant(
                {"grant_type": "app", "app_id": str(app_id), "app_token": secret(app_token)}
            )
        except PodioInvalidGrantError:
            # The app token itself was refused: asking again with it cannot succeed.
            auth.app_credentials = None
            raise
    if current is not None and current.dead:
        raise PodioInvalidGrantError(
            f"session {auth.key!r}: Podio refused this token's refresh token earlier "
            "(invalid_grant); authenticate again",
            error="invalid_grant",
        )
    raise PodioAuthorizationError(
        "the session has no usable token and nothing to refresh it with; authenticate first"
    )
