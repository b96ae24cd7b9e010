"""How long `import podiokit` takes, against its unavoidable floor `import httpx, pydantic`.

    python benchmarks/bench_import.py [--runs 15]

Each statement runs in a fresh interpreter under `python -X importtime`; the import cost of a
run is the sum of the cumulative times of its top-level imports (what the statement itself
pulled in, without interpreter start-up). Runs are interleaved; the median and the minimum
over the runs are reported, with the ratio podiokit / (httpx + pydantic). Resource modules and models load on first use of
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


def measure(statements: list[str], runs: int) -> list[list[float]]:
    """Milliseconds per run for each statement, runs interleaved so that load on the machine
    hits every statement alike."""
    for statement in statements:
        import_cost_us(statement)  # warm the file system cache and .pyc files
    samples: list[list[float]] = [[] for _ in statements]
    for _ in range(runs):
        for i, statement in enumerate(statements):
            samples[i].append(import_cost_us(statement) / 1000)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    base, kit, every = measure([BASELINE, PODIOKIT, ALL_AREAS], args.runs)
    b_med, b_min = statistics.median(base), min(base)
    print(f"{'':<28} {'median':>8} {'min':>8}   ratio (median, min)")
    for label, values in ((BASELINE, base), (PODIOKIT, kit), ("+ every resource module", every)):
        med, low = statistics.median(values), min(values)
        print(f"{label:<28} {med:6.1f}ms {low:6.1f}ms   {med / b_med:.2f}x {low / b_min:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
