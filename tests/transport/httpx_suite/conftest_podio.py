"""podiokit's transport under httpx's own test suite (`nox -s httpx_suite`).

`nox -s httpx_suite` downloads httpx's pinned source release, copies this file into it as its
top-level `conftest.py` and runs httpx's tests there. This file:

* mounts `PodioTransport` as the default transport of every `httpx.AsyncClient` a test makes
  without a transport of its own (`AsyncClient._init_transport`), with the client's `verify=`
  and limits (httpx's own transports stay wherever a test builds or mounts one: proxies,
  `MockTransport`, the sync `Client`);
* runs every async test under asyncio and trio (httpx's own suite runs asyncio only);
* deselects the tests listed in DESELECTED, each with the reason it does not apply, and fails
  the run when one of them no longer exists (the list must stay honest).

Not a test module of podiokit's: pytest never collects it from podiokit's own tree.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import httpx
import pytest
import uvicorn.config

from podiokit._transport import PodioTransport

#: node id (as pytest prints it, without the backend) -> why it does not apply.
DESELECTED: dict[str, str] = {
    # Sends to 10.255.255.1 (a private address that never answers) to provoke a connect
    # timeout; httpx marks it `network`. This workplace never sends traffic off loopback;
    # tests/transport covers connect timeouts on loopback.
    "tests/test_timeouts.py::test_connect_timeout": "network: sends to 10.255.255.1",
    # Both go to http://example.com through a proxy at [::1]:80 (httpx marks them `network`):
    # no network here. They build httpx's own proxy transports, not podiokit's.
    "tests/client/test_proxies.py::test_async_proxy_close": "network: example.com via [::1]",
    "tests/client/test_proxies.py::test_sync_proxy_close": "network: example.com via [::1]",
}


#: Requests podiokit's transport carried in this run: a run where it carried none proves
#: nothing, and fails (see pytest_sessionfinish).
_carried = [0]


class _CountingTransport(PodioTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _carried[0] += 1
        return await super().handle_async_request(request)


def _podio_transport(
    self: httpx.AsyncClient,
    verify: ssl.SSLContext | str | bool = True,
    cert: Any = None,
    trust_env: bool = True,
    http1: bool = True,
    http2: bool = False,
    limits: httpx.Limits = httpx.Limits(),
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncBaseTransport:
    if transport is not None:
        return transport
    if cert is not None or (verify is True and not trust_env):
        # What httpx's own transport would build; podiokit's then uses that context.
        verify = httpx.create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)
    # http2=True: podiokit speaks HTTP/1.1 only and offers only it in ALPN, as httpx's own
    # transport does without the h2 package; every answer in these tests is HTTP/1.1.
    max_connections = limits.max_connections or 10_000  # None: no limit in httpx
    return _CountingTransport(
        max_connections=max_connections,
        max_keepalive=min(limits.max_keepalive_connections or max_connections, max_connections),
        keepalive_expiry=5.0 if limits.keepalive_expiry is None else limits.keepalive_expiry,
        verify=verify,
    )


httpx.AsyncClient._init_transport = _podio_transport  # type: ignore[method-assign]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# httpx's `server` fixture runs uvicorn on its default port, 8000, which another process on a
# shared machine may hold: a free one instead (its tests read the port from the server).
_uvicorn_init = uvicorn.config.Config.__init__
_PORT = _free_port()


def _config_init(self: Any, *args: Any, **kwargs: Any) -> None:
    kwargs.setdefault("port", _PORT)
    _uvicorn_init(self, *args, **kwargs)


uvicorn.config.Config.__init__ = _config_init  # type: ignore[method-assign]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = set(DESELECTED)
    found: set[str] = set()
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        base = item.nodeid.split("[", 1)[0]
        if base in wanted:
            found.add(base)
            dropped.append(item)
        else:
            keep.append(item)
    missing = wanted - found
    if missing:
        raise pytest.UsageError(f"DESELECTED names tests that do not exist: {sorted(missing)}")
    config.hook.pytest_deselected(items=dropped)
    items[:] = keep


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus == 0 and session.testscollected and not _carried[0]:
        print("\nPodioTransport carried no request: it was not mounted")
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(f"PodioTransport carried {_carried[0]} requests")


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"httpx {httpx.__version__} tests with podiokit's PodioTransport mounted; "
        f"{len(DESELECTED)} tests deselected (conftest.py: DESELECTED)"
    )
