"""Run the Python code blocks of Markdown pages (README.md, the guides) against the emulator.

Each ```python block runs on its own, with a fresh emulator, in a namespace that holds the
names the prose assumes (`client_id`, `app_id`, `item_id`, `podio`, ...). `podiokit.Podio` is
swapped for a subclass that talks to that emulator (its transport and its API key), so a
block that imports `Podio` and builds its own client runs unchanged. A block that only makes
sense elsewhere is preceded by ``<!-- not run: reason -->`` and is skipped with that reason.
"""

from __future__ import annotations

import ast
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

import podiokit
from podiokit.testing import Emulator

_BLOCK = re.compile(
    r"(?:<!--\s*not run:\s*(?P<skip>.*?)\s*-->\s*\n)?^```python\n(?P<code>.*?)^```",
    re.S | re.M,
)

#: The emulator's demo apps: "Clients" (3001) and "Projects" (3002).
CLIENTS_APP, PROJECTS_APP = 3001, 3002
#: Redirect URIs the README uses for the OAuth flows.
REDIRECT_DOMAINS = ("myapp.example",)


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    code: str
    skip: str | None

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def is_pytest_file(self) -> bool:
        """A test module for the pytest plugin's fixtures: run by pytest itself."""
        return re.search(r"^(async )?def test_", self.code, re.M) is not None

    @property
    def is_script(self) -> bool:
        """A whole program (it runs its own event loop): run it outside any loop."""
        return "anyio.run(" in self.code or "asyncio.run(" in self.code

    def compile(self) -> CodeType:
        return compile(
            self.code, self.id, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
        )


def python_blocks(path: Path, root: Path | None = None) -> Iterator[Block]:
    """The page's ```python blocks, named by the page's path relative to `root` (its file
    name without one) and the line where the code starts."""
    text = path.read_text(encoding="utf-8")
    page = path.relative_to(root).as_posix() if root is not None else path.name
    for match in _BLOCK.finditer(text):
        line = text.count("\n", 0, match.start("code"))
        yield Block(page, line, match.group("code"), match.group("skip"))


def pages(root: Path) -> list[Path]:
    """The Markdown whose blocks are run: README.md and every page under docs/ but the
    generated API reference (signatures, not programs)."""
    docs = root / "docs"
    found = sorted(p for p in docs.rglob("*.md") if "reference" not in p.relative_to(docs).parts)
    return [root / "README.md", *found]


def emulator() -> Emulator:
    try:
        return Emulator(items=20, redirect_domains=("localhost", "*.test", *REDIRECT_DOMAINS))  # type: ignore[call-arg]
    except TypeError:  # an emulator without redirect-domain checks
        return Emulator(items=20)


def _bound(
    emu: Emulator,
    client_secret: str | None,
    kw: dict[str, Any],
    opened: list[httpx.AsyncClient] | None = None,
) -> tuple[str, str | None]:
    """Point a client's keyword arguments at `emu` (its URLs, and a transport to it unless
    one was given); returns `emu`'s API key, keeping "no secret" for the client-side flow."""
    creds = emu.credentials
    if "http_client" not in kw:
        transport = httpx.ASGITransport(app=emu.app)
        kw["http_client"] = httpx.AsyncClient(transport=transport, base_url=creds["api_url"])
        if opened is not None:
            opened.append(kw["http_client"])
    kw["api_url"] = creds["api_url"]
    kw["auth_url"] = creds["auth_url"]
    return creds["client_id"], creds["client_secret"] if client_secret is not None else None


