"""How long `import podiokit` takes, against its unavoidable floor `import httpx, pydantic`.

    python benchmarks/bench_import.py [--runs 15]

Each statement runs in a fresh interpreter under `python -X importtime`; the import cost of a
run is the sum of the cumulative times of its top-level imports (what the statement itself
pulled in, without interpreter start-up). The median over the runs is reported, and the ratio
podiokit / (httpx + pydantic). Resource modules and models load on first use of
`podio.<area>`, so they are not part of `import podiokit`; the last line shows what loading
every area would add.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)")

BASELINE = "import httpx, pydantic"
PODIOKIT = "import podiokit"
ALL_AREAS = (
    "import podiokit, pkgutil, importlib, podiokit.resources as r; "
    "[importlib.import_module('podiokit.resources.' + m.name) for m in pkgutil.iter_modules(r.__path__)]"
)


def import_cost_us(statement: str) -> int:
    """Microseconds spent importing for `statement` in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
    )
    total = 0
    for line in proc.stderr.splitlines():
        match = _LINE.match(line)
        # Top-level imports have a single space before the name; nested ones are indented.
        if match and len(match.group(3)) == 1:
            total += int(match.group(2))
    return total


def median_ms(statement: str, runs: int) -> float:
    import_cost_us(statement)  # warm the file system cache and .pyc files
    return statistics.median(import_cost_us(statement) for _ in range(runs)) / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    base = median_ms(BASELINE, args.runs)
    kit = median_ms(PODIOKIT, args.runs)
    every = median_ms(ALL_AREAS, max(3, args.runs // 3))
    print(f"{BASELINE:<28} {base:8.1f} ms")
    print(f"{PODIOKIT:<28} {kit:8.1f} ms   ratio {kit / base:.2f}x")
    print(f"{'+ every resource module':<28} {every:8.1f} ms   ratio {every / base:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
