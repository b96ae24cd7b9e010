"""`podiokit typegen` on the command line: writing a module from live or saved apps, and
`--check` failing with one line per difference once an app changes in the emulator."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import pytest

from podiokit._typed import _model
from podiokit.cli import main
from podiokit.testing import Emulator

from .support import (
    CLIENTS,
    PROJECTS,
    import_path,
    older_testing_app,
    sample,
    signed_in,
)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Emulator]:
    """An emulator on a loopback port, PODIO_* pointing at it, its apps' tokens given."""
    emu = Emulator(items=20)
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(emu.serve()) as url,
    ):
        _point_at(monkeypatch, emu, url, tmp_path)
        yield emu


def _point_at(monkeypatch: pytest.MonkeyPatch, emu: Emulator, url: str, tmp_path: Path) -> None:
    creds = emu.credentials
    for name in ("PODIO_USERNAME", "PODIO_PASSWORD", "PODIO_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PODIO_CLIENT_ID", creds["client_id"])
    monkeypatch.setenv("PODIO_CLIENT_SECRET", creds["client_secret"])
    monkeypatch.setenv("PODIO_API_URL", url)
    monkeypatch.setenv("PODIO_SESSION_FILE", str(tmp_path / "no-session.json"))
    tokens = {a["app_id"]: a["app_token"] for a in creds["apps"]}
    monkeypatch.setenv("PODIO_APP_TOKEN", ",".join(f"{a}={t}" for a, t in tokens.items()))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["typegen", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


async def _edit(emu: Emulator) -> None:
    """What an app builder does in Podio: rename a field, drop an option, add and delete
    fields."""
    async with signed_in(emu) as podio:
        app = await podio.request("GET", f"/app/{PROJECTS}")
        status = next(f for f in app["fields"] if f["external_id"] == "status")
        kept = [o for o in status["config"]["settings"]["options"] if o["text"] != "On hold"]
        await podio.apps.update_field(
            PROJECTS, status["field_id"], label="Stage",
            settings={**status["config"]["settings"], "options": kept},
        )  # fmt: skip
        await podio.apps.create_field(PROJECTS, type="number", config={"label": "Margin"})
        await podio.apps.delete_field(PROJECTS, 41012)


def test_check_fails_once_the_app_changes(
    served: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out, saved = tmp_path / "demo_apps.py", tmp_path / "apps.json"
    code, stdout, err = _run(
        capsys, str(PROJECTS), str(CLIENTS), "--out", str(out), "--save-json", str(saved)
    )
    assert (code, err) == (0, "")
    assert stdout == f"wrote 2 class(es) to {out} (app(s) 3002, 3001)\n"
    module = import_path(out, "typed_demo_apps_cli")
    assert [a["app_id"] for a in json.loads(saved.read_text())] == [PROJECTS, CLIENTS]
    # The file names its apps: --check needs no app id.
    assert _run(capsys, "--check", "--out", str(out)) == (
        0, f"{out} matches app(s) 3002, 3001\n", "",
    )  # fmt: skip

    anyio.run(_edit, served)

    code, stdout, err = _run(capsys, "--check", "--out", str(out))
    assert code == 1
    where = "app 3002 (Projects, class Project)"
    assert stdout.splitlines() == [
        f"{where}: field 41012 'notes' (text) removed",
        f"{where}: field 41002 'status': label 'Status' -> 'Stage'",
        f"{where}: field 41002 'status': option 'On hold' (3) is gone",
        f"{where}: field 90000001 'margin' (number) added",
        f"{where}: revision 1 -> 4",
    ]
    assert err == (
        f"podiokit typegen: {out} does not match app(s) 3002, 3001 (5 differences): "
        "run podiokit typegen again\n"
    )
    # Offline, against what was saved before the change, the file still matches.
    assert _run(capsys, "--check", "--out", str(out), "--from-json", str(saved))[0] == 0

    # At run time, items of the changed app say so once; what the class no longer knows stays.
    monkeypatch.setattr(_model, "_WARNED", set())

    async def read() -> list[Any]:
        async with signed_in(served) as podio:
            return [p async for p in podio.items.filter(PROJECTS, model=module.Project)]

    with caplog.at_level(logging.WARNING, logger="podiokit.typed"):
        projects = anyio.run(read)
        first = projects[0]

        async def get() -> Any:
            async with signed_in(served) as podio:
                return await podio.items.get(first.item_id, model=module.Project)

        anyio.run(get)
        anyio.run(get)
    assert len(caplog.records) == 1 and "now at revision 4" in caplog.records[0].getMessage()

    # Regenerated, it matches again.
    assert _run(capsys, str(PROJECTS), str(CLIENTS), "--out", str(out))[0] == 0
    assert _run(capsys, "--check", "--out", str(out))[0] == 0


def test_saved_definitions_run_offline_and_in_the_emulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real, older = tmp_path / "testing.json", tmp_path / "testing-older.json"
    real.write_text(json.dumps(sample("apps__get_app__2.json")))
    older.write_text(json.dumps([older_testing_app()]))
    out = tmp_path / "testing_app.py"
    assert _run(capsys, "--from-json", str(older), "--out", str(out))[0] == 0
    # The app as it is now, against the file made from its earlier revision.
    code, stdout, _ = _run(capsys, "--check", "--from-json", str(real), "--out", str(out))
    where = "app 6686618 (Testing, class Thing)"
    assert code == 1
    assert stdout.splitlines() == [
        f"{where}: field 51928209 'contact_2' (contact) added",
        f"{where}: field 51928215 'question': type 'question' -> 'category'",
        f"{where}: revision 3 -> 4",
    ]
    # The emulator serves the saved app; typegen against it writes what --from-json wrote.
    emu = Emulator(seed="empty", apps=[real])
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(emu.serve()) as url,
    ):
        _point_at(monkeypatch, emu, url, tmp_path)
        live = tmp_path / "live.py"
        assert _run(capsys, "6686618", "--out", str(live))[0] == 0
        assert _run(capsys, "--check", "--out", str(live))[0] == 0
    offline = tmp_path / "offline.py"
    assert _run(capsys, "--from-json", str(real), "--out", str(offline))[0] == 0
    assert offline.read_text() == live.read_text()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--out", "x.py"], 2, "give the apps' ids (APP_ID...) or --from-json FILE"),
        (["--from-json", "missing.json", "--out", "x.py"], 2, "--from-json missing.json: no such"),
        (["--from-json", "apps.json", "42", "--out", "x.py"], 2, "app(s) 42 not in the --from-j"),
        (["--from-json", "apps.json", "--save-json", "y", "--out", "x.py"], 2, "drop --from-json"),
        (["--from-json", "bad.json", "--out", "x.py"], 2, "bad.json: not JSON"),
        (["--from-json", "item.json", "--out", "x.py"], 2, "not an app definition"),
        (["--check", "--from-json", "apps.json", "--out", "x.py"], 2, "x.py: no such file"),
        (["--check", "--out", "broken.py"], 1, "cannot import broken.py: SyntaxError"),
        (["3002", "--out", "x.py"], 2, "PODIO_CLIENT_ID and PODIO_CLIENT_SECRET"),
    ],
)
def test_mistakes_end_in_one_line(
    args: list[str],
    code: int,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("PODIO_CLIENT_ID", "PODIO_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "apps.json").write_text(json.dumps(sample("apps__get_app__2.json")))
    (tmp_path / "bad.json").write_text("{nope")
    (tmp_path / "item.json").write_text(json.dumps(sample("items__get_item__1.json")))
    (tmp_path / "broken.py").write_text("class (:\n")
    got, stdout, err = _run(capsys, *args)
    assert (got, stdout) == (code, "")
    assert err.startswith("podiokit typegen: ") and message in err and err.count("\n") == 1


def test_an_unknown_app_is_named(
    served: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    creds = served.credentials
    monkeypatch.delenv("PODIO_APP_TOKEN")
    monkeypatch.setenv("PODIO_USERNAME", creds["username"])
    monkeypatch.setenv("PODIO_PASSWORD", creds["password"])
    code, _, err = _run(capsys, "999", "--out", str(tmp_path / "x.py"))
    assert code == 4 and err.startswith("podiokit typegen: unknown app: "), err
    code, _, err = _run(capsys, "3002", "--out", str(tmp_path / "x.py"), "--app-token", "3002=x")
    assert code == 3 and err.startswith("podiokit typegen: bad credentials"), err
    assert not (tmp_path / "x.py").exists()
