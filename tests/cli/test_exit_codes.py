"""Every documented exit code (the table in `podiokit.cli._errors`), driven through a real
`python -m podiokit.cli` subprocess against a served emulator, or an address where nothing
listens, or a server answering 502 (issue 25, items 5 and 9)."""

from __future__ import annotations

import http.server
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest

from podiokit import Podio
from podiokit.cli._errors import EXIT_CODES
from podiokit.cli._session import app_session_key, file_store, session_namespace
from podiokit.export import output_paths
from podiokit.export._lock import OutputLock
from podiokit.testing import Emulator

from ._subprocess import (
    base_env,
    emulator_env,
    one_error_line,
    run_cli,
    serving,
    start_cli,
    unused_port,
)

PROJECTS, CLIENTS = 3002, 3001


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, str, Path]]:
    emu = Emulator(items=600, latency=30)
    with serving(emu) as url:
        yield emu, url, tmp_path_factory.mktemp("exit-codes")


def _token(emu: Emulator, app_id: int) -> str:
    return next(a["app_token"] for a in emu.credentials["apps"] if a["app_id"] == app_id)


def _env(served: tuple[Emulator, str, Path], **extra: str) -> dict[str, str]:
    emu, url, folder = served
    return emulator_env(emu, url, folder, **extra)


def _user(emu: Emulator) -> dict[str, str]:
    creds = emu.credentials
    return {"PODIO_USERNAME": creds["username"], "PODIO_PASSWORD": creds["password"]}


@contextmanager
def answering_502() -> Iterator[str]:
    """A server that answers every request with nginx's 502 page (Podio behind a gateway
    whose back end is down)."""

    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _export(
    served: tuple[Emulator, str, Path], out: str, *args: str, **env: str
) -> tuple[int, str]:
    emu = served[0]
    env.setdefault("PODIO_APP_TOKEN", _token(emu, PROJECTS))
    result = run_cli("export", str(PROJECTS), "--out", out, *args, env=_env(served, **env))
    return result.returncode, (one_error_line(result) if result.returncode else result.stdout)


def test_0_ok(served: tuple[Emulator, str, Path], tmp_path: Path) -> None:
    code, line = _export(served, str(tmp_path / "o.jsonl"))
    assert code == EXIT_CODES["ok"] and line.startswith("exported 600 items")


def test_1_error_redis_unreachable(served: tuple[Emulator, str, Path], tmp_path: Path) -> None:
    url = f"redis://:hunter2@127.0.0.1:{unused_port()}/0"
    code, line = _export(served, str(tmp_path / "o.jsonl"), PODIO_REDIS_URL=url)
    assert code == EXIT_CODES["error"]
    assert "cannot use Redis at" in line and line.endswith("(PODIO_REDIS_URL)")
    assert "hunter2" not in line


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        ((str(PROJECTS),), {"PODIO_API_URL": "notaurl"}, "PODIO_API_URL must be an http(s) URL"),
        ((str(PROJECTS),), {"PODIO_REDIS_URL": "localhost:6379"}, "PODIO_REDIS_URL must be"),
        ((str(PROJECTS), str(PROJECTS)), {}, "app 3002 is named more than once"),
        ((str(PROJECTS), "--out", "."), {}, "names a directory"),
        ((str(PROJECTS), "--format", "xml"), {}, "--format must be jsonl or csv"),
        ((str(PROJECTS), "--excel"), {}, "--excel is for CSV"),
    ],
    ids=["api url", "redis url", "duplicate app", "out is a directory", "format", "excel"],
)
def test_2_usage(
    args: tuple[str, ...],
    env: dict[str, str],
    says: str,
    served: tuple[Emulator, str, Path],
    tmp_path: Path,
) -> None:
    emu = served[0]
    before = emu.stats()["token_grants"]
    out = () if "--out" in args else ("--out", str(tmp_path / "o.jsonl"))
    full_env = _env(served, PODIO_APP_TOKEN=_token(emu, PROJECTS), **env)
    result = run_cli("export", *args, *out, env=full_env, cwd=tmp_path)
    assert result.returncode == EXIT_CODES["usage"], result.stderr
    assert says in one_error_line(result)
    assert "localhost:6379" not in result.stderr or "PODIO_REDIS_URL" in result.stderr
    assert emu.stats()["token_grants"] == before, "it signed in first"


def test_2_usage_mirror_duplicate_app(served: tuple[Emulator, str, Path], tmp_path: Path) -> None:
    env = _env(served, **_user(served[0]))
    db = f"sqlite:///{tmp_path / 'm.db'}"
    result = run_cli("mirror", str(PROJECTS), str(PROJECTS), "--db", db, env=env)
    assert result.returncode == EXIT_CODES["usage"]
    assert "app 3002 is named more than once" in one_error_line(result, "mirror")


def test_3_credentials(served: tuple[Emulator, str, Path], tmp_path: Path) -> None:
    code, line = _export(served, str(tmp_path / "o.jsonl"), PODIO_APP_TOKEN="not-the-token")
    assert code == EXIT_CODES["credentials"] and "bad credentials" in line


