"""What OpenTelemetry instrumentation costs per call: off against the code before it, and on.

Variants:

* `baseline`: podiokit as it was before the instrumentation (`--baseline REV`, extracted with
  `git archive` into a temporary directory), in a process of its own;
* `off`: this checkout, instrumentation off (the default: what every user pays);
* `on`: this checkout after `podiokit.instrument(...)` with the OpenTelemetry SDK set up as in
  production: a `TracerProvider` whose `BatchSpanProcessor` hands spans (on its own thread) to
  an exporter that drops them (the SDK's own work, not a collector's), and a `MeterProvider`
  whose `PeriodicExportingMetricReader` collects once a minute (never during a block);
* `sdk-floor`: instrumentation off, and around each call what any instrumentation of it must
  at least do with the same SDK set-up: `tracer.start_span(name, kind, attributes)` with
  podiokit's start attributes, `span.end()` and one `histogram.record` with podiokit's
  duration attributes (no context made current, no attribute added at the end). `on` against
  it is podiokit's own share; `sdk-floor` against `off` is what the SDK costs at the least;
* `sampled`: `on`, with the SDK sampling one trace in ten (`ParentBased(TraceIdRatioBased(0.1))`,
  a common production setting; metrics are still recorded for every call);
* `metrics`: `on` without traces (OpenTelemetry's no-op tracer provider, the SDK's meter
  provider): durations, retries and the rate budget, no spans;
* `api-only`: instrumented with OpenTelemetry's no-op providers (no SDK set up);
* `worst`: `on` with a `SimpleSpanProcessor` instead of the batching one: each span is
  exported on the call's path (here to an exporter that drops it; in-memory exporters in
  tests, or a console exporter, are set up like this). Not a production set-up.

All but `baseline` run in one process, in interleaved blocks (the instrumentation
switched between blocks), so they are compared under the same load; the baseline process
alternates with that one. Each block makes `--calls` calls of `items.get` (a typed `Item`
of about 3.4 KB) or of `request("GET", ...)` (JSON only, the lightest call), with 1 caller or
64 concurrent callers, and takes the CPU time of the whole process per call (its threads
included: the span processor's too; a block ends by exporting what the batching processor
still holds, so no block pays for another's spans). A figure is the median over the blocks
of all rounds; the spread of a ratio is the 25th to 75th percentile of its per-block ratios
(the variants of one block run back to back, so they share the machine's load).

The server is `_item_server.py` over loopback (pinned to CPU 1 when `taskset` exists, the
client to CPU 0), or with `--inprocess` a transport in the client's process that answers the
same bytes (no socket: the client's CPU alone, so the relative cost is the largest).

Usage: `python benchmarks/bench_otel.py [--calls 500] [--blocks 6] [--rounds 4] [--inprocess]
[--baseline REV]`. Targets: off within 2% of the baseline; on within 10% of off (which the
SDK alone may exceed: see `sdk-floor`).

`--floor` measures the instrumentation alone instead, no request at all: podiokit opening and
ending one call's span and recording its duration (`_otel.Telemetry.start` and
`CallTrace.finish`) in a loop, with no-op providers (podiokit's own work) and with the SDK
(traces only, traces and metrics, one trace in ten sampled), and the SDK alone (the
`sdk-floor` work: a bare span and one histogram record).
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
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: The last commit before issue 28's instrumentation: what "off" is compared with.
BEFORE_OTEL = "0567389"
VARIANTS = ("baseline", "off", "sdk-floor", "on", "sampled", "metrics", "api-only", "worst")
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


def _providers(sampler: Any = None, *, simple: bool = False) -> tuple[Any, Any]:
    """An SDK set up as in production (see the module's docstring): spans batched to an
    exporter that drops them, metrics collected once a minute. `simple`: each span exported
    on the call's path instead (the worst case)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        MetricExporter,
        MetricExportResult,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SimpleSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class DropSpans(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    class DropMetrics(MetricExporter):
        def export(self, metrics_data: Any, timeout_millis: float = 0, **kwargs: Any) -> Any:
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 0) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 0, **kwargs: Any) -> None:
            pass

    tracer_provider = TracerProvider(sampler=sampler)
    processor = SimpleSpanProcessor if simple else BatchSpanProcessor
    tracer_provider.add_span_processor(processor(DropSpans()))
    reader = PeriodicExportingMetricReader(DropMetrics(), export_interval_millis=60_000)
    return tracer_provider, MeterProvider(metric_readers=[reader])


