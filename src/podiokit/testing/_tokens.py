"""Issued OAuth tokens, authorization codes and refresh-token rotation."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from ._errors import ApiError
from ._state import Token


def invalid_grant(description: str, detail: str | None = None) -> ApiError:
    return ApiError(400, "invalid_grant", description, detail=detail, propagate=True)


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    user_id: int
    expires_at: float


class TokenStore:
    def __init__(self, lifetime: int, refresh: str) -> None:
        if refresh not in ("rotate", "reuse"):
            raise ValueError("refresh must be 'rotate' or 'reuse'")
        self.lifetime = lifetime
        self.refresh_mode = refresh
        self.by_access: dict[str, Token] = {}
        self.by_refresh: dict[str, Token] = {}
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[str, int] = {}

    def issue(self, client_id: str, ref_type: str, ref_id: int, grant: str) -> Token:
        scope = "global:all" if ref_type == "user" else f"app:{ref_id}:all"
        token = Token(
            access_token=secrets.token_hex(16),
            refresh_token=secrets.token_hex(16),
            client_id=client_id,
            ref_type=ref_type,
            ref_id=ref_id,
            expires_at=time.time() + self.lifetime,
            scope=scope,
        )
        self.by_access[token.access_token] = token
        self.by_refresh[token.refresh_token] = token
        self.grants[grant] = self.grants.get(grant, 0) + 1
        return token

    def refresh(self, client_id: str, refresh_token: str) -> Token:
        old = self.by_refresh.get(refresh_token)
        if old is None or old.client_id != client_id:
            raise invalid_grant("The refresh token is not valid", "oauth.refresh_token.invalid")
        if self.refresh_mode == "rotate":
            # Single use: the old refresh token dies; its access token lives until expiry.
            del self.by_refresh[refresh_token]
            return self.issue(client_id, old.ref_type, old.ref_id, "refresh_token")
        token = Token(
            access_token=secrets.token_hex(16),
            refresh_token=refresh_token,
            client_id=client_id,
            ref_type=old.ref_type,
            ref_id=old.ref_id,
            expires_at=time.time() + self.lifetime,
            scope=old.scope,
        )
        self.by_access[token.access_token] = token
        self.by_refresh[refresh_token] = token
        self.grants["refresh_token"] = self.grants.get("refresh_token", 0) + 1
        return token

    def new_code(self, client_id: str, redirect_uri: str, user_id: int) -> str:
        code = secrets.token_hex(12)
        self.codes[code] = AuthCode(code, client_id, redirect_uri, user_id, time.time() + 600)
        return code

    def redeem_code(self, client_id: str, code: str, redirect_uri: str | None) -> int:
        found = self.codes.pop(code, None)  # single use
        if found is None or found.expires_at < time.time() or found.client_id != client_id:
            raise invalid_grant("The authorization code is not valid", "oauth.code.invalid")
        if redirect_uri is not None and redirect_uri != found.redirect_uri:
            raise invalid_grant("The redirect_uri does not match", "oauth.redirect_uri.mismatch")
        return found.user_id

    def expire_all(self) -> None:
        past = time.time() - 1
        # A copy: a server thread may issue tokens meanwhile.
        for token in list(self.by_access.values()):
            token.expires_at = min(token.expires_at, past)
