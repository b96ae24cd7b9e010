"""`podiokit login` / `logout` and the session file `podiokit export` falls back on."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import anyio.from_thread
import pytest

from podiokit.cli import login as cli_login
from podiokit.cli import main
from podiokit.cli._session import default_session_file, session_namespace
from podiokit.testing import Emulator

PROJECTS = 3002


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Emulator]:
    """An emulator on a loopback port; PODIO_* point at it, with the user's credentials
    set for `login` and the session file in tmp_path."""
    emu = Emulator(items=600)
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(emu.serve()) as url,
    ):
        creds = emu.credentials
        monkeypatch.delenv("PODIO_APP_TOKEN", raising=False)
        monkeypatch.setenv("PODIO_CLIENT_ID", creds["client_id"])
        monkeypatch.setenv("PODIO_CLIENT_SECRET", creds["client_secret"])
        monkeypatch.setenv("PODIO_API_URL", url)
        monkeypatch.setenv("PODIO_USERNAME", creds["username"])
        monkeypatch.setenv("PODIO_PASSWORD", creds["password"])
        monkeypatch.setenv("PODIO_SESSION_FILE", str(tmp_path / "cfg" / "session.json"))
        yield emu


def _session_file(tmp_path: Path) -> Path:
    return tmp_path / "cfg" / "session.json"


def _saved(path: Path, emu: Emulator, url: str) -> dict[str, object]:
    data = json.loads(path.read_text())
    key = session_namespace(url, emu.credentials["client_id"]) + "default"
    assert list(data) == [key]
    entry: dict[str, object] = data[key]
    return entry


def _login(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["login"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    # The export that follows has no password: only the saved session.
    monkeypatch.delenv("PODIO_USERNAME")
    monkeypatch.delenv("PODIO_PASSWORD")
    return out


def test_login_saves_the_session_and_export_uses_it(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    password = served.credentials["password"]
    out = _login(monkeypatch, capsys)
    path = _session_file(tmp_path)
    assert out.startswith("signed in to http://") and f"session saved to {path}" in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entry = _saved(path, served, os.environ["PODIO_API_URL"])
    assert entry["access_token"] and entry["refresh_token"]
    assert password not in path.read_text()
    assert str(entry["access_token"]) not in out

    target = tmp_path / "out.jsonl"
    assert main(["export", str(PROJECTS), "--out", str(target)]) == 0, capsys.readouterr().err
    assert len(target.read_text().splitlines()) == 600
    # One sign-in in all: the export spent no grant of its own.
    assert served.stats()["token_grants"] == {"password": 1}


def test_a_refresh_is_saved_back_and_a_dead_one_says_log_in_again(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _login(monkeypatch, capsys)
    path = _session_file(tmp_path)
    before = path.read_text()
    served.expire_tokens()
    target = tmp_path / "out.jsonl"
    assert main(["export", str(PROJECTS), "--out", str(target)]) == 0, capsys.readouterr().err
    assert served.stats()["token_grants"] == {"password": 1, "refresh_token": 1}
    (entry,) = json.loads(path.read_text()).values()
    (old,) = json.loads(before).values()
    assert entry["refresh_token"] != old["refresh_token"]  # the rotated pair is in the file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # The file from before the refresh: its refresh token was rotated away, so Podio refuses it.
    path.write_text(before)
    served.expire_tokens()
    capsys.readouterr()
    code = main(["export", str(PROJECTS), "--out", str(tmp_path / "again.jsonl")])
    err = capsys.readouterr().err
    assert code == 3, err
    assert err.strip().splitlines() == [
        f"podiokit export: the session saved in {path} has expired or was revoked (Podio "
        "refused its refresh token): run `podiokit login` again"
    ]
    for secret in (old["access_token"], old["refresh_token"], entry["refresh_token"]):
        assert secret not in err

    # Known dead now (marked in the file): the next run says so without asking Podio.
    grants = served.stats()["token_grants"]
    assert main(["export", str(PROJECTS), "--out", str(tmp_path / "third.jsonl")]) == 3
    assert "run `podiokit login` again" in capsys.readouterr().err
    assert served.stats()["token_grants"] == grants


def test_an_expired_saved_token_is_refreshed_before_the_export(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _login(monkeypatch, capsys)
    path = _session_file(tmp_path)
    data = json.loads(path.read_text())
    (key,) = data
    data[key]["expires_at"] = "2000-01-01T00:00:00+00:00"
    path.write_text(json.dumps(data))
    target = tmp_path / "out.jsonl"
    assert main(["export", str(PROJECTS), "--out", str(target)]) == 0, capsys.readouterr().err
    assert served.stats()["token_grants"] == {"password": 1, "refresh_token": 1}
    assert json.loads(path.read_text())[key]["expires_at"] > "2020"


def test_logout_forgets_the_session(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _login(monkeypatch, capsys)
    path = _session_file(tmp_path)
    assert main(["logout"]) == 0
    assert capsys.readouterr().out.startswith("signed out of http://")
    assert json.loads(path.read_text()) == {}
    assert main(["logout"]) == 0
    assert capsys.readouterr().out.startswith("not signed in to http://")
    code = main(["export", str(PROJECTS), "--out", str(tmp_path / "o.jsonl")])
    assert code == 3
    assert "no saved sign-in for http://" in capsys.readouterr().err
    assert main(["logout", "--all"]) == 0
    assert not path.exists()
    assert main(["logout", "--all"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"not signed in: no session file at {path}"
    code = main(["export", str(PROJECTS), "--out", str(tmp_path / "o.jsonl")])
    assert code == 2
    assert "sign in once with `podiokit login`" in capsys.readouterr().err


def test_logout_needs_to_know_which_sign_in(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _login(monkeypatch, capsys)
    monkeypatch.delenv("PODIO_CLIENT_ID")
    assert main(["logout"]) == 2
    assert "PODIO_CLIENT_ID" in capsys.readouterr().err


def test_sessions_of_two_api_keys_live_side_by_side(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _session_file(tmp_path)
    path.parent.mkdir(parents=True)
    # A sign-in to real Podio with another API key, made earlier.
    elsewhere = session_namespace("https://api.podio.com", "other-key") + "default"
    saved = {"access_token": "podio-access", "refresh_token": "podio-refresh"}
    path.write_text(json.dumps({elsewhere: saved}))
    path.chmod(0o600)
    assert main(["login"]) == 0
    assert main(["logout"]) == 0
    capsys.readouterr()
    # This server's sign-in came and went; the other one is untouched.
    assert json.loads(path.read_text()) == {elsewhere: saved}


def test_bad_password_exits_3_and_saves_nothing(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PODIO_PASSWORD", "not-the-password")
    assert main(["login"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("podiokit login: bad credentials") and len(err.splitlines()) == 1
    assert "not-the-password" not in err
    assert not _session_file(tmp_path).exists()


def test_login_asks_when_the_environment_does_not_say(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:

    creds = served.credentials
    monkeypatch.delenv("PODIO_USERNAME")
    monkeypatch.delenv("PODIO_PASSWORD")
    # No terminal: a usage error naming the variable, nothing asked.
    assert cli_login.login(os.environ, stdin_isatty=lambda: False) == 2
    assert "PODIO_USERNAME" in capsys.readouterr().err
    asked: list[str] = []

    def fake_getpass(prompt: str) -> str:
        asked.append(prompt)
        return str(creds["password"])

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or creds["username"])
    path = tmp_path / "elsewhere.json"
    code = cli_login.login(os.environ, session_file=str(path), stdin_isatty=lambda: True)
    assert code == 0, capsys.readouterr().err
    assert asked == ["Podio username (email): ", "Podio password: "]  # the password hidden
    assert path.is_file()
    out = tmp_path / "out.jsonl"
    code = main(["export", str(PROJECTS), "--out", str(out), "--session-file", str(path)])
    assert code == 0, capsys.readouterr().err


def test_an_explicit_session_file_must_exist(
    served: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.json"
    code = main(
        ["export", str(PROJECTS), "-o", str(tmp_path / "o"), "--session-file", str(missing)]
    )
    assert code == 2
    assert f"no session file at {missing}" in capsys.readouterr().err


def test_default_session_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    home = str(tmp_path)
    assert default_session_file({"HOME": home}) == tmp_path / ".config/podiokit/session.json"
    xdg = {"HOME": home, "XDG_CONFIG_HOME": str(tmp_path / "x")}
    assert default_session_file(xdg) == tmp_path / "x/podiokit/session.json"
    relative = {"HOME": home, "XDG_CONFIG_HOME": "rel"}  # the XDG spec ignores relative paths
    assert default_session_file(relative) == tmp_path / ".config/podiokit/session.json"
    explicit = {"HOME": home, "PODIO_SESSION_FILE": "~/s.json"}
    assert default_session_file(explicit) == Path("~/s.json").expanduser()
    monkeypatch.setattr("sys.platform", "darwin")
    mac = tmp_path / "Library/Application Support/podiokit/session.json"
    assert default_session_file({"HOME": home}) == mac


def test_mirror_uses_an_explicit_session_file(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("sqlalchemy")
    elsewhere = tmp_path / "other" / "session.json"
    assert main(["login", "--session-file", str(elsewhere)]) == 0, capsys.readouterr().err
    monkeypatch.delenv("PODIO_USERNAME")
    monkeypatch.delenv("PODIO_PASSWORD")
    capsys.readouterr()
    db = f"sqlite:///{tmp_path / 'mirror.db'}"
    code = main(["mirror", str(PROJECTS), "--db", db, "--session-file", str(elsewhere)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"app {PROJECTS} (full): 600 items: 600 created" in out
    assert served.stats()["token_grants"] == {"password": 1}
