"""`podiokit login` and `podiokit logout`: a sign-in saved for later commands.

`login` signs in with the password flow and saves the token in the session file
(`_cli_session.default_session_file`); `export` (and `mirror`) then act as that user without
a password in the environment, refreshing the token in the file. No token is ever printed.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._cli_session import (
    EXIT_CODES,
    USER_KEY,
    CliCredentials,
    CliError,
    api_key,
    default_session_file,
    file_store,
    session_namespace,
)

if TYPE_CHECKING:
    import typer

__all__ = ["login", "logout", "register"]

LOGIN_HELP = (
    "Sign in as a Podio user once and save the session for later commands.\n\n"
    "Uses PODIO_CLIENT_ID, PODIO_CLIENT_SECRET and PODIO_API_URL; the username comes from "
    "--username or PODIO_USERNAME, the password from PODIO_PASSWORD or a hidden prompt.\n\n"
    "The token (never the password) is saved with mode 0600 in --session-file, else "
    "PODIO_SESSION_FILE, else ~/.config/podiokit/session.json (the user config directory)."
    "\n\n"
    "podiokit export then uses it when given no other credentials, and keeps it refreshed."
)
LOGOUT_HELP = (
    "Forget the session `podiokit login` saved for this API key (PODIO_CLIENT_ID and "
    "PODIO_API_URL), or every saved session with --all."
)

_SESSION_FILE_HELP = "Default: PODIO_SESSION_FILE, else in ~/.config/podiokit."


def register(app: typer.Typer, command_cls: type[Any] | None = None) -> None:
    import typer

    @app.command(
        "login", cls=command_cls, help=LOGIN_HELP, short_help="Sign in and save the session."
    )
    def login_command(
        username: str = typer.Option("", "--username", "-u", metavar="EMAIL", show_default=False, help="Podio username (email). Default: PODIO_USERNAME, else a prompt."),
        session_file: str = typer.Option("", "--session-file", metavar="PATH", show_default=False, help=_SESSION_FILE_HELP),
    ) -> None:  # fmt: skip
        raise typer.Exit(
            login(os.environ, username=username or None, session_file=session_file or None)
        )

    @app.command(
        "logout", cls=command_cls, help=LOGOUT_HELP, short_help="Forget the saved session."
    )
    def logout_command(
        all_sessions: bool = typer.Option(False, "--all", help="Delete the session file with every sign-in in it."),
        session_file: str = typer.Option("", "--session-file", metavar="PATH", show_default=False, help=_SESSION_FILE_HELP),
    ) -> None:  # fmt: skip
        raise typer.Exit(
            logout(os.environ, all_sessions=all_sessions, session_file=session_file or None)
        )


def _path(env: Mapping[str, str], session_file: str | None) -> Path:
    return Path(session_file).expanduser() if session_file else default_session_file(env)


def _ask(prompt: str, *, hidden: bool, stdin_isatty: Callable[[], bool]) -> str:
    if not stdin_isatty():
        what = "PODIO_PASSWORD" if hidden else "PODIO_USERNAME (or --username)"
        raise CliError(f"set {what}: there is no terminal to ask on", "usage")
    value = getpass.getpass(prompt) if hidden else input(prompt)
    if not value.strip():
        raise CliError(f"no {'password' if hidden else 'username'} given", "usage")
    return value if hidden else value.strip()


def login(
    env: Mapping[str, str],
    *,
    username: str | None = None,
    session_file: str | None = None,
    stdin_isatty: Callable[[], bool] = lambda: sys.stdin.isatty(),
) -> int:
    """Sign in with the password flow and save the session; print one line; the exit code."""
    import anyio

    try:
        client_id, client_secret, api_url = api_key(env)
        path = _path(env, session_file)
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
    except KeyboardInterrupt:
        _error("login", "interrupted; nothing was saved")
        return EXIT_CODES["interrupted"]
    except CliError as exc:
        _error("login", str(exc))
        return exc.code
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        message, code = describe(exc)
        _error("login", message)
        return EXIT_CODES[code]
    who = f"user {user_id}" if user_id is not None else username
    print(f"signed in to {api_url} as {who}; session saved to {path}")
    return 0


async def _sign_in(creds: CliCredentials) -> int | None:
    from ._client import Podio

    assert creds.session_file is not None and creds.user is not None
    store = file_store(creds.session_file, creds.namespace)
    async with Podio(
        creds.client_id,
        creds.client_secret,
        api_url=creds.api_url,
        session_store=store,
        session_key=USER_KEY,
    ) as podio:
        token = await podio.authenticate_with_credentials(*creds.user)
    return token.ref.id if token.ref is not None else None


def logout(
    env: Mapping[str, str], *, all_sessions: bool = False, session_file: str | None = None
) -> int:
    """Delete this API key's saved session (or, with `all_sessions`, the whole file)."""
    import anyio

    try:
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
        removed = anyio.run(_forget, store)
    except CliError as exc:
        _error("logout", str(exc))
        return exc.code
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        message, code = describe(exc)
        _error("logout", message)
        return EXIT_CODES[code]
    if removed:
        print(f"signed out of {api_url}: removed the session from {path}")
    else:
        print(f"not signed in to {api_url} (client {client_id}) in {path}")
    return 0


async def _forget(store: Any) -> bool:
    had = await store.get(USER_KEY) is not None
    if had:
        await store.delete(USER_KEY)
    return had


def describe(exc: Exception) -> tuple[str, str]:
    """A one-line message and the exit-code name for an error of a sign-in."""
    from .errors import (
        PodioConnectionError,
        PodioError,
        PodioServerError,
        PodioUnavailableError,
        SessionStoreError,
    )

    if isinstance(exc, SessionStoreError):
        return str(exc), "error"
    if isinstance(exc, (PodioConnectionError, PodioServerError, PodioUnavailableError)):
        return f"Podio unavailable: {exc}", "unavailable"
    if isinstance(exc, PodioError):
        return f"bad credentials: {exc}", "credentials"
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc}", "error"
    return f"unexpected {type(exc).__name__}: {exc}", "error"


def _error(command: str, message: str) -> None:
    print(f"podiokit {command}: {message}", file=sys.stderr)
