"""The output file. Where the file system allows it, whole blocks bypass the page cache
(O_DIRECT) and the file still ends where its data does after every page; a resumed export
and a file system that refuses those writes lose nothing. Elsewhere it syncs to disk in the
background while the export runs, so the fsync at the end waits for the tail only; the file
is complete and the descriptor is never closed under a running sync."""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from podiokit.export import _direct, _output
from podiokit.export._checkpoint import Checkpoint
from podiokit.export._output import Output


def _output_in(tmp_path: Path) -> tuple[Output, Checkpoint, Path]:
    out = tmp_path / "items.jsonl"
    output = Output(out, tmp_path / "items.jsonl.part", tmp_path / "items.jsonl.checkpoint")
    checkpoint = Checkpoint("jsonl", [1], [])
    output.create(checkpoint, b"")
    return output, checkpoint, out


@pytest.fixture
def buffered(monkeypatch: pytest.MonkeyPatch) -> None:
    """A platform without O_DIRECT (macOS, Windows, tmpfs): writes go through the cache."""
    monkeypatch.setattr(_output.DirectFile, "open", classmethod(lambda cls, *a: None))


@pytest.fixture
def direct_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(offset, length) of every write through an O_DIRECT descriptor; skips the test where
    the file system of tmp_path refuses O_DIRECT."""
    probe = tmp_path / "probe"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT, 0o666)
    opened = _direct.DirectFile.open(probe, fd, 0)
    os.close(fd)
    if opened is None:
        pytest.skip("no O_DIRECT on this platform or file system")
    opened.close()
    seen: list[tuple[int, int]] = []
    real = os.pwrite

    def pwrite(fd: int, data: Any, offset: int) -> int:
        import fcntl

        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            seen.append((offset, len(data)))
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    return seen


CHUNKS: list[Any] = [
    b"a",
    b"b" * 4095,  # completes the first block
    b"c" * 5000,
    [b"d" * 10, b"\n"] * 3,
    b"e" * 3_000_000,  # more than the staging buffer holds: it grows
    b"f" * 4096,
]


def _flat(chunk: Any) -> bytes:
    return chunk if isinstance(chunk, bytes) else b"".join(chunk)


def test_whole_blocks_bypass_the_page_cache_and_the_file_ends_with_its_data(
    tmp_path: Path, direct_writes: list[tuple[int, int]]
) -> None:
    output, checkpoint, out = _output_in(tmp_path)
    part = tmp_path / "items.jsonl.part"
    size = 0
    for chunk in CHUNKS:
        output.append(checkpoint, chunk)
        size += len(_flat(chunk))
        # After every page the file holds exactly the data: a crash loses nothing that the
        # checkpoint claims, and leaves no padding behind it.
        assert checkpoint.offset == size == part.stat().st_size
    assert part.read_bytes() == b"".join(map(_flat, CHUNKS))
    assert all(offset % 4096 == 0 and length % 4096 == 0 for offset, length in direct_writes)
    assert sum(length for _, length in direct_writes) >= size - 4096  # all but the last block
    output.commit()
    assert out.read_bytes() == b"".join(map(_flat, CHUNKS))


def test_a_resumed_file_continues_after_its_partial_block(
    tmp_path: Path, direct_writes: list[tuple[int, int]]
) -> None:
    output, checkpoint, out = _output_in(tmp_path)
    part = tmp_path / "items.jsonl.part"
    output.append(checkpoint, b"x" * 6000 + b"\n")
    output.close()  # the process dies here...
    with part.open("ab") as f:
        f.write(b'{"half a line')  # ...or while writing the next page
    resumed = Output(out, part, tmp_path / "items.jsonl.checkpoint")
    resumed.reopen(checkpoint)
    for chunk in CHUNKS:
        resumed.append(checkpoint, chunk)
    resumed.commit()
    assert out.read_bytes() == b"x" * 6000 + b"\n" + b"".join(map(_flat, CHUNKS))


def test_short_direct_writes_lose_nothing(
    tmp_path: Path, direct_writes: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each write may take less than asked (a whole block at a time through O_DIRECT, 7
    bytes through the page cache): the rest follows, in order."""
    import fcntl

    real = os.pwrite

    def short(fd: int, data: Any, offset: int) -> int:
        most = 4096 if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT else 7
        return real(fd, memoryview(data)[:most], offset)

    monkeypatch.setattr(os, "pwrite", short)
    output, checkpoint, out = _output_in(tmp_path)
    for chunk in CHUNKS[:4]:
        output.append(checkpoint, chunk)
    output.commit()
    assert out.read_bytes() == b"".join(map(_flat, CHUNKS[:4]))


def test_a_file_system_that_refuses_direct_writes_gets_usual_ones(
    tmp_path: Path, direct_writes: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    output, checkpoint, out = _output_in(tmp_path)
    output.append(checkpoint, b"y" * 5000)  # one block went through O_DIRECT

    def refuse(self: Any, parts: Any) -> int:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(_direct.DirectFile, "write", refuse)
    for chunk in CHUNKS:
        output.append(checkpoint, chunk)
    assert output._direct is None  # usual writes from then on
    output.commit()
    assert out.read_bytes() == b"y" * 5000 + b"".join(map(_flat, CHUNKS))


def test_syncs_start_during_the_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, buffered: None
) -> None:
    synced: list[int] = []
    monkeypatch.setattr(_output, "_SYNC_EVERY", 1000)
    monkeypatch.setattr(_output, "_datasync", lambda fd: synced.append(os.fstat(fd).st_size))
    output, checkpoint, out = _output_in(tmp_path)
    pages = [bytes([65 + n]) * 1500 + b"\n" for n in range(6)]
    for page in pages:
        output.append(checkpoint, page)
        if output._syncer is not None:
            output._syncer.join()  # one at a time here, so each page's sync is seen
    assert synced, "no sync before commit"
    assert synced == sorted(synced) and synced[-1] <= sum(map(len, pages))
    output.commit()
    assert out.read_bytes() == b"".join(pages)


def test_commit_waits_for_a_running_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, buffered: None
) -> None:
    release = threading.Event()
    seen: list[str] = []

    def slow_sync(fd: int) -> None:
        release.wait(10)
        try:
            os.fstat(fd)
            seen.append("open")
        except OSError:
            seen.append("closed under the sync")

    output, checkpoint, out = _output_in(tmp_path)
    monkeypatch.setattr(_output, "_SYNC_EVERY", 10)
    monkeypatch.setattr(_output, "_datasync", slow_sync)
    output.append(checkpoint, b"x" * 100 + b"\n")
    committing = threading.Thread(target=output.commit)
    committing.start()
    time.sleep(0.05)  # a commit that did not wait would close the file meanwhile
    release.set()
    committing.join(10)
    assert seen == ["open"]
    assert out.read_bytes() == b"x" * 100 + b"\n"
