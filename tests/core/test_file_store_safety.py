"""Issue 15.3-5: FileSessionStore cannot hurt the user's files, and a bad file is one clear
error naming it."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import respx

from podiokit import OAuthToken, Podio, SessionStoreError
from podiokit.sessions import FileSessionStore

from .conftest import SECRET, token_body

pytestmark = pytest.mark.anyio


def _token(access: str = "acc", *, hours: float = 8) -> OAuthToken:
    return OAuthToken(
        access_token=access,
        refresh_token="ref",
        expires_at=datetime.now(timezone.utc) + timedelta(hours=hours),
    )


# -- 3: a directory ----------------------------------------------------------------------


async def test_a_directory_is_refused_and_never_chmodded(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir(mode=0o755)
    (folder / "other.txt").write_text("the user's file")
    before = stat.S_IMODE(folder.stat().st_mode)
    with pytest.raises(SessionStoreError, match="is a directory") as info:
        FileSessionStore(folder)
    assert str(folder) in str(info.value) and info.value.location == str(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == before
    assert (folder / "other.txt").read_text() == "the user's file"


async def test_a_path_that_became_a_directory_is_refused_on_use(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = FileSessionStore(path)
    path.mkdir(mode=0o755)
    for call in (store.get("k"), store.set("k", _token()), store.delete("k")):
        with pytest.raises(SessionStoreError, match="is a directory"):
            await call
    assert stat.S_IMODE(path.stat().st_mode) == 0o755


# -- 4: ~ --------------------------------------------------------------------------------


async def test_tilde_is_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    store = FileSessionStore("~/.podio-tokens.json")
    await store.set("k", _token())
    assert store.path == home / ".podio-tokens.json"
    assert (home / ".podio-tokens.json").is_file()
    assert list(cwd.iterdir()) == []  # no folder named "~"


# -- 5: bad files ------------------------------------------------------------------------


async def test_a_corrupt_file_is_one_clear_error_from_every_call(
    tmp_path: Path, api: respx.MockRouter
) -> None:
    path = tmp_path / "tokens.json"
    path.write_text('{"default": {"access_token": "secret-acc", ')  # truncated
    os.chmod(path, 0o600)
    api.post("/oauth/token").respond(json=token_body("acc"))
    store = FileSessionStore(path)
    podio = Podio("cid", SECRET, session_store=store)
    calls = [
        store.get("default"),
        store.set("default", _token()),
        store.delete("default"),
        podio.is_authenticated(),
        podio.request("GET", "/item/1"),
        podio.authenticate_with_app(1, "app-token"),
    ]
    for call in calls:
        with pytest.raises(SessionStoreError) as info:
            await call
        message = str(info.value)
        assert str(path) in message and "not valid JSON" in message
        assert "secret-acc" not in message and "secret-acc" not in repr(info.value)
        assert info.value.__cause__ is None and info.value.__context__ is None
    assert path.read_text().startswith('{"default"')  # left for the user to inspect
    await podio.aclose()


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ({"access_token": "a", "expires_at": "next tuesday"}, "expires_at"),
        ({"access_token": "a", "issued_at": 12}, "issued_at"),
        ({"refresh_token": "r"}, "access_token"),
        ({"access_token": "a", "ref": {"type": "user", "id": "x"}}, "ref"),
        ("a string", "not a token object"),
    ],
)
async def test_a_bad_token_in_the_file_is_a_clear_error(
    tmp_path: Path, entry: object, named: str
) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"default": entry}))
    os.chmod(path, 0o600)
    async with Podio("cid", SECRET, session_store=FileSessionStore(path)) as podio:
        with pytest.raises(SessionStoreError) as info:
            await podio.is_authenticated()
    assert str(path) in str(info.value) and named in str(info.value)
    assert "'default'" in str(info.value)


@pytest.fixture
def read_only_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory holding a valid token file that this process cannot write to. Root
    ignores permissions, so for root `os.access` is made to answer as for anyone else."""
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "tokens.json"
    path.write_text(json.dumps({"default": _token(hours=-1).to_storage()}))
    os.chmod(path, 0o644)
    os.chmod(folder, 0o555)
    if os.geteuid() == 0:
        real_access = os.access

        def access(target: object, mode: int, **kwargs: object) -> bool:
            if mode & os.W_OK and Path(str(target)) == folder:
                return False
            return real_access(target, mode, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "access", access)
    yield folder
    os.chmod(folder, 0o755)


async def test_a_token_file_in_a_read_only_directory_can_be_read(
    read_only_dir: Path, api: respx.MockRouter
) -> None:
    token_route = api.post("/oauth/token").respond(json=token_body("new"))
    path = read_only_dir / "tokens.json"
    store = FileSessionStore(path)
    token = await store.get("default")
    assert token is not None and token.access_token == "acc"
    assert os.listdir(read_only_dir) == ["tokens.json"]  # reading made no .lock file
    with pytest.raises(SessionStoreError, match="cannot write") as info:
        await store.set("default", _token("other"))
    assert str(path) in str(info.value)
    # The token is expired: refreshing it would rotate the pair and lose the new one, so
    # the refresh is refused before Podio is asked.
    async with Podio("cid", SECRET, session_store=store) as podio:
        with pytest.raises(SessionStoreError, match="cannot write"):
            await podio.request("GET", "/item/1")
    assert token_route.call_count == 0


async def test_a_read_only_file_is_read_but_never_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = FileSessionStore(path)
    await store.set("default", _token("acc"))
    os.chmod(path, 0o400)
    before = path.read_bytes()
    assert (await store.get("default")) == _token("acc").__class__.from_storage(
        json.loads(before)["default"]
    )
    for call in (store.set("default", _token("other")), store.delete("default")):
        with pytest.raises(SessionStoreError, match="read-only") as info:
            await call
        assert str(path) in str(info.value)
    assert path.read_bytes() == before
    assert stat.S_IMODE(path.stat().st_mode) == 0o400


async def test_a_new_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "tokens.json"
    await FileSessionStore(path).set("k", _token())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
