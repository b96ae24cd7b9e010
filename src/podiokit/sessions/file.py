"""A JSON file of tokens, shared safely by every process that opens it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import stat
import tempfile
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from ._locks import KeyedLocks

if TYPE_CHECKING:
    from ..auth import OAuthToken

__all__ = ["FileSessionStore"]

logger = logging.getLogger("podiokit")

# Byte-range locks over a sidecar file: one byte per key (by hash), so two processes
# refreshing different keys do not wait for each other.
_LOCK_RANGE = 1 << 20


class FileSessionStore:
    """One JSON file holding many keys (`{"<key>": {token}, ...}`).

    Every write is read-modify-write under an exclusive `flock`, written to a temporary file
    with mode 0600 and moved over the old file with `os.replace`, so a reader never sees a
    half-written file and two processes never drop each other's keys. `lock(key)` holds a
    per-key lock that is exclusive across processes too, so a refresh happens once.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._write_lock_path = self.path.with_name(self.path.name + ".lock")
        self._refresh_lock_path = self.path.with_name(self.path.name + ".refresh.lock")
        self._locks = KeyedLocks()
        self._refresh_fd: int | None = None

    # -- reading and writing -------------------------------------------------------------

    def _read_all(self) -> dict[str, Any]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            # A token file others can read leaks every session in it: tighten it and say so.
            logger.warning(
                "session file %s was readable by others; set its mode to 0600", self.path
            )
            os.chmod(self.path, 0o600)
        raw = self.path.read_bytes()
        if not raw.strip():
            return {}
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError(f"session file {self.path} does not hold a JSON object")
        return data

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._write_lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _write_all(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(json.dumps(data, indent=2, sort_keys=True).encode())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            # Never leave a half-written temporary file behind, whatever interrupted us.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _get_sync(self, key: str) -> dict[str, Any] | None:
        with self._exclusive():
            value = self._read_all().get(key)
        return value if isinstance(value, dict) else None

    def _update_sync(self, key: str, value: dict[str, Any] | None) -> None:
        with self._exclusive():
            data = self._read_all()
            if value is None:
                if key not in data:
                    return
                data.pop(key)
            else:
                data[key] = value
            self._write_all(data)

    # -- SessionStore --------------------------------------------------------------------

    async def get(self, key: str) -> OAuthToken | None:
        from ..auth import OAuthToken

        value = await anyio.to_thread.run_sync(self._get_sync, key)
        return None if value is None else OAuthToken.from_storage(value)

    async def set(self, key: str, token: OAuthToken) -> None:
        await anyio.to_thread.run_sync(self._update_sync, key, token.to_storage())

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self._update_sync, key, None)

    def lock(self, key: str) -> AbstractAsyncContextManager[object]:
        return self._lock(key)

    @asynccontextmanager
    async def _lock(self, key: str) -> AsyncIterator[object]:
        # In-process first (POSIX record locks are per process, so tasks of one process
        # would not exclude each other), then across processes.
        async with self._locks.get(key):
            offset = zlib.crc32(key.encode()) % _LOCK_RANGE
            fd = self._refresh_fd_open()
            await anyio.to_thread.run_sync(fcntl.lockf, fd, fcntl.LOCK_EX, 1, offset)
            try:
                yield None
            finally:
                fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)

    def _refresh_fd_open(self) -> int:
        # Opened once and kept: closing any descriptor of the file would drop every
        # record lock this process holds on it.
        if self._refresh_fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._refresh_fd = os.open(self._refresh_lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._refresh_fd

    def __repr__(self) -> str:
        return f"FileSessionStore({str(self.path)!r})"

    def __del__(self) -> None:
        if self._refresh_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._refresh_fd)
