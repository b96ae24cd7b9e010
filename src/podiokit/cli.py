"""The `podiokit` command: `podiokit emulator` (a local fake Podio) and `podiokit demo`."""

from __future__ import annotations

import json
import sys
from typing import Any


def _build_app() -> Any:
    import typer

    app = typer.Typer(
        name="podiokit",
        help="podiokit: the async Podio SDK, with a local Podio emulator.",
        no_args_is_help=True,
        add_completion=False,
    )

    @app.command()
    def emulator(
        host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
        port: int = typer.Option(8000, help="Port (0 picks a free one)."),
        seed: str = typer.Option("demo", help="demo | empty"),
        items: int = typer.Option(300, help="Items per demo app."),
        token_lifetime: int = typer.Option(28_800, help="Access-token lifetime, seconds."),
        refresh: str = typer.Option("rotate", help="rotate (single-use) | reuse"),
        rate_limit: int = typer.Option(1_000, help="Calls per hour per token identity."),
        rate_window: float = typer.Option(3600.0, help="Length of the rate-limit window, s."),
        latency: float = typer.Option(0.0, help="Added latency per request, ms."),
        fault_rate: float = typer.Option(0.0, help="Share of requests answered by a fault."),
        fault_seed: int = typer.Option(0, help="Seed for the fault sequence."),
    ) -> None:
        """Serve a fake Podio API; print its credentials as one JSON line first."""
        from podiokit.testing.emulator import Emulator

        try:
            emu = Emulator(
                seed=seed, items=items, token_lifetime=token_lifetime, refresh=refresh,
                rate_limit=rate_limit, rate_window=rate_window, latency=latency, fault_rate=fault_rate,
                fault_seed=fault_seed,
            )  # fmt: skip
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None

        def ready(credentials: dict[str, Any]) -> None:
            print(json.dumps(credentials), flush=True)

        emu.run(host, port, on_ready=ready)

    @app.command()
    def demo(
        items: int = typer.Option(2_000, help="Items per demo app."),
        concurrency: int = typer.Option(200, help="Concurrent reads across the token expiry."),
        emulator: bool = typer.Option(
            False, "--emulator", help="Use the emulator even when PODIO_* is configured."
        ),
    ) -> None:
        """Tour the SDK: against the embedded emulator on loopback, or read-only against a
        real account when PODIO_CLIENT_ID, PODIO_CLIENT_SECRET, PODIO_APP_ID and
        PODIO_APP_TOKEN are set."""
        from podiokit.demo import run_demo

        run_demo(items=items, concurrency=concurrency, emulator=emulator)

    __import__("podiokit.export._cli").export._cli.register(app)  # `podiokit export`
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
