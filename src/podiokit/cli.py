"""The `podiokit` command: `podiokit emulator` (a local fake Podio), `podiokit demo`, `export`,
`login` and `logout`.

What a user can get wrong or cannot help (a busy port, no network, a bad PODIO_* value, an
answer from Podio) ends in one line on stderr and an exit code: 1 for a failure, 2 for bad
input. Tracebacks are left for bugs.
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

EXIT_FAILURE = 1
EXIT_USAGE = 2  # click's code for bad input; a bad PODIO_* value is bad input too


# Help paragraphs are single lines: typer's rich help keeps a docstring's line breaks, which
# would break sentences mid-line at any terminal width.
EMULATOR_HELP = (
    "Serve a fake Podio API on a local port, for integration tests, benchmarks and the demo."
    "\n\n"
    "Once the port is bound, the credentials (api_url, client_id, client_secret, username, "
    "password, apps and control_url) are printed to stdout as one JSON line. The control "
    "routes live under /_emulator/. Stop it with Ctrl-C."
)
DEMO_HELP = (
    "Tour the SDK: authentication, typed reads, writes with revisions, paging, and refresh "
    "under load and rate limits, against the emulator on a loopback port."
    "\n\n"
    "With PODIO_CLIENT_ID, PODIO_CLIENT_SECRET, PODIO_APP_ID and PODIO_APP_TOKEN set (and "
    "optionally PODIO_API_URL), it reads that app of your own Podio account instead, and "
    "writes nothing."
)


class Seed(str, enum.Enum):
    demo = "demo"
    empty = "empty"


class Refresh(str, enum.Enum):
    rotate = "rotate"
    reuse = "reuse"


def _fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    import typer

    typer.echo(f"podiokit: error: {message}", err=True)
    raise typer.Exit(code)


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, which task groups raise."""
    inner = getattr(exc, "exceptions", None)
    if not isinstance(inner, tuple):
        return [exc]
    return [leaf for child in inner for leaf in _leaves(child)]


# Optional dependencies whose absence is the user's to fix, not a bug.
_EXTRAS = {"rich", "typer", "starlette", "uvicorn"}


def _describe(exc: BaseException, server: str) -> tuple[str, int] | None:
    """One line for an error the user should see as such; None for a bug. `server` names
    where the requests went."""
    from podiokit.demo import DemoConfigError
    from podiokit.errors import PodioConnectionError, PodioError

    if isinstance(exc, DemoConfigError):
        return str(exc), EXIT_USAGE
    if isinstance(exc, PodioConnectionError):
        where = f" ({exc.method} {exc.path})" if exc.method and exc.path else ""
        return f"cannot reach {server}{where}: {exc}", EXIT_FAILURE
    if isinstance(exc, PodioError):
        # Podio's own words; PodioError never carries a token (errors.py).
        return f"Podio answered {type(exc).__name__}: {exc}", EXIT_FAILURE
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in _EXTRAS:
        return f"{exc}. Install with: pip install 'podiokit[cli,emulator]'", EXIT_FAILURE
    if isinstance(exc, OSError):
        name = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{name}", EXIT_FAILURE
    return None


