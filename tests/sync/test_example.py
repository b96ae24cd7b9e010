"""examples/sync_export.py runs against `podiokit emulator` (a real process on loopback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sync_export.py"


def test_sync_export_writes_every_item_of_every_app(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "podiokit.cli", "emulator", "--port", "0", "--items", "40"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        creds = json.loads(proc.stdout.readline())
        env = {
            **os.environ,
            "PODIO_API_URL": creds["api_url"],
            "PODIO_CLIENT_ID": creds["client_id"],
            "PODIO_CLIENT_SECRET": creds["client_secret"],
            "PODIO_APPS": ",".join(f"{a['app_id']}:{a['app_token']}" for a in creds["apps"]),
        }
        done = subprocess.run(
            [sys.executable, str(EXAMPLE), "--out", str(tmp_path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert done.returncode == 0, done.stderr
    for app in creds["apps"]:
        lines = (tmp_path / f"app-{app['app_id']}.jsonl").read_text().splitlines()
        ids = {json.loads(line)["item_id"] for line in lines}
        assert len(lines) == len(ids) == 40
        assert f"app {app['app_id']}: 40 items" in done.stdout
    assert not list(tmp_path.glob("*.partial"))
