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

if TYPE_CHECKING:
    import typer

    from ._run import ExportProgress, ExportResult

__all__ = ["EXIT_CODES", "register"]

#: Distinct exit codes, one per kind of failure a user can act on (2 is click's usage error).
EXIT_CODES = {
    "ok": 0,
    "error": 1,
    "usage": 2,
    "credentials": 3,
    "not_found": 4,
    "forbidden": 5,
    "unavailable": 6,
    "checkpoint": 7,
    "interrupted": 130,
}

PLAIN_EVERY = 2.0  # seconds between progress lines when stderr is not a terminal
_ACTIVE = {"exported": "exporting", "mirrored": "mirroring"}  # the progress bar's label


class CliError(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = EXIT_CODES[code]


# One line per paragraph: the terminal wraps it, never a hard break mid-sentence.
EXPORT_HELP = (
    "Export every item of one or more apps to JSONL or CSV.\n\n"
    "Credentials come from PODIO_CLIENT_ID, PODIO_CLIENT_SECRET, PODIO_API_URL and "
    "PODIO_APP_TOKEN (or --app-token); without app tokens, PODIO_USERNAME and PODIO_PASSWORD "
    "sign in as a user who sees every app."
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
    ) -> None:  # fmt: skip
        code = run(
            app_ids, out, format=format, concurrency=concurrency, resume=resume,
            app_tokens=app_token, env=os.environ,
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
) -> int:
    """Run one export; print the summary or a one-line error; return the exit code."""
    import anyio

    try:
        settings = _settings(app_ids, format, app_tokens, env)
        result = anyio.run(_export, settings, app_ids, out, format, concurrency, resume)
    except KeyboardInterrupt:
        _error("interrupted; run the same command with --resume to continue")
        return EXIT_CODES["interrupted"]
    except CliError as exc:
        _error(str(exc))
        return exc.code
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback, for any failure
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


def _settings(
    app_ids: Sequence[int], format: str, app_tokens: Sequence[str], env: Mapping[str, str]
) -> dict[str, Any]:
    if format not in ("jsonl", "csv"):
        raise CliError(f"--format must be jsonl or csv, not {format!r}", "usage")
    client_id = env.get("PODIO_CLIENT_ID")
    client_secret = env.get("PODIO_CLIENT_SECRET")
    if not client_id or not client_secret:
        raise CliError("set PODIO_CLIENT_ID and PODIO_CLIENT_SECRET (your API key)", "usage")
    raw = list(app_tokens) or [t for t in env.get("PODIO_APP_TOKEN", "").split(",") if t.strip()]
    tokens = _pair_tokens(app_ids, raw)
    user = (env.get("PODIO_USERNAME"), env.get("PODIO_PASSWORD"))
    missing = [a for a in app_ids if a not in tokens]
    if missing and not all(user):
        raise CliError(
            f"no app token for app(s) {', '.join(map(str, missing))}: pass --app-token or set "
            "PODIO_APP_TOKEN (or PODIO_USERNAME and PODIO_PASSWORD to export as a user)",
            "usage",
        )
    return {
        "client_id": client_id,
        "client_secret": client_secret,
        "api_url": env.get("PODIO_API_URL") or "https://api.podio.com",
        "tokens": tokens,
        "user": user if missing else None,
    }


def _pair_tokens(app_ids: Sequence[int], raw: Sequence[str]) -> dict[int, str]:
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


async def _export(
    settings: dict[str, Any],
    app_ids: Sequence[int],
    out: str,
    format: str,
    concurrency: int,
    resume: bool,
) -> ExportResult:
    from .._client import Podio
    from . import export  # the lazy name: a missing msgspec says how to install it

    async with Podio(
        settings["client_id"],
        settings["client_secret"],
        api_url=settings["api_url"],
        max_concurrency=max(concurrency, 8),
    ) as podio:
        if settings["user"] is not None:
            await podio.authenticate_with_credentials(*settings["user"])
        with _ProgressDisplay() as on_progress:
            return await export(
                podio,
                list(app_ids),
                out,
                format=format,
                app_tokens=settings["tokens"],
                concurrency=concurrency,
                resume=resume,
                on_progress=on_progress,
            )


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
