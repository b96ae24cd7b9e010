"""Bad URLs, missing drivers and unreachable databases give a MirrorError that names the
scheme, driver or database by the URL the user gave (not SQLAlchemy's driver form), and
never shows a password."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from podiokit.errors import PodioError
from podiokit.mirror._errors import MirrorError, mask_url
from podiokit.mirror._store import MirrorStore

SECRET = "s3cr3t-pw"


def refuse(url: str) -> MirrorError:
    with pytest.raises(MirrorError) as info:
        MirrorStore(url)
    error = info.value
    assert isinstance(error, PodioError)
    for shown in (str(error), repr(error)):
        assert SECRET not in shown
        assert "+pysqlite" not in shown and "+psycopg:" not in shown  # the driver's URL
    return error


@pytest.mark.parametrize(
    ("url", "named"),
    [
        (f"mysql://root:{SECRET}@db.example/podio", "unsupported database URL scheme 'mysql'"),
        (f"postgresql+psycopg2://u:{SECRET}@h/db", "'postgresql+psycopg2'"),
        ("mirror.db", "not a database URL: 'mirror.db'"),
        (f"not a url://u:{SECRET}@x", "not a database URL"),
        ("", "no database URL given"),
        (f"postgresql://u:{SECRET}@db.example", "no database name in 'postgresql://u:***@db.example'"),
    ],
)  # fmt: skip
def test_bad_urls(url: str, named: str) -> None:
    error = refuse(url)
    assert named in str(error)
    assert "sqlite:///" in str(error)  # and says what would work


def test_a_missing_psycopg_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` now fails
    error = refuse(f"postgresql://u:{SECRET}@127.0.0.1/db")
    assert "pip install 'podiokit[postgres]'" in str(error)
    assert "(postgresql://u:***@127.0.0.1/db)" in str(error)


def test_an_unreachable_server_is_named_without_its_password() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    error = refuse(f"postgresql://u:{SECRET}@127.0.0.1:{port}/db?connect_timeout=3")
    assert "could not open the database in postgresql://u:***@127.0.0.1" in str(error)


def test_a_sqlite_file_that_cannot_be_created(tmp_path: Path) -> None:
    error = refuse(f"sqlite:///{tmp_path}/no/such/dir/mirror.db")
    assert f"in sqlite:///{tmp_path}/no/such/dir/mirror.db: " in str(error)
    assert "unable to open database file" in str(error)


def test_the_repr_masks_the_password(postgres_server: str) -> None:
    # The throwaway server trusts local connections, so any password is accepted.
    url = postgres_server.replace("://mirror@", f"://mirror:{SECRET}@")
    store = MirrorStore(url)
    try:
        assert SECRET not in repr(store) and "mirror:***@" in repr(store)
        assert SECRET not in store.url
    finally:
        store.close()


def test_a_password_in_the_query_is_masked_too() -> None:
    error = refuse(f"postgresql://u@127.0.0.1:1/db?password={SECRET}&connect_timeout=1")
    assert "postgresql://u@127.0.0.1:1/db?password=***&connect_timeout=1: " in str(error)


def test_mask_url() -> None:
    assert mask_url("postgresql://a:b@h/d") == "postgresql://a:***@h/d"
    assert mask_url("postgresql://a@h/d") == "postgresql://a@h/d"
    assert mask_url("x://u:p@ss@h") == "x://u:***@h"
    assert mask_url("postgresql://h/d?sslmode=require&Password=p&x=1") == (
        "postgresql://h/d?sslmode=require&Password=***&x=1"
    )


def test_not_an_app(tmp_path: Path) -> None:
    store = MirrorStore(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        with pytest.raises(MirrorError, match="not an app"):
            store.prepare_app({"fields": []})
    finally:
        store.close()
