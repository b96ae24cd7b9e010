"""Fixtures of the transport matrix: scripted loopback servers, a test CA, and the two
transports every case runs against where that is meaningful (podiokit's and httpx's)."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from podiokit._transport import PodioTransport

from ._servers import Handler, Server

#: Timeouts of every request in the matrix: short, so a case that goes wrong fails fast.
TIMEOUTS = {"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0}


@dataclass
class TLS:
    """A test CA (`ca`): `server` for the loopback servers, `client` trusting it, `ca_file`."""

    ca: Any
    server: ssl.SSLContext
    client: ssl.SSLContext
    ca_file: str


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLS:
    import trustme

    ca = trustme.CA()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return TLS(ca, server, client, str(ca_file))


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    """`serve(handler, **options)`: a running `Server`, closed after the test."""
    servers: list[Server] = []

    def start(handler: Handler, **options: Any) -> Server:
        server = Server(handler, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(params=["podio", "httpx"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which transport a matrix case runs against."""
    return str(request.param)


def make_transport(kind: str, **options: Any) -> httpx.AsyncBaseTransport:
    if kind == "podio":
        return PodioTransport(**options)
    verify = options.pop("verify", True)
    limits = httpx.Limits(max_connections=options.pop("max_connections", 20))
    assert not options, options
    return httpx.AsyncHTTPTransport(verify=verify, limits=limits)


def request(method: str, url: str, **options: Any) -> httpx.Request:
    """A request with the matrix's short timeouts (`timeout=` overrides some)."""
    timeouts = dict(TIMEOUTS)
    timeouts.update(options.pop("timeout", {}))
    return httpx.Request(method, url, extensions={"timeout": timeouts}, **options)
