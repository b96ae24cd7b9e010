"""What a plain `pip install podiokit` must do: import, app auth and one typed call.

Run by `.ci/run` inside a fresh venv that holds only the built wheel (no extras, no dev
packages), and by tests/packaging/test_core_dependencies.py under an import guard. It talks
to an `httpx.MockTransport`, so it needs no network and no emulator.

    python tests/packaging/core_smoke.py
"""

from __future__ import annotations

import json
import pathlib
import sys

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
    where = pathlib.Path(podiokit.__file__).parent
    print(
        f"podiokit {podiokit.__version__} core smoke OK on Python {sys.version.split()[0]} ({where})"
    )


if __name__ == "__main__":
    anyio.run(main)
