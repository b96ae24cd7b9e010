"""The command says what happened (issue 25, item 9): Ctrl-D at a prompt is a clear line; on
a non-terminal the last progress line is the final count and agrees with the summary; on an
80-column terminal the counter is whole."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from podiokit.cli import login as cli_login
from podiokit.cli._common import ProgressDisplay
from podiokit.export import ExportProgress
from podiokit.testing import Emulator

from ._subprocess import base_env, command, emulator_env, run_cli, serving


def test_ctrl_d_at_the_login_prompt_is_a_clear_line(tmp_path: Path) -> None:
    """A real terminal (a pseudo-terminal) on stdin, and Ctrl-D at the username prompt."""
    env = base_env(
        PODIO_CLIENT_ID="id", PODIO_CLIENT_SECRET="secret", PODIO_API_URL="http://127.0.0.1:9",
        PODIO_SESSION_FILE=str(tmp_path / "session.json"),
    )  # fmt: skip
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(
            command("login"), env=env, stdin=terminal, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        os.close(terminal)
        os.write(controller, b"\x04")  # Ctrl-D on an empty line: the input ends
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(controller)
    assert proc.returncode == 2, err
    assert err.strip().splitlines()[-1] == (
        "podiokit login: no username given (the input ended); nothing was saved"
    )
    assert "EOFError" not in err and "unexpected" not in err
    assert out == "Podio username (email): "
    assert not (tmp_path / "session.json").exists()


def test_ctrl_d_at_the_password_prompt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def eof(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr(cli_login.getpass, "getpass", eof)
    env = {"PODIO_CLIENT_ID": "id", "PODIO_CLIENT_SECRET": "s", "PODIO_USERNAME": "u@x"}
    assert cli_login.login(env, stdin_isatty=lambda: True) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == (
        "podiokit login: no password given (the input ended); nothing was saved"
    )


_PROGRESS = re.compile(r"^(exported|mirrored) (\d+)/(\d+) items, .*? items/s, (\d+) calls")
_SUMMARY = re.compile(r"^(?:exported|mirrored) .* \((?:.*items/s, )?(\d+) calls\)$")


@pytest.mark.parametrize("command_name", ["export", "mirror"])
def test_the_last_progress_line_is_the_final_count_and_agrees_with_the_summary(
    command_name: str, tmp_path: Path
) -> None:
    emu = Emulator(items=900)
    with serving(emu) as url:
        creds = emu.credentials
        env = emulator_env(
            emu, url, tmp_path, PODIO_USERNAME=creds["username"], PODIO_PASSWORD=creds["password"]
        )
        target = (
            ("--out", str(tmp_path / "o.jsonl"))
            if command_name == "export"
            else ("--db", f"sqlite:///{tmp_path / 'm.db'}")
        )
        result = run_cli(command_name, "3002", "3001", *target, env=env)
    assert result.returncode == 0, result.stderr
    progress = [m for m in map(_PROGRESS.match, result.stderr.splitlines()) if m]
    assert progress, result.stderr
    last = progress[-1]
    assert last.group(2) == last.group(3) == "1800", result.stderr
    summary = _SUMMARY.match(result.stdout.splitlines()[0])
    assert summary is not None, result.stdout
    assert last.group(4) == summary.group(1), "the progress and the summary disagree on calls"


def test_a_plain_display_ends_with_the_latest_figures(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with ProgressDisplay() as on_progress:
        on_progress(ExportProgress(items=0, total=600, calls=1, elapsed=0.1, calls_left=None))
        on_progress(ExportProgress(items=300, total=600, calls=3, elapsed=0.2, calls_left=None))
        on_progress(ExportProgress(items=600, total=600, calls=4, elapsed=0.3, calls_left=None))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("exported 0/600 items")
    assert lines[-1].startswith("exported 600/600 items") and lines[-1].endswith("4 calls")


@pytest.mark.parametrize("width", [80, 100])
def test_the_counter_is_whole_on_an_80_column_terminal(
    width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    display = ProgressDisplay()
    with display as on_progress:
        on_progress(
            ExportProgress(items=1_234_567, total=20_000_000, calls=2_470, elapsed=10.0,
                           calls_left=4_800)
        )  # fmt: skip
        screen = Console(width=width, file=io.StringIO())
        screen.print(display._bar.make_tasks_table(display._bar.tasks))
        row = screen.file.getvalue()  # type: ignore[attr-defined]
        on_progress(ExportProgress(1_234_567, 20_000_000, 2_470, 10.0, 0, waiting=3_400))
        screen = Console(width=width, file=io.StringIO())
        screen.print(display._bar.make_tasks_table(display._bar.tasks))
        waiting = screen.file.getvalue()  # type: ignore[attr-defined]
    assert "1234567/20000000" in row and "4800 calls left" in row and "…" not in row
    assert "1234567/20000000" in waiting and "waiting 3400 s" in waiting
    assert max(len(line) for line in row.splitlines()) <= width
