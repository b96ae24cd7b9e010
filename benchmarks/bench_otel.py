"""What OpenTelemetry instrumentation costs per call: off against the code before it, and on.

Variants, each in a process of its own (so the baseline imports its own source):

* `baseline`: podiokit as it was before the instrumentation (`--baseline REV`, extracted with
  `git archive` into a temporary directory);
* `off`: this checkout, instrumentation off (the default: what every user pays);
* `on`: this checkout after `podiokit.instrument(...)` with the OpenTelemetry SDK: a
  `TracerProvider` whose `BatchSpanProcessor` hands spans to an exporter that drops them
  (the SDK's own work, not a collector's) and a `MeterProvider` with an in-memory reader;
* `api-only`: `podiokit.instrument()` with no SDK configured (OpenTelemetry's no-op
  providers): what turning it on costs before an SDK is set up.

Each process warms up, then makes `--calls` calls of `items.get` (a typed `Item` of about
3.4 KB) and of `request("GET", ...)` (JSON only, the lightest call), with 1 caller and with 64
concurrent callers, and reports the CPU time of the whole process per call (its threads
included: the span processor's too). Rounds interleave the variants so load from elsewhere
falls on all of them alike; the figures are medians over `--rounds`.

The server is `_item_server.py` over loopback (pinned to CPU 1 when `taskset` exists, the
client to CPU 0), or with `--inprocess` a transport in the client's process that answers the
same bytes (no socket: the client's CPU alone, so the relative cost is the largest).

Usage: `python benchmarks/bench_otel.py [--calls 2000] [--rounds 5] [--inprocess]
[--baseline REV]`. Targets: off within 2% of the baseline; on within 10% of off.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: The last commit before issue 28's instrumentation: what "off" is compared with.
BEFORE_OTEL = "0567389"
VARIANTS = ("baseline", "off", "on", "api-only")
CALLS = ("items.get", "request")
CALLERS = (1, 64)


# --- the worker (one variant, in its own process) -----------------------------------------


def _in_process_transport() -> Any:
    import httpx

    sys.path.insert(0, str(HERE))
    from _item_server import BODY, HEADERS

    headers = [(k.decode(), v.decode()) for k, v in HEADERS]

    class Answer(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, headers=headers, content=BODY)

    return Answer()


def _instrument(variant: str) -> None:
    import podiokit

    if variant == "api-only":
        podiokit.instrument()
        return
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(Drop()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    podiokit.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)


async def _measure(url: str | None, calls: int) -> dict[str, float]:
    from datetime import datetime, timedelta, timezone

    import anyio

    from podiokit import OAuthToken, Podio

    transport = _in_process_transport() if url is None else None
    api = url or "http://bench.invalid"
    results: dict[str, float] = {}
    async with Podio("bench", "bench", api_url=api, transport=transport) as podio:
        expires = datetime.now(timezone.utc) + timedelta(hours=8)
        await podio.set_token(OAuthToken(access_token="bench", expires_at=expires))
        run = {
            "items.get": lambda i: podio.items.get(i + 1),
            "request": lambda i: podio.request("GET", f"/item/{i + 1}"),
        }

        async def drive(call: str, n: int, callers: int) -> float:
            numbers = iter(range(n))

            async def worker() -> None:
                for i in numbers:
                    await run[call](i)

            cpu = time.process_time()
            async with anyio.create_task_group() as tg:
                for _ in range(callers):
                    tg.start_soon(worker)
            return (time.process_time() - cpu) / n * 1e6

        for call in CALLS:
            for callers in CALLERS:
                await drive(call, max(calls // 5, 200), callers)  # warm: pool, caches, code
                results[f"{call} x{callers}"] = await drive(call, calls, callers)
    return results


def worker(variant: str, url: str | None, calls: int) -> None:
    import anyio

    if variant in ("on", "api-only"):
        _instrument(variant)
    print(json.dumps(anyio.run(_measure, url, calls)))


# --- the driver ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pinned(cmd: list[str], cpu: int) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(cpu), *cmd]
    return cmd


def _start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(_pinned([sys.executable, str(HERE / "_item_server.py"), str(port)], 1))
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("benchmark server did not start")


def _baseline_source(rev: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def _run_worker(variant: str, src: Path, url: str | None, calls: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), str(REPO)]))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", variant,
           "--calls", str(calls)] + (["--url", url] if url else [])  # fmt: skip
    out = subprocess.run(_pinned(cmd, 0), env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{variant} worker failed:\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000, help="measured calls per figure")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--inprocess", action="store_true", help="no socket: an in-process answer")
    parser.add_argument("--baseline", default=BEFORE_OTEL, metavar="REV",
                        help="the commit to compare `off` with (default: the one before issue 28)")  # fmt: skip
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.url, args.calls)
        return 0
    server, url = (None, None) if args.inprocess else _start_server()
    runs: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sources = {v: REPO / "src" for v in VARIANTS}
            sources["baseline"] = _baseline_source(args.baseline, Path(tmp))
            for _ in range(args.rounds):
                for variant in VARIANTS:
                    runs[variant].append(_run_worker(variant, sources[variant], url, args.calls))
    finally:
        if server is not None:
            server.terminate()
            server.wait()
    where = "in-process transport" if args.inprocess else "loopback server"
    print(f"CPU µs per call, {where}, median of {args.rounds} rounds of {args.calls} calls")
    print(f"{'call':16} {'baseline':>9} {'off':>9} {'on':>9} {'api-only':>9}"
          f" {'off/base':>9} {'on/off':>8}")  # fmt: skip
    ok = True
    for key in runs["off"][0]:
        med = {v: statistics.median(r[key] for r in runs[v]) for v in VARIANTS}
        off, on = med["off"] / med["baseline"], med["on"] / med["off"]
        ok = ok and off <= 1.02 and on <= 1.10
        print(f"{key:16} {med['baseline']:9.1f} {med['off']:9.1f} {med['on']:9.1f} "
              f"{med['api-only']:9.1f} {off:9.3f} {on:8.3f}")  # fmt: skip
    print(f"targets (off/base <= 1.02, on/off <= 1.10): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
