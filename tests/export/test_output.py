"""The output file syncs to disk in the background while the export runs, so the fsync at
the end waits for the tail only; the file is complete and the descriptor is never closed
under a running sync."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from podiokit.export import _output
from podiokit.export._checkpoint import Checkpoint
from podiokit.export._output import Output


def _output_in(tmp_path: Path) -> tuple[Output, Checkpoint, Path]:
    out = tmp_path / "items.jsonl"
    output = Output(out, tmp_path / "items.jsonl.part", tmp_path / "items.jsonl.checkpoint")
    checkpoint = Checkpoint("jsonl", [1], [])
    output.create(checkpoint, b"")
    return output, checkpoint, out


def test_syncs_start_during_the_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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


def test_commit_waits_for_a_running_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    seen: list[str] = []

    def slow_sync(fd: int) -> None:
        release.wait(10)
        try:
            os.fstat(fd)
            seen.append("open")
        except OSError:
            seen.append("closed under the sync")

    monkeypatch.setattr(_output, "_SYNC_EVERY", 10)
    monkeypatch.setattr(_output, "_datasync", slow_sync)
    output, checkpoint, out = _output_in(tmp_path)
    output.append(checkpoint, b"x" * 100 + b"\n")
    committing = threading.Thread(target=output.commit)
    committing.start()
    time.sleep(0.05)  # a commit that did not wait would close the file meanwhile
    release.set()
    committing.join(10)
    assert seen == ["open"]
    assert out.read_bytes() == b"x" * 100 + b"\n"
