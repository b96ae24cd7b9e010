"""`podiokit demo` with PODIO_* set tours a real account read-only; here the "real account"
is `podiokit emulator` running in another process (the CLI's JSON line gives the keys)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podiokit.cli import main


@pytest.fixture
def emulator_process() -> Iterator[dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "podiokit.cli", "emulator", "--port", "0", "--items", "40"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        yield json.loads(line)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_demo_tours_a_configured_account_and_reuses_its_token(
    emulator_process: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    creds = emulator_process
    app = creds["apps"][0]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for key, value in {
        "PODIO_CLIENT_ID": creds["client_id"],
        "PODIO_CLIENT_SECRET": creds["client_secret"],
        "PODIO_APP_ID": str(app["app_id"]),
        "PODIO_APP_TOKEN": app["app_token"],
        "PODIO_API_URL": creds["api_url"],
    }.items():
        monkeypatch.setenv(key, value)
    assert main(["demo"]) == 0
    first = capsys.readouterr().out
    assert "authenticated with the app token" in first
    assert "40 of 40 items" in first
    assert main(["demo"]) == 0
    assert "reusing the stored token" in capsys.readouterr().out
    assert (tmp_path / "podiokit" / "demo-tokens.json").stat().st_mode & 0o777 == 0o600
    stats = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"import httpx; print(httpx.get({creds['control_url'] + '/stats'!r}).text)",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert stats["token_grants"] == {"app": 1}  # the second run spent no authentication
