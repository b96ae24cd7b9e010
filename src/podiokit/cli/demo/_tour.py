"""`podiokit demo`: a guided tour of the SDK against the emulator on a loopback port
(or, with PODIO_CLIENT_ID/SECRET and PODIO_APP_ID/TOKEN set, a read-only tour of a real
account: see `_live.py`)."""

from __future__ import annotations

import time
from typing import Any

import anyio


def run_demo(*, items: int = 2_000, concurrency: int = 200, emulator: bool = False) -> None:
    """The emulator tour, or a read-only tour of a real account once PODIO_* is configured."""
    from ._live import configured, live_tour

    if configured() and not emulator:
        anyio.run(live_tour)
    else:
        anyio.run(_tour, items, concurrency)


async def _tour(items: int, concurrency: int) -> None:
    from rich.console import Console
    from rich.panel import Panel
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    from rich.table import Table

    from podiokit import Podio, PodioConflictError
    from podiokit.testing import Emulator

    console = Console(highlight=False)
    started = time.perf_counter()
    emu = Emulator(items=items)
    console.print(Panel.fit(
        "[bold]podiokit demo[/] - the SDK against the Podio emulator\n"
        f"seeded {2 * items:,} items in two apps in {time.perf_counter() - started:.2f} s",
        border_style="cyan",
    ))  # fmt: skip

    async with emu.serve() as url:
        creds = emu.credentials
        app = creds["apps"][0]
        app_id = app["app_id"]
        console.print(f"emulator listening on [cyan]{url}[/]  (control API: {url}/_emulator)\n")
        async with Podio(creds["client_id"], creds["client_secret"], api_url=url,
                         auth_url=creds["auth_url"]) as podio:  # fmt: skip
            step = _stepper(console)

            step("Authenticate: app flow and password flow")
            token = await podio.authenticate_with_app(app_id, app["app_token"])
            console.print(f"  app token for {app['name']!r}: ref={_ref(token)}, "
                          f"expires {token.expires_at:%H:%M:%S} UTC")  # fmt: skip
            user = podio.session("user:demo")
            user_token = await user.authenticate_with_credentials(creds["username"],
                                                                  creds["password"])  # fmt: skip
            status = await user.request("GET", "/user/status")
            console.print(f"  password flow as {status['user']['name']} "
                          f"<{status['user']['mail']}>: ref={_ref(user_token)}, "
                          f"scope={user_token.scope}")  # fmt: skip

            step("Typed reads")
            first = await podio.items.filter(app_id, limit=1, sort_by="app_item_id",
                                             sort_desc=False)  # fmt: skip
            item = await podio.items.get(_id(_rows(first)[0].item_id))
            table = Table(title=f"item {item.item_id}: {item.title!r} ({type(item).__name__})",
                          show_lines=False)  # fmt: skip
            table.add_column("field")
            table.add_column("type")
            table.add_column("first value")
            for field in item.fields or []:
                table.add_row(field.label or "", field.type, _short(field))
            console.print(table)
            console.print(f"  rate limit now: {podio.rate_limit.remaining}/"
                          f"{podio.rate_limit.limit} left this hour")  # fmt: skip

            step("Create and update, with revisions")
            created = await podio.items.create(
                app_id, fields={"title": "Demo project", "status": 2, "hours": 12.5, "rate": 90,
                                "progress": 10},
            )  # fmt: skip
            new_id = _id(created.item_id)
            console.print(f"  created item {new_id} ({created.title!r})")
            result = await podio.items.update(new_id, fields={"progress": 60},
                                              revision=0)  # fmt: skip
            console.print(f"  updated to revision {result.revision if result else '?'}; cost is "
                          f"calculated: {_value(await podio.items.get(new_id), 'cost')}")  # fmt: skip
            try:
                await podio.items.update(new_id, fields={"progress": 99}, revision=0)
            except PodioConflictError as exc:
                console.print(f"  a stale revision is refused: [yellow]{exc.status} "
                              f"{exc.error}[/]")  # fmt: skip

            step("Filter, sort and page")
            query: dict[str, Any] = {"filters": {"status": [2]}, "sort_by": "hours",
                                     "sort_desc": True}  # fmt: skip
            page = await podio.items.filter(app_id, limit=5, **query)
            console.print(f"  status=Active: {page.filtered:,} of {page.total:,} items; "
                          "top 5 by hours:")  # fmt: skip
            for row in _rows(page):
                console.print(f"    #{row.app_item_id:<6} {row.title:<28} hours="
                              f"{_value(row, 'hours')}")  # fmt: skip
            second = await podio.items.filter(app_id, limit=5, offset=5, **query)
            console.print(f"  next page starts at #{_rows(second)[0].app_item_id}")

            step(f"{concurrency} concurrent reads across a forced token expiry")
            ids = [_id(i.item_id) for i in _rows(await podio.items.filter(app_id, limit=100))]
            before = emu.stats()["token_grants"].get("refresh_token", 0)
            emu.expire_tokens()
            done: list[int] = []

            async def read(item_id: int) -> None:
                done.append(_id((await podio.items.get(item_id)).item_id))

            clock = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for n in range(concurrency):
                    tg.start_soon(read, ids[n % len(ids)])
            refreshes = emu.stats()["token_grants"].get("refresh_token", 0) - before
            console.print(f"  [green]{len(done)} reads, {refreshes} token refresh[/] "
                          f"in {time.perf_counter() - clock:.2f} s (every caller waited for "
                          "the one refresh, then replayed)")  # fmt: skip

            step("Every item of an app, page by page")
            total = (await podio.items.filter(app_id, limit=1)).filtered or 0
            seen = 0
            clock = time.perf_counter()
            with Progress("[progress.description]{task.description}", BarColumn(),
                          MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                          transient=False) as progress:  # fmt: skip
                task = progress.add_task(f"reading {app['name']}", total=total)
                async for _ in podio.items.filter(app_id, sort_by="app_item_id"):
                    seen += 1
                    if seen % 100 == 0 or seen == total:
                        progress.update(task, completed=seen)
            elapsed = time.perf_counter() - clock
            console.print(f"  read {seen:,} items in {elapsed:.2f} s "
                          f"({seen / max(elapsed, 1e-9):,.0f} items/s)")  # fmt: skip

    stats = emu.stats()
    grants = ", ".join(f"{k}={v}" for k, v in sorted(stats["token_grants"].items()))
    console.print(f"\n[bold]done[/]: {stats['requests']:,} requests served; token grants: "
                  f"{grants}; total {time.perf_counter() - started:.1f} s")  # fmt: skip


