"""One writer per output: an advisory lock on `OUT.lock`, held for the whole export.

The lock belongs to an open file, so it dies with the process that holds it, however it
ends (SIGKILL included): a stale `OUT.lock` never blocks anyone. The holder removes the file
before letting go. A process that opened the file just before that may then lock a file
that no longer has a name, so after locking each process checks that the name still leads
to the file it holds, and starts over if not.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from ._errors import OutputBusyError

__all__ = ["OutputLock", "busy", "is_locked", "lock_path"]


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _try_lock(fd: int) -> bool:
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # EWOULDBLOCK / EACCES: someone else holds it
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


def busy(path: Path) -> OutputBusyError:
    return OutputBusyError(f"another export is writing {path}: wait for it to end")


class OutputLock:
    """`OutputLock.acquire(path)` or an `OutputBusyError`; `release()` once done."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, path: Path) -> OutputLock:
        name = lock_path(path)
        while True:
            fd = os.open(name, os.O_RDWR | os.O_CREAT, 0o666)
            if not _try_lock(fd):
                os.close(fd)
                raise busy(path)
            try:
                current = os.stat(name)
            except FileNotFoundError:
                current = None
            held = os.fstat(fd)
            if current is not None and (current.st_dev, current.st_ino) == (
                held.st_dev,
                held.st_ino,
            ):
                return cls(path, fd)
            os.close(fd)  # the holder removed it meanwhile: lock the new one

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            with contextlib.suppress(OSError):
                os.unlink(lock_path(self.path))  # while still held: see the module's note
        finally:
            os.close(fd)


def is_locked(path: Path) -> bool:
    """Whether an export holds the lock of `path` now (a look, taking nothing)."""
    try:
        fd = os.open(lock_path(path), os.O_RDWR)
    except OSError:
        return False  # no lock file: nobody holds it
    try:
        if not _try_lock(fd):
            return True
        _unlock(fd)
        return False
    finally:
        os.close(fd)
