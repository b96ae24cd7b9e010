"""Output paths (issue 25, items 3 and 6): `--out -` streams to standard output; `--out`
refuses anything that exists and is not a regular file, a missing folder and an empty path,
before the first call. The stand-ins for devices live in tmp_path (a named pipe, a socket,
symbolic links): the machine's own /dev is never touched."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from podiokit import Podio
from podiokit.cli import main
from podiokit.export import OutputError, export
from podiokit.testing import Emulator
from tests.cli._subprocess import emulator_env, one_error_line, run_cli, serving

from .conftest import CLIENTS, PROJECTS, app_tokens, world_ids


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def _socket(tmp_path: Path) -> Path:
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))  # leaves the socket file behind
    return path


def _link_to_fifo(tmp_path: Path) -> Path:
    """Like /dev/stdout: a symbolic link to something that is not a file."""
    link = tmp_path / "stdout"
    link.symlink_to(_fifo(tmp_path))
    return link


def _link_to_file(tmp_path: Path) -> Path:
    target = tmp_path / "real.jsonl"
    target.write_text("kept\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    return link


def _directory(tmp_path: Path) -> Path:
    path = tmp_path / "adir"
    path.mkdir()
    return path


#: (how to make the bad --out, what the message says)
BAD: dict[str, tuple[Callable[[Path], str], str]] = {
    "directory": (lambda t: str(_directory(t)), "is a directory, not a regular file"),
    "directory with a slash": (lambda t: str(t) + "/", "names a directory"),
    "named pipe": (lambda t: str(_fifo(t)), "is a named pipe, not a regular file"),
    "socket": (lambda t: str(_socket(t)), "is a socket, not a regular file"),
    "link to a pipe": (lambda t: str(_link_to_fifo(t)), "is a symbolic link"),
    "link to a file": (lambda t: str(_link_to_file(t)), "is a symbolic link"),
    "missing folder": (lambda t: str(t / "nowhere" / "items.jsonl"), "does not exist"),
    "folder is a file": (lambda t: str(_link_to_file(t).resolve() / "x"), "is not a directory"),
    "empty": (lambda t: "", "the output path is empty"),
    "blank": (lambda t: "  ", "the output path is empty"),
    "pipe as the part": (
        lambda t: str(_fifo(t).rename(t / "o.jsonl.part").with_name("o.jsonl")),
        "o.jsonl.part exists and is a named pipe",
    ),
}


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator(items=300)
    with serving(emu) as url:
        creds = emu.credentials
        for name in ("PODIO_USERNAME", "PODIO_PASSWORD", "PODIO_REDIS_URL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("PODIO_CLIENT_ID", creds["client_id"])
        monkeypatch.setenv("PODIO_CLIENT_SECRET", creds["client_secret"])
        monkeypatch.setenv("PODIO_API_URL", url)
        monkeypatch.setenv("PODIO_APP_TOKEN", app_tokens(emu)[PROJECTS])
        monkeypatch.setenv("PODIO_SESSION_FILE", str(tmp_path / "no-session.json"))
        yield emu


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_output_exits_2_before_any_call(
    case: str, served: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, says = BAD[case]
    out = make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["export", str(PROJECTS), "--out", out])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("podiokit export: ") and says in err
    assert "Error" not in err  # no Python exception name: a sentence
    stats = served.stats()
    assert stats["routes"] == {} and stats["token_grants"] == {}, "it called Podio first"
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "it touched the folder"
    if case == "link to a file":
        assert (tmp_path / "real.jsonl").read_text() == "kept\n"


@pytest.mark.anyio
async def test_the_exporter_checks_its_path_before_any_call(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    before = emu.stats()["routes"]
    for make, says in (BAD["directory"], BAD["named pipe"], BAD["missing folder"]):
        with pytest.raises(OutputError, match=says):
            await export(podio, [PROJECTS], make(tmp_path))
    assert emu.stats()["routes"] == before


@pytest.mark.parametrize("format", ["jsonl", "csv"])
def test_out_dash_streams_to_standard_output(format: str, tmp_path: Path) -> None:
    emu = Emulator(items=700)
    with serving(emu) as url:
        tokens = app_tokens(emu)
        env = emulator_env(
            emu, url, tmp_path, PODIO_APP_TOKEN=f"{tokens[PROJECTS]},{tokens[CLIENTS]}"
        )
        args = ("export", str(PROJECTS), str(CLIENTS), "--out", "-", "--format", format)
        result = run_cli(*args, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == [], "it wrote a file (named '-'?)"
    if format == "jsonl":
        ids = Counter(json.loads(line)["item_id"] for line in result.stdout.splitlines())
    else:
        rows = csv.DictReader(io.StringIO(result.stdout, newline=""))
        ids = Counter(int(row["item_id"]) for row in rows)
    assert max(ids.values()) == 1
    assert set(ids) == world_ids(emu, PROJECTS) | world_ids(emu, CLIENTS)
    # Progress and the summary on stderr: stdout holds the items alone.
    err = result.stderr.splitlines()
    assert err[-5].startswith("exported 1400/1400 items, ")
    assert err[-4].startswith("exported 1400 items from 2 app(s) to standard output in ")
    assert err[-3:-1] == [f"  app {PROJECTS}: 700 items", f"  app {CLIENTS}: 700 items"]
    assert err[-1] == "  strategy: ranges (app_item_id ranges)"


@pytest.mark.parametrize("flag", ["--resume", "--force"])
def test_out_dash_has_nothing_to_resume(
    flag: str, served: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(PROJECTS), "--out", "-", flag]) == 2
    err = capsys.readouterr().err
    assert f"{flag} needs a file" in err and served.stats()["routes"] == {}


def test_a_closed_standard_output_is_one_line(tmp_path: Path) -> None:
    """`podiokit export ... --out - | head -1`: the reader goes away mid-export."""
    emu = Emulator(items=1_500)
    with serving(emu) as url:
        env = emulator_env(emu, url, tmp_path, PODIO_APP_TOKEN=app_tokens(emu)[PROJECTS])
        proc = _pipe_into_head(env)
    assert proc.returncode == 1, proc.stderr
    assert one_error_line(proc) == (
        "podiokit export: standard output was closed before the export ended"
    )
    assert "Exception ignored" not in proc.stderr


def _pipe_into_head(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    reader, writer = os.pipe()
    with os.fdopen(reader, "rb") as r:
        proc = subprocess.Popen(
            [sys.executable, "-m", "podiokit.cli", "export", str(PROJECTS), "--out", "-",
             "--concurrency", "1"],
            env=env, stdout=writer, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        os.close(writer)
        r.readline()  # one item, then the reader is gone
    _, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", err)