def test_4_not_found(served: tuple[Emulator, str, Path], tmp_path: Path) -> None:
    env = _env(served, **_user(served[0]))
    result = run_cli("export", "999", "--out", str(tmp_path / "o.jsonl"), env=env)
    assert result.returncode == EXIT_CODES["not_found"]
    assert "unknown app" in one_error_line(result)


def test_5_forbidden(served: tuple[Emulator, str, Path], tmp_path: Path) -> None:
    """A session saved for app 3002 that is in fact app 3001's: Podio answers 403."""
    emu, url, _ = served
    creds = emu.credentials
    session_file = tmp_path / "session.json"

    async def save_the_wrong_session() -> None:
        store = file_store(session_file, session_namespace(url, creds["client_id"]))
        async with Podio(
            creds["client_id"], creds["client_secret"], api_url=url, session_store=store,
            session_key=app_session_key(PROJECTS),
        ) as podio:  # fmt: skip
            await podio.authenticate_with_app(CLIENTS, _token(emu, CLIENTS))

    anyio.run(save_the_wrong_session)
    env = _env(served, PODIO_SESSION_FILE=str(session_file))
    result = run_cli("export", str(PROJECTS), "--out", str(tmp_path / "o.jsonl"), env=env)
    assert result.returncode == EXIT_CODES["forbidden"], result.stderr
    assert "no access" in one_error_line(result)


@pytest.mark.parametrize("command", ["export", "mirror"])
def test_6_unavailable_refused_connection_at_sign_in(command: str, tmp_path: Path) -> None:
    env = base_env(
        PODIO_CLIENT_ID="id", PODIO_CLIENT_SECRET="secret", PODIO_APP_TOKEN="t",
        PODIO_API_URL=f"http://127.0.0.1:{unused_port()}",
    )  # fmt: skip
    target = ("--out", str(tmp_path / "o.jsonl")) if command == "export" else (
        "--db", f"sqlite:///{tmp_path / 'm.db'}"
    )  # fmt: skip
    result = run_cli(command, str(PROJECTS), *target, env=env)
    assert result.returncode == EXIT_CODES["unavailable"], result.stderr
    line = one_error_line(result, command)
    assert "Podio unavailable" in line and "bad credentials" not in line


def test_6_unavailable_502_at_sign_in(tmp_path: Path) -> None:
    with answering_502() as url:
        env = base_env(
            PODIO_CLIENT_ID="id", PODIO_CLIENT_SECRET="secret", PODIO_USERNAME="u",
            PODIO_PASSWORD="p", PODIO_API_URL=url,
        )  # fmt: skip
        result = run_cli("export", str(PROJECTS), "--out", str(tmp_path / "o.jsonl"), env=env)
    assert result.returncode == EXIT_CODES["unavailable"], result.stderr
    line = one_error_line(result)
    assert "Podio unavailable" in line and "bad credentials" not in line


def test_7_checkpoint(served: tuple[Emulator, str, Path], tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    _, part, checkpoint = output_paths(out)
    part.write_bytes(b"")
    checkpoint.write_bytes(b"{}")
    code, line = _export(served, str(out))
    assert code == EXIT_CODES["checkpoint"]
    assert line.endswith("add --resume to continue, or --force to start over")


def test_8_database(served: tuple[Emulator, str, Path], tmp_path: Path) -> None:
    env = _env(served, **_user(served[0]))
    db = f"sqlite:///{tmp_path / 'no-such-folder' / 'm.db'}"
    result = run_cli("mirror", str(PROJECTS), "--db", db, env=env)
    assert result.returncode == EXIT_CODES["database"], result.stderr
    assert one_error_line(result, "mirror").startswith("podiokit mirror: database")


def test_9_busy(served: tuple[Emulator, str, Path], tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    lock = OutputLock.acquire(out)  # another export writing it
    try:
        code, line = _export(served, str(out))
    finally:
        lock.release()
    assert code == EXIT_CODES["busy"]
    assert line == f"podiokit export: another export is writing {out}: wait for it to end"


def test_130_interrupted(served: tuple[Emulator, str, Path], tmp_path: Path) -> None:
    emu = Emulator(items=3_000, latency=300)
    out = tmp_path / "o.jsonl"
    _, _, checkpoint = output_paths(out)
    with serving(emu) as url:
        env = emulator_env(emu, url, tmp_path, PODIO_APP_TOKEN=_token(emu, PROJECTS))
        proc = start_cli("export", str(PROJECTS), "--out", str(out), "-c", "1", env=env)
        _wait_for(lambda: checkpoint.exists(), proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_CODES["interrupted"], err
    assert err.splitlines()[-1] == (
        "podiokit export: interrupted; run the same command with --resume to continue"
    )


def _wait_for(done: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not done():
        assert proc.poll() is None, "the command ended first"
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_every_documented_code_is_driven_here() -> None:
    tested = {
        int(name.split("_")[1])
        for name in globals()
        if name.startswith("test_") and name.split("_")[1].isdigit()
    }
    assert tested == set(EXIT_CODES.values())
