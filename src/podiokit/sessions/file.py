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
from typing import TYPE_CHECKING, Any, NoReturn

import anyio
import anyio.to_thread

from ..errors import SessionStoreError
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

    `path` is a file (`~` is expanded); its directory is created if missing. Every write is
    read-modify-write under an exclusive `flock`, written to a temporary file and moved over
    the old file with `os.replace`, so a reader never sees a half-written file (reads take no
    lock and create nothing: a token file in a read-only directory can be read) and two
    processes never drop each other's keys. `lock(key)` holds a per-key lock that is exclusive
    across processes too, so a refresh happens once.

    A new file gets mode 0600. The store never changes the mode of a file it did not create
    (a rewrite keeps it) and warns once if others can read it. A file without write
    permission is never replaced: writing (and refreshing, whose result must be saved)
    raises `SessionStoreError`, as does a corrupt file or token, naming the file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        if self.path.is_dir():
            raise SessionStoreError(
                f"session file {self.path} is a directory; give the path of a file, "
                f"e.g. {self.path / 'podio-tokens.json'}",
                location=str(self.path),
            )
        self._write_lock_path = self.path.with_name(self.path.name + ".lock")
        self._refresh_lock_path = self.path.with_name(self.path.name + ".refresh.lock")
        self._locks = KeyedLocks()
        self._refresh_fd: int | None = None
        self._warned_mode = False

    # -- reading and writing -------------------------------------------------------------

    def _fail(self, problem: str) -> NoReturn:
        raise SessionStoreError(f"session file {self.path} {problem}", location=str(self.path))

    def _read_all(self) -> dict[str, Any]:
        try:
            with open(self.path, "rb") as fh:
                mode = os.fstat(fh.fileno()).st_mode
                raw = fh.read()
        except FileNotFoundError:
            return {}
        except IsADirectoryError:
            self._fail("is a directory; give the path of a file")
        except OSError as exc:
            self._fail(f"cannot be read: {exc.strerror or type(exc).__name__}")
        self._warn_if_shared(mode)
        if not raw.strip():
            return {}
        where = None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            where = f" (line {exc.lineno}, column {exc.colno})"
        except ValueError:  # not UTF-8
            where = ""
        if where is not None:
            # Raised outside the except: neither the text nor the JSONDecodeError (its .doc
            # is the whole file) goes out with it, for the file holds tokens.
            self._fail(f"is not valid JSON{where}; fix it or delete it to start afresh")
        if not isinstance(data, dict):
            self._fail(f"holds a JSON {type(data).__name__}, not an object of session keys")
        return data

    def _warn_if_shared(self, mode: int) -> None:
        if mode & (stat.S_IRWXG | stat.S_IRWXO) and not self._warned_mode:
            self._warned_mode = True
            logger.warning(
                "session file %s can be read by other users (mode %o); podiokit leaves the "
                "mode of a file it did not create alone: chmod 600 it if only you should read "
                "the tokens",
                self.path,
                stat.S_IMODE(mode),
            )

    def _check_writable(self) -> os.stat_result | None:
        """The file's stat (None if it does not exist yet), after making sure a write can
        succeed: never replace a file the user made read-only, even as root."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            st = None
        except OSError as exc:
            self._fail(f"cannot be read: {exc.strerror or type(exc).__name__}")
        if st is not None:
            if stat.S_ISDIR(st.st_mode):
                self._fail("is a directory; give the path of a file")
            # No write bit at all means read-only by intent, even for root (whom os.access
            # lets write anything).
            no_write_bits = not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
            if no_write_bits or not os.access(self.path, os.W_OK):
                self._fail(
                    f"is read-only (mode {stat.S_IMODE(st.st_mode):o}): tokens can be read "
                    "from it but not saved; make it writable or use another path"
                )
        parent = self.path.parent
        if parent.is_dir() and not os.access(parent, os.W_OK):
            self._fail(
                f"is in a directory podiokit cannot write ({parent}): tokens can be read "
                "from it but not saved"
            )
        return st

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._write_lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            self._fail(f"cannot be locked for writing: {exc.strerror or type(exc).__name__}")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _write_all(self, data: dict[str, Any], mode: int) -> None:
        try:
            fd, tmp = tempfile.mkstemp(
                dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
            )
        except OSError as exc:
            self._fail(f"cannot be written: {exc.strerror or type(exc).__name__}")
        try:
            os.fchmod(fd, mode)  # our temporary file: 0600, or the mode the user gave theirs
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
        value = self._read_all().get(key)
        if value is not None and not isinstance(value, dict):
            self._fail(f"holds a {type(value).__name__} for session {key!r}, not a token object")
        return value

    def _update_sync(self, key: str, value: dict[str, Any] | None) -> None:
        self._check_writable()
        with self._exclusive():
            data = self._read_all()
            if value is None:
                if key not in data:
                    return
                data.pop(key)
            else:
                data[key] = value
            st = self._check_writable()  # again under the lock: the file may be new
            self._write_all(data, stat.S_IMODE(st.st_mode) if st is not None else 0o600)

    # -- SessionStore --------------------------------------------------------------------

    async def get(self, key: str) -> OAuthToken | None:
        from ..auth import OAuthToken

        value = await anyio.to_thread.run_sync(self._get_sync, key)
        if value is None:
            return None
        try:
            return OAuthToken.from_storage(value)
        except ValueError as exc:
            self._fail(f"holds a bad token for session {key!r}: {exc}")

    async def set(self, key: str, token: OAuthToken) -> None:
        await anyio.to_thread.run_sync(self._update_sync, key, token.to_storage())

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self._update_sync, key, None)

    def lock(self, key: str) -> AbstractAsyncContextManager[object]:
        return self._lock(key)

    @asynccontextmanager
    async def _lock(self, key: str) -> AsyncIterator[object]:
        # The lock guards a refresh, whose new token must be saved: if it cannot be, fail
        # here, before Podio rotates the pair and the new one is lost.
        await anyio.to_thread.run_sync(self._check_writable)
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
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._refresh_fd = os.open(self._refresh_lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                self._fail(f"cannot be locked for a refresh: {exc.strerror or type(exc).__name__}")
        return self._refresh_fd

    def __repr__(self) -> str:
        return f"FileSessionStore({str(self.path)!r})"

    def __del__(self) -> None:
        if getattr(self, "_refresh_fd", None) is not None:
            with contextlib.suppress(OSError):
                os.close(self._refresh_fd)  # type: ignore[arg-type]
