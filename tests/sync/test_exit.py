"""A script that never closes its SyncPodio still exits, promptly and quietly."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

SETUP = """
import httpx
from podiokit import SyncPodio
from podiokit.testing.emulator import Emulator

emu = Emulator(items=5, latency={latency})
creds = emu.credentials
http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app))
podio = SyncPodio(creds["client_id"], creds["client_secret"], api_url=creds["api_url"],
                  http_client=http)
app = creds["apps"][0]
podio.authenticate_with_app(app["app_id"], app["app_token"])
"""


def _run(script: str) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,  # a hang fails the test instead of the suite
    )
    return proc, time.monotonic() - start


def test_exit_with_an_open_client() -> None:
    proc, _ = _run(SETUP.format(latency=0) + "print(podio.apps.get(app['app_id']).app_id)\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().isdigit()
    assert proc.stderr == ""  # no "Task was destroyed", no thread tracebacks


def test_exit_while_a_call_is_in_flight() -> None:
    # Every request takes 120 s: a call is still running on the loop when the script ends.
    script = SETUP.format(latency=0) + textwrap.dedent(
        """
        import sys, threading, time
        emu.set_faults(latency=120_000)
        before = emu._core.requests
        threading.Thread(target=lambda: podio.apps.get(app["app_id"]), daemon=True).start()
        while emu._core.requests == before:  # until the request is in the emulator
            time.sleep(0.01)
        print("in flight", flush=True)
        sys.exit(0)
        """
    )
    proc, took = _run(script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "in flight"
    assert took < 30  # bounded by the close timeout (5 s), not the 120 s request
