"""Seeing and repairing hooks at start-up: an inactive hook receives nothing, and nothing says
when Podio turns one inactive (docs/dev/podio-behaviour.md §7). `repair` creates missing
hooks and asks Podio to verify inactive ones again; with `retry_for` it keeps asking until
the receiver is serving."""

from __future__ import annotations

import logging

import anyio
import pytest
from fastapi import FastAPI

from podiokit import Podio
from podiokit.integrations.fastapi import PodioWebhooks, list_hooks, repair_hooks
from podiokit.testing import Emulator

from .conftest import Received

pytestmark = pytest.mark.anyio

SHARED = "hook-secret-0123456789abcdef"
PUBLIC = "http://hooks.example.com"  # not loopback: the emulator delivers nothing there


def _app_id(emu: Emulator) -> int:
    return int(emu.credentials["apps"][0]["app_id"])


def _receiver(podio: Podio, received: Received, **kwargs: object) -> tuple[PodioWebhooks, FastAPI]:
    webhooks = PodioWebhooks(podio, received, secret=SHARED, **kwargs)  # type: ignore[arg-type]
    app = FastAPI()
    app.include_router(webhooks.router)
    return webhooks, app


async def test_repair_verifies_inactive_hooks_and_creates_missing_ones(
    emu: Emulator, hooks_podio: Podio, received: Received
) -> None:
    mine: set[int] = set()
    webhooks, app = _receiver(hooks_podio, received, known_hooks=mine)
    app_id = _app_id(emu)
    url = webhooks.hook_url(PUBLIC)
    # Created while nobody could answer its hook.verify: inactive, and it gets nothing.
    early = await hooks_podio.hooks.create("app", app_id, url=url, type="item.create")
    other = await hooks_podio.hooks.create("app", app_id, url=f"{PUBLIC}/else", type="item.create")
    listed = await webhooks.hooks("app", app_id, PUBLIC)
    assert [(h.hook_id, h.status) for h in listed] == [(early.hook_id, "inactive")]
    assert {h.hook_id for h in await webhooks.hooks("app", app_id)} == {
        early.hook_id, other.hook_id,
    }  # fmt: skip

    emu.deliver_hooks_to(app, backoff=0.0)
    async with app.router.lifespan_context(app):
        report = await webhooks.repair(
            "app", app_id, PUBLIC, types=["item.create", "item.update", "item.create"]
        )
        by_type = {r.type: r for r in report}
        assert by_type["item.create"].hook_id == early.hook_id
        assert (by_type["item.create"].action, by_type["item.create"].status) == (
            "verification requested", "active",
        )  # fmt: skip
        assert (by_type["item.update"].action, by_type["item.update"].status) == (
            "created", "active",
        )  # fmt: skip
        assert len(report) == 2 and all(r.active for r in report)
        assert mine == {r.hook_id for r in report}  # known_hooks (a set) learns the ids

        # Repaired: events flow again, and a second repair has nothing to do.
        item = await hooks_podio.items.create(app_id, fields={"title": "After repair"})
        await webhooks.join()
        assert [(e.type, e.item_id) for e in received.events] == [("item.create", item.item_id)]
        again = await webhooks.repair("app", app_id, PUBLIC, types=["item.create"])
        assert sorted(r.action for r in again) == ["none", "none"]
    # The other URL's hook was left alone.
    others = await list_hooks(hooks_podio, "app", app_id, url=f"{PUBLIC}/else")
    assert [(h.hook_id, h.status) for h in others] == [(other.hook_id, "inactive")]


async def test_repair_keeps_asking_until_the_receiver_answers(
    emu: Emulator, hooks_podio: Podio, received: Received
) -> None:
    """At start-up the verification may be requested before the app serves: `retry_for`
    asks again until the hook is active."""
    webhooks, app = _receiver(hooks_podio, received)
    app_id = _app_id(emu)
    url = webhooks.hook_url(PUBLIC)
    hook = await hooks_podio.hooks.create("app", app_id, url=url, type="item.create")

    async def app_starts_serving() -> None:
        await anyio.sleep(0.3)
        emu.deliver_hooks_to(app, backoff=0.0)

    async with anyio.create_task_group() as tg:
        tg.start_soon(app_starts_serving)
        with anyio.fail_after(10):
            report = await repair_hooks(
                hooks_podio, "app", app_id, url, retry_for=10, retry_every=0.05
            )
    assert [(r.hook_id, r.status, r.action) for r in report] == [
        (hook.hook_id, "active", "verification requested")
    ]
    verifies = [d["status"] for d in emu.hook_deliveries() if d["type"] == "hook.verify"]
    assert verifies[0] == "skipped" and verifies[-1] == "delivered"


async def test_a_hook_still_inactive_is_reported_and_logged(
    emu: Emulator, hooks_podio: Podio, received: Received, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="podiokit.integrations")
    webhooks, _ = _receiver(hooks_podio, received)
    app_id = _app_id(emu)
    with anyio.fail_after(5):
        report = await webhooks.repair(
            "app", app_id, PUBLIC, types=["item.create"], retry_for=0.3, retry_every=0.05
        )
    assert [(r.type, r.status, r.action, r.active) for r in report] == [
        ("item.create", "inactive", "created", False)
    ]
    assert any("still inactive" in r.getMessage() for r in caplog.records)
    assert SHARED not in caplog.text


async def test_bad_repair_settings_are_refused(hooks_podio: Podio) -> None:
    with pytest.raises(ValueError, match="retry_for"):
        await repair_hooks(hooks_podio, "app", 1, PUBLIC, retry_for=-1)
    with pytest.raises(ValueError, match="retry_every"):
        await repair_hooks(hooks_podio, "app", 1, PUBLIC, retry_every=0)