def emulator_podio_class(emu: Emulator, opened: list[httpx.AsyncClient]) -> type[podiokit.Podio]:
    """`Podio`, bound to `emu`: whatever API key and URL a block passes, it talks to `emu`
    (unless the block passes its own `http_client`, e.g. to an emulator it made itself).
    The HTTP clients it makes are appended to `opened`, for the test to close."""

    class EmulatorPodio(podiokit.Podio):
        def __init__(self, client_id: str, client_secret: str | None = None, **kw: Any) -> None:
            if "http_client" not in kw:  # else the block wired its own transport
                client_id, client_secret = _bound(emu, client_secret, kw, opened)
            super().__init__(client_id, client_secret, **kw)

    EmulatorPodio.__name__ = EmulatorPodio.__qualname__ = "Podio"
    return EmulatorPodio


def emulator_sync_class(emu: Emulator) -> type[podiokit.SyncPodio]:
    """`SyncPodio`, bound to `emu` like `emulator_podio_class`. Its HTTP client lives on the
    sync client's own loop thread, where `close()` leaves it to the garbage collector."""

    class EmulatorSyncPodio(podiokit.SyncPodio):
        def __init__(self, client_id: str, client_secret: str | None = None, **kw: Any) -> None:
            client_id, client_secret = _bound(emu, client_secret, kw)
            super().__init__(client_id, client_secret, **kw)

    EmulatorSyncPodio.__name__ = EmulatorSyncPodio.__qualname__ = "SyncPodio"
    return EmulatorSyncPodio


async def _follow(emu: Emulator, url: str) -> str:
    """What a browser does with an authorize URL: the redirect Location it lands on."""
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport) as http:
        parts = urlsplit(url)
        response = await http.get(
            f"{emu.credentials['api_url']}{parts.path}", params=dict(parse_qsl(parts.query))
        )
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def namespace(emu: Emulator, podio_class: type[podiokit.Podio]) -> dict[str, Any]:
    """The names the pages' prose assumes, bound to `emu`'s demo data."""
    creds = emu.credentials
    apps = {a["app_id"]: a for a in creds["apps"]}
    redirect = "https://myapp.example/callback"
    probe = podio_class("x", "y")
    code_url = probe.authorization_url(redirect, state="csrf")
    code = dict(parse_qsl(urlsplit(await _follow(emu, code_url)).query))["code"]
    token_url = probe.authorization_url("https://myapp.example/cb", response_type="token")

    async def get_new_redirect_from_the_browser() -> str:
        return await _follow(emu, token_url)

    podio = podio_class(creds["client_id"], creds["client_secret"])
    await podio.authenticate_with_app(PROJECTS_APP, apps[PROJECTS_APP]["app_token"])
    page = await podio.items.filter(PROJECTS_APP, limit=1)
    client = next(f for f in page.items[0].fields if f.external_id == "client")
    await probe.aclose()
    return {
        "Podio": podio_class,
        "podio": podio,
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "username": creds["username"],
        "password": creds["password"],
        "email": creds["username"],
        "app_id": PROJECTS_APP,
        "app_token": apps[PROJECTS_APP]["app_token"],
        "clients_app_id": CLIENTS_APP,
        "clients_app_token": apps[CLIENTS_APP]["app_token"],
        "item_id": page.items[0].item_id,
        "client_item_id": client.values[0].value.item_id,  # a Clients item a project links to
        "csrf_state": "csrf",
        "secret_key": "a-long-random-secret-key-for-cookies",
        "code": code,
        "get_new_redirect_from_the_browser": get_new_redirect_from_the_browser,
        "emulator": emu,
        "consent_in_podio": lambda url: _follow(emu, url),
    }


