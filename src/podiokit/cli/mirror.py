"""`podiokit mirror`: the mirror on the command line, with export's credentials, progress
display, one-line errors and exit codes.

SQLAlchemy is imported only when the command runs, so `podiokit --help` works without the
`mirror` extra.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import typer

from podiokit.mirror._options import (
    DEFAULT_PREFIX,
    LOCK_TIMEOUT,
    check_lock_timeout,
    check_prefix,
    in_memory,
)

from ._common import (
    CREDENTIALS_HELP,
    app_token_option,
    check_concurrency,
    reading_apps,
    session_file_option,
)
from ._errors import INTERRUPTS, CliError, failed
from ._otel import OTEL_HELP, telemetry
from ._session import CliCredentials, credentials
from .export import STRATEGY_NOTES, strategy_option

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


def _table_prefix(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_prefix(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _lock_timeout(value: float) -> float:
    try:
        return check_lock_timeout(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


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
        table_prefix: str | None = typer.Option(None, "--table-prefix", metavar="PREFIX", callback=_table_prefix, show_default=False, help=f"Prefix of the mirror's tables ({DEFAULT_PREFIX}items, {DEFAULT_PREFIX}mirror_state, {DEFAULT_PREFIX}app_<id>); '' for none. Default {DEFAULT_PREFIX}, or none for a mirror made before table prefixes."),
        lock_timeout: float = typer.Option(LOCK_TIMEOUT, "--lock-timeout", metavar="SECONDS", callback=_lock_timeout, help="How long to wait for a database another connection has locked (SQLite's busy timeout, PostgreSQL's lock_timeout) before failing with exit 8."),
        app_token: list[str] = app_token_option(),
        session_file: str = session_file_option(),
        otel: bool = typer.Option(False, "--otel", help=OTEL_HELP),
        strategy: str = strategy_option(),
    ) -> None:  # fmt: skip
        code = run(
            app_ids, db, concurrency=concurrency, refresh_fields=refresh_fields,
            app_tokens=app_token, env=os.environ, session_file=session_file or None, otel=otel,
            table_prefix=table_prefix, lock_timeout=lock_timeout, strategy=strategy,
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
    table_prefix: str | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    otel: bool = False,
    strategy: str = "auto",
) -> int:
    """Run the mirror once; print the summary or a one-line error; return the exit code.
    With `otel` (or the OTEL_* variables), traced and measured (`_otel.telemetry`)."""
    import anyio

    creds: CliCredentials | None = None
    try:
        _check_db(db)
        creds = credentials(env, app_ids=app_ids, app_tokens=app_tokens, session_file=session_file)
        mirrored = partial(
            _mirror, creds, app_ids, db, concurrency, refresh_fields,
            table_prefix=table_prefix, lock_timeout=lock_timeout, strategy=strategy,
        )  # fmt: skip
        with telemetry("mirror", otel, env):
            result = anyio.run(mirrored)
    except (Exception, *INTERRUPTS) as exc:  # noqa: BLE001 - one line, never a traceback
        return failed("mirror", exc, creds=creds)
    print(summary(result, db))
    return 0


def _check_db(db: str) -> None:
    """An in-memory SQLite database is gone when the command ends: refused (usage)."""
    from podiokit.mirror._errors import mask_url

    if in_memory(db):
        raise CliError(
            f"--db {mask_url(db)} is an in-memory database: the copy would be gone when the "
            "command ends; give a file (sqlite:///path/to/mirror.db) or a PostgreSQL URL",
            "usage",
        )


def summary(result: MirrorResult, db: str) -> str:
    """One line for the run (`db` as given, password masked), then one per app: the items
    the mirror holds (created + updated + unchanged), those deleted, and what was read."""
    from podiokit.mirror._errors import mask_url

    tables = ""  # the default prefix goes without saying
    if result.table_prefix != DEFAULT_PREFIX:
        tables = f" (tables {result.table_prefix}items ...)" if result.table_prefix else ""
        tables = tables or " (unprefixed tables items ...)"
    lines = [
        f"mirrored {len(result.apps)} app(s) into {mask_url(db)}{tables} in "
        f"{result.elapsed:.1f} s ({result.calls} calls)"
    ]
    for app in result.apps.values():
        listed = ", ids listed" if app.listed else ""
        if app.strategy is not None:
            listed += f", by {app.strategy}"
        lines.append(
            f"  app {app.app_id} ({app.mode}): {app.items} items: {app.created} created, "
            f"{app.updated} updated, {app.unchanged} unchanged; {app.deleted} deleted; "
            f"{app.read} read in {app.calls} calls{listed}"
        )
    if result.strategy is not None:  # every item of some app was read
        lines.append(f"  strategy: {result.strategy} ({STRATEGY_NOTES[result.strategy]})")
    return "\n".join(lines)


async def _mirror(
    creds: CliCredentials,
    app_ids: Sequence[int],
    db: str,
    concurrency: int,
    refresh_fields: bool,
    *,
    table_prefix: str | None,
    lock_timeout: float,
    strategy: str = "auto",
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
            table_prefix=table_prefix,
            lock_timeout=lock_timeout,
            strategy=strategy,
        )
