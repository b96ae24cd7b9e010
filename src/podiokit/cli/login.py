"""`podiokit login` and `podiokit logout`: a sign-in saved for later commands.

`login` signs in with the password flow and saves the token in the session file
(`_session.default_session_file`); `export` (and `mirror`) then act as that user without
a password in the environment, refreshing the token in the file. `login --app APP_ID` signs
in as an app (the app flow) and saves that app's token beside it, under its own key: several
apps and a user can be signed in at once. No token is ever printed, and neither a password
nor an app token is ever saved: only the OAuth pair they bought.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ._errors import INTERRUPTS, CliError, failed
from ._session import (
    USER_KEY,
    CliCredentials,
    api_key,
    app_session_key,
    default_session_file,
    file_store,
    session_namespace,
)

if TYPE_CHECKING:
    from podiokit import Podio

__all__ = ["LOGIN_HELP", "LOGOUT_HELP", "login", "logout", "register"]

LOGIN_HELP = (
    "Sign in as a Podio user (or, with --app, as an app) once and save the session for later "
    "commands.\n\n"
    "Uses PODIO_CLIENT_ID, PODIO_CLIENT_SECRET and PODIO_API_URL; the username comes from "
    "--username or PODIO_USERNAME, the password from PODIO_PASSWORD or a hidden prompt.\n\n"
    "With --app APP_ID, the app token comes from --app-token, else PODIO_APP_TOKEN, else a "
    "hidden prompt; several apps and a user can be signed in at once.\n\n"
    "The token (never the password or app token) is saved with mode 0600 in --session-file, "
    "else PODIO_SESSION_FILE, else ~/.config/podiokit/session.json (the user config "
    "directory).\n\n"
    "podiokit export and mirror then use it, and keep it refreshed: for each app, an app token "
    "given to the command (--app-token, PODIO_APP_TOKEN) comes first, then PODIO_USERNAME and "
    "PODIO_PASSWORD, then the app's saved session, then the saved user session."
)
LOGOUT_HELP = (
    "Forget the user session `podiokit login` saved for this API key (PODIO_CLIENT_ID and "
    "PODIO_API_URL), or with --app APP_ID that app's session, or every saved session with "
    "--all."
)

_SESSION_FILE_HELP = "Default: PODIO_SESSION_FILE, else in ~/.config/podiokit."


def register(app: typer.Typer, command_cls: type[Any]) -> None:
    """Add `login` and `logout` to the `podiokit` app."""

    @app.command(
        "login", cls=command_cls, help=LOGIN_HELP, short_help="Sign in and save the session."
    )
    def login_command(
        username: str = typer.Option("", "--username", "-u", metavar="EMAIL", show_default=False, help="Podio username (email). Default: PODIO_USERNAME, else a prompt."),
        app: int | None = typer.Option(None, "--app", metavar="APP_ID", show_default=False, help="Sign in as this app (the app flow) instead of a user."),
        app_token: str = typer.Option("", "--app-token", metavar="TOKEN", show_default=False, help="With --app. Default: PODIO_APP_TOKEN, else a prompt."),
        session_file: str = typer.Option("", "--session-file", metavar="PATH", show_default=False, help=_SESSION_FILE_HELP),
    ) -> None:  # fmt: skip
        raise typer.Exit(
            login(
                os.environ,
                username=username or None,
                app_id=app,
                app_token=app_token or None,
                session_file=session_file or None,
            )
        )

    @app.command(
        "logout", cls=command_cls, help=LOGOUT_HELP, short_help="Forget the saved session."
    )
    def logout_command(
        app: int | None = typer.Option(None, "--app", metavar="APP_ID", show_default=False, help="Forget this app's session instead of the user's."),
        all_sessions: bool = typer.Option(False, "--all", help="Delete the session file with every sign-in in it."),
        session_file: str = typer.Option("", "--session-file", metavar="PATH", show_default=False, help=_SESSION_FILE_HELP),
    ) -> None:  # fmt: skip
        raise typer.Exit(
            logout(
                os.environ,
                app_id=app,
                all_sessions=all_sessions,
                session_file=session_file or None,
            )
        )


def _path(env: Mapping[str, str], session_file: str | None) -> Path:
    return Path(session_file).expanduser() if session_file else default_session_file(env)


def _ask(
    prompt: str,
    *,
    hidden: bool,
    stdin_isatty: Callable[[], bool],
    variable: str | None = None,
    what: str | None = None,
) -> str:
    """Ask on the terminal (`hidden`: without echo); with none, a usage error naming the
    `variable` to set instead."""
    variable = variable or ("PODIO_PASSWORD" if hidden else "PODIO_USERNAME (or --username)")
    what = what or ("password" if hidden else "username")
    if not stdin_isatty():
        raise CliError(f"set {variable}: there is no terminal to ask on", "usage")
    try:
        value = getpass.getpass(prompt) if hidden else input(prompt)
    except EOFError:  # Ctrl-D: the input ended without an answer
        print(file=sys.stderr)  # end the prompt's line, so the error starts its own
        raise CliError(f"no {what} given (the input ended); nothing was saved", "usage") from None
    if not value.strip():
        raise CliError(f"no {what} given", "usage")
    return value if hidden else value.strip()  # a password may start or end with a space


def _app_token(
    app_id: int, given: str | None, env: Mapping[str, str], stdin_isatty: Callable[[], bool]
) -> str:
    """The app token for `login --app`: `--app-token` ([APP_ID=]TOKEN), else
    PODIO_APP_TOKEN (one bare token, or the APP_ID=TOKEN entry for this app among others,
    as `podiokit export` takes it), else a hidden prompt."""
    if given:
        app, sep, token = given.partition("=")
        if sep and app.strip() != str(app_id):
            raise CliError(f"--app-token is for app {app.strip()}, not app {app_id}", "usage")
        if not (token if sep else given).strip():
            raise CliError("--app-token is empty", "usage")
        return (token if sep else given).strip()
    raw = [t.strip() for t in env.get("PODIO_APP_TOKEN", "").split(",") if t.strip()]
    named = {app.strip(): token.strip() for app, _, token in (t.partition("=") for t in raw)}
    if any("=" in t for t in raw):
        if named.get(str(app_id)):
            return named[str(app_id)]
    elif len(raw) == 1:
        return raw[0]
    elif raw:
        raise CliError(
            f"PODIO_APP_TOKEN holds {len(raw)} tokens: give APP_ID=TOKEN entries (or one "
            f"token) to sign in as app {app_id}",
            "usage",
        )
    return _ask(
        f"App token for app {app_id}: ",
        hidden=True,
        stdin_isatty=stdin_isatty,
        variable="PODIO_APP_TOKEN (or pass --app-token)",
        what="app token",
    ).strip()


def login(
    env: Mapping[str, str],
    *,
    username: str | None = None,
    app_id: int | None = None,
    app_token: str | None = None,
    session_file: str | None = None,
    stdin_isatty: Callable[[], bool] = lambda: sys.stdin.isatty(),
) -> int:
    """Sign in with the password flow (with `app_id`, the app flow) and save the session;
    print one line; the exit code."""
    import anyio

    try:
        if app_id is not None and username:
            raise CliError("--username signs in as a user, --app as an app: give one", "usage")
        if app_id is None and app_token:
            raise CliError("--app-token needs --app APP_ID", "usage")
        client_id, client_secret, api_url = api_key(env)
        path = _path(env, session_file)
        if app_id is not None:
            token = _app_token(app_id, app_token, env, stdin_isatty)
            creds = CliCredentials(
                client_id, client_secret, api_url, app_tokens={app_id: token}, session_file=path
            )
            anyio.run(_sign_in_app, creds, app_id)
            print(f"signed in to {api_url} as app {app_id}; session saved to {path}")
            return 0
        username = (
            username
            or env.get("PODIO_USERNAME")
            or _ask("Podio username (email): ", hidden=False, stdin_isatty=stdin_isatty)
        )
        password = env.get("PODIO_PASSWORD") or _ask(
            "Podio password: ", hidden=True, stdin_isatty=stdin_isatty
        )
        creds = CliCredentials(
            client_id, client_secret, api_url, user=(username, password), session_file=path
        )
        user_id = anyio.run(_sign_in, creds)
    except (Exception, *INTERRUPTS) as exc:  # noqa: BLE001 - one line, never a traceback
        return failed("login", exc)
    who = f"user {user_id}" if user_id is not None else username
    print(f"signed in to {api_url} as {who}; session saved to {path}")
    return 0


@asynccontextmanager
async def _file_client(creds: CliCredentials, key: str) -> AsyncIterator[Podio]:
    """A `Podio` acting as session `key`, its tokens kept in the session file."""
    from podiokit import Podio

    assert creds.session_file is not None
    store = file_store(creds.session_file, creds.namespace)
    async with Podio(
        creds.client_id,
        creds.client_secret,
        api_url=creds.api_url,
        session_store=store,
        session_key=key,
    ) as podio:
        yield podio


async def _sign_in_app(creds: CliCredentials, app_id: int) -> None:
    async with _file_client(creds, app_session_key(app_id)) as podio:
        # Saves the OAuth pair only: the app token stays in this process's memory.
        await podio.authenticate_with_app(app_id, creds.app_tokens[app_id])


async def _sign_in(creds: CliCredentials) -> int | None:
    assert creds.user is not None
    async with _file_client(creds, USER_KEY) as podio:
        token = await podio.authenticate_with_credentials(*creds.user)
    return token.ref.id if token.ref is not None else None


def logout(
    env: Mapping[str, str],
    *,
    app_id: int | None = None,
    all_sessions: bool = False,
    session_file: str | None = None,
) -> int:
    """Delete this API key's saved user session (with `app_id`, that app's; with
    `all_sessions`, the whole file)."""
    import anyio

    try:
        if app_id is not None and all_sessions:
            raise CliError("--all forgets every session, --app one app's: give one", "usage")
        path = _path(env, session_file)
        if not path.is_file():
            print(f"not signed in: no session file at {path}")
            return 0
        if all_sessions:
            path.unlink()
            for sidecar in (".lock", ".refresh.lock"):
                path.with_name(path.name + sidecar).unlink(missing_ok=True)
            print(f"signed out: deleted {path}")
            return 0
        client_id = env.get("PODIO_CLIENT_ID")
        if not client_id:
            raise CliError(
                "set PODIO_CLIENT_ID (and PODIO_API_URL) to say which sign-in to forget, "
                "or pass --all",
                "usage",
            )
        api_url = (env.get("PODIO_API_URL") or "https://api.podio.com").rstrip("/")
        store = file_store(path, session_namespace(api_url, client_id))
        key = USER_KEY if app_id is None else app_session_key(app_id)
        removed = anyio.run(_forget, store, key)
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        return failed("logout", exc)
    who = "" if app_id is None else f"app {app_id} on "
    if removed:
        print(f"signed out of {who}{api_url}: removed the session from {path}")
    else:
        print(f"not signed in to {who}{api_url} (client {client_id}) in {path}")
    return 0


async def _forget(store: Any, key: str) -> bool:
    had = await store.get(key) is not None
    if had:
        await store.delete(key)
    return had