class _Floor:
    """What any instrumentation of a call must at least do with the SDK: one span started
    with podiokit's start attributes and ended, one duration recorded with podiokit's
    duration attributes (both dicts built once). No context is made current."""

    def __init__(self, tracer_provider: Any, meter_provider: Any) -> None:
        from opentelemetry.trace import SpanKind

        from podiokit._otel import DURATION_BUCKETS

        self.kind = SpanKind.CLIENT
        self.tracer = tracer_provider.get_tracer("bench-floor")
        self.histogram = meter_provider.get_meter("bench-floor").create_histogram(
            "bench.floor.duration", unit="s", explicit_bucket_boundaries_advisory=DURATION_BUCKETS
        )
        self.spans: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {}
        for call, operation, area, template in (
            ("items.get", "items.get", "items", "/item/{item_id}"),
            ("request", "request", None, None),
        ):
            start: dict[str, Any] = {"http.request.method": "GET",
                                     "server.address": "api.podio.com", "server.port": 443,
                                     "podio.operation": operation, "podio.session": "default"}  # fmt: skip
            if area:
                start["podio.area"] = area
            if template:
                start["url.template"] = template
            measured = {"podio.operation": operation, "http.request.method": "GET",
                        "podio.session": "default", "http.response.status_code": 200}  # fmt: skip
            self.spans[call] = (f"podio {operation}", start, measured)

    def wrap(self, call: str, run: Any) -> Any:
        name, start, measured = self.spans[call]
        tracer, kind, histogram = self.tracer, self.kind, self.histogram
        clock = time.perf_counter

        async def floored(i: int) -> Any:
            began = clock()
            span = tracer.start_span(name, kind=kind, attributes=start)
            try:
                return await run(i)
            finally:
                span.end()
                histogram.record(clock() - began, measured)

        return floored


def _switches() -> tuple[dict[str, Any], _Floor, dict[str, Any]]:
    """The instrumentation of each variant of this checkout (None: off), the `sdk-floor`
    work, and each variant's span flush. The benchmark flips `podiokit._instrument.active`
    between blocks, what `instrument()` sets."""
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    from opentelemetry.trace import NoOpTracerProvider

    import podiokit

    def instrumented(providers: tuple[Any, Any]) -> Any:
        podiokit.instrument(tracer_provider=providers[0], meter_provider=providers[1])
        return podiokit._instrument.active

    production = _providers()
    one_in_ten = _providers(ParentBased(TraceIdRatioBased(0.1)))
    on = instrumented(production)
    sampled = instrumented(one_in_ten)
    worst = instrumented(_providers(simple=True))
    metrics = instrumented((NoOpTracerProvider(), production[1]))
    api_only = instrumented((NoOpTracerProvider(), NoOpMeterProvider()))
    podiokit.uninstrument()
    switches = {"off": None, "sdk-floor": None, "on": on, "sampled": sampled,
                "metrics": metrics, "api-only": api_only, "worst": worst}  # fmt: skip
    # A block ends by exporting what its batching processor still holds, inside the timing:
    # its processor's thread would otherwise do it during another variant's block.
    flushes = {"on": production[0].force_flush, "sdk-floor": production[0].force_flush,
               "sampled": one_in_ten[0].force_flush}  # fmt: skip
    return switches, _Floor(*production), flushes


async def _measure(variants: list[str], url: str | None, calls: int, blocks: int) -> Any:
    from datetime import datetime, timedelta, timezone

    import anyio

    import podiokit
    from podiokit import OAuthToken, Podio

    baseline = variants == ["baseline"]  # the old code has no switch to flip

    def switch(variant: str) -> None:
        if not baseline:
            podiokit._instrument.active = switches[variant]

    switches, floor, flushes = ({}, None, {}) if baseline else _switches()
    order = random.Random(len(variants))
    variants = list(variants)
    transport = _in_process_transport() if url is None else None
    api = url or "http://bench.invalid"
    results: dict[str, dict[str, list[float]]] = {v: {} for v in variants}
    async with Podio("bench", "bench", api_url=api, transport=transport) as podio:
        expires = datetime.now(timezone.utc) + timedelta(hours=8)
        await podio.set_token(OAuthToken(access_token="bench", expires_at=expires))

        async def get(i: int) -> Any:
            return await podio.items.get(i + 1)

        async def request(i: int) -> Any:
            return await podio.request("GET", f"/item/{i + 1}")

        async def plain(run: Any, i: int) -> Any:  # the same extra await as `_Floor.wrap`
            return await run(i)

        run = {"items.get": get, "request": request}
        floored = {call: floor.wrap(call, r) for call, r in run.items()} if floor else {}

        async def drive(variant: str, call: str, n: int, callers: int) -> float:
            numbers = iter(range(n))
            one = floored[call] if variant == "sdk-floor" else partial(plain, run[call])

            async def worker() -> None:
                for i in numbers:
                    await one(i)

            cpu = time.process_time()
            async with anyio.create_task_group() as tg:
                for _ in range(callers):
                    tg.start_soon(worker)
            flush = flushes.get(variant)
            if flush is not None:
                flush()
            return (time.process_time() - cpu) / n * 1e6

        for call in CALLS:
            for callers in CALLERS:
                key = f"{call} x{callers}"
                for variant in variants:  # warm: pool, caches, code paths, the SDK
                    switch(variant)
                    await drive(variant, call, calls, callers)
                for _ in range(blocks):
                    order.shuffle(variants)  # no variant always follows the same one
                    for variant in variants:
                        switch(variant)
                        figure = await drive(variant, call, calls, callers)
                        results[variant].setdefault(key, []).append(figure)
        if not baseline:
            podiokit.uninstrument()
    return results


