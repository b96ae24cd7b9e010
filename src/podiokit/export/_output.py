"""The output file: written as `<out>.part`, checkpointed after every page, renamed into
place once complete. Its methods block (file I/O): the exporter runs them in a worker
thread, so pages keep arriving while one is written.

Where the file system allows it (Linux), the data bypasses the page cache (`_direct`);
elsewhere it is written as usual and synced in the background as it grows."""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._checkpoint import Checkpoint
from ._direct import DirectFile

__all__ = ["Output"]

#: Buffers per writev call (POSIX guarantees at least 16; Linux and macOS take 1024).
_IOV_MAX = 1024


def _write_all(fd: int, data: bytes | Sequence[Any]) -> int:
    """Write `data` (bytes, or buffers in order) to `fd` in full; returns the bytes written.
    A page's items go out in writev calls of up to _IOV_MAX buffers, never joined first."""
    parts: Sequence[Any] = [data] if isinstance(data, bytes) else data
    views = [memoryview(part) for part in parts]
    total = 0
    first = 0  # views before this one are written
    while first < len(views):
        batch = views[first : first + _IOV_MAX]
        written = os.writev(fd, batch) if _HAS_WRITEV else os.write(fd, batch[0])
        total += written
        # Skip what was written; a short write leaves the rest of a buffer to go first.
        while first < len(views) and written >= len(views[first]):
            written -= len(views[first])
            first += 1
        if written:
            views[first] = views[first][written:]
    return total


_HAS_WRITEV = hasattr(os, "writev")
#: Once this much is written since the last sync, a sync starts in the background: the disk
#: works while the next pages are fetched, and the fsync in `commit` waits for the tail only.
#: 4 MB rather than 16: the commit waited about 36 ms instead of 45 for a 130 MB export,
#: and writes stall less behind a shorter sync (alternating runs, benchmarks/bench_peers.py).
_SYNC_EVERY = 4 * 1024 * 1024
_datasync = getattr(os, "fdatasync", os.fsync)


def _sync_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):  # commit's fsync reports what matters
        _datasync(fd)


#: Windows would translate line ends without it.
_BINARY = getattr(os, "O_BINARY", 0)


class Output:
    def __init__(self, path: Path, part: Path, checkpoint_path: Path) -> None:
        self.path = path
        self.part = part
        self.checkpoint_path = checkpoint_path
        self._fd: int | None = None
        self._direct: DirectFile | None = None
        self._offset = 0
        self._unsynced = 0
        self._syncer: threading.Thread | None = None

    def create(self, checkpoint: Checkpoint, header: bytes) -> None:
        """A new export: an empty temporary file (any earlier one is discarded)."""
        self._fd = os.open(self.part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _BINARY, 0o666)
        self._offset = 0
        self._direct = DirectFile.open(self.part, self._fd, 0)
        self.append(checkpoint, header)

    def reopen(self, checkpoint: Checkpoint) -> None:
        """A resumed export: cut what was written after the last checkpoint (a page half
        written when the process died), and append from there."""
        fd = self._fd = os.open(self.part, os.O_WRONLY | _BINARY)
        os.ftruncate(fd, checkpoint.offset)
        os.lseek(fd, checkpoint.offset, os.SEEK_SET)
        self._offset = checkpoint.offset
        self._direct = DirectFile.open(self.part, fd, checkpoint.offset)

    def append(self, checkpoint: Checkpoint, data: bytes | Sequence[Any]) -> None:
        """Write `data` (bytes, or buffers in order), then record in the checkpoint that the
        file now ends after it. `checkpoint` must already describe the state after `data`,
        except for the offset. Unbuffered: in the OS before the checkpoint says so."""
        assert self._fd is not None
        if self._direct is not None:
            written = self._write_direct(data)
        else:
            written = _write_all(self._fd, data)
        self._offset += written
        checkpoint.offset = self._offset
        checkpoint.save(self.checkpoint_path)
        if self._direct is not None:
            return  # on the device already: nothing for a background sync to do
        self._unsynced += written
        if self._unsynced >= _SYNC_EVERY and (self._syncer is None or not self._syncer.is_alive()):
            self._unsynced = 0
            self._syncer = threading.Thread(
                target=_sync_quietly, args=(self._fd,), name="podiokit-export-sync", daemon=True
            )
            self._syncer.start()

    def _write_direct(self, data: bytes | Sequence[Any]) -> int:
        assert self._direct is not None and self._fd is not None
        try:
            return self._direct.write([data] if isinstance(data, bytes) else data)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
        # The file system took O_DIRECT at open but refuses its writes: write as usual
        # from the end of the data.
        self._close_direct()
        os.ftruncate(self._fd, self._offset)
        os.lseek(self._fd, self._offset, os.SEEK_SET)
        return _write_all(self._fd, data)

    def _close_direct(self) -> None:
        direct, self._direct = self._direct, None
        if direct is not None:
            direct.close()

    def commit(self) -> None:
        """Complete: durable on disk, renamed into place, checkpoint removed."""
        assert self._fd is not None
        self._close_direct()
        if self._syncer is not None:
            self._syncer.join()
        os.fsync(self._fd)
        self.close()
        os.replace(self.part, self.path)
        self.checkpoint_path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._syncer is not None:
            self._syncer.join()  # it holds the descriptor: never close it under a sync
            self._syncer = None
        self._close_direct()
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
