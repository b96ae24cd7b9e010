"""What OpenTelemetry instrumentation costs per call: off against the code before it, and on.

Variants:

* `baseline`: podiokit as it was before the instrumentation (`--baseline REV`, extracted with
  `git archive` into a temporary directory), in a process of its own;
* `off`: this checkout, instrumentation off (the default: what every user pays);
* `on`: this checkout after `podiokit.instrument(...)` with the OpenTelemetry SDK: a
  `TracerProvider` whose `BatchSpanProcessor` hands spans to an exporter that drops them
  (the SDK's own work, not a collector's) and a `MeterProvider` with an in-memory reader;
* `sampled`: `on`, with the SDK sampling one trace in ten (`ParentBased(TraceIdRatioBased(0.1))`,
  a common production setting; metrics are still recorded for every call);
* `api-only`: instrumented with OpenTelemetry's no-op providers (no SDK set up).

`off`, `on`, `sampled` and `api-only` run in one process, in interleaved blocks (the instrumentation
switched between blocks), so they are compared under the same load; the baseline process
alternates with that one. Each block makes `--calls` calls of `items.get` (a typed `Item`
of about 3.4 KB) or of `request("GET", ...)` (JSON only, the lightest call), with 1 caller or
64 concurrent callers, and takes the CPU time of the whole process per call (its threads
included: the span processor's too). A figure is the median over the blocks of all rounds.

The server is `_item_server.py` over loopback (pinned to CPU 1 when `taskset` exists, the
client to CPU 0), or with `--inprocess` a transport in the client's process that answers the
same bytes (no socket: the client's CPU alone, so the relative cost is the largest).

Usage: `python benchmarks/bench_otel.py [--calls 500] [--blocks 6] [--rounds 4] [--inprocess]
[--baseline REV]`. Targets: off within 2% of the baseline; on within 10% of off.

`--floor` measures the instrumentation alone instead, no request at all: podiokit opening and
ending one call's span and recording its duration (`_otel.Telemetry.start` and
`CallTrace.finish`) in a loop, with no-op providers (podiokit's own work) and with the SDK
(traces only, traces and metrics, one trace in ten sampled).
"""

from __future__ import annotations

import argparse
import json
import os
import random
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
VARIANTS = ("baseline", "off", "on", "sampled", "api-only")
CALLS = ("items.get", "request")
CALLERS = (1, 64)


# --- the worker (the baseline, or this checkout's three variants) --------------------------


def _in_process_transport() -> Any:
    import httpx

    sys.path.insert(0, str(HERE))
    from _item_server import BODY, HEADERS

    headers = [(k.decode(), v.decode()) for k, v in HEADERS]

    class Answer(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, headers=headers, content=BODY)

    return Answer()


def _switches() -> dict[str, Any]:
    """The instrumentation of each variant of this checkout (None: off). The benchmark flips
    `podiokit._instrument.active` between blocks, what `instrument()` sets."""
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    from opentelemetry.trace import NoOpTracerProvider

    import podiokit

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    def instrumented(sampler: Any = None) -> Any:
        tracer_provider = TracerProvider(sampler=sampler)
        tracer_provider.add_span_processor(BatchSpanProcessor(Drop()))
        meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        podiokit.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        return podiokit._instrument.active

    on = instrumented()
    sampled = instrumented(ParentBased(TraceIdRatioBased(0.1)))
    podiokit.instrument(tracer_provider=NoOpTracerProvider(), meter_provider=NoOpMeterProvider())
    api_only = podiokit._instrument.active
    podiokit.uninstrument()
    return {"off": None, "on": on, "sampled": sampled, "api-only": api_only}


async def _measure(variants: list[str], url: str | None, calls: int, blocks: int) -> Any:
    from datetime import datetime, timedelta, timezone

    import anyio

    import podiokit
    from podiokit import OAuthToken, Podio

    baseline = variants == ["baseline"]  # the old code has no switch to flip

    def switch(variant: str) -> None:
        if not baseline:
            podiokit._instrument.active = switches[variant]

    switches = {} if baseline else _switches()
    order = random.Random(len(variants))
    variants = list(variants)
    transport = _in_process_transport() if url is None else None
    api = url or "http://bench.invalid"
    results: dict[str, dict[str, list[float]]] = {v: {} for v in variants}
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
                key = f"{call} x{callers}"
                for variant in variants:  # warm: pool, caches, code paths, the SDK
                    switch(variant)
                    await drive(call, calls, callers)
                for _ in range(blocks):
                    order.shuffle(variants)  # no variant always follows the same one
                    for variant in variants:
                        switch(variant)
                        figure = await drive(call, calls, callers)
                        results[variant].setdefault(key, []).append(figure)
        if not baseline:
            podiokit.uninstrument()
    return results


