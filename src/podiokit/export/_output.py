"""The output: a file written as `<out>.part`, checkpointed as it grows, renamed into place
once complete; or a stream (standard output), written as it comes, with nothing to resume.
Their methods block (file I/O): the exporter runs them in a worker thread, so pages keep
arriving while one is written.

Where the file system allows it (Linux), the data bypasses the page cache (`_direct`);
elsewhere it is written as usual. Either way a background thread syncs it every few MB or
every second, and only then writes a checkpoint describing what was synced (`_checkpoint`):
a checkpoint never claims bytes the disk may not hold, and a crash loses at most the pages
written since (a resume fetches them again)."""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from ._checkpoint import TAIL, Checkpoint, sync_folder
from ._direct import DirectFile

__all__ = ["Destination", "Output", "StreamOutput"]

#: Buffers per writev call (POSIX guarantees at least 16; Linux and macOS take 1024).
_IOV_MAX = 1024


def _parts(data: bytes | Sequence[Any]) -> Sequence[Any]:
    return [data] if isinstance(data, bytes) else data


def _write_all(fd: int, data: bytes | Sequence[Any]) -> int:
    """Write `data` (bytes, or buffers in order) to `fd` in full; returns the bytes written.
    A page's items go out in writev calls of up to _IOV_MAX buffers, never joined first."""
    views = [memoryview(part) for part in _parts(data)]
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
#: 4 MB rather than 16: the commit waits less and writes stall less behind a shorter sync
#: (alternating runs of benchmarks/bench_peers.py).
_SYNC_EVERY = 4 * 1024 * 1024
#: ... or once this many seconds have passed since the last one (slow pages, small items):
#: what a crash can lose, in pages to fetch again.
_SYNC_SECONDS = 1.0
_datasync = getattr(os, "fdatasync", os.fsync)

#: Windows would translate line ends without it.
_BINARY = getattr(os, "O_BINARY", 0)


def _named(exc: OSError, path: Path) -> OSError:
    """`exc` naming the file it happened on (os.write and the like name none)."""
    if exc.filename is not None:
        return exc
    return OSError(exc.errno, exc.strerror or str(exc), str(path))


