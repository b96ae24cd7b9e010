"""What several `podiokit` commands share: the command classes (how help reads), the option
checks, the options and help of the commands that read apps (export, mirror), their sign-in
and their progress display."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand, TyperGroup

from ._session import CliCredentials, open_client, raise_if_app_session_dead, sign_in

if TYPE_CHECKING:
    from podiokit import Podio
    from podiokit.export import ExportProgress

PLAIN_EVERY = 2.0  # seconds between progress lines when stderr is not a terminal
_ACTIVE = {"exported": "exporting", "mirrored": "mirroring"}  # the progress bar's label


class _NoFlagType:
    """Typer's rich help prints `<bool>` beside flags, which take no value: drop it."""

    def get_params(self, ctx: Any) -> Any:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class Command(_NoFlagType, TyperCommand):
    pass


class Group(_NoFlagType, TyperGroup):
    pass


# Checked by callbacks rather than typer's min=/max=, whose range notes crowd the help.
def check_port(value: int) -> int:
    if not 0 <= value <= 65535:
        raise typer.BadParameter(f"{value} is not a port number (0 to 65535)")
    return value


def check_positive(value: int) -> int:
    if value < 1:
        raise typer.BadParameter(f"{value} is not a positive number")
    return value


def check_concurrency(value: int) -> int:
    if not 1 <= value <= 64:
        raise typer.BadParameter(f"{value} is not between 1 and 64")
    return value


# export and mirror take the same credentials, so their help says the same about them.
CREDENTIALS_HELP = (
    "Credentials come from PODIO_CLIENT_ID, PODIO_CLIENT_SECRET, PODIO_API_URL and "
    "PODIO_APP_TOKEN (or --app-token). For an app without an app token, PODIO_USERNAME and "
    "PODIO_PASSWORD sign in as a user who sees every app; without those, the app's session "
    "saved by `podiokit login --app APP_ID` is used, else the user session `podiokit login` "
    "saved (kept refreshed in the session file)."
)


def app_token_option() -> Any:
    return typer.Option(
        [], "--app-token", metavar="[APP_ID=]TOKEN",
        help="App token, once per app (in APP_ID order, or APP_ID=TOKEN). Default: PODIO_APP_TOKEN (comma-separated).",
    )  # fmt: skip


def session_file_option() -> Any:
    return typer.Option(
        "", "--session-file", metavar="PATH", show_default=False,
        help="Session saved by `podiokit login --session-file PATH`; this run's tokens are saved there too. Default: PODIO_SESSION_FILE, else the user config directory's, when present.",
    )  # fmt: skip


@asynccontextmanager
async def reading_apps(
    creds: CliCredentials, app_ids: Sequence[int], concurrency: int, verb: str
) -> AsyncIterator[tuple[Podio, dict[int, Podio], Callable[[ExportProgress], None]]]:
    """export and mirror: `(podio, app_sessions, on_progress)`, signed in for `app_ids`, with
    the progress display open. A refused refresh of a saved app session names the app to
    sign in again."""
    from podiokit.errors import PodioInvalidGrantError

    async with open_client(creds, max_concurrency=max(concurrency, 8)) as podio:
        saved = await sign_in(podio, creds, app_ids)
        with ProgressDisplay(verb) as on_progress:
            try:
                yield podio, saved, on_progress
            except PodioInvalidGrantError:
                raise_if_app_session_dead(creds, saved)
                raise


class ProgressDisplay:
    """A rich progress bar on a terminal; a plain line every few seconds otherwise, and the
    latest one at the end, so the last line says where the run got to. `verb` names the
    work ("exported", "mirrored")."""

    def __init__(self, verb: str = "exported") -> None:
        self._verb = verb
        self._bar: Any = None
        self._task: Any = None
        self._last = 0.0
        self._unprinted: ExportProgress | None = None

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
            from rich.table import Column

            def fixed(text: str) -> TextColumn:
                return TextColumn(text, table_column=Column(no_wrap=True))

            # The bar alone gives way on a narrow terminal: the counts stay whole.
            self._bar = Progress(
                fixed(_ACTIVE.get(self._verb, self._verb)),
                BarColumn(bar_width=None, table_column=Column(ratio=1, min_width=5)),
                MofNCompleteColumn(table_column=Column(no_wrap=True)),
                fixed("{task.fields[rate]}/s"),
                TimeRemainingColumn(table_column=Column(no_wrap=True)),
                fixed("{task.fields[left]}"),
                console=Console(stderr=True),  # stdout keeps only the summary
                transient=True,
                expand=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("export", total=None, rate="-", left="")
            return self._update_bar
        return self._print_line

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self._unprinted is not None:
            self._print(self._unprinted)

    def _update_bar(self, p: ExportProgress) -> None:
        rate = f"{p.items / p.elapsed:,.0f}" if p.elapsed > 0 else "-"
        self._bar.update(
            self._task, completed=p.items, total=max(p.total, p.items), rate=rate,
            left=_calls_left(p, short=True),
        )  # fmt: skip

    def _print_line(self, p: ExportProgress) -> None:
        now = time.monotonic()
        if now - self._last < PLAIN_EVERY and not p.waiting:
            self._unprinted = p
            return
        self._last = now
        self._print(p)

    def _print(self, p: ExportProgress) -> None:
        self._unprinted = None
        rate = p.items / p.elapsed if p.elapsed > 0 else 0.0
        left = _calls_left(p)
        print(
            f"{self._verb} {p.items}/{max(p.total, p.items)} items, {rate:,.0f} items/s, "
            f"{p.calls} calls{', ' + left if left else ''}",
            file=sys.stderr,
            flush=True,
        )


def _calls_left(p: ExportProgress, *, short: bool = False) -> str:
    if p.waiting:
        return f"{'' if short else 'rate limit reached: '}waiting {p.waiting:.0f} s"
    if p.calls_left is None:
        return ""
    return f"{p.calls_left} calls left" + ("" if short else " this hour")
