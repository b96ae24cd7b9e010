"""`podiokit export`: the exporter on the command line.

The exporter (and its msgspec dependency) is imported only when the command runs, so
`podiokit --help` works without the `export` extra.
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
from ._errors import CliError, failed
from ._otel import OTEL_HELP, telemetry
from ._session import CliCredentials, credentials

if TYPE_CHECKING:
    from podiokit.export import ExportResult

__all__ = ["EXPORT_HELP", "register", "run"]

# One line per paragraph: the terminal wraps it, never a hard break mid-sentence.
EXPORT_HELP = (
    "Export every item of one or more apps to JSONL or CSV.\n\n"
    f"{CREDENTIALS_HELP}\n\n"
    "With PODIO_REDIS_URL set, exporters acting as the same user or app (on any machine) share "
    "its hourly budget through Redis: they pace together and wait for the same reset."
)


def register(app: typer.Typer, command_cls: type[Any]) -> None:
    """Add `export` to the `podiokit` app (`command_cls`: the CLI's command class, so the
    help reads like the other commands')."""

    @app.command(
        "export",
        cls=command_cls,
        help=EXPORT_HELP,
        short_help="Export every item of apps to JSONL or CSV.",
    )
    def export_command(
        app_ids: list[int] = typer.Argument(..., metavar="APP_ID...", show_default=False, help="Apps to export."),
        out: str = typer.Option(..., "--out", "-o", metavar="PATH", help="Output file, written as PATH.part and renamed when complete."),
        format: str = typer.Option("jsonl", "--format", "-f", metavar="jsonl|csv", help="jsonl: the JSON Podio sent, one item per line; csv: a column per field."),
        concurrency: int = typer.Option(4, "--concurrency", "-c", metavar="N", callback=check_concurrency, help="Pages fetched at once (1 to 64)."),
        resume: bool = typer.Option(False, "--resume", help="Continue an interrupted export from OUT.checkpoint."),
        app_token: list[str] = app_token_option(),
        session_file: str = session_file_option(),
        otel: bool = typer.Option(False, "--otel", help=OTEL_HELP),
    ) -> None:  # fmt: skip
        code = run(
            app_ids, out, format=format, concurrency=concurrency, resume=resume,
            app_tokens=app_token, env=os.environ, session_file=session_file or None, otel=otel,
        )  # fmt: skip
        raise typer.Exit(code)


def run(
    app_ids: Sequence[int],
    out: str,
    *,
    format: str,
    concurrency: int,
    resume: bool,
    app_tokens: Sequence[str],
    env: Mapping[str, str],
    session_file: str | None = None,
    otel: bool = False,
) -> int:
    """Run one export; print the summary or a one-line error; return the exit code. With
    `otel` (or the OTEL_* variables), traced and measured (`_otel.telemetry`)."""
    import anyio

    creds: CliCredentials | None = None
    try:
        if format not in ("jsonl", "csv"):
            raise CliError(f"--format must be jsonl or csv, not {format!r}", "usage")
        creds = credentials(env, app_ids=app_ids, app_tokens=app_tokens, session_file=session_file)
        with telemetry("export", otel, env):
            result = anyio.run(_export, creds, app_ids, out, format, concurrency, resume)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - one line, never a traceback
        return failed("export", exc, creds=creds)
    rate = result.items / result.elapsed if result.elapsed > 0 else 0.0
    verb = "resumed and exported" if result.resumed else "exported"
    print(
        f"{verb} {result.items} items from {len(result.per_app)} app(s) to {result.path} "
        f"in {result.elapsed:.1f} s ({rate:,.0f} items/s, {result.calls} calls)"
    )
    for app_id, count in result.per_app.items():
        print(f"  app {app_id}: {count} items")
    return 0


async def _export(
    creds: CliCredentials,
    app_ids: Sequence[int],
    out: str,
    format: str,
    concurrency: int,
    resume: bool,
) -> ExportResult:
    from podiokit.export import export  # the lazy name: a missing msgspec says how to install it

    async with reading_apps(creds, app_ids, concurrency, "exported") as (podio, saved, progress):
        return await export(
            podio,
            list(app_ids),
            out,
            format=format,
            app_tokens=creds.app_tokens,
            app_sessions=saved,
            concurrency=concurrency,
            resume=resume,
            on_progress=progress,
        )
