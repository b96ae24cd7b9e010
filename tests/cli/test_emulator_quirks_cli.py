"""`podiokit emulator --quirk NAME[=VALUE]` (issue 24 #8): the quirks are set from the start
and readable on the control route; a bad one is a usage error naming it."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from .test_cli import _env, run


def test_quirks_from_the_command_line() -> None:
    args = ["emulator", "--port", "0", "--items", "2", "--quirk", "range_filter=ignore_to",
            "--quirk", "file_redirect", "--quirk", "budget_swap=GET /item/{item_id}"]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "podiokit.cli", *args],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        credentials = json.loads(proc.stdout.readline())
        quirks = httpx.get(f"{credentials['control_url']}/quirks", timeout=10).json()
        assert quirks["range_filter"] == "ignore_to"
        assert quirks["file_redirect"] == "cross_origin"
        assert quirks["budget_swap"] == ["GET /item/{item_id}"]
        assert quirks["micro_view"] == "honoured"
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_a_bad_quirk_is_a_usage_error_naming_it() -> None:
    result = run("emulator", "--port", "0", "--quirk", "range_filter=sometimes")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "range_filter" in result.stderr and "sometimes" in result.stderr
    result = run("emulator", "--port", "0", "--quirk", "teleport")
    assert result.returncode == 2 and "unknown quirk" in result.stderr