@contextmanager
def _errors_as_one_line(server: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:  # never BaseException: Ctrl-C stays click's "Aborted!"
        described = [_describe(leaf, server) for leaf in _leaves(exc)]
        if not described or any(d is None for d in described):
            raise
        message, code = described[0]  # type: ignore[misc]
        _fail(message, code)


def _version(value: bool) -> None:
    if value:
        import typer

        from podiokit import __version__

        typer.echo(f"podiokit {__version__}")
        raise typer.Exit()


# Checked by callbacks rather than typer's min=/max=, whose range notes crowd the help.
def _port(value: int) -> int:
    if not 0 <= value <= 65535:
        import typer

        raise typer.BadParameter(f"{value} is not a port number (0 to 65535)")
    return value


def _positive(value: int) -> int:
    if value < 1:
        import typer

        raise typer.BadParameter(f"{value} is not a positive number")
    return value


def _build_app() -> Any:
    import typer
    from typer.core import TyperCommand, TyperGroup

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

    app = typer.Typer(
        name="podiokit",
        cls=Group,
        help="The podiokit command line: a local Podio emulator, a tour of the SDK, bulk export.",
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode="rich",
        pretty_exceptions_show_locals=False,  # locals hold client secrets and tokens
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def _main(
        version: bool = typer.Option(
            False,
            "--version",
            callback=_version,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ) -> None:
        pass

    server, data, limits, faults = "Server", "Data", "Tokens and rate limit", "Faults"

    @app.command(
        cls=Command, help=EMULATOR_HELP, short_help="Serve a fake Podio API on a local port."
    )
    def emulator(
        host: str = typer.Option("127.0.0.1", help="Interface to listen on.", rich_help_panel=server),
        port: int = typer.Option(8000, callback=_port, help="Port to listen on; 0 picks a free one.", rich_help_panel=server),
        seed: Seed = typer.Option(Seed.demo, help="Start with the demo org, or with nothing.", rich_help_panel=data),
        items: int = typer.Option(300, help="Items in each demo app.", rich_help_panel=data),
        token_lifetime: int = typer.Option(28_800, help="Access token lifetime in seconds.", rich_help_panel=limits),
        refresh: Refresh = typer.Option(Refresh.rotate, help="Single-use (rotate) or reusable refresh tokens.", rich_help_panel=limits),
        rate_limit: int = typer.Option(1_000, help="Calls per window per token identity.", rich_help_panel=limits),
        rate_window: float = typer.Option(3600.0, help="Rate-limit window in seconds.", rich_help_panel=limits),
        latency: float = typer.Option(0.0, help="Latency added to every request, in ms.", rich_help_panel=faults),
        fault_rate: float = typer.Option(0.0, help="Share of requests answered by a fault.", rich_help_panel=faults),
        fault_seed: int = typer.Option(0, help="Seed of the fault sequence.", rich_help_panel=faults),
        quirk: list[str] = typer.Option([], "--quirk", metavar="NAME[=VALUE]", help="Behave like an alternative reading of Podio (repeatable), e.g. range_filter=ignore_to, micro_view=ignored, file_redirect, push_unknown_shapes, hook_retries=2; see docs/guides/testing.md.", rich_help_panel=faults),
    ) -> None:  # fmt: skip
        with _errors_as_one_line(f"{host}:{port}"):
            from podiokit.testing.emulator import Emulator

        try:
            emu = Emulator(
                seed=seed.value, items=items, token_lifetime=token_lifetime,
                refresh=refresh.value, rate_limit=rate_limit, rate_window=rate_window,
                latency=latency, fault_rate=fault_rate, fault_seed=fault_seed, quirks=quirk,
            )  # fmt: skip
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None

        bound = False

        def ready(credentials: dict[str, Any]) -> None:
            nonlocal bound
            bound = True
            print(json.dumps(credentials), flush=True)

        try:
            emu.run(host, port, on_ready=ready)
        except OSError as exc:
            if bound:
                raise
            reason = exc.strerror or str(exc)
            _fail(f"cannot listen on {host}:{port}: {reason}")

    @app.command(
        cls=Command,
        help=DEMO_HELP,
        short_help="Tour the SDK against the emulator or your own Podio app.",
    )
    def demo(
        items: int = typer.Option(2_000, callback=_positive, help="Items in each demo app."),
        concurrency: int = typer.Option(200, callback=_positive, help="Concurrent reads across the token expiry."),
        emulator: bool = typer.Option(False, "--emulator", help="Use the emulator even when PODIO_* is set."),
    ) -> None:  # fmt: skip
        from podiokit.demo._live import configured, configured_api_url

        live = configured() and not emulator
        with _errors_as_one_line(configured_api_url() if live else "the emulator"):
            from podiokit.demo import run_demo

            run_demo(items=items, concurrency=concurrency, emulator=emulator)

    __import__("podiokit.export._cli").export._cli.register(app, Command)  # `podiokit export`
    __import__("podiokit.mirror._cli").mirror._cli.register(app, Command)  # `podiokit mirror`
    __import__("podiokit._cli_login")._cli_login.register(app, Command)  # `login`, `logout`
    return app


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit code."""
    try:
        app = _build_app()
    except ImportError as exc:  # the cli extra is missing
        print(f"podiokit: {exc}. Install with: pip install 'podiokit[cli,emulator]'",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        app(args=argv, prog_name="podiokit")
    except SystemExit as exc:  # click ends every run with SystemExit(code)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
