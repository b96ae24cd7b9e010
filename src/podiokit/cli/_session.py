"""Credentials for the command line: the environment, app tokens, and the session file.

Shared by every command that talks to Podio (`podiokit login`, `logout`, `export`, and
`mirror`): one place decides where a command's identity comes from (`_errors` says what is
wrong when it cannot). Never imported by the core.

The session file is a `FileSessionStore` (0600, atomic writes, refresh single-flight across
processes). `podiokit login` signs in with the password flow (or, with `--app`, the app flow)
and saves the token there; later commands refresh it in place, so the rotated refresh token
goes back into the file. Each entry is namespaced by API URL and client id, so a sign-in
against the emulator never replaces one against Podio; inside a namespace the user is
`default` and each app `app:<app_id>` (the key the exporter gives an app's session).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._errors import CliError

if TYPE_CHECKING:
    from podiokit import Podio
    from podiokit.auth import OAuthToken
    from podiokit.sessions import RateLimitShare, SessionStore, SharedRateLimits

__all__ = [
    "CliCredentials",
    "NamespacedStore",
    "SharedBudgetStore",
    "app_session_key",
    "credentials",
    "default_session_file",
    "open_client",
    "raise_if_app_session_dead",
    "session_expired_message",
    "sign_in",
    "sign_in_user",
]

#: The session key, inside its namespace, of the user `podiokit login` signed in.
USER_KEY = "default"


def app_session_key(app_id: int) -> str:
    """The session key, inside its namespace, of an app (`podiokit login --app APP_ID`): the
    key `podiokit.export` reads an app with, so both find the same saved token."""
    return f"app:{app_id}"


def default_session_file(env: Mapping[str, str] | None = None) -> Path:
    """`$PODIO_SESSION_FILE`, else `session.json` in the platform's user config directory:
    `$XDG_CONFIG_HOME/podiokit` or `~/.config/podiokit` on Linux and other Unixes,
    `~/Library/Application Support/podiokit` on macOS, `%APPDATA%\\podiokit` on Windows."""
    env = os.environ if env is None else env
    explicit = env.get("PODIO_SESSION_FILE")
    if explicit:
        return Path(explicit).expanduser()
    home = Path(env.get("HOME") or Path.home())
    if sys.platform == "win32":
        base = Path(env["APPDATA"]) if env.get("APPDATA") else home / "AppData" / "Roaming"
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = env.get("XDG_CONFIG_HOME")
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".config"
    return base / "podiokit" / "session.json"


def session_expired_message(path: Path, app_id: int | None = None) -> str:
    if app_id is not None:
        return (
            f"the session of app {app_id} saved in {path} has expired or was revoked (Podio "
            f"refused its refresh token): run `podiokit login --app {app_id}` again"
        )
    return (
        f"the session saved in {path} has expired or was revoked (Podio refused its refresh "
        "token): run `podiokit login` again"
    )


@dataclass
class CliCredentials:
    """Where a command's identity comes from. `app_tokens`: app id -> app token given on the
    command line or in PODIO_APP_TOKEN; `user`: (username, password) from the environment;
    `session_file`: the file whose saved sign-in is used (and kept refreshed), or None."""

    client_id: str
    client_secret: str = field(repr=False)
    api_url: str
    app_tokens: dict[int, str] = field(default_factory=dict, repr=False)
    user: tuple[str, str] | None = field(default=None, repr=False)
    session_file: Path | None = None
    #: PODIO_REDIS_URL: share the hourly budget with other processes acting as the same
    #: identity (RedisSessionStore's shared figures). Out of the repr: it may hold a password.
    redis_url: str | None = field(default=None, repr=False)

    @property
    def namespace(self) -> str:
        return session_namespace(self.api_url, self.client_id)


def session_namespace(api_url: str, client_id: str) -> str:
    # A token is bound to the API key that obtained it and to the server that issued it.
    return f"podiokit-cli {api_url.rstrip('/')} {client_id}/"


def api_key(env: Mapping[str, str]) -> tuple[str, str, str]:
    """(client_id, client_secret, api_url) from PODIO_CLIENT_ID, PODIO_CLIENT_SECRET and
    PODIO_API_URL; a usage error naming what is missing."""
    client_id = env.get("PODIO_CLIENT_ID")
    client_secret = env.get("PODIO_CLIENT_SECRET")
    if not client_id or not client_secret:
        missing = [n for n in ("PODIO_CLIENT_ID", "PODIO_CLIENT_SECRET") if not env.get(n)]
        raise CliError(f"set {' and '.join(missing)} (your Podio API key)", "usage")
    api_url = (env.get("PODIO_API_URL") or "https://api.podio.com").rstrip("/")
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(
            f"PODIO_API_URL must be an http(s) URL such as https://api.podio.com, not "
            f"{_masked(api_url)!r}",
            "usage",
        )
    return client_id, client_secret, api_url


def _masked(url: str) -> str:
    """`url` without a password it may hold (user:password@host)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


