"""PodioWebhooks against the emulator's deliveries: verification turns the hook active,
item and comment changes made through the API arrive as typed events, malformed deliveries
get 400 (never 500)."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI

from podiokit import Podio
from podiokit.integrations.fastapi import HookEvent, PodioWebhooks
from podiokit.testing import Emulator

from .conftest import HOOK_URL, Received, browser

pytestmark = pytest.mark.anyio


def _app_id(emu: Emulator) -> int:
    return int(emu.credentials["apps"][0]["app_id"])


async def _status(podio: Podio, app_id: int, hook_id: int) -> str:
    hooks = await podio.hooks.get_all("app", app_id)
    return next(h.status for h in hooks if h.hook_id == hook_id)


async def test_verification_turns_the_hook_active(
    web: FastAPI, emu: Emulator, hooks_podio: Podio, received: Received
) -> None:
    app_id = _app_id(emu)
    # Nobody listening yet (the hook's host is not loopback): it stays inactive.
    early = await hooks_podio.hooks.create("app", app_id, url=HOOK_URL, type="item.create")
    assert await _status(hooks_podio, app_id, early.hook_id) == "inactive"
    assert emu.hook_deliveries()[-1]["status"] == "skipped"

    emu.deliver_hooks_to(web)
    await hooks_podio.hooks.request_verification(early.hook_id)
    assert await _status(hooks_podio, app_id, early.hook_id) == "active"

    # A hook created while the receiver is up is verified at once.
    late = await hooks_podio.hooks.create("app", app_id, url=HOOK_URL, type="item.update")
    assert await _status(hooks_podio, app_id, late.hook_id) == "active"
    verify = [d for d in emu.hook_deliveries() if d["type"] == "hook.verify"]
    assert [d["status"] for d in verify] == ["skipped", "delivered", "delivered"]
    assert "code" not in verify[-1]["params"]
    assert received.events == []  # hook.verify is answered by the receiver itself


async def test_wrong_code_leaves_the_hook_inactive(
    emu: Emulator, hooks_podio: Podio, received: Received
) -> None:
    app = FastAPI()
    app.include_router(PodioWebhooks(hooks_podio, received, mode="inline").router)
    app_id = _app_id(emu)
    created = await hooks_podio.hooks.create("app", app_id, url=HOOK_URL, type="item.create")
    # A forged hook.verify: the receiver's validation is refused by the API, so 502.
    async with browser(app) as b:
        response = await b.post(
            "/podio/hooks", data={"type": "hook.verify", "hook_id": created.hook_id, "code": "nope"}
        )
    assert response.status_code == 502
    assert await _status(hooks_podio, app_id, created.hook_id) == "inactive"


async def _active_hooks(podio: Podio, emu: Emulator, web: FastAPI, *kinds: str) -> dict[str, int]:
    emu.deliver_hooks_to(web, backoff=0.0)
    out = {}
    for kind in kinds:
        created = await podio.hooks.create("app", _app_id(emu), url=HOOK_URL, type=kind)
        out[kind] = created.hook_id
    return out


async def test_item_and_comment_changes_arrive_as_typed_events(
    web: FastAPI, emu: Emulator, hooks_podio: Podio, received: Received
) -> None:
    kinds = ("item.create", "item.update", "item.delete", "comment.create")
    hook_ids = await _active_hooks(hooks_podio, emu, web, *kinds)

    created = await hooks_podio.items.create(
        _app_id(emu), fields={"title": "Hooked"}, external_id="ext-1"
    )
    item_id = created.item_id
    await hooks_podio.items.update(item_id, fields={"title": "Hooked again"})
    comment = await hooks_podio.comments.create("item", item_id, value="A comment")
    revisions = await hooks_podio.request("GET", f"/item/{item_id}/revision")
    await hooks_podio.items.delete(item_id)

    types = [e.type for e in received.events]
    assert types == ["item.create", "item.update", "comment.create", "item.delete"]
    create, update, commented, delete = received.events
    assert isinstance(create, HookEvent)
    assert (create.hook_id, create.item_id) == (hook_ids["item.create"], item_id)
    assert create.item_revision_id == revisions[0]["item_revision_id"]
    assert create.external_id == "ext-1"
    assert update.item_revision_id == revisions[1]["item_revision_id"]
    assert update.hook_id == hook_ids["item.update"]
    assert (commented.item_id, commented.comment_id) == (item_id, comment.comment_id)
    assert commented.hook_id == hook_ids["comment.create"]
    assert (delete.item_id, delete.hook_id) == (item_id, hook_ids["item.delete"])
    assert create.params["item_id"] == str(item_id)
    assert all(d["status"] == "delivered" for d in emu.hook_deliveries())


async def test_inactive_and_other_apps_hooks_get_nothing(
    web: FastAPI, emu: Emulator, hooks_podio: Podio, received: Received
) -> None:
    # Created before the receiver is known: never verified, never called.
    await hooks_podio.hooks.create("app", _app_id(emu), url=HOOK_URL, type="item.create")
    emu.deliver_hooks_to(web)
    await hooks_podio.items.create(_app_id(emu), fields={"title": "Unseen"})
    assert received.events == []
    assert [d["type"] for d in emu.hook_deliveries()] == ["hook.verify"]


async def test_inline_mode_answers_500_when_the_handler_fails(
    web: FastAPI, emu: Emulator, hooks_podio: Podio, received: Received
) -> None:
    # `web` receives inline (the answer waits for the handler). Whether Podio tries a failed
    # delivery again is unknown (docs/dev/podio-behaviour.md §7): only the first attempt's
    # answer is ours to check.
    await _active_hooks(hooks_podio, emu, web, "item.create")
    received.fail = 1
    await hooks_podio.items.create(_app_id(emu), fields={"title": "Failed"})
    last = emu.hook_deliveries()[-1]
    assert last["attempts"][0] == 500
    assert received.events[0].type == "item.create"


async def test_unknown_event_types_are_delivered(web: FastAPI, received: Received) -> None:
    async with browser(web) as podio_side:
        response = await podio_side.post(
            "/podio/hooks",
            data={"type": "space.archive", "hook_id": "7", "space_id": "42", "extra": "x"},
        )
        files = await podio_side.post(
            "/podio/hooks",
            data={"type": "file.change", "hook_id": "8", "item_id": "9",
                  "action_type": "file_created", "file_ids": "11,12"},
        )  # fmt: skip
    assert (response.status_code, files.status_code) == (200, 200)
    unknown, changed = received.events
    assert (unknown.type, unknown.hook_id, unknown.space_id) == ("space.archive", 7, 42)
    assert unknown.params["extra"] == "x"
    assert (changed.file_ids, changed.action_type, changed.item_id) == ((11, 12), "file_created", 9)


@pytest.mark.parametrize(
    ("body", "content_type", "complaint"),
    [
        (b"item_id=1&hook_id=2", "application/x-www-form-urlencoded", "'type'"),
        (b"type=%00", "application/x-www-form-urlencoded", "'type'"),
        (b"--x\r\n\r\n", "multipart/form-data", "could not be parsed"),
        (b"type=item.create&item_id=abc", "application/x-www-form-urlencoded", "'item_id'"),
        (b"type=item.create&item_id=1_0", "application/x-www-form-urlencoded", "'item_id'"),
        (b"type=file.change&file_ids=1,x", "application/x-www-form-urlencoded", "'file_ids'"),
        (b"type=hook.verify&hook_id=3", "application/x-www-form-urlencoded", "'code'"),
        (b'{"type": "item.create"}', "application/json", "not a form"),
        (b"type=item.create", "", "not a form"),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x", "'type'"),
        (
            b'--x\r\nContent-Disposition: form-data; name="type"; filename="a.txt"\r\n\r\n'
            b"item.create\r\n--x--\r\n",
            "multipart/form-data; boundary=x",
            "file upload",
        ),
    ],
)
async def test_malformed_deliveries_get_400_and_a_log_line(
    web: FastAPI,
    received: Received,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
    complaint: str,
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    caplog.set_level(logging.WARNING, logger="podiokit.integrations.fastapi")
    async with browser(web) as podio_side:
        response = await podio_side.post("/podio/hooks", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert complaint in response.text
    assert any(complaint in r.getMessage() for r in caplog.records), caplog.text
    assert received.events == []


# -- forged deliveries (Podio does not sign them) ----------------------------------------------

SHARED = "hook-secret-0123456789abcdef"


async def test_a_shared_secret_in_the_hook_url_keeps_forged_deliveries_out(
    emu: Emulator, hooks_podio: Podio, received: Received, caplog: pytest.LogCaptureFixture
) -> None:
    webhooks = PodioWebhooks(hooks_podio, received, secret=SHARED)
    app = FastAPI()
    app.include_router(webhooks.router)
    emu.deliver_hooks_to(app, backoff=0.0)
    url = webhooks.hook_url("https://myapp.example/")
    assert url == f"https://myapp.example/podio/hooks?podiokit_secret={SHARED}"
    assert webhooks.hook_url("https://myapp.example/in/hooks?a=1") == (
        f"https://myapp.example/in/hooks?a=1&podiokit_secret={SHARED}"
    )
    # Podio moves the URL's query into the body it posts: verification and events pass.
    hook = await hooks_podio.hooks.create("app", _app_id(emu), url=url, type="item.create")
    assert await _status(hooks_podio, _app_id(emu), hook.hook_id) == "active"
    async with app.router.lifespan_context(app):  # the workers, as a server runs them
        created = await hooks_podio.items.create(_app_id(emu), fields={"title": "Signed off"})
        await webhooks.join()
    assert [(e.type, e.item_id) for e in received.events] == [("item.create", created.item_id)]
    assert "podiokit_secret" not in received.events[0].params  # handlers never see it

    caplog.set_level(logging.WARNING, logger="podiokit.integrations.fastapi")
    forged = {"type": "item.create", "hook_id": str(hook.hook_id), "item_id": "1"}
    async with browser(app) as stranger:
        for body in (forged, {**forged, "podiokit_secret": "guess-guess-guess-guess"}):
            response = await stranger.post("/podio/hooks", data=body)
            assert response.status_code == 403
        verify = await stranger.post(
            "/podio/hooks", data={"type": "hook.verify", "hook_id": "1", "code": "x"}
        )
        assert verify.status_code == 403
    assert len(received.events) == 1
    assert SHARED not in caplog.text and "guess" not in caplog.text
    assert SHARED not in repr(webhooks)


async def test_known_hooks_refuses_deliveries_for_other_hook_ids(
    emu: Emulator, hooks_podio: Podio, received: Received
) -> None:
    mine: set[int] = set()
    app = FastAPI()
    app.include_router(PodioWebhooks(hooks_podio, received, known_hooks=mine, mode="inline").router)
    emu.deliver_hooks_to(app, backoff=0.0)
    # hook.verify arrives before hooks.create returns the id: it is not checked against the set.
    hook = await hooks_podio.hooks.create("app", _app_id(emu), url=HOOK_URL, type="item.create")
    assert await _status(hooks_podio, _app_id(emu), hook.hook_id) == "active"
    mine.add(hook.hook_id)
    await hooks_podio.items.create(_app_id(emu), fields={"title": "Known"})
    assert [e.hook_id for e in received.events] == [hook.hook_id]
    async with browser(app) as stranger:
        for hook_id in (str(hook.hook_id + 1000), ""):
            response = await stranger.post(
                "/podio/hooks", data={"type": "item.create", "hook_id": hook_id, "item_id": "1"}
            )
            assert response.status_code == 403
    assert len(received.events) == 1

    async def from_the_database() -> set[int]:  # or an async function, asked each time
        return {hook.hook_id}

    app = FastAPI()
    app.include_router(
        PodioWebhooks(hooks_podio, received, known_hooks=from_the_database, mode="inline").router
    )
    async with browser(app) as podio_side:
        ok = {"type": "item.create", "hook_id": str(hook.hook_id), "item_id": "2"}
        assert (await podio_side.post("/podio/hooks", data=ok)).status_code == 200
        other = {**ok, "hook_id": "99"}
        assert (await podio_side.post("/podio/hooks", data=other)).status_code == 403


async def test_a_short_secret_is_refused() -> None:
    async with Podio("client-id", "client-secret") as podio:
        with pytest.raises(ValueError, match="secret"):
            PodioWebhooks(podio, Received(), secret="short")