def floor(calls: int) -> None:
    """The per-call cost of the instrumentation itself, without a request."""
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    from opentelemetry.trace import NoOpTracerProvider

    from podiokit import Podio
    from podiokit._otel import Telemetry
    from podiokit.resources.items import _OP_GET

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    def tracer_provider(sampler: Any = None) -> TracerProvider:
        provider = TracerProvider(sampler=sampler)
        provider.add_span_processor(BatchSpanProcessor(Drop()))
        return provider

    def meter_provider() -> MeterProvider:
        return MeterProvider(metric_readers=[InMemoryMetricReader()])

    podio = Podio("bench", "bench")
    pipeline = podio._pipeline
    setups = {
        "no-op providers (podiokit's own work)": (NoOpTracerProvider(), NoOpMeterProvider()),
        "SDK traces": (tracer_provider(), NoOpMeterProvider()),
        "SDK traces and metrics": (tracer_provider(), meter_provider()),
        "SDK, one trace in ten": (
            tracer_provider(ParentBased(TraceIdRatioBased(0.1))),
            meter_provider(),
        ),
    }
    print(f"CPU µs per call of the instrumentation alone ({calls} calls)")
    for name, (traces, metrics) in setups.items():
        telemetry = Telemetry(traces, metrics)

        def one(telemetry: Telemetry = telemetry) -> None:
            record = telemetry.start(pipeline, podio, "GET", "/item/1", _OP_GET)
            record.status = 200
            record.finish(None)

        for _ in range(calls // 10):
            one()
        cpu = time.process_time()
        for _ in range(calls):
            one()
        print(f"  {name:40} {(time.process_time() - cpu) / calls * 1e6:6.2f}")


def worker(variants: list[str], url: str | None, calls: int, blocks: int) -> None:
    import anyio

    print(json.dumps(anyio.run(_measure, variants, url, calls, blocks)))


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


def _run_worker(
    variants: list[str], src: Path, url: str | None, calls: int, blocks: int
) -> dict[str, dict[str, list[float]]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), str(REPO)]))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", ",".join(variants),
           "--calls", str(calls), "--blocks", str(blocks)] + (["--url", url] if url else [])  # fmt: skip
    out = subprocess.run(_pinned(cmd, 0), env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{variants} worker failed:\n{out.stderr[-3000:]}")
    result: dict[str, dict[str, list[float]]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=500, help="calls per block")
    parser.add_argument("--blocks", type=int, default=6, help="blocks per variant and round")
    parser.add_argument("--rounds", type=int, default=4, help="baseline/current process pairs")
    parser.add_argument("--inprocess", action="store_true", help="no socket: an in-process answer")
    parser.add_argument("--baseline", default=BEFORE_OTEL, metavar="REV",
                        help="the commit to compare `off` with (default: the one before issue 28)")  # fmt: skip
    parser.add_argument("--floor", action="store_true", help="the instrumentation alone")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker.split(","), args.url, args.calls, args.blocks)
        return 0
    if args.floor:
        floor(args.calls * 40)
        return 0
    server, url = (None, None) if args.inprocess else _start_server()
    figures: dict[str, dict[str, list[float]]] = {v: {} for v in VARIANTS}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            baseline_src = _baseline_source(args.baseline, Path(tmp))
            current = [v for v in VARIANTS if v != "baseline"]
            for _ in range(args.rounds):
                for variants, src in ((["baseline"], baseline_src), (current, REPO / "src")):
                    result = _run_worker(variants, src, url, args.calls, args.blocks)
                    for variant, per_key in result.items():
                        for key, values in per_key.items():
                            figures[variant].setdefault(key, []).extend(values)
    finally:
        if server is not None:
            server.terminate()
            server.wait()
    where = "in-process transport" if args.inprocess else "loopback server"
    print(f"CPU µs per call, {where}: median of {args.rounds} x {args.blocks} blocks of "
          f"{args.calls} calls")  # fmt: skip
    print(f"{'call':14} {'baseline':>8} {'off':>7} {'on':>7} {'sampled':>7} {'api-only':>8}"
          f" {'off/base':>8} {'on/off':>6} {'sampled/off':>11}  off p25-p75")  # fmt: skip
    ok = True
    for key in figures["off"]:
        med = {v: statistics.median(figures[v][key]) for v in VARIANTS}
        off, on = med["off"] / med["baseline"], med["on"] / med["off"]
        sampled = med["sampled"] / med["off"]
        ok = ok and off <= 1.02 and on <= 1.10
        low, _, high = statistics.quantiles(figures["off"][key], n=4)
        print(f"{key:14} {med['baseline']:8.1f} {med['off']:7.1f} {med['on']:7.1f} "
              f"{med['sampled']:7.1f} {med['api-only']:8.1f} {off:8.3f} {on:6.3f} "
              f"{sampled:11.3f}  {low:.0f}-{high:.0f}")  # fmt: skip
    print(f"targets (off/base <= 1.02, on/off <= 1.10): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
