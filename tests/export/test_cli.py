"""`podiokit export`: credentials from the environment, summary, one-line errors, exit codes."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio.from_thread
import pytest

from podiokit.cli import export as export_cli
from podiokit.cli import main
from podiokit.cli._common import ProgressDisplay
from podiokit.cli._errors import describe
from podiokit.errors import (
    PodioConnectionError,
    PodioForbiddenError,
    PodioNotFoundError,
    PodioUnavailableError,
)
from podiokit.testing import Emulator

from .conftest import CLIENTS, PROJECTS, app_tokens, exported_ids, world_ids


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Emulator]:
    """An emulator on a loopback port, with PODIO_* pointing at it (and no saved sign-in)."""
    emu = Emulator(items=600)
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(emu.serve()) as url,
    ):
        creds = emu.credentials
        for name in ("PODIO_APP_TOKEN", "PODIO_USERNAME", "PODIO_PASSWORD"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("PODIO_CLIENT_ID", creds["client_id"])
        monkeypatch.setenv("PODIO_CLIENT_SECRET", creds["client_secret"])
        monkeypatch.setenv("PODIO_API_URL", url)
        monkeypatch.setenv("PODIO_SESSION_FILE", str(tmp_path / "no-session.json"))
        yield emu


def test_exports_two_apps_with_tokens_from_the_environment(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tokens = app_tokens(served)
    monkeypatch.setenv("PODIO_APP_TOKEN", f"{tokens[PROJECTS]},{tokens[CLIENTS]}")
    out = tmp_path / "out.jsonl"
    code = main(["export", str(PROJECTS), str(CLIENTS), "--out", str(out), "--concurrency", "3"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.startswith(f"exported 1200 items from 2 app(s) to {out}")
    assert f"app {PROJECTS}: 600 items" in captured.out
    # Not a terminal: plain progress lines, no bar.
    assert captured.err.startswith("exported ") and "calls left this hour" in captured.err
    ids = exported_ids(out)
    assert max(ids.values()) == 1
    assert set(ids) == world_ids(served, PROJECTS) | world_ids(served, CLIENTS)
    assert served.stats()["token_grants"] == {"app": 2}
    for token in tokens.values():
        assert token not in captured.out + captured.err


def test_named_app_token_and_csv(
    served: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.csv"
    token = app_tokens(served)[CLIENTS]
    code = main(
        ["export", str(CLIENTS), "-o", str(out), "-f", "csv", f"--app-token={CLIENTS}={token}"]
    )
    assert code == 0, capsys.readouterr().err
    rows = out.read_text().splitlines()
    assert rows[0].startswith("app_id,item_id,app_item_id,title,")
    assert len(rows) == 1 + 600


def test_excel_csv(served: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.csv"
    token = app_tokens(served)[CLIENTS]
    code = main(
        ["export", str(CLIENTS), "-o", str(out), "-f", "csv", "--excel", "--app-token", token]
    )
    assert code == 0, capsys.readouterr().err
    assert out.read_bytes().startswith(b"\xef\xbb\xbfapp_id,item_id,app_item_id,title,created_on,")


def test_a_resume_keeps_the_excel_choice(tmp_path: Path) -> None:
    from podiokit.export import CheckpointError
    from podiokit.export._checkpoint import Checkpoint

    saved = Checkpoint("csv", [CLIENTS], [], sink_state={"columns": [], "excel": True})
    with pytest.raises(CheckpointError, match="excel=True, not False"):
        saved.check_matches(tmp_path / "c", "csv", [CLIENTS], {"columns": [], "excel": False})
    saved.check_matches(
        tmp_path / "c", "csv", [CLIENTS], {"columns": [["a", "a", "value"]], "excel": True}
    )


def test_user_credentials_when_no_app_token(
    served: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    creds = served.credentials
    monkeypatch.setenv("PODIO_USERNAME", creds["username"])
    monkeypatch.setenv("PODIO_PASSWORD", creds["password"])
    out = tmp_path / "out.jsonl"
    assert main(["export", str(PROJECTS), "--out", str(out)]) == 0
    assert set(exported_ids(out)) == world_ids(served, PROJECTS)
    assert served.stats()["token_grants"] == {"password": 1}


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("podiokit export: ")
    return lines[0]


def test_bad_app_token_exits_3(
    served: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jsonl"
    code = main(["export", str(PROJECTS), "--out", str(out), "--app-token", "not-the-token"])
    line = _one_line_error(capsys)
    assert code == 3 and "bad credentials" in line and "invalid_grant" in line
    assert "not-the-token" not in line
    assert not out.exists()


def test_bad_client_secret_exits_3(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PODIO_CLIENT_SECRET", "wrong-secret")
    token = app_tokens(served)[PROJECTS]
    code = main(["export", str(PROJECTS), "--out", str(tmp_path / "o"), "--app-token", token])
    line = _one_line_error(capsys)
    assert code == 3 and "wrong-secret" not in line and token not in line


def test_unknown_app_exits_4(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    creds = served.credentials
    monkeypatch.setenv("PODIO_USERNAME", creds["username"])
    monkeypatch.setenv("PODIO_PASSWORD", creds["password"])
    code = main(["export", "999", "--out", str(tmp_path / "o.jsonl")])
    line = _one_line_error(capsys)
    assert code == 4 and "unknown app" in line and "999" in line


def test_usage_errors_exit_2(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = str(tmp_path / "o.jsonl")
    assert main(["export", str(PROJECTS), "--out", out]) == 2
    assert "no app token for app(s) 3002" in _one_line_error(capsys)
    assert main(["export", str(PROJECTS), str(CLIENTS), "--out", out, "--app-token", "x"]) == 2
    assert "1 app token(s) for 2 app(s)" in _one_line_error(capsys)
    assert main(["export", str(PROJECTS), "--out", out, "--format", "xml", "--app-token", "x"]) == 2
    assert "--format must be jsonl or csv, not 'xml'" in _one_line_error(capsys)
    monkeypatch.delenv("PODIO_CLIENT_ID")
    assert main(["export", str(PROJECTS), "--out", out, "--app-token", "x"]) == 2
    assert "PODIO_CLIENT_ID" in _one_line_error(capsys)


def test_resume_of_another_export_exits_7(
    served: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.jsonl"
    (tmp_path / "o.jsonl.part").write_bytes(b"")
    checkpoint = {"version": 2, "format": "csv", "app_ids": [PROJECTS], "offset": 0, "items": 0,
                  "calls": 0, "totals": {}, "sink_state": {}, "tail": [0, 0], "ranges": []}  # fmt: skip
    (tmp_path / "o.jsonl.checkpoint").write_text(json.dumps(checkpoint))
    token = app_tokens(served)[PROJECTS]
    code = main(["export", str(PROJECTS), "--out", str(out), "--app-token", token, "--resume"])
    assert code == 7 and "format 'csv', not 'jsonl'" in _one_line_error(capsys)


def test_interrupt_exits_130_and_says_how_to_resume_once_something_is_saved(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "run the same command with --resume" only when a checkpoint was saved (issue 25,
    item 9): an export interrupted while signing in has nothing to resume."""
    out = tmp_path / "o.jsonl"

    async def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    async def interrupted_after_a_page(*_: object) -> None:
        (tmp_path / "o.jsonl.part").write_bytes(b"{}\n")
        (tmp_path / "o.jsonl.checkpoint").write_bytes(b"{}")
        raise KeyboardInterrupt

    env = {"PODIO_CLIENT_ID": "id", "PODIO_CLIENT_SECRET": "s", "PODIO_APP_TOKEN": "t"}
    monkeypatch.setattr(export_cli, "_export", interrupted)
    code = export_cli.run([PROJECTS], str(out), format="jsonl", concurrency=1, resume=False,
                          app_tokens=[], env=env)  # fmt: skip
    line = _one_line_error(capsys)
    assert code == 130 and "--resume" not in line and "before anything was saved" in line
    monkeypatch.setattr(export_cli, "_export", interrupted_after_a_page)
    code = export_cli.run([PROJECTS], str(out), format="jsonl", concurrency=1, resume=False,
                          app_tokens=[], env=env)  # fmt: skip
    line = _one_line_error(capsys)
    assert code == 130 and line.endswith(
        "interrupted; run the same command with --resume to continue"
    )


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (PodioNotFoundError(status=404, method="POST", path="/item/app/1/filter/"), 4),
        (PodioForbiddenError(status=403, method="POST", path="/item/app/1/filter/"), 5),
        (PodioUnavailableError(status=503, method="POST", path="/item/app/1/filter/"), 6),
        (PodioConnectionError("connection failed: ConnectError"), 6),
        (OSError(28, "No space left on device"), 1),
    ],
)
def test_exit_codes_per_failure(error: Exception, code: int) -> None:
    described = describe(error, "export")
    assert described is not None
    message, exit_code = described
    assert exit_code == code
    assert "\n" not in message