_REDIS_SCHEMES = ("redis", "rediss", "unix")


def redis_url(env: Mapping[str, str]) -> str | None:
    """PODIO_REDIS_URL, checked: a usage error naming the variable when it is not a Redis
    URL (its password never shown)."""
    url = env.get("PODIO_REDIS_URL") or None
    if url is not None and urlsplit(url).scheme not in _REDIS_SCHEMES:
        raise CliError(
            f"PODIO_REDIS_URL must be a redis://, rediss:// or unix:// URL, not {_masked(url)!r}",
            "usage",
        )
    return url


def credentials(
    env: Mapping[str, str],
    *,
    app_ids: Sequence[int] = (),
    app_tokens: Sequence[str] = (),
    session_file: str | os.PathLike[str] | None = None,
) -> CliCredentials:
    """Resolve a command's credentials, in this order for each app (what is given for this
    run before what was saved):

    1. an app token (`--app-token`, else PODIO_APP_TOKEN, comma-separated);
    2. a user: PODIO_USERNAME and PODIO_PASSWORD;
    3. the app's session saved by `podiokit login --app APP_ID` in the session file
       (`--session-file`, else PODIO_SESSION_FILE, else the default file when it exists);
    4. the user saved by `podiokit login` in that file.

    Which of 3 and 4 an app gets is known only once the file is read: `sign_in` decides.

    With PODIO_REDIS_URL, the hourly budget is shared through Redis with every process that
    acts as the same identity (tokens stay where they are).

    An explicit `--session-file` is always used as the store, so the tokens of this run
    (app sessions included) are saved and refreshed there. Raises `CliError` (usage) when
    an app has no way in."""
    client_id, client_secret, api_url = api_key(env)
    twice = sorted({a for a in app_ids if list(app_ids).count(a) > 1})
    if twice:
        raise CliError(f"app {', '.join(map(str, twice))} is named more than once", "usage")
    redis = redis_url(env)
    raw = list(app_tokens) or [t for t in env.get("PODIO_APP_TOKEN", "").split(",") if t.strip()]
    tokens = pair_tokens(app_ids, raw)
    username, password = env.get("PODIO_USERNAME"), env.get("PODIO_PASSWORD")
    user = (username, password) if username and password else None
    missing = [a for a in app_ids if a not in tokens]
    path: Path | None = None
    if session_file is not None:
        path = Path(session_file).expanduser()
        if not path.is_file():
            raise CliError(
                f"no session file at {path}: run `podiokit login --session-file {path}` first",
                "usage",
            )
    elif (missing or not app_ids) and user is None:
        candidate = default_session_file(env)
        if candidate.is_file():
            path = candidate
    if (missing or not app_ids) and user is None and path is None:
        what = (
            f"no app token for app(s) {', '.join(map(str, missing))}"
            if missing
            else ("no credentials")
        )
        raise CliError(
            f"{what}: pass --app-token or set PODIO_APP_TOKEN, or sign in once with "
            "`podiokit login` (as a user; or set PODIO_USERNAME and PODIO_PASSWORD) or "
            "`podiokit login --app APP_ID` (as the app)",
            "usage",
        )
    return CliCredentials(
        client_id=client_id,
        client_secret=client_secret,
        api_url=api_url,
        app_tokens=tokens,
        user=user if (missing or not app_ids) else None,
        session_file=path,
        redis_url=redis,
    )


