"""OAuth: the token object, the authorize URL and the implicit-flow redirect.

How a session's token is refreshed (single flight per key) is the engine's business:
`_refresh.py`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from ._defaults import TOKEN_EXPIRY_SKEW
from .errors import PodioAuthorizationError

__all__ = ["OAuthToken", "TokenRef", "authorization_url", "parse_redirect", "secret"]

#: Refresh this long before Podio's expiry, so a request never leaves with a token that
#: dies on the way.
EXPIRY_SKEW = timedelta(seconds=TOKEN_EXPIRY_SKEW)


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