def floor(calls: int) -> None:
    """The per-call cost of the instrumentation itself, without a request."""
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    from opentelemetry.trace import NoOpTracerProvider

    from podiokit import Podio
    from podiokit._otel import Telemetry
    from podiokit.resources.items import _OP_GET

    podio = Podio("bench", "bench")
    pipeline = podio._pipeline
    traces, metrics = _providers()
    setups = {
        "no-op providers (podiokit's own work)": (NoOpTracerProvider(), NoOpMeterProvider()),
        "SDK traces": (traces, NoOpMeterProvider()),
        "SDK traces and metrics": (traces, metrics),
        "SDK, one trace in ten": _providers(ParentBased(TraceIdRatioBased(0.1))),
    }

    def measure(name: str, one: Any) -> None:
        for _ in range(calls // 10):
            one()
        cpu = time.process_time()
        for _ in range(calls):
            one()
        print(f"  {name:40} {(time.process_time() - cpu) / calls * 1e6:6.2f}")

    print(f"CPU µs per call of the instrumentation alone ({calls} calls)")
    for name, (tracer_provider, meter_provider) in setups.items():
        telemetry = Telemetry(tracer_provider, meter_provider)

        def one(telemetry: Telemetry = telemetry) -> None:
            record = telemetry.start(pipeline, podio, "GET", "/item/1", _OP_GET)
            record.status = 200
            record.finish(None)

        measure(name, one)
    bare = _Floor(traces, metrics)
    name, start, measured = bare.spans["items.get"]

    def sdk_alone() -> None:
        began = time.perf_counter()
        bare.tracer.start_span(name, kind=bare.kind, attributes=start).end()
        bare.histogram.record(time.perf_counter() - began, measured)

    measure("SDK alone: bare span and histogram", sdk_alone)


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
    report(figures, where, f"median of {args.rounds} x {args.blocks} blocks of {args.calls} calls")
    return 0 if met(figures) else 1


def _ratios(figures: dict[str, dict[str, list[float]]], top: str, bottom: str, key: str) -> str:
    """The median ratio `top`/`bottom`, and the 25th-75th percentile of its per-block ratios
    (blocks of the same index ran back to back in one process)."""
    per_block = [a / b for a, b in zip(figures[top][key], figures[bottom][key], strict=False)]
    low, _, high = statistics.quantiles(per_block, n=4)
    ratio = statistics.median(figures[top][key]) / statistics.median(figures[bottom][key])
    return f"{ratio:.3f} ({low:.2f}-{high:.2f})"


def met(figures: dict[str, dict[str, list[float]]]) -> bool:
    ok = True
    for key in figures["off"]:
        med = {v: statistics.median(figures[v][key]) for v in VARIANTS}
        ok = ok and med["off"] / med["baseline"] <= 1.02 and med["on"] / med["off"] <= 1.10
    return ok


def report(figures: dict[str, dict[str, list[float]]], where: str, how: str) -> None:
    print(f"CPU µs per call, {where}: {how}")
    print(f"{'call':14} " + " ".join(f"{v:>9}" for v in VARIANTS))
    for key in figures["off"]:
        med = {v: statistics.median(figures[v][key]) for v in VARIANTS}
        print(f"{key:14} " + " ".join(f"{med[v]:9.1f}" for v in VARIANTS))
    print("ratios: median (p25-p75 of the per-block ratios)")
    pairs = (("off", "baseline"), ("on", "off"), ("sdk-floor", "off"), ("on", "sdk-floor"),
             ("sampled", "off"), ("metrics", "off"), ("api-only", "off"),
             ("worst", "off"))  # fmt: skip
    for key in figures["off"]:
        cells = []
        for top, bottom in pairs:
            if bottom == "baseline":  # another process: no per-block pairing
                ratio = statistics.median(figures[top][key]) / statistics.median(
                    figures[bottom][key]
                )
                cells.append(f"{top}/{bottom} {ratio:.3f}")
            else:
                cells.append(f"{top}/{bottom} {_ratios(figures, top, bottom, key)}")
        added = {v: statistics.median(figures[v][key]) - statistics.median(figures["off"][key])
                 for v in ("on", "sdk-floor")}  # fmt: skip
        print(f"{key:14} " + "  ".join(cells))
        print(f"{'':14} added per call: on {added['on']:+.1f} µs, sdk-floor "
              f"{added['sdk-floor']:+.1f} µs (podiokit's own share {added['on'] - added['sdk-floor']:+.1f} µs)")  # fmt: skip
    ok = met(figures)
    floor_ok = all(
        statistics.median(figures["sdk-floor"][k]) / statistics.median(figures["off"][k]) <= 1.10
        for k in figures["off"]
    )
    print(
        f"targets (off/base <= 1.02, on/off <= 1.10): {'met' if ok else 'NOT met'}; "
        f"the SDK's floor alone (sdk-floor/off <= 1.10): {'within' if floor_ok else 'ABOVE'}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