def pair_tokens(app_ids: Sequence[int], raw: Sequence[str]) -> dict[int, str]:
    """App tokens given all as APP_ID=TOKEN, or all bare in APP_ID order."""
    named = [t for t in raw if "=" in t]
    if named and len(named) != len(raw):
        raise CliError("give app tokens either all as APP_ID=TOKEN or all in APP_ID order", "usage")
    if named:
        tokens: dict[int, str] = {}
        for entry in named:
            app, _, token = entry.partition("=")
            try:
                app_id = int(app.strip())
            except ValueError:
                raise CliError(f"app token for {app.strip()!r}: not an app id", "usage") from None
            if app_id not in app_ids:
                raise CliError(f"app token given for app {app_id}, which is not exported", "usage")
            tokens[app_id] = token.strip()
        return tokens
    if raw and len(raw) != len(app_ids):
        raise CliError(
            f"{len(raw)} app token(s) for {len(app_ids)} app(s): give one per app, in order",
            "usage",
        )
    if not raw:
        return {}
    return {a: t.strip() for a, t in zip(app_ids, raw, strict=True)}


class NamespacedStore:
    """A view of another store whose keys all start with `prefix`: one session file can hold
    the sign-ins of several API keys and servers. Other capabilities of the inner store
    (its shared rate-limit figures, say) are reached through `inner`."""

    def __init__(self, inner: SessionStore, prefix: str) -> None:
        self.inner = inner
        self.prefix = prefix

    async def get(self, key: str) -> OAuthToken | None:
        return await self.inner.get(self.prefix + key)

    async def set(self, key: str, token: OAuthToken) -> None:
        await self.inner.set(self.prefix + key, token)

    async def delete(self, key: str) -> None:
        await self.inner.delete(self.prefix + key)

    def lock(self, key: str) -> AbstractAsyncContextManager[object]:
        return self.inner.lock(self.prefix + key)

    def __repr__(self) -> str:
        return f"NamespacedStore({self.inner!r}, prefix={self.prefix!r})"


class SharedBudgetStore(NamespacedStore):
    """A `NamespacedStore` whose rate-limit figures are shared through `budget` (a
    RedisSessionStore), under the same namespace: tokens stay in `inner` (memory, or the
    session file), while every process acting as this identity paces and waits together."""

    def __init__(self, inner: SessionStore, prefix: str, budget: SharedRateLimits) -> None:
        super().__init__(inner, prefix)
        self.budget = budget

    async def rate_limit_get(
        self, key: str, pool: str, *, pace_threshold: float | None
    ) -> RateLimitShare | None:
        return await self.budget.rate_limit_get(
            self.prefix + key, pool, pace_threshold=pace_threshold
        )

    async def rate_limit_update(
        self,
        key: str,
        pool: str,
        *,
        limit: int | None,
        remaining: int | None,
        wait: float | None = None,
    ) -> RateLimitShare:
        return await self.budget.rate_limit_update(
            self.prefix + key, pool, limit=limit, remaining=remaining, wait=wait
        )


#: Where `podiokit` commands keep the shared budget in Redis (then the namespace, the key).
REDIS_PREFIX = "podiokit:cli:"


def file_store(path: Path, namespace: str) -> NamespacedStore:
    from podiokit.sessions import FileSessionStore

    return NamespacedStore(FileSessionStore(path), namespace)


