"""`--otel` for export and mirror: OpenTelemetry set up from the standard `OTEL_*` variables.

With `--otel`, or when `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER` or
`OTEL_EXPORTER_OTLP_ENDPOINT` is set, the command builds the SDK's providers, instruments
podiokit (`podiokit.instrument`), runs inside one span (`podiokit export`), and flushes
what is left when it ends. `OTEL_SDK_DISABLED=true` turns it off.

Exporters, as the SDK names them (a comma-separated list each):
`OTEL_TRACES_EXPORTER` = otlp (default) | console | none;
`OTEL_METRICS_EXPORTER` = otlp (default) | console | prometheus | none.
`otlp` speaks `OTEL_EXPORTER_OTLP_PROTOCOL` (http/protobuf by default, or grpc) to
`OTEL_EXPORTER_OTLP_ENDPOINT`; the exporters read their own variables (endpoint, headers,
timeout). `console` writes to stderr (stdout keeps the summary); `prometheus` serves
/metrics on `OTEL_EXPORTER_PROMETHEUS_HOST`:`OTEL_EXPORTER_PROMETHEUS_PORT` (localhost:9464)
while the command runs. The service name is `OTEL_SERVICE_NAME`, else "podiokit".

The SDK and exporters are the user's to install; a missing one is a one-line error naming
the package.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

from ._errors import CliError

__all__ = ["OTEL_HELP", "requested", "telemetry"]

OTEL_HELP = (
    "Send OpenTelemetry traces and metrics as the OTEL_* variables say (on by itself when an "
    "OTEL_*_EXPORTER or OTEL_EXPORTER_OTLP_ENDPOINT is set). Needs opentelemetry-sdk."
)
_TRIGGERS = ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT")
_SDK = "pip install 'podiokit[otel]' opentelemetry-sdk"


def requested(flag: bool, env: Mapping[str, str]) -> bool:
    """Whether this run is instrumented: `--otel`, or an `OTEL_*` exporter variable, and
    not `OTEL_SDK_DISABLED=true`."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return flag or any(env.get(name, "").strip() for name in _TRIGGERS)


def _names(env: Mapping[str, str], variable: str) -> list[str]:
    value = env.get(variable, "").strip().lower() or "otlp"
    names = [n.strip() for n in value.split(",") if n.strip()]
    return [n for n in names if n != "none"]


def _missing(what: str, package: str) -> CliError:
    return CliError(f"{what} needs {package}: pip install {package}", "usage")


def _load(module: str, name: str, what: str, package: str) -> Any:
    """`module.name` from an optional package; a one-line error naming it if missing."""
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:
        raise _missing(what, package) from None


def _otlp(signal: str, module: str, name: str, env: Mapping[str, str]) -> Any:
    """The OTLP exporter class of `signal` (TRACES, METRICS), for the protocol asked."""
    kind = "grpc" if _otlp_protocol(env, signal) == "grpc" else "http"
    return _load(
        f"opentelemetry.exporter.otlp.proto.{kind}.{module}",
        name,
        f"OTEL_{signal}_EXPORTER=otlp",
        f"opentelemetry-exporter-otlp-proto-{kind}",
    )


def _otlp_protocol(env: Mapping[str, str], signal: str) -> str:
    specific = env.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL", "").strip()
    protocol = specific or env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip() or "http/protobuf"
    if protocol not in ("http/protobuf", "grpc"):
        raise CliError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or grpc, not {protocol!r}",
            "usage",
        )
    return protocol


def _span_exporter(name: str, env: Mapping[str, str]) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=sys.stderr)
    if name != "otlp":
        raise CliError(f"OTEL_TRACES_EXPORTER: unknown exporter {name!r}", "usage")
    exporter = _otlp("TRACES", "trace_exporter", "OTLPSpanExporter", env)
    return exporter()


def _metric_reader(name: str, env: Mapping[str, str], cleanup: ExitStack) -> Any:
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    if name == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return PeriodicExportingMetricReader(ConsoleMetricExporter(out=sys.stderr))
    if name == "prometheus":
        package = "opentelemetry-exporter-prometheus"
        what = "OTEL_METRICS_EXPORTER=prometheus"
        reader = _load("opentelemetry.exporter.prometheus", "PrometheusMetricReader", what, package)
        start_http_server = _load("prometheus_client", "start_http_server", what, package)
        host = env.get("OTEL_EXPORTER_PROMETHEUS_HOST", "").strip() or "localhost"
        port = env.get("OTEL_EXPORTER_PROMETHEUS_PORT", "").strip() or "9464"
        try:
            server, _thread = start_http_server(int(port), addr=host)
        except ValueError:
            raise CliError(
                f"OTEL_EXPORTER_PROMETHEUS_PORT is not a port: {port!r}", "usage"
            ) from None
        cleanup.callback(server.shutdown)
        return reader()
    if name != "otlp":
        raise CliError(f"OTEL_METRICS_EXPORTER: unknown exporter {name!r}", "usage")
    exporter = _otlp("METRICS", "metric_exporter", "OTLPMetricExporter", env)
    return PeriodicExportingMetricReader(exporter())


@contextmanager
def telemetry(command: str, flag: bool, env: Mapping[str, str]) -> Iterator[None]:
    """Around one run of `command`: instrumented and inside its span when `requested`,
    else untouched. Raises `CliError` when the SDK or a named exporter is missing."""
    if not requested(flag, env):
        yield
        return
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise CliError(f"--otel needs the OpenTelemetry SDK: {_SDK}", "usage") from None
    import podiokit

    with ExitStack() as cleanup:
        # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES itself; the
        # attributes given here win over them, so the default name is given only without.
        named = env.get("OTEL_SERVICE_NAME", "").strip()
        resource = Resource.create({} if named else {"service.name": "podiokit"})
        tracer_provider = TracerProvider(resource=resource)
        for name in _names(env, "OTEL_TRACES_EXPORTER"):
            tracer_provider.add_span_processor(BatchSpanProcessor(_span_exporter(name, env)))
        readers = [_metric_reader(n, env, cleanup) for n in _names(env, "OTEL_METRICS_EXPORTER")]
        meter_provider = MeterProvider(resource=resource, metric_readers=readers)
        # Last in, first out: spans and metrics are flushed after the run's span ended.
        cleanup.callback(meter_provider.shutdown)
        cleanup.callback(tracer_provider.shutdown)
        cleanup.callback(podiokit.uninstrument)
        podiokit.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        tracer = tracer_provider.get_tracer("podiokit.cli", podiokit.__version__)
        with tracer.start_as_current_span(f"podiokit {command}"):
            yield
