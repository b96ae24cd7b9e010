"""The output file: written as `<out>.part`, checkpointed after every page, renamed into
place once complete. Its methods block (file I/O): the exporter runs them in a worker
thread, so pages keep arriving while one is written."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from ._checkpoint import Checkpoint

__all__ = ["Output"]


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
        self._file.write(data)
        self._file.flush()  # in the OS before the checkpoint says so
        checkpoint.offset = self._file.tell()
        checkpoint.save(self.checkpoint_path)

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