@asynccontextmanager
async def open_client(creds: CliCredentials, **options: Any) -> AsyncIterator[Podio]:
    """`async with open_client(creds) as podio`: a `Podio` for these credentials. Its tokens
    live in the session file (namespaced) when one is in use, else in memory; with
    `creds.redis_url`, its budget is shared through Redis. `options` go to `Podio`."""
    from podiokit import Podio
    from podiokit.sessions import FileSessionStore, MemorySessionStore

    path = creds.session_file
    inner: SessionStore = FileSessionStore(path) if path else MemorySessionStore()
    redis = None
    if creds.redis_url:
        from podiokit.sessions import RedisSessionStore

        redis = RedisSessionStore(creds.redis_url, prefix=REDIS_PREFIX)
    store = (
        NamespacedStore(inner, creds.namespace)
        if redis is None
        else SharedBudgetStore(inner, creds.namespace, redis)
    )
    try:
        async with Podio(
            creds.client_id,
            creds.client_secret,
            api_url=creds.api_url,
            session_store=store,
            session_key=USER_KEY,
            **options,
        ) as podio:
            yield podio
    finally:
        if redis is not None:
            await redis.aclose()


async def sign_in(
    podio: Podio, creds: CliCredentials, app_ids: Sequence[int] = ()
) -> dict[int, Podio]:
    """Make every app of `app_ids` readable, in `credentials`' order, and return the apps to
    read with their saved app session (`podiokit login --app`), each usable now.

    Apps with an app token are left to the exporter (it signs them in). With PODIO_USERNAME
    and PODIO_PASSWORD, every other app is read as that user; otherwise an app's saved
    session is used when the file has one, and the saved user only for the apps left (and
    only when some are). A saved session Podio no longer accepts is a `CliError`
    (credentials) naming the `podiokit login` command to run again."""
    saved: dict[int, Podio] = {}
    path = creds.session_file
    if creds.user is None and path is not None:
        for app_id in app_ids:
            if app_id in creds.app_tokens:
                continue
            session = podio.session(app_session_key(app_id))
            if await session.is_authenticated():  # refreshed (and saved) if it had expired
                saved[app_id] = session
            elif session.token is not None:
                raise CliError(session_expired_message(path, app_id), "credentials")
    left = [a for a in app_ids if a not in creds.app_tokens and a not in saved]
    if left or not app_ids:
        await sign_in_user(podio, creds, left)
    return saved


async def sign_in_user(podio: Podio, creds: CliCredentials, app_ids: Sequence[int] = ()) -> None:
    """Make `podio` (the user session) usable: the password flow with PODIO_USERNAME and
    PODIO_PASSWORD, else the saved sign-in, refreshed now if it expired. A saved sign-in
    Podio no longer accepts is a `CliError` (credentials) telling the user to log in again;
    `app_ids` (the apps that need the user) are named when there is none."""
    if creds.user is not None:
        await podio.authenticate_with_credentials(*creds.user)
        return
    if creds.session_file is None:
        return  # app sessions only
    if not await podio.is_authenticated():
        token = podio.token
        if token is None:
            apps = f" (for app {', '.join(map(str, app_ids))})" if app_ids else ""
            raise CliError(
                f"no saved sign-in for {creds.api_url} (client {creds.client_id}) in "
                f"{creds.session_file}{apps}: run `podiokit login`, or `podiokit login --app "
                "APP_ID` for each app",
                "credentials",
            )
        raise CliError(session_expired_message(creds.session_file), "credentials")


def raise_if_app_session_dead(creds: CliCredentials, sessions: Mapping[int, Podio]) -> None:
    """After a refused refresh in the middle of a run: if it was a saved app session's (now
    marked dead), a `CliError` saying to run `podiokit login --app APP_ID` again."""
    if creds.session_file is None:
        return
    for app_id, session in sessions.items():
        token = session.token
        if token is not None and token.dead:
            raise CliError(session_expired_message(creds.session_file, app_id), "credentials")
