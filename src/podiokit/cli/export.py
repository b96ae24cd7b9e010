"""`podiokit export`: the exporter on the command line.

The exporter (and its msgspec dependency) is imported only when the command runs, so
`podiokit --help` works without the `export` extra.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

import typer

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

if TYPE_CHECKING:
    from podiokit.export import ExportResult

__all__ = ["EXPORT_HELP", "STRATEGY_NOTES", "register", "run", "strategy_option"]

#: `--strategy` values (as `podiokit._bulk.STRATEGIES`, not imported: no msgspec here).
_STRATEGIES = ("auto", "ranges", "offset")
#: What each strategy that ran means, for the summary line.
STRATEGY_NOTES = {
    "ranges": "app_item_id ranges",
    "offset": "offset pages sorted by app_item_id, checked against the item count",
    "mixed": "app_item_id ranges for some apps, offset pages for others",
}


def _strategy(value: str) -> str:
    if value not in _STRATEGIES:
        raise typer.BadParameter(f"must be one of {', '.join(_STRATEGIES)}, not {value!r}")
    return value


def strategy_option() -> Any:
    """`--strategy auto|ranges|offset` (export and mirror)."""
    return typer.Option(
        "auto",
        "--strategy",
        metavar="auto|ranges|offset",
        callback=_strategy,
        help=(
            "How every item is read: ranges (app_item_id ranges, concurrently), offset "
            "(offset pages: documented behaviour only), or auto: ranges if a probe of three "
            "calls finds Podio honours them, else offset."
        ),
    )


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
        out: str = typer.Option(..., "--out", "-o", metavar="PATH", help="Output file, written as PATH.part and renamed when complete; - for standard output."),
        format: str = typer.Option("jsonl", "--format", "-f", metavar="jsonl|csv", help="jsonl: the JSON Podio sent, one item per line; csv: a column per field."),
        excel: bool = typer.Option(False, "--excel", help="With --format csv: for spreadsheets (a UTF-8 byte order mark; cells that would run as formulas start with ')."),
        concurrency: int = typer.Option(4, "--concurrency", "-c", metavar="N", callback=check_concurrency, help="Pages fetched at once (1 to 64)."),
        resume: bool = typer.Option(False, "--resume", help="Continue an interrupted export from OUT.checkpoint."),
        force: bool = typer.Option(False, "--force", help="Start over, discarding an interrupted export's OUT.part and OUT.checkpoint."),
        app_token: list[str] = app_token_option(),
        session_file: str = session_file_option(),
        otel: bool = typer.Option(False, "--otel", help=OTEL_HELP),
        strategy: str = strategy_option(),
    ) -> None:  # fmt: skip
        code = run(
            app_ids, out, format=format, concurrency=concurrency, resume=resume,
            app_tokens=app_token, env=os.environ, session_file=session_file or None, otel=otel,
            force=force, excel=excel, strategy=strategy,
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
    force: bool = False,
    excel: bool = False,
    otel: bool = False,
    strategy: str = "auto",
) -> int:
    """Run one export; print the summary or a one-line error; return the exit code. With
    `otel` (or the OTEL_* variables), traced and measured (`_otel.telemetry`).

    Everything that can be checked without Podio is checked before the first call: the
    options, the credentials given, the output path and its checkpoint."""
    import anyio

    creds: CliCredentials | None = None
    stream = out == "-"
    resumable = False
    try:
        _check_options(stream, format=format, excel=excel, resume=resume, force=force)
        creds = credentials(env, app_ids=app_ids, app_tokens=app_tokens, session_file=session_file)
        if not stream:
            from podiokit.export import check_output  # the lazy name: msgspec or how to get it

            check_output(out, app_ids, format=format, excel=excel, resume=resume, force=force)
        target: str | BinaryIO = sys.stdout.buffer if stream else out
        options = {
            "format": format, "excel": excel, "resume": resume, "force": force,
            "strategy": strategy,
        }  # fmt: skip
        with telemetry("export", otel, env):
            result = anyio.run(_export, creds, app_ids, target, concurrency, options)
    except (Exception, *INTERRUPTS) as exc:  # noqa: BLE001 - one line, never a traceback
        if isinstance(exc, BrokenPipeError) and stream:
            _quiet_stdout()
        elif not stream:
            resumable = _saved(out) and not _refused(exc)
        return failed("export", exc, creds=creds, resumable=resumable)
    rate = result.items / result.elapsed if result.elapsed > 0 else 0.0
    verb = "resumed and exported" if result.resumed else "exported"
    where = result.path if result.path is not None else "standard output"
    # With --out -, standard output holds the items: the summary goes to stderr.
    summary = sys.stderr if stream else sys.stdout
    print(
        f"{verb} {result.items} items from {len(result.per_app)} app(s) to {where} "
        f"in {result.elapsed:.1f} s ({rate:,.0f} items/s, {result.calls} calls)",
        file=summary,
    )
    for app_id, count in result.per_app.items():
        print(f"  app {app_id}: {count} items", file=summary)
    note = STRATEGY_NOTES.get(result.strategy, "")
    print(f"  strategy: {result.strategy} ({note})", file=summary)
    return 0


def _check_options(stream: bool, *, format: str, excel: bool, resume: bool, force: bool) -> None:
    if format not in ("jsonl", "csv"):
        raise CliError(f"--format must be jsonl or csv, not {format!r}", "usage")
    if excel and format != "csv":
        raise CliError("--excel is for CSV: add --format csv", "usage")
    if resume and force:
        raise CliError("--resume continues an export, --force starts it over: give one", "usage")
    if stream and (resume or force):
        flag = "--resume" if resume else "--force"
        raise CliError(
            f"{flag} needs a file: an export to standard output (-) has no checkpoint", "usage"
        )


def _saved(out: str) -> bool:
    """Whether the export left a checkpoint to resume from."""
    try:
        from podiokit.export import output_paths

        return output_paths(out)[2].is_file()
    except (ImportError, OSError, ValueError):  # no export extra, or no such path: nothing
        return False


def _refused(exc: BaseException) -> bool:
    """Refusals before any work (a checkpoint or output error, another export writing):
    the checkpoint there, if any, is not this run's."""
    return type(exc).__name__ in ("CheckpointError", "OutputError", "OutputBusyError")


def _quiet_stdout() -> None:
    """Standard output was closed (`| head`): point it at /dev/null, so the interpreter's
    last flush at exit does not fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


async def _export(
    creds: CliCredentials,
    app_ids: Sequence[int],
    out: str | BinaryIO,
    concurrency: int,
    options: dict[str, Any],
) -> ExportResult:
    from podiokit.export import export  # the lazy name: a missing msgspec says how to install it

    async with reading_apps(creds, app_ids, concurrency, "exported") as (podio, saved, progress):
        return await export(
            podio,
            list(app_ids),
            out,
            app_tokens=creds.app_tokens,
            app_sessions=saved,
            concurrency=concurrency,
            on_progress=progress,
            **options,
        )
