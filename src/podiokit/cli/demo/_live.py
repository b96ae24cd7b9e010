"""`podiokit demo` against a real Podio account: a read-only tour.

Used when PODIO_CLIENT_ID, PODIO_CLIENT_SECRET, PODIO_APP_ID and PODIO_APP_TOKEN are set
(PODIO_API_URL optionally points elsewhere). Nothing is written to Podio, and the token is
kept in a FileSessionStore so running the demo again does not spend the 250-per-hour
authentication budget.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

ENV_KEYS = ("PODIO_CLIENT_ID", "PODIO_CLIENT_SECRET", "PODIO_APP_ID", "PODIO_APP_TOKEN")
DEFAULT_API_URL = "https://api.podio.com"


class DemoConfigError(ValueError):
    """A PODIO_* variable the demo cannot use; the message names it and its value."""


def configured(environ: Mapping[str, str] = os.environ) -> bool:
    return all(environ.get(key) for key in ENV_KEYS)


def configured_api_url(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get("PODIO_API_URL") or DEFAULT_API_URL


def parse_app_id(environ: Mapping[str, str] = os.environ) -> int:
    raw = environ["PODIO_APP_ID"]
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise DemoConfigError(f"PODIO_APP_ID must be a positive app id, got {raw!r}")
    return value


def token_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "podiokit" / "demo-tokens.json"


async def live_tour(environ: Mapping[str, str] = os.environ) -> None:
    from rich.console import Console
    from rich.table import Table

    from podiokit import Podio
    from podiokit.sessions import FileSessionStore

    console = Console(highlight=False)
    app_id = parse_app_id(environ)
    api_url = configured_api_url(environ)
    started = time.perf_counter()
    console.rule(f"[bold]podiokit demo[/] - read-only tour of app {app_id} at {api_url}")
    store = FileSessionStore(token_file())
    async with Podio(
        environ["PODIO_CLIENT_ID"],
        environ["PODIO_CLIENT_SECRET"],
        api_url=api_url,
        session_store=store,
        session_key=f"app:{app_id}",
    ) as podio:
        if await podio.is_authenticated():
            console.print(f"  reusing the stored token ({store.path})")
        else:
            await podio.authenticate_with_app(app_id, environ["PODIO_APP_TOKEN"])
            console.print(f"  authenticated with the app token; token saved in {store.path}")
        app = await podio.apps.get(app_id)
        name = app.config.name if app.config is not None else "?"
        console.print(f"  app {name!r}: {len(app.fields or [])} fields")
        page = await podio.items.filter(app_id, limit=5)
        table = Table(
            title=f"{page.filtered} of {page.total} items; the first {len(page.items or [])}"
        )
        table.add_column("item_id")
        table.add_column("title")
        for item in page.items or []:
            table.add_row(str(item.item_id), item.title or "")
        console.print(table)
        limit = podio.rate_limit
        console.print(f"  rate limit: {limit.remaining}/{limit.limit} left this hour")
    console.print(f"[bold]done[/] in {time.perf_counter() - started:.1f} s")