def _read_at(fd: int, at: int, size: int) -> bytes:
    """`size` bytes of the file from `at` (os.pread, where Windows has none)."""
    os.lseek(fd, at, os.SEEK_SET)
    parts, left = [], size
    while left:
        part = os.read(fd, left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


class Destination(Protocol):
    """Where the exporter writes: `create` (a new export) or `reopen` (a resumed one), then
    `append` page after page, then `commit`; `close` whatever happened."""

    def create(self, checkpoint: Checkpoint, header: bytes) -> None: ...

    def reopen(self, checkpoint: Checkpoint) -> None: ...

    def append(self, checkpoint: Checkpoint, data: bytes | Sequence[Any]) -> None: ...

    def commit(self) -> None: ...

    def close(self) -> None: ...


class StreamOutput:
    """The export written to a stream as it comes (standard output): no temporary file, no
    checkpoint, no resume. The stream is flushed at the end and left open."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def create(self, checkpoint: Checkpoint, header: bytes) -> None:
        self.append(checkpoint, header)

    def reopen(self, checkpoint: Checkpoint) -> None:
        raise ValueError("an export to a stream cannot be resumed")

    def append(self, checkpoint: Checkpoint, data: bytes | Sequence[Any]) -> None:
        write = self._stream.write
        for part in _parts(data):
            view = memoryview(part)
            write(view)
            checkpoint.offset += len(view)

    def commit(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        return None


class Output:
    """The export's file: `part` written page after page, `checkpoint_path` beside it,
    renamed to `path` once complete."""

    def __init__(self, path: Path, part: Path, checkpoint_path: Path) -> None:
        self.path = path
        self.part = part
        self.checkpoint_path = checkpoint_path
        self._fd: int | None = None
        self._direct: DirectFile | None = None
        self._offset = 0
        #: The last bytes written (up to TAIL), for the checkpoint's checksum.
        self._tail = b""
        self._checkpoint: Checkpoint | None = None
        self._saved = -1  # the offset the checkpoint on disk records
        self._unsynced = 0
        self._synced_at = 0.0
        self._syncer: threading.Thread | None = None
        self._sync_error: BaseException | None = None
        #: A write failed part way: the checkpoint in memory is ahead of the file.
        self._broken = False
        self._committed = False

    def create(self, checkpoint: Checkpoint, header: bytes) -> None:
        """A new export: an empty temporary file (any earlier one is discarded, and its
        checkpoint first, so none ever describes the new file wrongly)."""
        self.checkpoint_path.unlink(missing_ok=True)
        try:
            self._fd = os.open(self.part, os.O_RDWR | os.O_CREAT | os.O_TRUNC | _BINARY, 0o666)
            sync_folder(self.part.parent)  # its name on disk before a checkpoint names it
        except OSError as exc:
            raise _named(exc, self.part) from None
        self._offset = 0
        self._direct = DirectFile.open(self.part, self._fd, 0)
        self._write(header)
        self._checkpoint = checkpoint
        checkpoint.offset = self._offset
        self._persist(self._snapshot(checkpoint))

    def reopen(self, checkpoint: Checkpoint) -> None:
        """A resumed export (its file checked against `checkpoint` already): cut what was
        written after the checkpoint, and append from there."""
        fd = self._fd = os.open(self.part, os.O_RDWR | _BINARY)
        offset = checkpoint.offset
        self._tail = _read_at(fd, offset - min(TAIL, offset), min(TAIL, offset))
        os.ftruncate(fd, offset)
        os.lseek(fd, offset, os.SEEK_SET)
        self._offset = self._saved = offset
        self._checkpoint = checkpoint
        self._direct = DirectFile.open(self.part, fd, offset)

    def append(self, checkpoint: Checkpoint, data: bytes | Sequence[Any]) -> None:
        """Write `data` (bytes, or buffers in order) after what is there. `checkpoint` must
        describe the state after `data`, but for the offset (set here); it is saved once
        the data is synced, in the background."""
        self._raise_sync_error()
        self._write(data)
        checkpoint.offset = self._offset
        self._checkpoint = checkpoint
        due = self._unsynced >= _SYNC_EVERY or time.monotonic() - self._synced_at >= _SYNC_SECONDS
        if due and (self._syncer is None or not self._syncer.is_alive()):
            self._syncer = threading.Thread(
                target=self._persist_in_background,
                args=(self._snapshot(checkpoint),),
                name="podiokit-export-sync",
                daemon=True,
            )
            self._syncer.start()

    def _write(self, data: bytes | Sequence[Any]) -> None:
        assert self._fd is not None
        try:
            if self._direct is not None:
                written = self._write_direct(data)
            else:
                written = _write_all(self._fd, data)
        except OSError as exc:
            self._broken = True
            raise _named(exc, self.part) from None
        except BaseException:
            self._broken = True
            raise
        self._offset += written
        self._unsynced += written
        self._keep_tail(_parts(data))

    def _keep_tail(self, parts: Sequence[Any]) -> None:
        need, pieces = TAIL, []
        for part in reversed(parts):
            view = memoryview(part)
            if len(view) >= need:
                pieces.append(bytes(view[len(view) - need :]))
                need = 0
                break
            pieces.append(bytes(view))
            need -= len(view)
        kept = self._tail[len(self._tail) - need :] if need else b""
        self._tail = kept + b"".join(reversed(pieces))

    def _snapshot(self, checkpoint: Checkpoint) -> tuple[int, bytes]:
        """(offset, checkpoint bytes) as things stand: what a sync then records."""
        checkpoint.tail = (len(self._tail), zlib.crc32(self._tail))
        self._unsynced = 0
        self._synced_at = time.monotonic()
        return self._offset, checkpoint.to_bytes()

    def _persist(self, snapshot: tuple[int, bytes]) -> None:
        """The data on disk, then the checkpoint that describes it (`Checkpoint.save`)."""
        assert self._fd is not None
        offset, data = snapshot
        try:
            _datasync(self._fd)
        except OSError as exc:
            raise _named(exc, self.part) from None
        try:
            Checkpoint.save(data, self.checkpoint_path)
        except OSError as exc:
            raise _named(exc, self.checkpoint_path) from None
        self._saved = offset

    def _persist_in_background(self, snapshot: tuple[int, bytes]) -> None:
        try:
            self._persist(snapshot)
        except BaseException as exc:  # noqa: BLE001 - raised by the writer's next call
            self._sync_error = exc

    def _raise_sync_error(self) -> None:
        error, self._sync_error = self._sync_error, None
        if error is not None:
            self._broken = True  # not that the file is wrong: the disk said no; stop here
            raise error

    def _write_direct(self, data: bytes | Sequence[Any]) -> int:
        assert self._direct is not None and self._fd is not None
        try:
            return self._direct.write(_parts(data))
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

    def _join_syncer(self) -> None:
        if self._syncer is not None:
            self._syncer.join()  # it holds the descriptor: never close it under a sync
            self._syncer = None

    def commit(self) -> None:
        """Complete: durable on disk, renamed into place, checkpoint removed."""
        assert self._fd is not None
        self._close_direct()
        self._join_syncer()
        self._raise_sync_error()
        try:
            os.fsync(self._fd)
        except OSError as exc:
            self._broken = True
            raise _named(exc, self.part) from None
        self._close_fd()
        os.replace(self.part, self.path)
        sync_folder(self.path.parent)
        self._committed = True
        self.checkpoint_path.unlink(missing_ok=True)

    def close(self) -> None:
        """Let go of the file. An export that stopped early (an error, Ctrl-C) first saves
        how far it got, when the file holds all of it, so a resume goes on from there."""
        try:
            self._join_syncer()
            checkpoint = self._checkpoint
            if (
                not self._committed
                and not self._broken
                and self._sync_error is None
                and self._fd is not None
                and checkpoint is not None
                and self._offset > self._saved
            ):
                with contextlib.suppress(OSError):  # the checkpoint saved last still holds
                    self._persist(self._snapshot(checkpoint))
        finally:
            try:
                self._close_direct()
            finally:
                self._close_fd()

    def _close_fd(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
