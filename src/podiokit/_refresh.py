"""The refresh engine: each session key's auth state, and refresh without a stampede.

Refresh is single-flight per session key: the caller takes the store's lock for the key,
re-reads the stored token, and refreshes only if the token is still the one that failed or
expired. Everyone else waiting on the lock then finds the new token in the store. The
token request and the store write run shielded from cancellation, so a cancelled caller
cannot lose a rotated refresh token.

Rotation is not what Podio was seen doing (the same refresh token comes back, with a 28-day
sliding expiry: docs/dev/podio-behaviour.md §1.3), but the engine works either way: whatever
refresh token an answer carries is stored, and an answer without one keeps the old one.

The client making the call is opaque here: it is only handed to `on_token_will_refresh`.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

import anyio

from .auth import OAuthToken, secret
from .errors import PodioAuthorizationError, PodioInvalidGrantError, SessionStoreError

if TYPE_CHECKING:
    from .sessions import SessionStore

__all__ = ["GrantFunc", "OnRefresh", "SessionAuth", "load", "refresh"]

logger = logging.getLogger("podiokit")

#: The client a call was made with (a `Podio`), as the refresh callback receives it.
ClientT = TypeVar("ClientT")

#: `on_token_will_refresh`: called with the client whose session's token expired.
OnRefresh = Callable[[ClientT], "Awaitable[None] | None"]
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
    client: ClientT,
    auth: SessionAuth,
    store: SessionStore,
    failed: OAuthToken | None,
    *,
    grant: GrantFunc,
    can_refresh: bool,
    on_token_will_refresh: OnRefresh[ClientT] | None,
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
                    client,
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


def _keep_refresh_token(token: OAuthToken, previous: str) -> OAuthToken:
    """A refresh answer without `refresh_token` leaves the old one in force.

    Podio is not seen rotating refresh tokens: a captured refresh answers the same one, and
    it lives 28 days from its last use (docs/dev/podio-behaviour.md §1.3). Every captured
    answer carries it, but nothing promises that; if one does not, the token just used is
    still the one to use next. A rotated token, when one comes back, always wins."""
    if token.refresh_token:
        return token
    return dataclasses.replace(token, refresh_token=previous)


def _same(a: OAuthToken, b: OAuthToken) -> bool:
    return a.access_token == b.access_token and a.refresh_token == b.refresh_token


def _usable_instead_of(token: OAuthToken, failed: OAuthToken | None) -> bool:
    if token.dead or token.is_expired:
        return False
    return failed is None or token.access_token != failed.access_token


async def _obtain(
    client: ClientT,
    auth: SessionAuth,
    current: OAuthToken | None,
    *,
    grant: GrantFunc,
    can_refresh: bool,
    on_token_will_refresh: OnRefresh[ClientT] | None,
    store: SessionStore,
) -> OAuthToken:
    if not can_refresh:
        # Client-side flow: there is no secret, so the token endpoint is off limits. The
        # application re-authenticates (a new implicit-flow redirect) in the callback.
        if on_token_will_refresh is not None:
            result = on_token_will_refresh(client)
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
            token = await grant(
                {"grant_type": "refresh_token", "refresh_token": secret(current.refresh_token)}
            )
        except PodioInvalidGrantError:
            if auth.app_credentials is None:
                raise
            logger.debug("refresh token of app session %r refused; re-authenticating", auth.key)
        else:
            return _keep_refresh_token(token, current.refresh_token)
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
