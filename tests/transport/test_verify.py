"""`verify=` on `Podio`, `SyncPodio` and `PodioTransport`, as httpx takes it: a private CA
(behind an inspecting proxy, say) as a bundle path or an `ssl.SSLContext`, or False."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import httpx
import pytest

from podiokit import OAuthToken, Podio, SyncPodio, errors

from ._servers import Conn, Server, answer
from .conftest import TLS, make_transport, request

pytestmark = pytest.mark.anyio


def _token() -> OAuthToken:
    return OAuthToken(
        access_token="acc", expires_at=datetime.now(timezone.utc) + timedelta(hours=1)
    )


def _json(conn: Conn) -> None:
    while conn.read_request():
        conn.send(answer(200, b'{"ok": true}', "Content-Type: application/json"))


def _verify(tls: TLS, how: str) -> Any:
    return {"path": tls.ca_file, "context": tls.client, "off": False}[how]


@pytest.mark.parametrize("how", ["path", "context", "off"])
async def test_a_private_ca_is_trusted_when_given(
    kind: str, serve: Callable[..., Server], tls: TLS, how: str
) -> None:
    server = serve(_json, tls=tls.server)
    verify = _verify(tls, how)
    if kind == "httpx" and how == "path":
        verify = ssl.create_default_context(cafile=tls.ca_file)  # httpx deprecates paths
    async with make_transport(kind, verify=verify) as transport:
        with anyio.fail_after(5):
            response = await transport.handle_async_request(request("GET", server.url))
            await response.aread()
    assert response.status_code == 200


async def test_by_default_a_private_ca_is_refused(
    serve: Callable[..., Server], tls: TLS, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    server = serve(_json, tls=tls.server)
    async with Podio("cid", "secret", api_url=server.url, max_retries=0) as podio:
        await podio.set_token(_token())
        with pytest.raises(errors.PodioConnectionError) as raised:
            await podio.request("GET", "/item/1")
    assert "CERTIFICATE_VERIFY_FAILED" in str(raised.value.__cause__)
    assert server.heads == []


@pytest.mark.parametrize("how", ["path", "context"])
async def test_podio_takes_verify(
    serve: Callable[..., Server], tls: TLS, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    server = serve(_json, tls=tls.server)
    async with Podio("cid", "secret", api_url=server.url, verify=_verify(tls, how)) as podio:
        await podio.set_token(_token())
        assert await podio.request("GET", "/item/1") == {"ok": True}


def test_sync_podio_takes_verify(serve: Callable[..., Server], tls: TLS) -> None:
    server = serve(_json, tls=tls.server)
    with SyncPodio("cid", "secret", api_url=server.url, verify=tls.client) as podio:
        podio.set_token(_token())
        assert podio.request("GET", "/item/1") == {"ok": True}


def test_bad_verify_values_are_refused_naming_verify(tmp_path: Any) -> None:
    with pytest.raises(TypeError, match="verify"):
        Podio("cid", "secret", verify=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="verify"):
        Podio("cid", "secret", verify=str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="verify"):
        Podio("cid", "secret", verify=False, transport=httpx.AsyncHTTPTransport())
    with pytest.raises(ValueError, match="verify"):
        Podio("cid", "secret", verify=False, http_client=httpx.AsyncClient())
