"""`podiokit emulator`: serve a fake Podio API on a local port.

The emulator (and its starlette and uvicorn dependencies) is imported only when the command
runs; without the `emulator` extra the command ends in one line saying how to install it.
"""

from __future__ import annotations

import enum
import json
from typing import Any

import typer

from ._common import check_port
from ._errors import fail, one_line

__all__ = ["EMULATOR_HELP", "register"]

# Help paragraphs are single lines: typer's rich help keeps a docstring's line breaks, which
# would break sentences mid-line at any terminal width.
EMULATOR_HELP = (
    "Serve a fake Podio API on a local port, for integration tests, benchmarks and the demo."
    "\n\n"
    "Once the port is bound, the credentials (api_url, client_id, client_secret, username, "
    "password, apps and control_url) are printed to stdout as one JSON line. The control "
    "routes live under /_emulator/. Stop it with Ctrl-C."
)


class Seed(str, enum.Enum):
    demo = "demo"
    empty = "empty"


class Refresh(str, enum.Enum):
    rotate = "rotate"
    reuse = "reuse"


def register(app: typer.Typer, command_cls: type[Any]) -> None:
    """Add `emulator` to the `podiokit` app."""
    server, data, limits, faults = "Server", "Data", "Tokens and rate limit", "Faults"

    @app.command(
        cls=command_cls, help=EMULATOR_HELP, short_help="Serve a fake Podio API on a local port."
    )
    def emulator(
        host: str = typer.Option("127.0.0.1", help="Interface to listen on.", rich_help_panel=server),
        port: int = typer.Option(8000, callback=check_port, help="Port to listen on; 0 picks a free one.", rich_help_panel=server),
        seed: Seed = typer.Option(Seed.demo, help="Start with the demo org, or with nothing.", rich_help_panel=data),
        items: int = typer.Option(300, help="Items in each demo app.", rich_help_panel=data),
        apps: list[str] = typer.Option([], "--apps", metavar="FILE", help="Also serve the apps defined in FILE (typegen --save-json).", rich_help_panel=data),
        token_lifetime: int = typer.Option(28_800, help="Access token lifetime in seconds.", rich_help_panel=limits),
        refresh: Refresh = typer.Option(Refresh.rotate, help="Single-use (rotate) or reusable refresh tokens.", rich_help_panel=limits),
        rate_limit: int = typer.Option(1_000, help="Calls per window per token identity.", rich_help_panel=limits),
        rate_window: float = typer.Option(3600.0, help="Rate-limit window in seconds.", rich_help_panel=limits),
        latency: float = typer.Option(0.0, help="Latency added to every request, in ms.", rich_help_panel=faults),
        fault_rate: float = typer.Option(0.0, help="Share of requests answered by a fault.", rich_help_panel=faults),
        fault_seed: int = typer.Option(0, help="Seed of the fault sequence.", rich_help_panel=faults),
        quirk: list[str] = typer.Option([], "--quirk", metavar="NAME[=VALUE]", help="Behave like an alternative reading of Podio (repeatable), e.g. range_filter=ignore_to, micro_view=ignored, file_redirect, push_unknown_shapes, hook_retries=2; see docs/guides/testing.md.", rich_help_panel=faults),
    ) -> None:  # fmt: skip
        with one_line("emulator", f"{host}:{port}"):
            from podiokit.testing.emulator import Emulator

        try:
            emu = Emulator(
                seed=seed.value, items=items, token_lifetime=token_lifetime,
                refresh=refresh.value, rate_limit=rate_limit, rate_window=rate_window,
                latency=latency, fault_rate=fault_rate, fault_seed=fault_seed, apps=apps,
                quirks=quirk,
            )  # fmt: skip
        except (ValueError, OSError) as exc:  # a bad value, or an --apps file that won't load
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
            fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
