"""Browser sessions of a web app, kept in the app's `SessionStore` beside the users' tokens.

A signed-in browser holds a session id (in a signed cookie); the store holds one record per
open session, so a session ends for every process at once when its record is deleted
(logout), and `end_all` ends every session a user opened before now. Stores keep
`OAuthToken`s only, so a record is one: `token_type` marks it as a session record, `ref` names
the user, `issued_at` and `expires_at` bound it, and `access_token` is a fixed word (never a
credential, never sent to Podio). Framework-free: `fastapi.py` uses it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..auth import OAuthToken, TokenRef
from ..sessions import SessionStore

__all__ = ["WebSessions"]

_SESSION = "podiokit-web-session"
_ENDED = "podiokit-web-sessions-ended"


@dataclass(frozen=True)
class WebSessions:
    """Open, check and end browser sessions in `store`; a session lasts `max_age` seconds."""

    store: SessionStore
    max_age: int

    async def open(self, user_id: int) -> str:
        """A new session for `user_id`: its id, for the browser's cookie only."""
        sid = secrets.token_urlsafe(32)
        now = datetime.now(timezone.utc)
        record = OAuthToken(
            access_token=_SESSION, token_type=_SESSION, ref=TokenRef("user", user_id),
            issued_at=now, expires_at=now + timedelta(seconds=self.max_age),
        )  # fmt: skip
        await self.store.set(_key(sid), record)
        return sid

    async def is_open(self, user_id: int, sid: str) -> bool:
        """True while the session exists, belongs to `user_id`, has not expired and was not
        ended by `end_all`. A record found expired or ended is deleted."""
        record = await self.store.get(_key(sid))
        if (
            record is None
            or record.token_type != _SESSION
            or record.ref != TokenRef("user", user_id)
        ):
            return False
        now = datetime.now(timezone.utc)
        if record.expires_at is None or record.expires_at <= now or record.issued_at is None:
            await self.store.delete(_key(sid))
            return False
        ended = await self.store.get(_ended_key(user_id))
        if (
            ended is not None
            and ended.issued_at is not None
            and record.issued_at <= ended.issued_at
        ):
            await self.store.delete(_key(sid))
            return False
        return True

    async def end(self, sid: str) -> None:
        """End one session (this browser's)."""
        await self.store.delete(_key(sid))

    async def end_all(self, user_id: int) -> None:
        """End every session `user_id` opened until now, in every browser and process."""
        now = datetime.now(timezone.utc)
        mark = OAuthToken(
            access_token=_ENDED, token_type=_ENDED, ref=TokenRef("user", user_id), issued_at=now
        )
        await self.store.set(_ended_key(user_id), mark)


def _key(sid: str) -> str:
    # A digest, not the id itself: whoever can list the store's keys cannot use them.
    return "podiokit:web-session:" + hashlib.sha256(sid.encode()).hexdigest()


def _ended_key(user_id: int) -> str:
    return f"podiokit:web-sessions-ended:user:{user_id}"
