"""The output file: written as `<out>.part`, checkpointed after every page, renamed into
place once complete. Its methods block (file I/O): the exporter runs them in a worker
thread, so pages keep arriving while one is written."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO

from ._checkpoint import Checkpoint

__all__ = ["Output"]


def _start_writeback(file: BinaryIO, offset: int, length: int) -> None:
    """Have the OS start writing these bytes to disk now, without waiting for it (Linux:
    DONTNEED starts the writeback of dirty pages): the fsync in `commit` then waits for the
    last pages only, instead of the whole file (~0.1 s for 130 MB here). Advice only."""
    if _FADVISE is None or length <= 0:
        return
    # A file system that takes no advice: commit's fsync does all the work.
    with contextlib.suppress(OSError):
        os.posix_fadvise(file.fileno(), offset, length, _FADVISE)


_FADVISE: int | None = getattr(os, "POSIX_FADV_DONTNEED", None)


class Output:
    def __init__(self, path: Path, part: Path, checkpoint_path: Path) -> None:
        self.path = path
        self.part = part
        self.checkpoint_path = checkpoint_path
        self._file: BinaryIO | None = None

    def create(self, checkpoint: Checkpoint, header: bytes) -> None:
        """A new export: an empty temporary file (any earlier one is discarded)."""
        self._file = open(self.part, "wb")  # noqa: SIM115 - closed by close()
        self.append(checkpoint, header)

    def reopen(self, checkpoint: Checkpoint) -> None:
        """A resumed export: cut what was written after the last checkpoint (a page half
        written when the process died), and append from there."""
        file = self._file = open(self.part, "r+b")  # noqa: SIM115 - closed by close()
        file.truncate(checkpoint.offset)
        file.seek(checkpoint.offset)

    def append(self, checkpoint: Checkpoint, data: bytes) -> None:
        """Write `data`, then record in the checkpoint that the file now ends after it.
        `checkpoint` must already describe the state after `data`, except for the offset."""
        assert self._file is not None
        start = self._file.tell()
        self._file.write(data)
        self._file.flush()  # in the OS before the checkpoint says so
        checkpoint.offset = self._file.tell()
        checkpoint.save(self.checkpoint_path)
        _start_writeback(self._file, start, len(data))

    def commit(self) -> None:
        """Complete: durable on disk, renamed into place, checkpoint removed."""
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self.close()
        os.replace(self.part, self.path)
        self.checkpoint_path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
