"""A sync script: export every item of several apps to JSON Lines, one thread per app.

The blocking face (`SyncPodio`) for scripts, cron jobs and notebooks: the same typed calls as
`Podio`, no `async`/`await`. One client is shared by every thread (one connection pool, one
token refresh however many threads find the token expired); each app gets its own session
(its own app token and rate-limit figures).

Against a local emulator:

    podiokit emulator --port 8000 &        # prints the credentials as one JSON line
    export PODIO_API_URL=http://127.0.0.1:8000 PODIO_CLIENT_ID=... PODIO_CLIENT_SECRET=...
    export PODIO_APPS="APP_ID:APP_TOKEN,APP_ID:APP_TOKEN"
    python examples/sync_export.py --out export/
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from podiokit import PodioError, SyncPodio


def _apps() -> list[tuple[int, str]]:
    apps = []
    for pair in os.environ["PODIO_APPS"].split(","):
        app_id, _, token = pair.strip().partition(":")
        apps.append((int(app_id), token))
    return apps


def export_app(podio: SyncPodio, app_id: int, app_token: str, out: Path) -> int:
    session = podio.session(f"app:{app_id}")
    session.authenticate_with_app(app_id, app_token)
    target = out / f"app-{app_id}.jsonl"
    partial = target.with_suffix(".jsonl.partial")
    count = 0
    with partial.open("w", encoding="utf-8") as fh:
        # Every item, 500 per request, one page in memory at a time.
        for item in session.items.filter(app_id):
            fh.write(item.model_dump_json(exclude_unset=True) + "\n")
            count += 1
    partial.replace(target)  # only a complete export gets the real name
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("export"))
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    apps = _apps()
    with (
        SyncPodio(
            os.environ["PODIO_CLIENT_ID"],
            os.environ["PODIO_CLIENT_SECRET"],
            api_url=os.environ.get("PODIO_API_URL", "https://api.podio.com"),
        ) as podio,
        ThreadPoolExecutor(args.threads) as pool,
    ):
        jobs = {
            app_id: pool.submit(export_app, podio, app_id, tok, args.out) for app_id, tok in apps
        }
        failed = 0
        for app_id, job in jobs.items():
            try:
                print(f"app {app_id}: {job.result()} items")
            except PodioError as exc:
                failed += 1
                print(f"app {app_id}: failed: {exc}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
