"""`podiokit mirror`: the exporter's credentials, a summary with calls per app, one-line
errors and exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio.from_thread
import pytest

from podiokit.cli import main
from podiokit.cli import mirror as mirror_cli
from podiokit.testing import Emulator

from ._helpers import CLIENTS, PROJECTS, app_tokens, stored


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator on a loopback port, with PODIO_* pointing at it."""
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
        yield emu


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("podiokit mirror: ")
    return lines[0]


def test_first_run_then_a_run_with_no_change(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tokens = app_tokens(served)
    monkeypatch.setenv("PODIO_APP_TOKEN", f"{tokens[PROJECTS]},{tokens[CLIENTS]}")
    db = f"sqlite:///{tmp_path / 'm.db'}"
    argv = ["mirror", str(PROJECTS), str(CLIENTS), "--db", db, "--concurrency", "3"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith(f"mirrored 2 app(s) into {db} in ")
    assert lines[1].startswith(
        f"  app {PROJECTS} (full): 600 items: 600 created, 0 updated, 0 unchanged; 0 deleted; "
        "600 read in "
    )
    assert lines[1].endswith(", by ranges")
    # Which strategy read every item (app_item_id ranges: the emulator honours them).
    assert lines[-1] == "  strategy: ranges (app_item_id ranges)"
    # Not a terminal: plain progress lines on stderr.
    assert captured.err.startswith("mirrored ") and "calls left this hour" in captured.err
    assert len(stored(db, PROJECTS)) == len(stored(db, CLIENTS)) == 600

    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("(4 calls)")
    # Every item unchanged; the day window's items were read again (and skipped).
    assert out[1].startswith(
        f"  app {PROJECTS} (incremental): 600 items: 0 created, 0 updated, 600 unchanged; "
        "0 deleted; "
    )
    assert out[1].endswith(" read in 2 calls")
    for token in tokens.values():
        assert token not in captured.out + captured.err


def test_refresh_fields_and_user_credentials(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    creds = served.credentials
    monkeypatch.setenv("PODIO_USERNAME", creds["username"])
    monkeypatch.setenv("PODIO_PASSWORD", creds["password"])
    db = f"sqlite:///{tmp_path / 'm.db'}"
    assert main(["mirror", str(PROJECTS), "--db", db]) == 0
    assert main(["mirror", str(PROJECTS), "--db", db, "--refresh-fields"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(" 3 calls")
    assert served.stats()["token_grants"] == {"password": 2}


def test_a_bad_database_url_exits_8_with_the_password_masked(
    served: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = app_tokens(served)[PROJECTS]
    code = main(["mirror", str(PROJECTS), "--db", "mysql://me:hunter2@db/x", "--app-token", token])
    line = _one_line_error(capsys)
    assert code == 8 and "database:" in line and "mysql" in line
    assert "hunter2" not in line and token not in line


def test_unknown_app_exits_4_and_bad_token_exits_3(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    code = main(["mirror", str(PROJECTS), "--db", db, "--app-token", "not-the-token"])
    line = _one_line_error(capsys)
    assert code == 3 and "bad credentials" in line and "not-the-token" not in line
    creds = served.credentials
    monkeypatch.setenv("PODIO_USERNAME", creds["username"])
    monkeypatch.setenv("PODIO_PASSWORD", creds["password"])
    assert main(["mirror", "999", "--db", db]) == 4
    line = _one_line_error(capsys)
    assert "unknown app" in line and "999" in line


def test_usage_errors_exit_2(
    served: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mirror", str(PROJECTS), "--db", f"sqlite:///{tmp_path / 'm.db'}"]) == 2
    assert "no app token for app(s) 3002" in _one_line_error(capsys)
    assert main(["mirror", str(PROJECTS), "--concurrency", "0", "--app-token", "x"]) == 2


def test_interrupt_exits_130_and_says_to_run_again(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(mirror_cli, "_mirror", interrupted)
    env = {"PODIO_CLIENT_ID": "id", "PODIO_CLIENT_SECRET": "s", "PODIO_APP_TOKEN": "t"}
    code = mirror_cli.run([PROJECTS], "sqlite:///m.db", concurrency=1, refresh_fields=False,
                    app_tokens=[], env=env)  # fmt: skip
    assert code == 130 and "run the same command again" in _one_line_error(capsys)


@pytest.mark.parametrize("missing", ["sqlalchemy", "msgspec"])
def test_missing_mirror_extra_says_how_to_install(
    missing: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, missing, None)  # as if it were not installed
    env = {"PODIO_CLIENT_ID": "id", "PODIO_CLIENT_SECRET": "s", "PODIO_APP_TOKEN": "t"}
    code = mirror_cli.run([PROJECTS], "sqlite:///m.db", concurrency=1, refresh_fields=False,
                    app_tokens=[], env=env)  # fmt: skip
    line = _one_line_error(capsys)
    assert code == 2 and "pip install 'podiokit[mirror]'" in line and missing in line


@pytest.mark.parametrize(
    "db", ["sqlite://", "sqlite:///:memory:", "sqlite+pysqlite:///:memory:", "sqlite:///"]
)
def test_an_in_memory_database_is_refused_before_signing_in(
    served: Emulator, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    token = app_tokens(served)[PROJECTS]
    assert main(["mirror", str(PROJECTS), "--db", db, "--app-token", token]) == 2
    line = _one_line_error(capsys)
    assert f"--db {db} is an in-memory database" in line and "sqlite:///path" in line
    assert served.stats()["token_grants"] == {}


def test_a_locked_database_exits_8_naming_the_url(
    served: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3
    import time

    path = tmp_path / "m.db"
    db = f"sqlite:///{path}"
    token = app_tokens(served)[PROJECTS]
    argv = ["mirror", str(PROJECTS), "--db", db, "--app-token", token, "--lock-timeout", "0.3"]
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing
    try:
        started = time.monotonic()
        assert main(argv) == 8
        assert time.monotonic() - started < 5
    finally:
        holder.execute("COMMIT")
        holder.close()
    line = _one_line_error(capsys)
    assert f"{db} is locked by another connection; gave up after 0.3 s" in line
    assert "+pysqlite" not in line
    assert main(argv) == 0  # free again


def test_table_prefix_and_the_summary_says_which_tables(
    served: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    token = app_tokens(served)[PROJECTS]
    argv = ["mirror", str(PROJECTS), "--db", db, "--app-token", token]
    assert main(argv) == 0  # the default, podio_: not mentioned
    assert capsys.readouterr().out.startswith(f"mirrored 1 app(s) into {db} in ")
    assert len(stored(db, PROJECTS)) == 600
    assert main([*argv, "--table-prefix", "crm_"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"mirrored 1 app(s) into {db} (tables crm_items ...) in ")
    assert len(stored(db, PROJECTS, prefix="crm_")) == 600
    assert main([*argv, "--table-prefix", ""]) == 0
    assert f"into {db} (unprefixed tables items ...) in " in capsys.readouterr().out
    assert main(argv) == 0  # podio_ again (a podio_ mirror is there)
    assert " (incremental): 600 items" in capsys.readouterr().out
    assert main([*argv, "--table-prefix", "Bad-"]) == 2
    assert "table prefix 'Bad-'" in capsys.readouterr().err