class OtelStubs:
    """The observability guide's exporters, standing in for the real ones: the OTLP span and
    metric exporters and the Prometheus reader keep what they are given (nothing is sent),
    so a block's set-up runs as written and `check` sees what podiokit reported."""

    def __init__(self) -> None:
        from opentelemetry.sdk.metrics.export import (
            InMemoryMetricReader,
            MetricExporter,
            MetricExportResult,
        )
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        self.span_exporters: list[Any] = []
        self.metric_batches: list[list[Any]] = []
        self.readers: list[Any] = []
        stubs = self

        class OTLPSpanExporter(InMemorySpanExporter):
            def __init__(self, endpoint: str | None = None, **options: Any) -> None:
                super().__init__()
                stubs.span_exporters.append(self)

        class OTLPMetricExporter(MetricExporter):
            def __init__(self, endpoint: str | None = None, **options: Any) -> None:
                super().__init__()
                self.batches: list[Any] = []
                stubs.metric_batches.append(self.batches)

            def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kw: Any) -> Any:
                self.batches.append(metrics_data)
                return MetricExportResult.SUCCESS

            def force_flush(self, timeout_millis: float = 10_000) -> bool:
                return True

            def shutdown(self, timeout_millis: float = 30_000, **kw: Any) -> None:
                pass

        class PrometheusMetricReader(InMemoryMetricReader):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__()
                stubs.readers.append(self)

        class _Server:
            def shutdown(self) -> None:
                pass

        def start_http_server(port: int, addr: str = "0.0.0.0", **kw: Any) -> tuple[Any, Any]:
            return _Server(), None

        def module(name: str, **names: Any) -> ModuleType:
            made = ModuleType(name)
            made.__dict__.update(names)
            return made

        base = "opentelemetry.exporter.otlp.proto.http"
        self.modules = {
            f"{base}.trace_exporter": module(f"{base}.trace_exporter", OTLPSpanExporter=OTLPSpanExporter),
            f"{base}.metric_exporter": module(f"{base}.metric_exporter", OTLPMetricExporter=OTLPMetricExporter),
            "opentelemetry.exporter.prometheus": module(
                "opentelemetry.exporter.prometheus", PrometheusMetricReader=PrometheusMetricReader
            ),
            "prometheus_client": module("prometheus_client", start_http_server=start_http_server),
        }  # fmt: skip

    def check(self) -> None:
        """Every stand-in the block set up received podiokit's spans or metrics."""
        from opentelemetry import metrics, trace

        for provider in (trace.get_tracer_provider(), metrics.get_meter_provider()):
            flush = getattr(provider, "force_flush", None)
            if flush is not None:
                flush()
        for exporter in self.span_exporters:
            names = {s.name for s in exporter.get_finished_spans()}
            assert any(n.startswith("podio ") for n in names), names
        collected = [batch for batches in self.metric_batches for batch in batches]
        collected += [reader.get_metrics_data() for reader in self.readers]
        for data in collected:
            names = {
                m.name for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics
            }
            assert "podio.client.operation.duration" in names, names


@contextmanager
def otel_sandbox() -> Iterator[OtelStubs]:
    """Around a block: the exporters' stand-ins (`OtelStubs`), and afterwards OpenTelemetry's
    global providers shut down and unset, podiokit's instrumentation off and its logger as it
    was, so the next block starts clean."""
    import logging
    import sys

    from opentelemetry import metrics, trace
    from opentelemetry.metrics import _internal as metrics_internal
    from opentelemetry.util._once import Once

    from podiokit import _instrument

    stubs = OtelStubs()
    saved = {name: sys.modules.get(name) for name in stubs.modules}
    sys.modules.update(stubs.modules)
    logger = logging.getLogger("podiokit")
    handlers, level = list(logger.handlers), logger.level
    try:
        yield stubs
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        podiokit.uninstrument()
        _instrument._default = None
        for provider in (trace.get_tracer_provider(), metrics.get_meter_provider()):
            shutdown = getattr(provider, "shutdown", None)
            if shutdown is not None:
                shutdown()
        # Private, as OpenTelemetry's own test helpers do: a global provider is set once.
        trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
        trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]
        metrics_internal._METER_PROVIDER_SET_ONCE = Once()
        metrics_internal._METER_PROVIDER = None
        logger.handlers[:] = handlers
        logger.setLevel(level)


@contextmanager
def redis_server() -> Iterator[str | None]:
    """A throwaway redis-server on a free loopback port, its URL; None where none is
    installed (CI installs one)."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait()
