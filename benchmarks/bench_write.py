"""The exporter's output file: writes that bypass the page cache (O_DIRECT, the default where
the file system allows it) against writes through it, side by side.

Each round writes the same export twice, once each way, in a shuffled order: `--pages`
500-item pages of the emulator's Projects app (about 6.6 MB each) as JSONL, through the
exporter's `Output` (checkpoint after every page, fsync and rename at the end), to a new
file beside `--dir` (default: the system's temporary directory). Before each write the
process sleeps `--idle` seconds: between two exports the page cache's freed memory goes back
to a virtual machine's host, and writing into fresh cache pages is what a buffered write
costs then.

Reported: CPU ms of the whole process (the background sync thread included) for the writes,
and wall ms up to the end of the commit; medians over the rounds.

Usage: `python benchmarks/bench_write.py [--pages 20] [--rounds 5] [--idle 5] [--dir DIR]`
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_body import _page

from podiokit._bulk._fetch import _decode
from podiokit.export import _output
from podiokit.export._checkpoint import Checkpoint
from podiokit.export._sinks import JsonlSink

PROJECTS = 3002


def _write(directory: Path, pages: list[Any], direct: bool) -> tuple[float, float]:
    out = directory / "export.jsonl"
    output = _output.Output(out, directory / "export.jsonl.part", directory / "export.ckpt")
    real_open = _output.DirectFile.open
    if not direct:
        _output.DirectFile.open = classmethod(lambda cls, *a: None)  # type: ignore[method-assign,assignment,unused-ignore]
    try:
        checkpoint = Checkpoint("jsonl", [PROJECTS], [])
        started, cpu = time.perf_counter(), time.process_time()
        output.create(checkpoint, b"")
        if direct and output._direct is None:
            raise SystemExit(f"{directory}: this file system refuses O_DIRECT")
        for chunks in pages:
            output.append(checkpoint, chunks)
        output.commit()
        spent = time.process_time() - cpu, time.perf_counter() - started
    finally:
        _output.DirectFile.open = real_open  # type: ignore[method-assign]
    out.unlink()
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds asleep before a write")
    parser.add_argument("--dir", type=Path, default=None, help="where to write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        directory = Path(tmp)
        body_path = directory / "page.json"
        _page(body_path)
        body = body_path.read_bytes()
        body_path.unlink()
        page = _decode(body, PROJECTS)
        sink = JsonlSink()
        pages = [sink.encode(PROJECTS, page.items, compact=True) for _ in range(args.pages)]
        size = sum(len(part) for part in pages[0]) * args.pages
        sides = {"O_DIRECT": True, "page cache": False}
        results: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
        rng = random.Random(5)
        for _ in range(args.rounds):
            order = list(sides)
            rng.shuffle(order)
            for side in order:
                time.sleep(args.idle)
                results[side].append(_write(directory, pages, sides[side]))
    print(f"{args.pages} pages, {size / 1e6:.0f} MB of JSONL, {args.rounds} rounds, "
          f"{args.idle:g} s idle before each write")  # fmt: skip
    print("| writes | CPU ms, median | wall ms to the renamed file, median |")
    print("|---|---|---|")
    for side, runs in results.items():
        cpu = statistics.median(r[0] for r in runs) * 1000
        wall = statistics.median(r[1] for r in runs) * 1000
        print(f"| {side} | {cpu:.0f} | {wall:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
