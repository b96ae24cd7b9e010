"""`podiokit doctor` (issue 24 #9): against the emulator in each quirk mode the report says
what differs (text and --json), states the calls the emulator counted, and never shows a
token or secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio.from_thread
import httpx
import pytest

from podiokit.cli import doctor
from podiokit.testing import Emulator

from .test_cli import run

QUIRKS: list[tuple[dict[str, Any], dict[str, str], str]] = [
    # (quirks, the status of each check that differs, the strategy)
    ({}, {}, "ranges"),
    ({"range_filter": "ignored"}, {"range_filter": "differs", "strategy": "differs"}, "offset"),
    ({"range_filter": "ignore_to"}, {"range_filter": "differs", "strategy": "differs"}, "offset"),
    ({"micro_view": "ignored"}, {"micro_view": "differs"}, "ranges"),
    ({"file_redirect": "cross_origin"}, {"file_link": "differs"}, "ranges"),
    ({"file_redirect": "broken"}, {"file_link": "differs"}, "ranges"),
    ({"budget_swap": "POST /item/app/{app_id}/filter/"}, {"rate_limits": "differs"}, "ranges"),
]
NAMES = [
    "sign_in",
    "micro_view",
    "range_filter",
    "rate_limits",
    "file_link",
    "file_raw",
    "strategy",
]


def _env(emu: Emulator, api_url: str | None = None) -> tuple[int, dict[str, str]]:
    creds = emu.credentials
    app = creds["apps"][0]
    return app["app_id"], {
        "PODIO_CLIENT_ID": creds["client_id"],
        "PODIO_CLIENT_SECRET": creds["client_secret"],
        "PODIO_API_URL": api_url or creds["api_url"],
        "PODIO_APP_TOKEN": app["app_token"],
        "HOME": "/nonexistent",
    }


def _doctor(emu: Emulator, capsys: pytest.CaptureFixture[str], **kwargs: Any) -> tuple[int, str]:
    app_id, env = _env(emu)
    code = doctor.run(app_id, env=env, transport=httpx.ASGITransport(app=emu.app), **kwargs)
    out = capsys.readouterr()
    _no_secrets(emu, out.out + out.err)
    return code, out.out


def _no_secrets(emu: Emulator, text: str) -> None:
    creds = emu.credentials
    assert creds["client_secret"] not in text
    assert all(a["app_token"] not in text for a in creds["apps"])
    for token in list(emu._core.tokens.by_access):  # every token the emulator issued
        assert token not in text


@pytest.mark.parametrize(("quirks", "differs", "strategy"), QUIRKS)
def test_the_json_report_in_each_quirk_mode(
    quirks: dict[str, Any], differs: dict[str, str], strategy: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    emu = Emulator(items=20, quirks=quirks)
    code, out = _doctor(emu, capsys, as_json=True)
    report = json.loads(out)
    assert report["schema_version"] == 1
    assert [c["name"] for c in report["checks"]] == NAMES
    for check in report["checks"]:
        assert set(check) == {"name", "status", "observed", "expected", "detail"}
        assert check["status"] == differs.get(check["name"], "ok"), check
    assert report["strategy"] == strategy
    assert report["result"] == ("differs" if differs else "ok")
    assert code == (1 if differs else 0)
    assert report["calls"] == emu.stats()["requests"]


@pytest.mark.parametrize(("quirks", "differs", "strategy"), QUIRKS)
def test_the_text_report_in_each_quirk_mode(
    quirks: dict[str, Any], differs: dict[str, str], strategy: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    emu = Emulator(items=20, quirks=quirks)
    code, out = _doctor(emu, capsys)
    lines = out.splitlines()
    for name in NAMES:
        (line,) = [x for x in lines if x.split()[:1] == [name]]
        assert line.split()[1] == differs.get(name, "ok"), line
    assert f"{emu.stats()['requests']} calls to Podio" in out
    assert ("podiokit doctor 3" in out) == bool(differs)  # what to send us
    assert code == (1 if differs else 0)


def test_what_each_quirk_looks_like(capsys: pytest.CaptureFixture[str]) -> None:
    def check(quirks: dict[str, Any], name: str) -> dict[str, str]:
        _, out = _doctor(Emulator(items=20, quirks=quirks), capsys, as_json=True)
        return next(c for c in json.loads(out)["checks"] if c["name"] == name)

    assert "only `to`" in check({"range_filter": "ignore_to"}, "range_filter")["detail"]
    assert "range filter is ignored" in check({"range_filter": "ignored"}, "range_filter")["detail"]
    assert "another origin" in check({"file_redirect": "cross_origin"}, "file_link")["observed"]
    assert "answers 403" in check({"file_redirect": "broken"}, "file_link")["observed"]
    assert "of 1000 left" in check({"budget_swap": "POST /item/app/{app_id}/filter/"}, "rate_limits")["observed"]  # fmt: skip
    grant = check({}, "sign_in")["observed"]
    assert "app grant" in grant and "token valid 7 h" in grant


def test_an_app_without_items_or_files_is_not_checked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu = Emulator(items=0)
    code, out = _doctor(emu, capsys, as_json=True)
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert checks["range_filter"]["status"] == "not_checked"
    assert checks["micro_view"]["status"] == "not_checked"
    assert checks["file_link"]["observed"] == "not checked: no file found"
    assert checks["strategy"]["status"] == "differs"  # no ranges without proof
    assert code == 1


def test_a_refused_app_token_is_a_credentials_error(capsys: pytest.CaptureFixture[str]) -> None:
    emu = Emulator(items=2)
    app_id, env = _env(emu)
    code = doctor.run(
        app_id, env=env, app_tokens=["wrong"], transport=httpx.ASGITransport(app=emu.app)
    )
    err = capsys.readouterr().err
    assert code == 3 and err.startswith("podiokit doctor: bad credentials")


def test_no_app_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    emu = Emulator(items=2)
    _, env = _env(emu)
    assert doctor.run(None, env=env) == 2
    assert "PODIO_APP_ID" in capsys.readouterr().err


def test_never_writes_to_podio(capsys: pytest.CaptureFixture[str]) -> None:
    emu = Emulator(items=20, quirks={"file_redirect": "cross_origin"})
    _doctor(emu, capsys)
    routes = emu.stats()["routes"]
    writes = [r for r in routes if not r.startswith("GET ")]
    assert sorted(set(writes)) == ["POST /item/app/{app_id}/filter/", "POST /oauth/token"]


@pytest.fixture
def served() -> Iterator[tuple[Emulator, str]]:
    emu = Emulator(items=20, quirks={"range_filter": "ignore_to"})
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(emu.serve()) as url,
    ):
        yield emu, url


def test_a_real_run_of_the_command(served: tuple[Emulator, str]) -> None:
    emu, url = served
    app_id, env = _env(emu, url)
    del env["HOME"]
    result = run("doctor", "--json", **env, PODIO_APP_ID=str(app_id))
    assert result.returncode == 1, result.stderr
    _no_secrets(emu, result.stdout + result.stderr)
    report = json.loads(result.stdout)
    assert report["strategy"] == "offset"
    assert report["calls"] == emu.stats()["requests"]
