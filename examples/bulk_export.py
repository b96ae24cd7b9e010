"""A bulk export script: every item of the given apps to one JSONL file, each line exactly
the JSON Podio sent, resumable after a crash or Ctrl-C.

Against a local emulator:

    podiokit emulator --port 8000 &        # prints the credentials as one JSON line
    export PODIO_API_URL=http://127.0.0.1:8000 PODIO_CLIENT_ID=... PODIO_CLIENT_SECRET=...
    export PODIO_APPS="APP_ID:APP_TOKEN,APP_ID:APP_TOKEN"
    python examples/bulk_export.py items.jsonl [--resume | --force]

The same from a shell: `podiokit export APP_ID ... --out items.jsonl`.
"""

from __future__ import annotations

import argparse
import os
import sys

import anyio

from podiokit import Podio, PodioError
from podiokit.export import CheckpointError, ExportProgress, OutputError, export


def _apps() -> dict[int, str]:
    apps: dict[int, str] = {}
    for pair in os.environ["PODIO_APPS"].split(","):
        app_id, _, token = pair.strip().partition(":")
        apps[int(app_id)] = token
    return apps


def _progress(p: ExportProgress) -> None:
    print(f"  {p.items} of {p.total} items written", file=sys.stderr)


async def main(out: str, resume: bool, force: bool) -> int:
    apps = _apps()
    async with Podio(
        os.environ["PODIO_CLIENT_ID"],
        os.environ["PODIO_CLIENT_SECRET"],
        api_url=os.environ.get("PODIO_API_URL", "https://api.podio.com"),
    ) as podio:
        try:
            # One session per app, each signed in with its own app token.
            result = await export(
                podio, list(apps), out, app_tokens=apps, resume=resume, force=force,
                on_progress=_progress,
            )  # fmt: skip
        # Podio's refusals, an interrupted export found without resume or force (or one
        # whose file changed), an output that cannot be written or that another export
        # is writing (OutputBusyError is an OutputError).
        except (PodioError, CheckpointError, OutputError) as exc:
            print(f"export failed: {exc}", file=sys.stderr)
            return 1
    per_app = ", ".join(f"app {a}: {n}" for a, n in result.per_app.items())
    print(f"exported {result.items} items ({per_app}) in {result.calls} calls to {result.path}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted export")
    parser.add_argument("--force", action="store_true", help="start an interrupted one over")
    args = parser.parse_args()
    sys.exit(anyio.run(main, args.out, args.resume, args.force))
