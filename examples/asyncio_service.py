"""An asyncio service: one long-lived Podio client, many concurrent calls, graceful shutdown.

Every `--interval` seconds it reads a page of every app it was given, concurrently, and the
newest items' details, all through one client (one connection pool, one token per app).
SIGINT or SIGTERM stops it cleanly: calls in flight are cancelled, the pool is closed.

Against a local emulator:

    podiokit emulator --port 8000 &        # prints the credentials as one JSON line
    export PODIO_API_URL=http://127.0.0.1:8000 PODIO_CLIENT_ID=... PODIO_CLIENT_SECRET=...
    export PODIO_APPS="APP_ID:APP_TOKEN,APP_ID:APP_TOKEN"
    python examples/asyncio_service.py --rounds 3     # or no --rounds: until Ctrl-C
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

import anyio
import anyio.abc

from podiokit import Podio, PodioError


def _apps() -> list[tuple[int, str]]:
    apps = []
    for pair in os.environ["PODIO_APPS"].split(","):
        app_id, _, token = pair.strip().partition(":")
        apps.append((int(app_id), token))
    return apps


async def _one_app(podio: Podio, app_id: int, token: str, totals: dict[str, int]) -> None:
    # One session per app: each has its own token and its own rate-limit figures.
    session = podio.session(f"app:{app_id}")
    try:
        if session.token is None:
            await session.authenticate_with_app(app_id, token)
        page = await session.items.filter(app_id, limit=20, sort_by="created_on", sort_desc=True)
        async with anyio.create_task_group() as tg:  # the newest items, concurrently
            for item in page.items[:5]:
                tg.start_soon(session.items.get, item.item_id)
    except PodioError as exc:  # one failing app does not stop the service
        print(f"app {app_id}: {exc!r}", file=sys.stderr)
        totals["errors"] += 1
        return
    totals["calls"] += 1 + min(5, len(page.items))
    totals["items"] += len(page.items)


async def _round(podio: Podio, apps: list[tuple[int, str]], totals: dict[str, int]) -> None:
    async with anyio.create_task_group() as tg:
        for app_id, token in apps:
            tg.start_soon(_one_app, podio, app_id, token, totals)


async def _stop_on_signal(
    scope: anyio.CancelScope, *, task_status: anyio.abc.TaskStatus[None]
) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()  # signals are caught from here on
        async for signum in signals:
            print(f"got {signal.Signals(signum).name}: stopping", flush=True)
            scope.cancel()
            return


async def main(rounds: int | None, interval: float) -> int:
    totals = {"rounds": 0, "calls": 0, "items": 0, "errors": 0}
    apps = _apps()
    started = time.perf_counter()
    async with Podio(
        os.environ["PODIO_CLIENT_ID"],
        os.environ["PODIO_CLIENT_SECRET"],
        api_url=os.environ.get("PODIO_API_URL", "https://api.podio.com"),
    ) as podio:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                await tg.start(_stop_on_signal, scope)
                print(f"ready: {len(apps)} apps", flush=True)
                while rounds is None or totals["rounds"] < rounds:
                    await _round(podio, apps, totals)
                    totals["rounds"] += 1
                    if rounds is None or totals["rounds"] < rounds:
                        await anyio.sleep(interval)
                tg.cancel_scope.cancel()  # done: stop listening for signals
    # Leaving `async with Podio` closed the connection pool.
    elapsed = time.perf_counter() - started
    print(
        f"stopped cleanly after {totals['rounds']} rounds: {totals['calls']} calls, "
        f"{totals['items']} items, {totals['errors']} errors in {elapsed:.2f}s",
        flush=True,
    )
    return 1 if totals["errors"] else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None, help="stop after N rounds")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between rounds")
    args = parser.parse_args()
    sys.exit(anyio.run(main, args.rounds, args.interval))
