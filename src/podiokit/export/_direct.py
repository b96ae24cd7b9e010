"""Writes that bypass the page cache (`O_DIRECT`, Linux) for the export's output file.

Why: a buffered write copies every byte into the page cache, in fresh pages, and on these
machines memory left idle for a few seconds goes back to the host, so each new page of cache
faults in on its own, several times the CPU of `O_DIRECT` from a buffer reused page after
page (`python benchmarks/bench_write.py` measures both; the figures are in the README). It also leaves the page cache to the programs that read from
it, and the fsync before the rename has little left to do.

`O_DIRECT` needs block-aligned memory, file offsets and lengths. So the data goes through a
page-aligned staging buffer (an anonymous mmap) and whole blocks are written from it; the
last, partial block goes through the usual descriptor (so the file always ends where its
data does) and stays in the buffer, to be written again, completed, with the next data.
Where `O_DIRECT` is missing or refused (macOS, Windows, tmpfs, ...) `DirectFile.open`
returns None, and a write the file system refuses raises `OSError(EINVAL)`: the caller then
writes as usual.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["BLOCK", "DirectFile"]

#: Alignment of memory, offsets and lengths: a multiple of every usual logical block size.
BLOCK = 4096
_O_DIRECT: int = getattr(os, "O_DIRECT", 0)


def _pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    done = 0
    while done < len(data):
        done += os.pwrite(fd, data[done:], offset + done)


def _round_up(n: int) -> int:
    return -(-n // BLOCK) * BLOCK


class DirectFile:
    """Appends to `path` from `offset` on: whole blocks through a descriptor opened with
    `O_DIRECT`, the last partial one through `buffered` (the caller's; not closed here)."""

    def __init__(self, fd: int, buffered: int, offset: int, tail: bytes) -> None:
        self._fd = fd
        self._buffered = buffered
        self._start = offset - len(tail)  # where the staging buffer's first byte goes
        self._staged = len(tail)  # bytes of the last, partial block, already in the file
        self._buffer = mmap.mmap(-1, _round_up(max(len(tail), 1)) + BLOCK)
        self._view = memoryview(self._buffer)
        self._view[: len(tail)] = tail

    @classmethod
    def open(cls, path: Path, buffered: int, offset: int) -> DirectFile | None:
        """Append to `path` (`offset` bytes long, open for writing as `buffered`) bypassing
        the page cache, or None where the platform or the file system does not allow it."""
        if not _O_DIRECT:
            return None
        try:
            fd = os.open(path, os.O_WRONLY | _O_DIRECT)
        except OSError:  # EINVAL: tmpfs and others refuse it
            return None
        try:
            tail = b""
            if offset % BLOCK:
                with open(path, "rb") as f:  # the partial block, rewritten with what follows
                    f.seek(offset - offset % BLOCK)
                    tail = f.read(offset % BLOCK)
            return cls(fd, buffered, offset, tail)
        except BaseException:
            os.close(fd)
            raise

    def write(self, parts: Sequence[Any]) -> int:
        """Append `parts` (buffers, in order); returns how many bytes they held."""
        size = sum(len(part) for part in parts)
        total = self._staged + size
        if total > len(self._buffer):
            self._grow(total)
        view, at = self._view, self._staged
        for part in parts:
            end = at + len(part)
            view[at:end] = part
            at = end
        whole = total - total % BLOCK
        # A short direct write still ends on a block boundary (else the next one fails).
        _pwrite_all(self._fd, view[:whole], self._start)
        if whole < total:
            tail = view[whole:total]
            _pwrite_all(self._buffered, tail, self._start + whole)
            view[: total - whole] = tail
        self._start += whole
        self._staged = total - whole
        return size

    def _grow(self, size: int) -> None:
        bigger = mmap.mmap(-1, size + size // 8 + BLOCK)
        bigger[: self._staged] = self._view[: self._staged]
        self._view.release()
        self._buffer.close()
        self._buffer, self._view = bigger, memoryview(bigger)

    def close(self) -> None:
        os.close(self._fd)
        try:
            self._view.release()
            self._buffer.close()
        except BufferError:
            # A failed write's traceback still holds a slice of the buffer (a full disk):
            # the memory goes with the last reference to it.
            pass