def test_missing_export_extra_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "msgspec", None)  # as if msgspec were not installed
    env = {"PODIO_CLIENT_ID": "id", "PODIO_CLIENT_SECRET": "s", "PODIO_APP_TOKEN": "t"}
    code = export_cli.run([PROJECTS], "o.jsonl", format="jsonl", concurrency=1, resume=False,
                    app_tokens=[], env=env)  # fmt: skip
    assert code == 2 and "pip install 'podiokit[export]'" in _one_line_error(capsys)


def test_a_terminal_gets_a_progress_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    from podiokit.export import ExportProgress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    display = ProgressDisplay()
    with display as on_progress:
        assert display._bar is not None  # rich, not plain lines
        on_progress(ExportProgress(items=500, total=1_000, calls=2, elapsed=0.5, calls_left=248))
        task = display._bar.tasks[0]
        assert (task.completed, task.total) == (500, 1_000)
        assert task.fields["left"] == "248 calls left"
        on_progress(ExportProgress(500, 1_000, 2, 0.6, calls_left=0, waiting=3_400))
        assert display._bar.tasks[0].fields["left"] == "waiting 3400 s"


def test_unreachable_redis_is_one_line_without_its_password(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    monkeypatch.setenv("PODIO_REDIS_URL", f"redis://:hunter2@127.0.0.1:{port}/0")
    token = app_tokens(served)[PROJECTS]
    code = main(["export", str(PROJECTS), "--out", str(tmp_path / "o.jsonl"), "--app-token", token])
    line = _one_line_error(capsys)
    assert code == 1
    assert f"cannot use Redis at redis://127.0.0.1:{port}/0" in line
    assert "hunter2" not in line and token not in line
