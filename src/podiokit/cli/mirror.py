"""`podiokit mirror`: the mirror on the command line, with `podiokit export`'s credentials,
progress display, one-line errors and exit codes (its functions, called from here).

Registered on the `podiokit` typer app by `register(app)`; SQLAlchemy is imported only when
the command runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._cli_session import (
    CliCredentials,
    credentials,
    describe_auth_failure,
    open_client,
    raise_if_app_session_dead,
    sign_in,
)
from ..export import _cli as export_cli

if TYPE_CHECKING:
    import typer

    from ._run import MirrorResult

__all__ = ["EXIT_CODES", "register", "run"]

#: The exporter's exit codes, and one for the database (unreachable, bad URL, no driver).
EXIT_CODES = {**export_cli.EXIT_CODES, "database": 8}

MIRROR_HELP = (
    "Copy apps into a database (SQLite or PostgreSQL) and keep the copy up to date: the first "
    "run copies every item, later runs read only what changed (a run with no change costs 2 "
    "calls per app).\n\n"
    "Credentials come from PODIO_CLIENT_ID, PODIO_CLIENT_SECRET, PODIO_API_URL and "
    "PODIO_APP_TOKEN (or --app-token). For an app without an app token, PODIO_USERNAME and "
    "PODIO_PASSWORD sign in as a user who sees every app; without those, the app's session "
    "saved by `podiokit login --app APP_ID` is used, else the user session `podiokit login` "
    "saved (kept refreshed in the session file).\n\n"
    "With PODIO_REDIS_URL set, processes acting as the same user or app (on any machine) share "
    "its hourly budget through Redis."
)


def register(app: typer.Typer, command_cls: type[Any] | None = None) -> None:
    """Add the `mirror` command to the `podiokit` typer app."""
    import typer

    @app.command(
        "mirror",
        cls=command_cls,
        help=MIRROR_HELP,
        short_help="Keep a database copy of apps up to date.",
    )
    def mirror_command(
        app_ids: list[int] = typer.Argument(..., metavar="APP_ID...", show_default=False, help="Apps to mirror."),
        db: str = typer.Option("sqlite:///podio-mirror.db", "--db", metavar="URL", help="sqlite:///path.db or postgresql://user:password@host/database."),
        concurrency: int = typer.Option(4, "--concurrency", "-c", metavar="N", callback=export_cli._concurrency, help="Pages fetched at once in a full copy (1 to 64)."),
        refresh_fields: bool = typer.Option(False, "--refresh-fields", help="Read the apps' fields again (GET /app) and rebuild the typed tables if they changed."),
        app_token: list[str] = typer.Option(
            [], "--app-token", metavar="[APP_ID=]TOKEN",
            help="App token, once per app (in APP_ID order, or APP_ID=TOKEN). Default: PODIO_APP_TOKEN (comma-separated).",
        ),
        session_file: str = typer.Option(
            "", "--session-file", metavar="PATH", show_default=False,
            help="Session saved by `podiokit login --session-file PATH`; this run's tokens are saved there too. Default: PODIO_SESSION_FILE, else the user config directory's, when present.",
        ),
    ) -> None:  # fmt: skip
        code = run(
            app_ids, db, concurrency=concurrency, refresh_fields=refresh_fields,
            app_tokens=app_token, env=os.environ, session_file=session_file or None,
        )  # fmt: skip
        raise typer.Exit(code)


def run(
    app_ids: Sequence[int],
    db: str,
    *,
    concurrency: int,
    refresh_fields: bool,
    app_tokens: Sequence[str],
    env: Mapping[str, str],
    session_file: str | None = None,
) -> int:
    """Run the mirror once; print the summary or a one-line error; return the exit code."""
    import anyio

    creds: CliCredentials | None = None
    try:
        creds = credentials(env, app_ids=app_ids, app_tokens=app_tokens, session_file=session_file)
        result = anyio.run(_mirror, creds, app_ids, db, concurrency, refresh_fields)
    except KeyboardInterrupt:
        _error("interrupted; run the same command again: the mirror holds whole pages")
        return EXIT_CODES["interrupted"]
    except export_cli.CliError as exc:
        _error(str(exc))
        return exc.code
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback, for any failure
        if type(exc).__name__ == "MirrorError":
            _error(f"database: {exc}")
            return EXIT_CODES["database"]
        expired = describe_auth_failure(exc, creds)  # the saved sign-in was refused
        if expired is not None:
            _error(str(expired))
            return expired.code
        message, code = export_cli._describe(exc)
        _error(message)
        return EXIT_CODES[code]
    print(summary(result, db))
    return 0


def summary(result: MirrorResult, db: str) -> str:
    """One line for the run (`db` as given, password masked), then one per app with its
    calls."""
    from ._errors import mask_url

    lines = [
        f"mirrored {len(result.apps)} app(s) into {mask_url(db)} in {result.elapsed:.1f} s "
        f"({result.calls} calls)"
    ]
    for app in result.apps.values():
        listed = ", ids listed" if app.listed else ""
        lines.append(
            f"  app {app.app_id}: {app.mode}, {app.created} created, {app.updated} updated, "
            f"{app.deleted} deleted, {app.unchanged} unchanged, {app.calls} calls{listed}"
        )
    return "\n".join(lines)


async def _mirror(
    creds: CliCredentials,
    app_ids: Sequence[int],
    db: str,
    concurrency: int,
    refresh_fields: bool,
) -> MirrorResult:
    from ..errors import PodioInvalidGrantError
    from . import mirror  # the lazy name: a missing extra says how to install it

    async with open_client(creds, max_concurrency=max(concurrency, 8)) as podio:
        saved = await sign_in(podio, creds, app_ids)
        with export_cli._ProgressDisplay("mirrored") as on_progress:
            try:
                return await mirror(
                    podio,
                    list(app_ids),
                    db,
                    app_tokens=creds.app_tokens,
                    app_sessions=saved,
                    concurrency=concurrency,
                    on_progress=on_progress,
                    refresh_fields=refresh_fields,
                )
            except PodioInvalidGrantError:
                raise_if_app_session_dead(creds, saved)  # name the app to sign in again
                raise


def _error(message: str) -> None:
    export_cli._error(message, "mirror")
