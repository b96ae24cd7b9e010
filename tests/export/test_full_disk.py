"""A full disk (issue 25, item 4): one line saying so and what to do, every descriptor
closed, and the resume afterwards loses nothing. The disk fills up by injection at the
write layer: once the temporary file holds enough, every write to the test's folder fails
with ENOSPC, as on a real full file system."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podiokit.cli import main
from podiokit.export import _output, output_paths
from podiokit.testing import Emulator
from tests.cli._subprocess import serving

from .conftest import CLIENTS, PROJECTS, app_tokens, exported_ids, world_ids


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator(items=1_500)
    with serving(emu) as url:
        creds = emu.credentials
        tokens = app_tokens(emu)
        for name in ("PODIO_USERNAME", "PODIO_PASSWORD", "PODIO_REDIS_URL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("PODIO_CLIENT_ID", creds["client_id"])
        monkeypatch.setenv("PODIO_CLIENT_SECRET", creds["client_secret"])
        monkeypatch.setenv("PODIO_API_URL", url)
        monkeypatch.setenv("PODIO_APP_TOKEN", f"{tokens[PROJECTS]},{tokens[CLIENTS]}")
        monkeypatch.setenv("PODIO_SESSION_FILE", str(tmp_path / "no-session.json"))
        yield emu


class FullDisk:
    """Writes into `folder` fail with ENOSPC once `part` holds `room` bytes."""

    def __init__(self, folder: Path, part: Path, room: int) -> None:
        self.folder, self.part, self.room = str(folder), part, room
        self.full = False
        self.refused = 0

    def check(self, fd: int) -> None:
        try:
            name = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return
        if not name.startswith(self.folder):
            return
        if not self.full and self.part.exists() and self.part.stat().st_size >= self.room:
            self.full = True
        if self.full:
            self.refused += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("write", "writev", "pwrite"):
            real = getattr(os, name)

            def failing(fd: int, *args: Any, _real: Any = real) -> Any:
                self.check(fd)
                return _real(fd, *args)

            monkeypatch.setattr(os, name, failing)


def _open_in(folder: Path) -> list[str]:
    names = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            name = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if name.startswith(str(folder)):
            names.append(name)
    return names


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "buffered"])
def test_a_full_disk_is_one_line_closes_everything_and_resumes(
    direct: bool,
    served: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not direct:  # a file system without O_DIRECT (tmpfs, macOS): writes through the cache
        monkeypatch.setattr(_output.DirectFile, "open", classmethod(lambda cls, *a: None))
    out = tmp_path / "items.jsonl"
    _, part, checkpoint = output_paths(out)
    disk = FullDisk(tmp_path, part, room=1_500_000)
    with monkeypatch.context() as patched:
        disk.install(patched)
        code = main(["export", str(PROJECTS), str(CLIENTS), "--out", str(out), "-c", "2"])
    err = capsys.readouterr().err
    assert disk.full and disk.refused
    assert code == 1, err
    # The file that met the full disk first: the data, or the checkpoint synced meanwhile.
    assert err.splitlines()[-1] in [
        f"podiokit export: no space left on device writing {name}; free space and run again "
        "with --resume"
        for name in (part, checkpoint)
    ]
    assert "BufferError" not in err and "Traceback" not in err
    assert _open_in(tmp_path) == [], "a descriptor was left open"
    assert checkpoint.exists() and not out.exists()

    # Space is freed: the resume goes on from the last checkpoint, and loses nothing.
    code = main(["export", str(PROJECTS), str(CLIENTS), "--out", str(out), "--resume"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.startswith("resumed and exported 3000 items")
    ids = exported_ids(out)
    assert max(ids.values()) == 1
    assert set(ids) == world_ids(served, PROJECTS) | world_ids(served, CLIENTS)


def test_a_full_disk_before_anything_was_saved(
    served: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No room for the first bytes: there is nothing to resume, and the line says so."""
    out = tmp_path / "items.csv"
    _, part, checkpoint = output_paths(out)
    disk = FullDisk(tmp_path, part, room=0)
    with monkeypatch.context() as patched:
        disk.install(patched)
        code = main(["export", str(PROJECTS), str(CLIENTS), "--out", str(out), "-f", "csv"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.splitlines()[-1] == (
        f"podiokit export: no space left on device writing {part}; free space and run again"
    )
    assert not checkpoint.exists() and _open_in(tmp_path) == []
