"""One version and one set of defaults: what the build, `podiokit.__version__`, the
User-Agent, `Podio`, `SyncPodio` and the transports say comes from one place each."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import httpx
import pytest

import podiokit
from podiokit import OAuthToken, Podio
from podiokit._version import __version__
from podiokit.sync import SyncPodio
from podiokit.transports import PodioTransport, aiohttp_transport

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.anyio


def test_the_build_reads_the_version_from_the_package() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    project = pyproject.split("[project]", 1)[1].split("\n[", 1)[0]
    assert re.search(r'^dynamic = \[.*"version".*\]$', project, re.M)
    assert not re.search(r"^version\s*=", project, re.M)  # written once, in _version.py
    assert '[tool.hatch.version]\npath = "src/podiokit/_version.py"' in pyproject
    assert podiokit.__version__ == __version__


async def test_the_user_agent_carries_the_package_version() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["User-Agent"])
        return httpx.Response(200, json={})

    async with Podio("cid", "secret", transport=httpx.MockTransport(answer)) as podio:
        await podio.set_token(OAuthToken(access_token="token"))
        await podio.request("GET", "/item/1")
    assert seen == [f"podiokit/{__version__}"]


def test_the_blocking_client_has_the_async_clients_defaults() -> None:
    ours = inspect.signature(Podio.__init__).parameters
    sync = inspect.signature(SyncPodio.__init__).parameters
    shared = set(ours) & set(sync) - {"self", "on_token_will_refresh"}
    assert {"timeout", "max_retries", "rate_limit_wait", "backoff_cap", "api_url"} <= shared
    assert {name: sync[name].default for name in shared} == {
        name: ours[name].default for name in shared
    }


def test_podio_transport_is_public_and_its_pool_matches_aiohttps() -> None:
    assert podiokit.transports.__all__ == ["PodioTransport", "aiohttp_transport"]
    pool = inspect.signature(PodioTransport).parameters["max_connections"].default
    assert pool == inspect.signature(aiohttp_transport).parameters["max_connections"].default


@pytest.mark.parametrize(
    ("options", "error", "named"),
    [
        ({"max_connections": 0}, ValueError, "max_connections"),
        ({"max_connections": "8"}, TypeError, "max_connections"),
        ({"max_keepalive": -1}, ValueError, "max_keepalive"),
        ({"keepalive_expiry": float("nan")}, ValueError, "keepalive_expiry"),
    ],
)
def test_podio_transport_refuses_bad_options_naming_them(
    options: dict[str, object], error: type[Exception], named: str
) -> None:
    with pytest.raises(error, match=named):
        PodioTransport(**options)  # type: ignore[arg-type]
