"""A FastAPI backend on podiokit: Podio sign-in, per-user pages, and a webhook receiver.

- `GET /` greets the signed-in user by name (their own Podio identity) or offers to sign
  in; `GET /items` lists an app's newest items as that user (signed out: sent to sign in
  and back); `GET /me` is the same identity as JSON (401 when signed out).
- `POST /auth/logout` signs this browser out; the home page also offers "Sign out
  everywhere".
- `POST /podio/hooks` receives Podio's webhooks. When `HOOK_URL` (the receiver's public
  URL: Podio calls only ports 80 and 443) is set, the app registers an `item.create` hook
  on `PODIO_APP_ID` at start-up (or has it verified again if Podio made it inactive),
  acting as the app, and the receiver verifies it. The receiver answers at once; the
  handler runs in a worker. Podio does not sign deliveries: the hook URL carries a secret derived from `SECRET_KEY`, and
  deliveries for hooks this app did not register are refused. `GET /events` shows what
  arrived.

Try it against a local emulator. In one shell:

    podiokit emulator --port 8000

In another, from the repository's root (these are the emulator's demo credentials; it
prints them too):

    export PODIO_API_URL=http://127.0.0.1:8000 PODIO_AUTH_URL=http://127.0.0.1:8000/oauth/authorize
    export PODIO_CLIENT_ID=podiokit-emulator PODIO_CLIENT_SECRET=emulator-secret-0f9c2a7d41b6
    export PODIO_APP_ID=3002 PODIO_APP_TOKEN=f7889637f4fae63a54cdefa8c19ef87e
    export PUBLIC_URL=http://127.0.0.1:8001 SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex())')
    export HOOK_URL=https://backend.example.com/podio/hooks
    curl -s -X POST http://127.0.0.1:8000/_emulator/hooks/target -d '{"url": "http://127.0.0.1:8001"}'
    uvicorn --app-dir examples fastapi_backend:app --port 8001

Then open http://127.0.0.1:8001/ and sign in: the emulator shows its consent page, where you
pick a demo user. The `curl` line sends the emulator's hook deliveries to this app instead
of `HOOK_URL`; without `HOOK_URL` no hook is registered. Tokens and sessions are kept in
`TOKENS_FILE` (default: `~/.cache/podiokit/fastapi-example-tokens.json`, outside your
checkout).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse

from podiokit import FileSessionStore, Podio, PodioAuthorizationError, PodioInvalidGrantError
from podiokit.integrations.fastapi import (
    HookEvent,
    PodioAuth,
    PodioWebhooks,
    add_exception_handlers,
)

log = logging.getLogger("fastapi_backend")

PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:8001").rstrip("/")
HOOK_URL = os.environ.get("HOOK_URL")  # None: register no hook
APP_ID = int(os.environ["PODIO_APP_ID"])
SECRET_KEY = os.environ["SECRET_KEY"]
TOKENS_FILE = os.environ.get(
    "TOKENS_FILE", str(Path.home() / ".cache" / "podiokit" / "fastapi-example-tokens.json")
)

# One app-wide client: one connection pool; every user's tokens and browser sessions in one
# store (a file here, RedisSessionStore when several processes serve the app).
podio = Podio(
    os.environ["PODIO_CLIENT_ID"],
    os.environ["PODIO_CLIENT_SECRET"],
    api_url=os.environ.get("PODIO_API_URL", "https://api.podio.com"),
    auth_url=os.environ.get("PODIO_AUTH_URL", "https://podio.com/oauth/authorize"),
    session_store=FileSessionStore(TOKENS_FILE),
)
auth = PodioAuth(podio, redirect_uri=f"{PUBLIC_URL}/auth/callback", secret_key=SECRET_KEY)
# Hooks are created and verified as the app.
app_session = podio.session(f"app:{APP_ID}")
events: list[HookEvent] = []
hook_ids: set[int] = set()  # the hooks this app registered: deliveries for others are refused


async def on_event(event: HookEvent) -> None:
    # Runs in the receiver's worker, after Podio has its answer. Podio sends ids only: fetch
    # what you need, e.g. await app_session.items.get(event.item_id)
    events.append(event)


webhooks = PodioWebhooks(
    app_session,
    on_event,
    secret=hmac.new(SECRET_KEY.encode(), b"podio-hooks", hashlib.sha256).hexdigest(),
    known_hooks=hook_ids,
)


async def keep_hooks_active() -> None:
    """Create the hook if it is missing and have it verified again if it is inactive (Podio
    turns hooks inactive by rules it does not document). The receiver answers hook.verify
    once the app serves, so keep asking for a while."""
    assert HOOK_URL
    report = await webhooks.repair("app", APP_ID, HOOK_URL, types=["item.create"], retry_for=60)
    for hook in report:  # the ids are in hook_ids now
        log.info("hook %s (%s): %s, %s", hook.hook_id, hook.type, hook.status, hook.action)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    async with anyio.create_task_group() as tg:
        if HOOK_URL:
            await app_session.authenticate_with_app(APP_ID, os.environ["PODIO_APP_TOKEN"])
            tg.start_soon(keep_hooks_active)  # runs while the app starts serving
        else:
            log.warning("HOOK_URL is not set: no webhook registered")
        yield
        tg.cancel_scope.cancel()
    await podio.aclose()


app = FastAPI(lifespan=lifespan)
app.include_router(auth.router, prefix="/auth")
app.include_router(webhooks.router)
add_exception_handlers(app)  # Podio unreachable during a page: 503, not a traceback


def page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} - podiokit example</title>"
        f"<h1>{html.escape(title)}</h1>{body}</html>"
    )


@app.get("/", response_class=HTMLResponse)
async def home(user_id: int | None = Depends(auth.current_user)) -> str:
    sign_in = '<p><a href="/auth/login">Sign in with Podio</a></p>'
    if user_id is None:
        return page("Welcome", sign_in)
    try:
        profile = await podio.session(f"user:{user_id}").request("GET", "/user/")
    except (PodioAuthorizationError, PodioInvalidGrantError):  # Podio no longer takes the token
        return page("Welcome", sign_in)
    return page(
        f"Hello, {profile['name']}",
        '<p><a href="/items">Newest items</a> · <a href="/me">me (JSON)</a> · '
        '<a href="/events">webhook events</a></p>'
        '<form method="post" action="/auth/logout"><button>Sign out</button></form>'
        '<form method="post" action="/auth/logout?everywhere=1">'
        "<button>Sign out everywhere</button></form>",
    )


@app.get("/me")
async def me(user: Podio = Depends(auth.client)) -> dict[str, Any]:
    """The signed-in user, as Podio sees them (401 when signed out)."""
    profile = await user.request("GET", "/user/")
    return {"user_id": profile["user_id"], "name": profile["name"]}


@app.get("/items", response_class=HTMLResponse)
async def items(user: Podio = Depends(auth.page_client)) -> str:
    page_ = await user.items.filter(APP_ID, limit=10, sort_by="created_on", sort_desc=True)
    rows = "".join(f"<li>{html.escape(item.title or '')}</li>" for item in page_.items)
    return page("Newest items", f"<p>{page_.filtered} items</p><ul>{rows}</ul>")


@app.get("/events")
async def received() -> list[dict[str, Any]]:
    return [{"type": e.type, "hook_id": e.hook_id, "item_id": e.item_id} for e in events]


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
