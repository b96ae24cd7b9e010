"""`podiokit export`: the exporter on the command line.

Registered on the `podiokit` typer app by `register(app)`; it imports the exporter (and its
msgspec dependency) only when the command runs.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._cli_session import (
    EXIT_CODES,
    CliCredentials,
    CliError,
    credentials,
    describe_auth_failure,
    open_client,
    raise_if_app_session_dead,
    sign_in,
)

if TYPE_CHECKING:
    import typer

    from ._run import ExportProgress, ExportResult

__all__ = ["EXIT_CODES", "CliError", "register"]

PLAIN_EVERY = 2.0  # seconds between progress lines when stderr is not a terminal
_ACTIVE = {"exported": "exporting", "mirrored": "mirroring"}  # the progress bar's label


# One line per paragraph: the terminal wraps it, never a hard break mid-sentence.
EXPORT_HELP = (
    "Export every item of one or more apps to JSONL or CSV.\n\n"
    "Credentials come from PODIO_CLIENT_ID, PODIO_CLIENT_SECRET, PODIO_API_URL and "
    "PODIO_APP_TOKEN (or --app-token). For an app without an app token, PODIO_USERNAME and "
    "PODIO_PASSWORD sign in as a user who sees every app; without those, the app's session "
    "saved by `podiokit login --app APP_ID` is used, else the user session `podiokit login` "
    "saved (kept refreshed in the session file).\n\n"
    "With PODIO_REDIS_URL set, exporters acting as the same user or app (on any machine) share "
    "its hourly budget through Redis: they pace together and wait for the same reset."
)


def _concurrency(value: int) -> int:
    # A callback rather than typer's min=/max=, whose range note crowds the help.
    if not 1 <= value <= 64:
        import typer

        raise typer.BadParameter(f"{value} is not between 1 and 64")
    return value


def register(app: typer.Typer, command_cls: type[Any] | None = None) -> None:
    """Add the `export` command to the `podiokit` typer app (`command_cls`: the CLI's own
    command class, so the help reads like the other commands')."""
    import typer

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
        concurrency: int = typer.Option(4, "--concurrency", "-c", metavar="N", callback=_concurrency, help="Pages fetched at once (1 to 64)."),
        resume: bool = typer.Option(False, "--resume", help="Continue an interrupted export from OUT.checkpoint."),
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
            app_ids, out, format=format, concurrency=concurrency, resume=resume,
            app_tokens=app_token, env=os.environ, session_file=session_file or None,
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
) -> int:
    """Run one export; print the summary or a one-line error; return the exit code."""
    import anyio

    creds: CliCredentials | None = None
    try:
        if format not in ("jsonl", "csv"):
            raise CliError(f"--format must be jsonl or csv, not {format!r}", "usage")
        creds = credentials(env, app_ids=app_ids, app_tokens=app_tokens, session_file=session_file)
        result = anyio.run(_export, creds, app_ids, out, format, concurrency, resume)
    except KeyboardInterrupt:
        _error("interrupted; run the same command with --resume to continue")
        return EXIT_CODES["interrupted"]
    except CliError as exc:
        _error(str(exc))
        return exc.code
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback, for any failure
        expired = describe_auth_failure(exc, creds)
        if expired is not None:
            _error(str(expired))
            return expired.code
        message, code = _describe(exc)
        _error(message)
        return EXIT_CODES[code]
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
    from ..errors import PodioInvalidGrantError
    from . import export  # the lazy name: a missing msgspec says how to install it

    async with open_client(creds, max_concurrency=max(concurrency, 8)) as podio:
        saved = await sign_in(podio, creds, app_ids)
        with _ProgressDisplay() as on_progress:
            try:
                return await export(
                    podio,
                    list(app_ids),
                    out,
                    format=format,
                    app_tokens=creds.app_tokens,
                    app_sessions=saved,
                    concurrency=concurrency,
                    resume=resume,
                    on_progress=on_progress,
                )
            except PodioInvalidGrantError:
                raise_if_app_session_dead(creds, saved)  # name the app to sign in again
                raise


class _ProgressDisplay:
    """A rich progress bar on a terminal; a plain line every few seconds otherwise. `verb`
    names the work ("exported"; `podiokit mirror` passes "mirrored")."""

    def __init__(self, verb: str = "exported") -> None:
        self._verb = verb
        self._bar: Any = None
        self._task: Any = None
        self._last = 0.0

    def __enter__(self) -> Callable[[ExportProgress], None]:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn(_ACTIVE.get(self._verb, self._verb)),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} items/s"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[left]}"),
                console=Console(stderr=True),  # stdout keeps only the summary
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("export", total=None, rate="-", left="")
            return self._update_bar
        return self._print_line

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def _update_bar(self, p: ExportProgress) -> None:
        rate = f"{p.items / p.elapsed:,.0f}" if p.elapsed > 0 else "-"
        self._bar.update(
            self._task, completed=p.items, total=max(p.total, p.items), rate=rate,
            left=_calls_left(p),
        )  # fmt: skip

    def _print_line(self, p: ExportProgress) -> None:
        now = time.monotonic()
        if now - self._last < PLAIN_EVERY and not p.waiting:
            return
        self._last = now
        rate = p.items / p.elapsed if p.elapsed > 0 else 0.0
        print(
            f"{self._verb} {p.items}/{p.total} items, {rate:,.0f} items/s, {p.calls} calls"
            f"{', ' + _calls_left(p) if _calls_left(p) else ''}",
            file=sys.stderr,
            flush=True,
        )


def _calls_left(p: ExportProgress) -> str:
    if p.waiting:
        return f"rate limit reached: waiting {p.waiting:.0f} s"
    return f"{p.calls_left} calls left this hour" if p.calls_left is not None else ""


def _describe(exc: Exception) -> tuple[str, str]:
    from ..errors import (
        PodioAuthorizationError,
        PodioConnectionError,
        PodioError,
        PodioForbiddenError,
        PodioNotFoundError,
        PodioServerError,
        PodioUnavailableError,
    )

    if type(exc).__name__ == "CheckpointError":
        return str(exc), "checkpoint"
    if isinstance(exc, ImportError):
        return str(exc), "usage"
    if isinstance(exc, PodioError):
        if isinstance(exc, PodioAuthorizationError) or exc.path == "/oauth/token":
            return f"bad credentials: {exc}", "credentials"
        if isinstance(exc, PodioNotFoundError):
            return f"unknown app: {exc}", "not_found"
        if isinstance(exc, PodioForbiddenError):
            return f"no access (does the token belong to this app?): {exc}", "forbidden"
        if isinstance(exc, (PodioConnectionError, PodioServerError, PodioUnavailableError)):
            return f"Podio unavailable: {exc}", "unavailable"
        return str(exc), "error"
    if isinstance(exc, (OSError, ValueError)):
        return f"{type(exc).__name__}: {exc}", "error"
    return f"unexpected {type(exc).__name__}: {exc}", "error"


def _error(message: str, command: str = "export") -> None:
    print(f"podiokit {command}: {message}", file=sys.stderr)
