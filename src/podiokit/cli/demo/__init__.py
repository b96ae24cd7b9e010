"""`podiokit demo`: a tour of the SDK against the emulator, or a read-only tour of the user's
own Podio app once PODIO_* is set (`_live.py`)."""

from __future__ import annotations

from typing import Any

import typer

from .._common import check_positive
from .._errors import one_line
from ._live import DemoConfigError, configured, configured_api_url
from ._tour import run_demo

__all__ = ["DEMO_HELP", "DemoConfigError", "register", "run_demo"]

DEMO_HELP = (
    "Tour the SDK: authentication, typed reads, writes with revisions, paging, and refresh "
    "under load and rate limits, against the emulator on a loopback port."
    "\n\n"
    "With PODIO_CLIENT_ID, PODIO_CLIENT_SECRET, PODIO_APP_ID and PODIO_APP_TOKEN set (and "
    "optionally PODIO_API_URL), it reads that app of your own Podio account instead, and "
    "writes nothing."
)


def register(app: typer.Typer, command_cls: type[Any]) -> None:
    """Add `demo` to the `podiokit` app."""

    @app.command(
        cls=command_cls,
        help=DEMO_HELP,
        short_help="Tour the SDK against the emulator or your own Podio app.",
    )
    def demo(
        items: int = typer.Option(2_000, callback=check_positive, help="Items in each demo app."),
        concurrency: int = typer.Option(200, callback=check_positive, help="Concurrent reads across the token expiry."),
        emulator: bool = typer.Option(False, "--emulator", help="Use the emulator even when PODIO_* is set."),
    ) -> None:  # fmt: skip
        live = configured() and not emulator
        with one_line("demo", configured_api_url() if live else "the emulator"):
            run_demo(items=items, concurrency=concurrency, emulator=emulator)
