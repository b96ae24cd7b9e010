"""The `podiokit` command as a user meets it: run in a subprocess, as the console script
runs, with a plain (non-terminal) stdout and a fixed terminal width."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from podiokit import __version__
from podiokit.cli.demo import DEMO_HELP
from podiokit.cli.emulator import EMULATOR_HELP
from podiokit.cli.login import LOGIN_HELP, LOGOUT_HELP

# Variables that would make rich colour or size the output whatever the pipe says.
_STYLE_VARS = ("FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS", "TERMINAL_WIDTH", "NO_COLOR")


def _env(columns: int = 100, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in _STYLE_VARS and not k.startswith("PODIO_")
    }
    env.update(COLUMNS=str(columns), _TYPER_FORCE_DISABLE_TERMINAL="1", **extra)
    return env


def run(*args: str, columns: int = 100, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podiokit.cli", *args],
        env=_env(columns, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@cache
def help_text(command: str, columns: int = 100) -> str:
    args = (command, "--help") if command else ("--help",)
    result = run(*args, columns=columns)
    assert result.returncode == 0, result.stderr
    return result.stdout


COMMANDS = ("", "emulator", "demo", "login", "logout")
OPTIONS = {
    "": ["--version", "--help"],
    "emulator": [
        "--host", "--port", "--seed", "--items", "--apps", "--token-lifetime", "--refresh",
        "--rate-limit", "--rate-window", "--latency", "--fault-rate", "--fault-seed", "--quirk",
        "--help",
    ],
    "demo": ["--items", "--concurrency", "--emulator", "--help"],
    "login": ["--username", "--app", "--app-token", "--session-file", "--help"],
    "logout": ["--app", "--all", "--session-file", "--help"],
}  # fmt: skip


def _option_rows(text: str) -> dict[str, str]:
    """Option name -> the rest of its first help row, for the boxed options panels."""
    rows = {}
    for line in text.splitlines():
        found = re.match(r"│ (--[a-z-]+)\s+(.*?)\s*│$", line)
        if found:
            rows[found.group(1)] = found.group(2)
    return rows


@pytest.mark.parametrize("command", COMMANDS)
def test_help_lists_every_option_without_type_noise_on_flags(command: str) -> None:
    text = help_text(command)
    rows = _option_rows(text)
    assert sorted(rows) == sorted(OPTIONS[command])
    assert "<bool>" not in text
    # Flags take no value, so no type is shown; options that take one show it.
    assert rows["--help"].startswith("-h ")
    if command == "emulator":
        assert rows["--port"].startswith("<int>")
        assert rows["--seed"].startswith("<demo|empty>")
        assert rows["--refresh"].startswith("<rotate|reuse>")
    if command == "demo":
        assert re.match(r"\s*Use the emulator even when PODIO_\* is set\.", rows["--emulator"])


@pytest.mark.parametrize("command", COMMANDS)
def test_no_help_sentence_is_broken_mid_line(command: str) -> None:
    # Every option's help, with its default, fits on one row at a normal width.
    for name, row in _option_rows(help_text(command)).items():
        if name != "--help":
            assert re.search(r"\.( \[default: [^\]]+\])?$", row), (name, row)
    # With room to spare, every paragraph is one line: no line breaks carried over from
    # the source (what the old help did: "... against a\n real account ...").
    wide = help_text(command, 300)
    lines = [line.strip(" │") for line in wide.splitlines()]
    paragraphs = {
        "": ["The podiokit command line: a local Podio emulator, a tour of the SDK, bulk export."],
        "emulator": EMULATOR_HELP.split("\n\n"),
        "demo": DEMO_HELP.split("\n\n"),
        "login": LOGIN_HELP.split("\n\n"),
        "logout": LOGOUT_HELP.split("\n\n"),
    }[command]
    for paragraph in paragraphs:
        assert paragraph in lines, paragraph


def test_command_list_shows_one_line_each() -> None:
    lines = help_text("").splitlines()
    commands = [
        line for line in lines if re.match(r"│ (emulator|demo|export|mirror|log\w+|typegen) ", line)
    ]
    names = [line.split()[1] for line in commands]
    assert names == ["emulator", "demo", "export", "mirror", "login", "logout", "typegen"]
    panel = lines[lines.index(commands[0]) : lines.index(commands[-1]) + 2]
    assert panel[-1].startswith("╰"), "a command's help wrapped onto a second line"
    assert "Serve a fake Podio API on a local port." in commands[0]


def test_version() -> None:
    result = run("--version")
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        f"podiokit {__version__}\n",
        "",
    )


def _one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("podiokit: error: ")
    return lines[0]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    # Bound and closed: nothing listens there, so a connection is refused at once.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_emulator_on_a_busy_port_is_one_line(busy_port: int) -> None:
    result = run("emulator", "--port", str(busy_port))
    line = _one_line_error(result, 1)
    assert f"cannot listen on 127.0.0.1:{busy_port}" in line
    assert "in use" in line
    assert result.stdout == ""  # no credentials line for a server that never started


def _live_env(tmp_path: Path, port: int, app_id: str = "1") -> dict[str, str]:
    return {
        "PODIO_CLIENT_ID": "cli-test",
        "PODIO_CLIENT_SECRET": "cli-secret-never-shown",
        "PODIO_APP_ID": app_id,
        "PODIO_APP_TOKEN": "app-token-never-shown",
        "PODIO_API_URL": f"http://127.0.0.1:{port}",
        "XDG_CACHE_HOME": str(tmp_path),
    }


def test_demo_without_network_is_one_line(tmp_path: Path, closed_port: int) -> None:
    result = run("demo", **_live_env(tmp_path, closed_port))
    line = _one_line_error(result, 1)
    assert f"cannot reach http://127.0.0.1:{closed_port} (POST /oauth/token)" in line
    assert "never-shown" not in result.stdout + result.stderr


def test_demo_with_a_bad_app_id_is_one_line(tmp_path: Path, closed_port: int) -> None:
    result = run("demo", **_live_env(tmp_path, closed_port, app_id="abc"))
    line = _one_line_error(result, 2)
    assert line.endswith("PODIO_APP_ID must be a positive app id, got 'abc'")


def test_bad_option_values_are_usage_errors() -> None:
    result = run("emulator", "--port", "70000")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "70000 is not a port number" in result.stderr
    result = run("emulator", "--refresh", "sometimes")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_a_missing_extra_is_one_line() -> None:
    # starlette and uvicorn come with the emulator extra; None in sys.modules blocks them.
    code = (
        "import sys; sys.modules['starlette'] = sys.modules['uvicorn'] = None; "
        "from podiokit.cli import main; sys.exit(main(['emulator', '--port', '0']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120
    )
    line = _one_line_error(result, 1)
    assert "pip install 'podiokit[cli,emulator]'" in line
