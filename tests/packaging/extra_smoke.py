"""Each extra on its own, as `pip install 'podiokit[EXTRA]'` leaves it.

Run by `nox -s wheel` (and so by `.ci/run`) in a fresh venv holding the wheel with one extra:

    python tests/packaging/extra_smoke.py cli|redis|fastapi|emulator|export|mirror|postgres|aiohttp|otel
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx

from podiokit import OAuthToken, Podio


def _cli() -> None:
    # The venv's own console script: the venv is not activated, so it is not on PATH.
    script = str(Path(sys.executable).parent / "podiokit")
    out = subprocess.run([script, "--help"], capture_output=True, text=True, check=True)
    assert "emulator" in out.stdout and "demo" in out.stdout, out.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis() -> None:
    from podiokit.sessions import RedisSessionStore

    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    port = _free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)

        async def roundtrip() -> None:
            store = RedisSessionStore(f"redis://127.0.0.1:{port}/0")
            token = OAuthToken.from_response(
                {"access_token": "a", "refresh_token": "r", "expires_in": 3600}
            )
            async with store.lock("k"):
                await store.set("k", token)
            got = await store.get("k")
            assert got is not None and got.expires_at == token.expires_at
            await store.aclose()

        anyio.run(roundtrip, backend="asyncio")
    finally:
        proc.terminate()
        proc.wait()


def _fastapi() -> None:
    """Sign in through PodioAuth and receive a hook with PodioWebhooks, Podio mocked: the
    extra must bring FastAPI, itsdangerous (cookies) and python-multipart (hook forms)."""
    from urllib.parse import parse_qs, urlsplit

    from fastapi import Depends, FastAPI

    from podiokit.integrations.fastapi import HookEvent, PodioAuth, PodioWebhooks

    def podio_api(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={
                "access_token": "a", "refresh_token": "r", "expires_in": 28800,
                "token_type": "bearer", "ref": {"type": "user", "id": 7},
            })  # fmt: skip
        if request.url.path == "/user/":
            assert request.headers["authorization"] == "OAuth2 a"
            return httpx.Response(200, json={"user_id": 7})
        return httpx.Response(404, json={"error": "not_found"})

    async def run() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(podio_api))
        podio = Podio("id", "secret", http_client=http)
        auth = PodioAuth(podio, redirect_uri="http://app.test/auth/callback", secret_key="s" * 32)
        events: list[HookEvent] = []

        async def on_event(event: HookEvent) -> None:
            events.append(event)

        app = FastAPI()
        app.include_router(auth.router, prefix="/auth")
        webhooks = PodioWebhooks(podio, on_event)
        app.include_router(webhooks.router)  # its workers run with the app's lifespan

        @app.get("/me")
        async def me(user: Podio = Depends(auth.client)) -> object:
            return await user.request("GET", "/user/")

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as b:
            login = await b.get("/auth/login")
            assert login.status_code == 302, login.text
            state = parse_qs(urlsplit(login.headers["location"]).query)["state"][0]
            done = await b.get("/auth/callback", params={"code": "c", "state": state})
            assert done.status_code == 303, done.text
            assert (await b.get("/me")).json() == {"user_id": 7}
            async with app.router.lifespan_context(app):  # as a server runs it
                hook = await b.post("/podio/hooks", data={"type": "item.create", "item_id": "5"})
                assert hook.status_code == 200, hook.text
                await webhooks.join()
        assert events[0].item_id == 5, events
        await http.aclose()

    anyio.run(run)


def _emulator() -> None:
    from podiokit.testing import Emulator

    async def tour() -> None:
        emu = Emulator(items=20)
        creds = emu.credentials
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"]
        )
        async with Podio(
            creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
        ) as podio:
            app = creds["apps"][0]
            await podio.authenticate_with_app(app["app_id"], app["app_token"])
            page = await podio.items.filter(app["app_id"], limit=5)
            assert page.total == 20 and len(page.items) == 5, (page.total, len(page.items))
        await http.aclose()

    anyio.run(tour)


def _export() -> None:
    import msgspec

    from podiokit.export import FORMATS, export
    from podiokit.export._sinks import JsonlSink

    assert callable(export) and FORMATS == ("jsonl", "csv")
    items = msgspec.json.decode(b'[{"item_id":1},{"item_id":2}]', type=list[msgspec.Raw])
    assert JsonlSink().encode(1, items) == b'{"item_id":1}\n{"item_id":2}\n'


ITEMS = [
    b'{"item_id": 1, "app_item_id": 1, "title": "Caf\xc3\xa9", "revision": 0, "fields": [{"field_id": 9,'
    b' "external_id": "budget", "type": "money", "values": [{"value": "12.5000", "currency": "EUR"}]}]}',
    b'{"item_id":2,"revision":3,"fields":[]}',
]
MONEY_APP = {"app_id": 1, "fields": [
    {"field_id": 9, "external_id": "budget", "type": "money", "status": "active", "config": {}}
]}  # fmt: skip


def _mirror_roundtrip(url: str) -> None:
    from sqlalchemy import text

    from podiokit.mirror._store import MirrorStore

    store = MirrorStore(url)
    try:
        assert store.prepare_app(MONEY_APP)
        assert store.write_page(1, ITEMS, cursor="2024-01-01 00:00:00") == 2
        assert store.stored_revisions(1, [1, 2]) == {1: 0, 2: 3}
        with store._engine.connect() as conn:
            raws = conn.execute(text("SELECT raw FROM podio_items ORDER BY item_id")).scalars()
            money = conn.execute(text("SELECT budget, budget_currency FROM podio_app_1")).all()
        assert [r.encode() for r in raws] == ITEMS, raws
        # Exact: NUMERIC on PostgreSQL, text with four places on SQLite.
        assert [(str(a), c) for a, c in money if a is not None] in (
            [("12.5000", "EUR")],
            [("12.5", "EUR")],
        ), money
    finally:
        store.close()


def _mirror() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        _mirror_roundtrip(f"sqlite:///{tmp}/mirror.db")


def _postgres() -> None:
    """The same round trip on a throwaway PostgreSQL cluster (initdb on a free port), made as
    the mirror's tests make theirs (tests/mirror/pgcluster.py: as root, the server runs as
    `postgres` in a directory that user can reach, never under the checkout)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout's tests/
    from tests.mirror.pgcluster import find_bindir, throwaway_postgres

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
    with throwaway_postgres(bindir) as url:
        _mirror_roundtrip(url)


