"""What a plain `pip install podiokit` must do: import, app auth and one typed call.

Run by `.ci/run` inside a fresh venv that holds only the built wheel (no extras, no dev
packages), and by tests/packaging/test_core_dependencies.py under an import guard. It talks
to an `httpx.MockTransport`, then over a real loopback socket to a stdlib HTTP server through
podiokit's default transport (which must work with neither trio nor sniffio installed), so it
needs no network and no emulator.

    python tests/packaging/core_smoke.py
"""

from __future__ import annotations

import json
import pathlib
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import httpx

import podiokit
from podiokit import Podio
from podiokit.models import Item

SAMPLE = pathlib.Path(__file__).parent.parent / "fixtures" / "samples" / "items__get_item__4.json"


def _handler(item_body: bytes) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            form = dict(httpx.QueryParams(request.content.decode()))
            assert form["grant_type"] == "app", form
            return httpx.Response(
                200,
                json={
                    "access_token": "smoke-access",
                    "refresh_token": "smoke-refresh",
                    "token_type": "bearer",
                    "expires_in": 28800,
                    "scope": "app:read",
                    "ref": {"type": "app", "id": int(form["app_id"])},
                },
            )
        assert request.headers["authorization"] == "OAuth2 smoke-access"
        item_id = json.loads(item_body)["item_id"]
        if request.url.path == f"/item/{item_id}":
            return httpx.Response(
                200, content=item_body, headers={"content-type": "application/json"}
            )
        return httpx.Response(404, json={"error": "not_found", "error_description": "no route"})

    return httpx.MockTransport(handle)


async def main() -> None:
    body = SAMPLE.read_bytes()
    item_id = json.loads(body)["item_id"]
    http = httpx.AsyncClient(transport=_handler(body), base_url="https://api.podio.com")
    async with Podio("smoke-client", "smoke-secret", http_client=http) as podio:
        token = await podio.authenticate_with_app(1, "smoke-app-token")
        assert token.ref is not None and token.ref.id == 1
        item = await podio.items.get(item_id)
        assert isinstance(item, Item), type(item)
        assert item.item_id == item_id
    await http.aclose()
    await _over_a_socket(body, item_id)
    where = pathlib.Path(podiokit.__file__).parent
    print(
        f"podiokit {podiokit.__version__} core smoke OK on Python {sys.version.split()[0]} ({where})"
    )


async def _over_a_socket(item_body: bytes, item_id: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the default transport reuses one connection

        def do_GET(self) -> None:
            assert self.headers["authorization"] == "OAuth2 smoke-access"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(item_body)))
            self.end_headers()
            self.wfile.write(item_body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        async with Podio("smoke-client", "smoke-secret", api_url=url) as podio:
            await podio.set_token(podiokit.OAuthToken(access_token="smoke-access"))
            for _ in range(3):
                item = await podio.items.get(item_id)
                assert item.item_id == item_id
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    anyio.run(main)
