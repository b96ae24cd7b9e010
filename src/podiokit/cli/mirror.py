"""`podiokit mirror`: the mirror on the command line, with export's credentials, progress
display, one-line errors and exit codes.

SQLAlchemy is imported only when the command runs, so `podiokit --help` works without the
`mirror` extra.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import typer

from ._common import (
    CREDENTIALS_HELP,
    app_token_option,
    check_concurrency,
    reading_apps,
    session_file_option,
)
from ._errors import failed
from ._otel import OTEL_HELP, telemetry
from ._session import CliCredentials, credentials

if TYPE_CHECKING:
    from podiokit.mirror import MirrorResult

__all__ = ["MIRROR_HELP", "register", "run", "summary"]

MIRROR_HELP = (
    "Copy apps into a database (SQLite or PostgreSQL) and keep the copy up to date: the first "
    "run copies every item, later runs read only what changed (a run with no change costs 2 "
    "calls per app).\n\n"
    f"{CREDENTIALS_HELP}\n\n"
    "With PODIO_REDIS_URL set, processes acting as the same user or app (on any machine) share "
    "its hourly budget through Redis."
)


def register(app: typer.Typer, command_cls: type[Any]) -> None:
    """Add `mirror` to the `podiokit` app."""

    @app.command(
        "mirror",
        cls=command_cls,
        help=MIRROR_HELP,
        short_help="Keep a database copy of apps up to date.",
    )
    def mirror_command(
        app_ids: list[int] = typer.Argument(..., metavar="APP_ID...", show_default=False, help="Apps to mirror."),
        db: str = typer.Option("sqlite:///podio-mirror.db", "--db", metavar="URL", help="sqlite:///path.db or postgresql://user:password@host/database."),
        concurrency: int = typer.Option(4, "--concurrency", "-c", metavar="N", callback=check_concurrency, help="Pages fetched at once in a full copy (1 to 64)."),
        refresh_fields: bool = typer.Option(False, "--refresh-fields", help="Read the apps' fields again (GET /app) and rebuild the typed tables if they changed."),
        app_token: list[str] = app_token_option(),
        session_file: str = session_file_option(),
        otel: bool = typer.Option(False, "--otel", help=OTEL_HELP),
    ) -> None:  # fmt: skip
        code = run(
            app_ids, db, concurrency=concurrency, refresh_fields=refresh_fields,
            app_tokens=app_token, env=os.environ, session_file=session_file or None, otel=otel,
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
    otel: bool = False,
) -> int:
    """Run the mirror once; print the summary or a one-line error; return the exit code.
    With `otel` (or the OTEL_* variables), traced and measured (`_otel.telemetry`)."""
    import anyio

    creds: CliCredentials | None = None
    try:
        creds = credentials(env, app_ids=app_ids, app_tokens=app_tokens, session_file=session_file)
        with telemetry("mirror", otel, env):
            result = anyio.run(_mirror, creds, app_ids, db, concurrency, refresh_fields)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - one line, never a traceback
        return failed("mirror", exc, creds=creds)
    print(summary(result, db))
    return 0


def summary(result: MirrorResult, db: str) -> str:
    """One line for the run (`db` as given, password masked), then one per app with its
    calls."""
    from podiokit.mirror._errors import mask_url

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
    from podiokit.mirror import mirror  # the lazy name: a missing extra says how to install it

    async with reading_apps(creds, app_ids, concurrency, "mirrored") as (podio, saved, progress):
        return await mirror(
            podio,
            list(app_ids),
            db,
            app_tokens=creds.app_tokens,
            app_sessions=saved,
            concurrency=concurrency,
            on_progress=progress,
            refresh_fields=refresh_fields,
        )