def _rows(page: Any) -> list[Any]:
    return list(page.items or [])


def _id(value: int | None) -> int:
    if value is None:
        raise RuntimeError("the emulator answered an object without its id")
    return value


def _ref(token: Any) -> str:
    return f"{token.ref.type}:{token.ref.id}" if token.ref else "?"


def _stepper(console: Any) -> Any:
    count = 0

    def step(title: str) -> None:
        nonlocal count
        count += 1
        console.rule(f"[bold]{count}. {title}", align="left")

    return step


def _short(field: Any) -> str:
    """A readable first value for the typed-read table."""
    values = field.values or []
    if not values:
        return ""
    first = values[0]
    value = getattr(first, "value", None)
    attr = {"category": "text", "question": "text", "app": "title", "contact": "name",
            "image": "name"}.get(field.type)  # fmt: skip
    if attr is not None and value is not None:
        text = str(getattr(value, attr, value))
        if field.type == "image":
            text += f" ({getattr(value, 'mimetype', '?')})"
    elif field.type == "date":
        text = str(first.start)
    elif field.type == "embed":
        embed = first.embed
        text = f"{getattr(embed, 'title', '')} ({getattr(embed, 'hostname', '')})"
    elif field.type == "location":
        city, country = getattr(first, "city", None), getattr(first, "country", None)
        text = f"{city}, {country}" if city and country else str(value)
        lat, lng = getattr(first, "lat", None), getattr(first, "lng", None)
        if lat is not None and lng is not None:
            text += f" ({lat:.2f}, {lng:.2f})"
    else:
        text = str(value)
    return text if len(text) <= 48 else text[:45] + "..."


def _value(item: Any, external_id: str) -> str:
    for field in item.fields or []:
        if field.external_id == external_id and field.values:
            return str(field.values[0].value)
    return "-"
