"""The `podiokit` command: `emulator` (a local fake Podio), `demo`, `export`, `mirror`,
`doctor`, `login`, `logout` and `typegen`, one module each (the demo is a package).

`main` is the console script. typer and rich (the `cli` extra) are imported only when it
runs, so a missing extra ends in one line saying how to install it. Every failure a user can
act on ends in one line on stderr and an exit code; `_errors` holds the rules and the table
of codes.
"""

from __future__ import annotations

from typing import Any

__all__ = ["main"]

_HELP = "The podiokit command line: a local Podio emulator, a tour of the SDK, bulk export."


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit code."""
    try:
        app = _build_app()
    except ImportError as exc:  # the cli extra is missing
        from ._errors import missing_cli_extra

        return missing_cli_extra(exc)
    try:
        app(args=argv, prog_name="podiokit")
    except SystemExit as exc:  # click ends every run with SystemExit(code)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _build_app() -> Any:
    import typer

    from . import demo, doctor, emulator, export, login, mirror, typegen
    from ._common import Command, Group

    app = typer.Typer(
        name="podiokit",
        cls=Group,
        help=_HELP,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode="rich",
        pretty_exceptions_show_locals=False,  # locals hold client secrets and tokens
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def _main(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ) -> None:
        pass

    # The order of the command list in `podiokit --help`.
    for command in (emulator, demo, export, mirror, doctor, login, typegen):
        command.register(app, Command)
    return app


def _version(value: bool) -> None:
    if value:
        import typer

        from podiokit import __version__

        typer.echo(f"podiokit {__version__}")
        raise typer.Exit()
