"""`podiokit export --otel` and `podiokit mirror --otel`: spans and metrics set up from the
OTEL_* variables, one line when the SDK or an exporter is missing."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest

import podiokit._instrument
from podiokit.cli import main
from podiokit.cli._otel import requested
from podiokit.testing import Emulator

PROJECTS = 3002
OTEL = ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_PROTOCOL")  # fmt: skip


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Emulator]:
    """An emulator on a loopback port, PODIO_* pointing at it, no OTEL_* set."""
    emu = Emulator(items=40)
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(emu.serve()) as url,
    ):
        creds = emu.credentials
        for name in ("PODIO_USERNAME", "PODIO_PASSWORD", *OTEL):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("PODIO_CLIENT_ID", creds["client_id"])
        monkeypatch.setenv("PODIO_CLIENT_SECRET", creds["client_secret"])
        monkeypatch.setenv("PODIO_API_URL", url)
        monkeypatch.setenv("PODIO_SESSION_FILE", str(tmp_path / "no-session.json"))
        tokens = {a["app_id"]: a["app_token"] for a in creds["apps"]}
        monkeypatch.setenv("PODIO_APP_TOKEN", tokens[PROJECTS])
        yield emu


def _console_output(text: str) -> tuple[list[dict[str, Any]], set[str]]:
    """The spans (JSON objects with a `name` and `context`) and the metric names that the
    console exporters wrote among the lines of `text`."""
    decoder = json.JSONDecoder()
    spans: list[dict[str, Any]] = []
    metrics: set[str] = set()
    index = 0
    while (start := text.find("{", index)) != -1:
        try:
            obj, index = decoder.raw_decode(text, start)
        except ValueError:
            index = start + 1
            continue
        if "context" in obj and "name" in obj:
            spans.append(obj)
        for resource in obj.get("resource_metrics", []):
            for scope in resource["scope_metrics"]:
                metrics |= {m["name"] for m in scope["metrics"]}
    return spans, metrics


def test_export_with_otel_sends_one_trace_and_the_metrics(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "console")
    out = tmp_path / "out.jsonl"
    code = main(["export", str(PROJECTS), "--out", str(out), "--otel"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.startswith("exported 40 items")  # stdout keeps the summary alone
    spans, metrics = _console_output(captured.err)
    names = [s["name"] for s in spans]
    assert "podiokit export" in names and "podio export" in names
    assert "podio items.filter" in names and "podio authenticate" in names
    (command,) = [s for s in spans if s["name"] == "podiokit export"]
    trace_id = command["context"]["trace_id"]
    assert all(s["context"]["trace_id"] == trace_id for s in spans)  # one trace
    assert spans[0]["resource"]["attributes"]["service.name"] == "podiokit"
    assert {
        "podio.export.items",
        "podio.export.pages",
        "podio.client.operation.duration",
    } <= metrics
    assert podiokit._instrument.active is None  # turned off again after the run


def test_mirror_takes_otel_from_the_environment(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "nightly-mirror")
    db = f"sqlite:///{tmp_path / 'm.db'}"
    code = main(["mirror", str(PROJECTS), "--db", db])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    spans, metrics = _console_output(captured.err)
    assert {"podiokit mirror", "podio mirror", "podio items.filter"} <= {s["name"] for s in spans}
    assert spans[0]["resource"]["attributes"]["service.name"] == "nightly-mirror"
    assert metrics == set()


def test_without_the_sdk_the_error_says_what_to_install(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)  # import fails
    code = main(["export", str(PROJECTS), "--out", str(tmp_path / "o.jsonl"), "--otel"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == (
        "podiokit export: --otel needs the OpenTelemetry SDK: "
        "pip install 'podiokit[otel]' opentelemetry-sdk"
    )
    assert not (tmp_path / "o.jsonl").exists()


def test_a_missing_exporter_is_named(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    code = main(["export", str(PROJECTS), "--out", str(tmp_path / "o.jsonl")])
    err = capsys.readouterr().err
    assert code == 2
    assert "OTEL_TRACES_EXPORTER=otlp needs opentelemetry-exporter-otlp-proto-http" in err


def test_what_turns_it_on() -> None:
    assert not requested(False, {})
    assert requested(True, {})
    assert requested(False, {"OTEL_TRACES_EXPORTER": "console"})
    assert requested(False, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert not requested(True, {"OTEL_SDK_DISABLED": "true"})
    assert not requested(False, {"OTEL_SERVICE_NAME": "x"})  # naming a service is not asking


def test_the_help_names_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("export", "mirror"):
        assert main([command, "--help"]) == 0
        assert "--otel" in capsys.readouterr().out
