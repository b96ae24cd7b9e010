"""The `podiokit` command in a real subprocess, against an emulator served on a loopback port
from the test process (or an address where nothing listens)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio.from_thread

from podiokit.testing import Emulator

# Variables that would make rich colour or size the output whatever the pipe says.
_STYLE_VARS = ("FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS", "TERMINAL_WIDTH", "NO_COLOR")


def base_env(**extra: str) -> dict[str, str]:
    """The environment without any PODIO_* variable of the machine, plain output."""
    env = {
        k: v for k, v in os.environ.items() if k not in _STYLE_VARS and not k.startswith("PODIO_")
    }
    env.update(COLUMNS="100", _TYPER_FORCE_DISABLE_TERMINAL="1", **extra)
    return env


def emulator_env(emu: Emulator, url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """PODIO_* for `emu` served at `url`, no saved sign-in."""
    creds = emu.credentials
    env = base_env(
        PODIO_CLIENT_ID=creds["client_id"],
        PODIO_CLIENT_SECRET=creds["client_secret"],
        PODIO_API_URL=url,
        PODIO_SESSION_FILE=str(tmp_path / "no-session.json"),
    )
    env.update(extra)
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "podiokit.cli", *args]


def run_cli(*args: str, env: dict[str, str], **options: Any) -> subprocess.CompletedProcess[str]:
    options.setdefault("timeout", 60)
    return subprocess.run(command(*args), env=env, capture_output=True, text=True, **options)


def start_cli(*args: str, env: dict[str, str], **options: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command(*args),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )


@contextmanager
def serving(emu: Emulator) -> Iterator[str]:
    """`emu` on a loopback port for the duration: its URL."""
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(emu.serve()) as url,
    ):
        yield url


def unused_port() -> int:
    """A loopback port nothing listens on (once the probe socket is closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_error_line(result: subprocess.CompletedProcess[str], command: str = "export") -> str:
    lines = result.stderr.strip().splitlines()
    assert lines, result
    assert lines[-1].startswith(f"podiokit {command}: "), result.stderr
    return lines[-1]
