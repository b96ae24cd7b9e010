"""A FastAPI backend on podiokit: Podio sign-in, per-user pages, and a webhook receiver.

- `GET /` greets the signed-in user (their own Podio identity, from `auth.client`) or links
  to `/auth/login`; `GET /items` lists an app's newest items as that user.
- `POST /podio/hooks` receives Podio's webhooks; on startup the app registers an
  `item.create` hook on `PODIO_APP_ID` (acting as the app) and the receiver verifies it.
  `GET /events` shows what arrived.

Against a local emulator (`podiokit emulator --port 8000` prints the credentials):

    export PODIO_API_URL=http://127.0.0.1:8000 PODIO_AUTH_URL=http://127.0.0.1:8000/oauth/authorize
    export PODIO_CLIENT_ID=... PODIO_CLIENT_SECRET=... PODIO_APP_ID=... PODIO_APP_TOKEN=...
    export PUBLIC_URL=http://127.0.0.1:8001 SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex())')
    uvicorn --app-dir examples fastapi_backend:app --port 8001

Podio only calls hooks on ports 80 and 443: set `HOOK_URL` to the public URL Podio should
call (it defaults to `PUBLIC_URL/podio/hooks`). With the emulator, point its deliveries at
this app: `curl -X POST $PODIO_API_URL/_emulator/hooks/target -d '{"url": "http://127.0.0.1:8001"}'`.
"""

from __future__ import annotations

import html
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from podiokit import FileSessionStore, Podio
from podiokit.integrations.fastapi import HookEvent, PodioAuth, PodioWebhooks

PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:8001").rstrip("/")
HOOK_URL = os.environ.get("HOOK_URL", f"{PUBLIC_URL}/podio/hooks")
APP_ID = int(os.environ["PODIO_APP_ID"])

# One app-wide client: one connection pool; every user's tokens in one store (a file here,
# RedisSessionStore when several processes serve the app).
podio = Podio(
    os.environ["PODIO_CLIENT_ID"],
    os.environ["PODIO_CLIENT_SECRET"],
    api_url=os.environ.get("PODIO_API_URL", "https://api.podio.com"),
    auth_url=os.environ.get("PODIO_AUTH_URL", "https://podio.com/oauth/authorize"),
    session_store=FileSessionStore(os.environ.get("TOKENS_FILE", ".podio-tokens.json")),
)
auth = PodioAuth(
    podio, redirect_uri=f"{PUBLIC_URL}/auth/callback", secret_key=os.environ["SECRET_KEY"]
)
# Hooks are created and verified as the app.
app_session = podio.session(f"app:{APP_ID}")
events: list[HookEvent] = []


async def on_event(event: HookEvent) -> None:
    # Podio sends ids only: fetch what you need, e.g. await app_session.items.get(event.item_id)
    events.append(event)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    await app_session.authenticate_with_app(APP_ID, os.environ["PODIO_APP_TOKEN"])
    hooks = await app_session.hooks.get_all("app", APP_ID)
    if not any(h.url == HOOK_URL and h.type == "item.create" for h in hooks):
        # Podio sends hook.verify at once; the receiver below validates it (Podio retries
        # while this app is still starting).
        await app_session.hooks.create("app", APP_ID, url=HOOK_URL, type="item.create")
    yield
    await podio.aclose()


app = FastAPI(lifespan=lifespan)
app.include_router(auth.router, prefix="/auth")
app.include_router(PodioWebhooks(app_session, on_event).router)


@app.get("/", response_class=HTMLResponse)
async def home(request: Request) -> str:
    if auth.user_id(request) is None:
        return '<a href="/auth/login">Sign in with Podio</a>'
    return '<form method="post" action="/auth/logout"><a href="/me">me</a> <button>Sign out</button></form>'


@app.get("/me")
async def me(user: Podio = Depends(auth.client)) -> dict[str, Any]:
    """The signed-in user, as Podio sees them (401 when signed out)."""
    profile = await user.request("GET", "/user/")
    return {"user_id": profile["user_id"], "name": profile["name"]}


@app.get("/items", response_class=HTMLResponse)
async def items(user: Podio = Depends(auth.client)) -> str:
    page = await user.items.filter(APP_ID, limit=10, sort_by="created_on", sort_desc=True)
    rows = "".join(f"<li>{html.escape(item.title or '')}</li>" for item in page.items)
    return f"<p>{page.filtered} items</p><ul>{rows}</ul>"


@app.get("/events")
async def received() -> list[dict[str, Any]]:
    return [{"type": e.type, "hook_id": e.hook_id, "item_id": e.item_id} for e in events]


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
