"""`podiokit login --app APP_ID`: app sessions saved beside the user's, used by `export` and
`mirror` for the apps given no app token, refreshed in place, and forgotten by `logout --app`.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import anyio.from_thread
import httpx
import pytest

from podiokit import Podio
from podiokit.cli import login as cli_login
from podiokit.cli import main
from podiokit.cli._session import (
    CliCredentials,
    app_session_key,
    file_store,
    session_namespace,
    sign_in,
)
from podiokit.export import export
from podiokit.testing import Emulator

PROJECTS, CLIENTS = 3002, 3001
ITEMS = 150  # per demo app


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Emulator]:
    """An emulator on a loopback port; PODIO_* point at it (the API key only: no user, no
    app token) and the session file is in tmp_path."""
    emu = Emulator(items=ITEMS)
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(emu.serve()) as url,
    ):
        creds = emu.credentials
        for name in ("PODIO_APP_TOKEN", "PODIO_USERNAME", "PODIO_PASSWORD", "PODIO_REDIS_URL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("PODIO_CLIENT_ID", creds["client_id"])
        monkeypatch.setenv("PODIO_CLIENT_SECRET", creds["client_secret"])
        monkeypatch.setenv("PODIO_API_URL", url)
        monkeypatch.setenv("PODIO_SESSION_FILE", str(tmp_path / "cfg" / "session.json"))
        yield emu


def _path(tmp_path: Path) -> Path:
    return tmp_path / "cfg" / "session.json"


def _token(emu: Emulator, app_id: int) -> str:
    return next(str(a["app_token"]) for a in emu.credentials["apps"] if a["app_id"] == app_id)


def _key(app_id: int | None) -> str:
    namespace = session_namespace(os.environ["PODIO_API_URL"], os.environ["PODIO_CLIENT_ID"])
    return namespace + ("default" if app_id is None else f"app:{app_id}")


def _login_app(emu: Emulator, app_id: int, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    code = main(["login", "--app", str(app_id), "--app-token", _token(emu, app_id), *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out + err


def _export(tmp_path: Path, *app_ids: int, name: str = "out.jsonl") -> tuple[int, Path]:
    target = tmp_path / name
    return main(["export", *map(str, app_ids), "--out", str(target)]), target


def _assert_no_secret(text: str, *secrets: object) -> None:
    for secret in secrets:
        assert str(secret) not in text


def _secrets(path: Path) -> list[str]:
    """Every token in the session file."""
    return [
        str(entry[name])
        for entry in json.loads(path.read_text()).values()
        for name in ("access_token", "refresh_token")
    ]


def test_login_app_then_export_with_no_credentials(
    served: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app_token = _token(served, PROJECTS)
    out = _login_app(served, PROJECTS, capsys)
    path = _path(tmp_path)
    assert out == (
        f"signed in to {os.environ['PODIO_API_URL']} as app {PROJECTS}; session saved to {path}\n"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert list(data) == [_key(PROJECTS)]  # per API URL, client id and app
    assert data[_key(PROJECTS)]["access_token"] and data[_key(PROJECTS)]["refresh_token"]
    assert data[_key(PROJECTS)]["ref"] == {"type": "app", "id": PROJECTS}
    assert app_token not in path.read_text()  # the app token itself is never saved

    code, target = _export(tmp_path, PROJECTS)
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = target.read_text().splitlines()
    assert len(lines) == ITEMS
    assert len({json.loads(line)["item_id"] for line in lines}) == ITEMS  # each once
    # The sign-in was the only grant: the export used the saved pair.
    assert served.stats()["token_grants"] == {"app": 1}
    _assert_no_secret(out + err, app_token, *_secrets(path))


def test_two_apps_and_a_user_in_one_file(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _path(tmp_path)
    _login_app(served, PROJECTS, capsys)
    _login_app(served, CLIENTS, capsys)
    creds = served.credentials
    monkeypatch.setenv("PODIO_USERNAME", creds["username"])
    monkeypatch.setenv("PODIO_PASSWORD", creds["password"])
    assert main(["login"]) == 0
    monkeypatch.delenv("PODIO_USERNAME")
    monkeypatch.delenv("PODIO_PASSWORD")
    before = json.loads(path.read_text())
    assert sorted(before) == sorted([_key(PROJECTS), _key(CLIENTS), _key(None)])

    # A user session that cannot work: if an app were read as the user, the export would fail.
    broken = {**before, _key(None): {**before[_key(None)], "access_token": "not-a-token"}}
    broken[_key(None)]["refresh_token"] = "not-a-refresh-token"
    path.write_text(json.dumps(broken))
    capsys.readouterr()
    code, target = _export(tmp_path, PROJECTS, CLIENTS)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"app {PROJECTS}: {ITEMS} items" in out and f"app {CLIENTS}: {ITEMS} items" in out
    assert len(target.read_text().splitlines()) == 2 * ITEMS
    assert served.stats()["token_grants"] == {"app": 2, "password": 1}
    _assert_no_secret(out + err, _token(served, PROJECTS), _token(served, CLIENTS))
    _assert_no_secret(out + err, *_secrets(path))

    # Each app went through its own session: the app sessions in the file are unchanged
    # (no refresh was needed) and the user's is still the broken one, untouched.
    assert json.loads(path.read_text()) == broken

    # Forget one app: it falls back on the (broken) user session, the other keeps its own.
    assert main(["logout", "--app", str(CLIENTS)]) == 0
    assert capsys.readouterr().out == (
        f"signed out of app {CLIENTS} on {os.environ['PODIO_API_URL']}: removed the session "
        f"from {path}\n"
    )
    assert sorted(json.loads(path.read_text())) == sorted([_key(PROJECTS), _key(None)])
    assert _export(tmp_path, PROJECTS, name="projects.jsonl")[0] == 0
    code, _ = _export(tmp_path, CLIENTS, name="clients.jsonl")
    err = capsys.readouterr().err
    assert code == 3, err
    assert "run `podiokit login` again" in err  # the user's session, named as such
    assert main(["logout", "--app", str(CLIENTS)]) == 0
    assert capsys.readouterr().out.startswith(f"not signed in to app {CLIENTS} on http://")

    # An app token given to the command comes before the saved session.
    monkeypatch.setenv("PODIO_APP_TOKEN", f"{CLIENTS}={_token(served, CLIENTS)}")
    grants = served.stats()["token_grants"]["app"]
    code, _ = _export(tmp_path, CLIENTS, name="clients-by-token.jsonl")
    assert code == 0, capsys.readouterr().err
    assert served.stats()["token_grants"]["app"] == grants + 1

    # --all forgets every session.
    assert main(["logout", "--all"]) == 0
    assert not path.exists()


def test_a_rotated_pair_is_written_back_and_a_dead_one_names_the_app(
    served: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _path(tmp_path)
    _login_app(served, PROJECTS, capsys)
    before = path.read_text()
    (old,) = json.loads(before).values()
    served.expire_tokens()
    code, _ = _export(tmp_path, PROJECTS)
    assert code == 0, capsys.readouterr().err
    assert served.stats()["token_grants"] == {"app": 1, "refresh_token": 1}
    (new,) = json.loads(path.read_text()).values()
    assert new["refresh_token"] != old["refresh_token"]  # the rotated pair is in the file
    assert new["access_token"] != old["access_token"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # The file from before the refresh: Podio refuses its rotated-away refresh token in the
    # middle of the run (the saved access token still looks fresh, so no check before it).
    path.write_text(before)
    capsys.readouterr()
    code, _ = _export(tmp_path, PROJECTS, name="again.jsonl")
    out, err = capsys.readouterr()
    assert code == 3, err
    assert err.strip().splitlines() == [
        f"podiokit export: the session of app {PROJECTS} saved in {path} has expired or was "
        f"revoked (Podio refused its refresh token): run `podiokit login --app {PROJECTS}` "
        "again"
    ]
    _assert_no_secret(out + err, _token(served, PROJECTS), *_secrets(path), *new.values())

    # Known dead now (marked in the file): the next run says so before asking Podio.
    grants = served.stats()["token_grants"]
    code, _ = _export(tmp_path, PROJECTS, name="third.jsonl")
    err = capsys.readouterr().err
    assert code == 3
    assert f"run `podiokit login --app {PROJECTS}` again" in err
    assert served.stats()["token_grants"] == grants

    # Signing in again mends it.
    _login_app(served, PROJECTS, capsys)
    assert _export(tmp_path, PROJECTS, name="fourth.jsonl")[0] == 0


def test_mirror_uses_the_app_session_and_names_a_dead_one(
    served: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("sqlalchemy")
    path = _path(tmp_path)
    _login_app(served, PROJECTS, capsys)
    before = path.read_text()
    db = f"sqlite:///{tmp_path / 'mirror.db'}"
    served.expire_tokens()
    code = main(["mirror", str(PROJECTS), "--db", db])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"app {PROJECTS} (full): {ITEMS} items: {ITEMS} created" in out
    assert served.stats()["token_grants"] == {"app": 1, "refresh_token": 1}
    assert path.read_text() != before  # the refreshed pair went back into the file

    path.write_text(before)  # its refresh token is rotated away: refused mid-run
    code = main(["mirror", str(PROJECTS), "--db", db])
    err = capsys.readouterr().err
    assert code == 3, err
    assert err.strip().splitlines() == [
        f"podiokit mirror: the session of app {PROJECTS} saved in {path} has expired or was "
        f"revoked (Podio refused its refresh token): run `podiokit login --app {PROJECTS}` "
        "again"
    ]


def test_the_app_token_comes_from_the_environment_or_a_hidden_prompt(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = _token(served, PROJECTS)
    path = _path(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PODIO_APP_TOKEN"}

    # No terminal and no token: a usage error naming the variable, nothing asked or saved.
    code = cli_login.login(env, app_id=PROJECTS, stdin_isatty=lambda: False)
    out, err = capsys.readouterr()
    assert code == 2
    assert err == (
        "podiokit login: set PODIO_APP_TOKEN (or pass --app-token): there is no terminal to "
        "ask on\n"
    )
    assert not path.exists()

    asked: list[str] = []

    def fake_getpass(prompt: str) -> str:
        asked.append(prompt)
        return token

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    monkeypatch.setattr("builtins.input", lambda prompt: pytest.fail("echoed prompt"))
    code = cli_login.login(env, app_id=PROJECTS, stdin_isatty=lambda: True)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert asked == [f"App token for app {PROJECTS}: "]  # hidden, naming the app
    assert list(json.loads(path.read_text())) == [_key(PROJECTS)]
    _assert_no_secret(out + err, token, *_secrets(path))

    # PODIO_APP_TOKEN, as `podiokit export` takes it: one token, or this app's entry.
    monkeypatch.setattr("getpass.getpass", lambda prompt: pytest.fail("asked"))
    both = f"{CLIENTS}={_token(served, CLIENTS)},{PROJECTS}={token}"
    for value, app_id in ((_token(served, CLIENTS), CLIENTS), (both, PROJECTS)):
        code = cli_login.login({**env, "PODIO_APP_TOKEN": value}, app_id=app_id)
        assert code == 0, capsys.readouterr().err
    assert served.stats()["token_grants"] == {"app": 3}
    code = cli_login.login({**env, "PODIO_APP_TOKEN": "a,b"}, app_id=PROJECTS)
    assert code == 2
    assert "PODIO_APP_TOKEN holds 2 tokens" in capsys.readouterr().err
    # Another app's entry is not this app's token: with no terminal, say what to set.
    env_other = {**env, "PODIO_APP_TOKEN": f"{CLIENTS}={_token(served, CLIENTS)}"}
    assert cli_login.login(env_other, app_id=PROJECTS, stdin_isatty=lambda: False) == 2
    assert "set PODIO_APP_TOKEN" in capsys.readouterr().err


def test_login_app_usage_and_bad_token(
    served: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _path(tmp_path)
    cases = [
        (["login", "--app", str(PROJECTS), "--username", "a@b.test"], "give one"),
        (["login", "--app-token", "abc"], "--app-token needs --app APP_ID"),
        (["login", "--app", str(PROJECTS), "--app-token", f"{CLIENTS}=abc"], "for app 3001"),
        (["logout", "--app", str(PROJECTS), "--all"], "give one"),
        (["login", "--app", "x"], "Invalid value for '--app'"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv
    assert not path.exists()

    # A refused app token: exit 3, one line, the token never shown, nothing saved.
    code = main(["login", "--app", str(PROJECTS), "--app-token", "0123456789abcdef"])
    err = capsys.readouterr().err
    assert code == 3
    assert err.startswith("podiokit login: bad credentials") and len(err.splitlines()) == 1
    assert "0123456789abcdef" not in err
    assert not path.exists()
    # The right token for another app is refused too (app tokens are per app).
    code = main(["login", "--app", str(PROJECTS), "--app-token", _token(served, CLIENTS)])
    err = capsys.readouterr().err
    assert code == 3
    assert _token(served, CLIENTS) not in err


def test_an_app_without_a_saved_session_needs_the_user(
    served: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _login_app(served, PROJECTS, capsys)
    code, _ = _export(tmp_path, PROJECTS, CLIENTS)
    err = capsys.readouterr().err
    assert code == 3
    assert err.strip() == (
        f"podiokit export: no saved sign-in for {os.environ['PODIO_API_URL']} (client "
        f"{os.environ['PODIO_CLIENT_ID']}) in {_path(tmp_path)} (for app {CLIENTS}): run "
        "`podiokit login`, or `podiokit login --app APP_ID` for each app"
    )


def test_environment_user_comes_before_saved_app_sessions(
    served: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _path(tmp_path)
    _login_app(served, PROJECTS, capsys)
    saved = path.read_text()
    creds = served.credentials
    monkeypatch.setenv("PODIO_USERNAME", creds["username"])
    monkeypatch.setenv("PODIO_PASSWORD", creds["password"])
    code, _ = _export(tmp_path, PROJECTS)
    assert code == 0, capsys.readouterr().err
    assert served.stats()["token_grants"] == {"app": 1, "password": 1}
    assert path.read_text() == saved  # the file was not used


# -- the async pieces, under asyncio and trio --------------------------------------------


def _client(emu: Emulator, path: Path) -> tuple[Podio, httpx.AsyncClient]:
    creds = emu.credentials
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
    store = file_store(path, session_namespace(creds["api_url"], creds["client_id"]))
    podio = Podio(
        creds["client_id"],
        creds["client_secret"],
        api_url=creds["api_url"],
        session_store=store,
        http_client=http,
    )
    return podio, http


@pytest.mark.anyio
async def test_sign_in_hands_the_exporter_each_saved_app_session(tmp_path: Path) -> None:
    emu = Emulator(items=40)
    creds = emu.credentials
    path = tmp_path / "session.json"
    podio, http = _client(emu, path)
    try:
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
        await podio.session(app_session_key(PROJECTS)).authenticate_with_app(
            PROJECTS, _token(emu, PROJECTS)
        )
        cli = CliCredentials(
            creds["client_id"], creds["client_secret"], creds["api_url"], session_file=path
        )
        emu.expire_tokens()
        saved = await sign_in(podio, cli, [PROJECTS, CLIENTS])
        assert list(saved) == [PROJECTS]  # Clients has no app session: read as the user
        assert saved[PROJECTS].session_key == "app:3002"
        result = await export(podio, [PROJECTS, CLIENTS], tmp_path / "o.jsonl", app_sessions=saved)
        assert result.per_app == {PROJECTS: 40, CLIENTS: 40}
        # Each identity has its own rate-limit figures: both were used.
        assert saved[PROJECTS].rate_limit.remaining is not None
        assert podio.rate_limit.remaining is not None
        assert emu.stats()["token_grants"] == {"password": 1, "app": 1, "refresh_token": 2}

        with pytest.raises(ValueError, match=r"app\(s\) \[3002\] are in both"):
            await export(
                podio,
                [PROJECTS],
                tmp_path / "x.jsonl",
                app_tokens={PROJECTS: "t"},
                app_sessions=saved,
            )
    finally:
        await podio.aclose()
        await http.aclose()