def _aiohttp() -> None:
    """A call over the aiohttp transport to a loopback server: the extra brings aiohttp."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from podiokit.transports import aiohttp_transport

    class Item(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            assert self.headers["Authorization"] == "OAuth2 a"
            body = json.dumps({"item_id": 1}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Item)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    token = OAuthToken.from_response({"access_token": "a", "expires_in": 3600})

    async def call() -> object:
        async with Podio("id", "secret", api_url=url, transport=aiohttp_transport()) as podio:
            await podio.set_token(token)
            return await podio.request("GET", "/item/1")

    try:
        assert anyio.run(call, backend="asyncio") == {"item_id": 1}
    finally:
        server.shutdown()


def _otel() -> None:
    """The extra brings the API only: instrumenting works, and with no SDK configured the
    spans go nowhere (OpenTelemetry's no-op providers); a call still succeeds."""
    import podiokit

    def podio_api(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"item_id": 1})

    async def call() -> object:
        http = httpx.AsyncClient(transport=httpx.MockTransport(podio_api))
        async with Podio("id", "secret", http_client=http) as podio:
            await podio.set_token(OAuthToken.from_response({"access_token": "a", "expires_in": 60}))
            return await podio.request("GET", "/item/1")

    podiokit.instrument()
    try:
        assert anyio.run(call) == {"item_id": 1}
        assert "opentelemetry.trace" in sys.modules
    finally:
        podiokit.uninstrument()


CHECKS: dict[str, Callable[[], None]] = {
    "cli": _cli,
    "redis": _redis,
    "fastapi": _fastapi,
    "emulator": _emulator,
    "export": _export,
    "mirror": _mirror,
    "postgres": _postgres,
    "aiohttp": _aiohttp,
    "otel": _otel,
}

if __name__ == "__main__":
    extra = sys.argv[1]
    CHECKS[extra]()
    print(f"podiokit[{extra}] smoke OK on Python {sys.version.split()[0]}")
