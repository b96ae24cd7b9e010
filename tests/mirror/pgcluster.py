"""A throwaway PostgreSQL cluster for the mirror's tests, the `postgres` extra's smoke check
and the benchmark: initdb into a tmp dir, the server on a free loopback port with trust auth,
everything removed afterwards. As root it runs as the `postgres` user (PostgreSQL refuses
root), in a directory that user can reach: never under the checkout, whose parents may be
closed to it (a clone in root's 0700 home; nox points TMPDIR into the checkout)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["find_bindir", "throwaway_postgres"]

PG_BIN_DIRS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/bin")


def find_bindir() -> Path | None:
    """The directory holding initdb and postgres (the newest of Debian's versioned ones)."""
    found = shutil.which("initdb")
    if found and (Path(found).resolve().parent / "postgres").exists():
        return Path(found).resolve().parent
    for pattern in PG_BIN_DIRS:
        for candidate in sorted(glob.glob(pattern), reverse=True):
            if (Path(candidate) / "initdb").exists() and (Path(candidate) / "postgres").exists():
                return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user() -> tuple[list[str], str | None]:
    """PostgreSQL refuses to run as root: as root, run it as `postgres` (or `nobody`)."""
    if os.geteuid() != 0:
        return [], None
    runuser = shutil.which("runuser")
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        if runuser:
            return [runuser, "-u", user, "--"], user
    raise RuntimeError("running as root with no `postgres` user and no runuser to switch to it")


def _cluster_parent(prefix: list[str]) -> str:
    """Where the cluster's directory goes: the temp dir, unless the server runs as another
    user who cannot reach it; then the first of /tmp, /var/tmp, /dev/shm that user can."""
    tmp = tempfile.gettempdir()
    if not prefix:
        return tmp  # the server runs as us
    for candidate in dict.fromkeys((tmp, "/tmp", "/var/tmp", "/dev/shm")):
        # `test -x` as the server's user: false when any parent is closed to it.
        reached = subprocess.run([*prefix, "test", "-d", candidate, "-a", "-x", candidate],
                                 cwd="/", check=False, capture_output=True)  # fmt: skip
        if reached.returncode == 0:
            return candidate
    raise RuntimeError(f"no temporary directory the PostgreSQL server's user can reach ({tmp})")


@contextmanager
def throwaway_postgres(bindir: Path, *, durable: bool = False) -> Iterator[str]:
    """A throwaway PostgreSQL cluster: its URL to the `postgres` database (user `mirror`, no
    password, trust auth on 127.0.0.1 only). Not `durable` (the tests): no fsync."""
    prefix, user = _as_server_user()
    base = Path(tempfile.mkdtemp(prefix="podiokit-pg-", dir=_cluster_parent(prefix)))
    data, sockets = base / "data", base / "sock"
    proc: subprocess.Popen[bytes] | None = None
    log = open(base / "server.log", "wb")  # noqa: SIM115 (closed in finally)
    try:
        sockets.mkdir()
        if user is not None:
            shutil.chown(base, user)
            shutil.chown(sockets, user)
        # Run from the cluster's directory: initdb and postgres look at their working
        # directory, which the server's user may not be able to enter (the checkout).
        made = subprocess.run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "mirror", "-A", "trust",
             "-E", "UTF8", "--no-locale", "--no-sync"],
            cwd=base, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed: {made.stderr.decode(errors='replace')[-2000:]}")
        port = _free_port()
        fast = (
            [] if durable else ["-F", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        )
        proc = subprocess.Popen(
            [*prefix, str(bindir / "postgres"), "-D", str(data), "-p", str(port),
             "-h", "127.0.0.1", "-k", str(sockets), *fast],
            cwd=base, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"postgresql://mirror@127.0.0.1:{port}/postgres"
        _wait_until_ready(url, proc, base / "server.log")
        yield url
    finally:
        if proc is not None:
            proc.terminate()  # runuser passes SIGTERM on to the server: a smart shutdown
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def _wait_until_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until a connection succeeds (the server accepts TCP before it can serve)."""
    import psycopg

    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not start: " + log.read_text()[-2000:]) from None
            time.sleep(0.1)
