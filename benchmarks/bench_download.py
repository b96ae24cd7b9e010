"""Peak memory of `podio.files.download(file_id)` against the file's size.

A file of `--mb` MB is uploaded to the emulator served on a loopback port
(`Emulator().serve()`), then downloaded whole with `podio.files.download` (async) and with
`SyncPodio.files.download` (sync face, the emulator on its own loop thread). Reported for
each: the tracemalloc peak of the download alone (the emulator's copy of the file is stored
before tracing starts; the emulator shares the process and streams the body in chunks, so
its part of the peak is a chunk or two) divided by the file's size, and, on Linux, the
growth of the process's peak RSS (VmHWM, reset before the download through
/proc/self/clear_refs) divided by the size.

Usage: `python benchmarks/bench_download.py [--mb 64]`.
Target: peak/size at most 1.3 (about 1.0 plus a bounded chunk); exits 1 above it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import threading
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from podiokit import Podio
from podiokit.sync import SyncPodio
from podiokit.testing import Emulator

MB = 1024 * 1024
TARGET = 1.3


async def _source(total: int, chunk: int = MB) -> AsyncIterator[bytes]:
    block = bytes(range(256)) * (chunk // 256)
    sent = 0
    while sent < total:
        size = min(chunk, total - sent)
        yield block[:size]
        sent += size


def _hwm_kb() -> int | None:
    """The process's peak RSS (VmHWM) in KB, None where /proc has no status."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        return False
    return True


class _Peak:
    """Measures one download: its tracemalloc peak and its VmHWM growth (bytes)."""

    def __enter__(self) -> _Peak:
        gc.collect()
        self._before = _hwm_kb() if _reset_hwm() else None
        tracemalloc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        _, self.peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        after = _hwm_kb()
        self.rss = None if self._before is None or after is None else (after - self._before) * 1024


def _line(face: str, size: int, peak: int, rss: int | None) -> str:
    rss_text = "n/a" if rss is None else f"{rss / MB:6.1f} MB ({rss / size:.2f}x)"
    return (f"{face:6} peak (tracemalloc) {peak / MB:6.1f} MB = {peak / size:.2f}x the size; "
            f"peak RSS growth {rss_text}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64, help="file size in MB (default 64)")
    args = parser.parse_args()
    size = args.mb * MB
    emu = Emulator()
    ready = threading.Event()
    stop: asyncio.Event | None = None
    url: list[str] = []
    loop: asyncio.AbstractEventLoop | None = None

    async def serve() -> None:
        nonlocal stop, loop
        stop, loop = asyncio.Event(), asyncio.get_running_loop()
        async with emu.serve() as served:
            url.append(served)
            ready.set()
            await stop.wait()

    server = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    server.start()
    ready.wait()
    creds = emu.credentials
    options: dict[str, Any] = {"api_url": url[0], "auth_url": creds["auth_url"]}
    ratios = []

    async def run_async() -> int:
        async with Podio(creds["client_id"], creds["client_secret"], **options) as podio:
            await podio.authenticate_with_credentials(creds["username"], creds["password"])
            file_id = (await podio.files.upload(_source(size), "big.bin")).file_id
            await podio.files.download(file_id)  # warm-up: imports, pools
            with _Peak() as peak:
                data = await podio.files.download(file_id)
            assert len(data) == size, (len(data), size)
        del data
        ratios.append(peak.peak / size)
        print(_line("async", size, peak.peak, peak.rss))
        return file_id

    file_id = asyncio.run(run_async())
    with SyncPodio(creds["client_id"], creds["client_secret"], **options) as podio:
        podio.authenticate_with_credentials(creds["username"], creds["password"])
        podio.files.download(file_id)  # warm-up
        with _Peak() as peak:
            data = podio.files.download(file_id)
        assert len(data) == size, (len(data), size)
        del data
        ratios.append(peak.peak / size)
        print(_line("sync", size, peak.peak, peak.rss))
    assert stop is not None and loop is not None
    loop.call_soon_threadsafe(stop.set)
    server.join()
    worst = max(ratios)
    print(f"file {args.mb} MB; worst peak/size {worst:.2f}x (target <= {TARGET}x)")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
