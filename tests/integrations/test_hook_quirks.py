"""Hook delivery as far as Podio documents it (issue 24 #3/#8): one attempt by default, retries
and deactivation after failed deliveries only when a quirk asks for them."""

from __future__ import annotations

import httpx
import pytest

from podiokit.testing import Emulator

from .conftest import emulator_http
from .test_emulator_hooks import PROJECTS, Recorder, _active_hook, _user

pytestmark = pytest.mark.anyio


async def _create(http: httpx.AsyncClient, title: str) -> None:
    created = await http.post(f"/item/app/{PROJECTS}/", json={"fields": {"title": title}})
    assert created.status_code == 200, created.text


async def test_one_attempt_unless_retries_are_asked_for(emu: Emulator) -> None:
    receiver = Recorder()
    emu.deliver_hooks_to(receiver, backoff=0.0)
    async with emulator_http(emu) as http:
        await _user(http, emu)
        await _active_hook(http, emu, f"app/{PROJECTS}", "item.create")
        receiver.statuses = [500, 500]
        await _create(http, "once")
        assert emu.hook_deliveries()[-1]["attempts"] == [500]  # no retry: none documented
        emu.set_quirks(hook_retries=2)
        receiver.statuses = [500, 503]
        await _create(http, "thrice")
    last = emu.hook_deliveries()[-1]
    assert (last["status"], last["attempts"]) == ("delivered", [500, 503, 200])
    assert emu.quirks["hook_retries"] == 2
    emu.deliver_hooks_to(receiver, attempts=1)  # the same setting, by its older name
    assert emu.quirks["hook_retries"] == 0


async def test_a_hook_turns_inactive_after_n_failed_deliveries_in_a_row(emu: Emulator) -> None:
    receiver = Recorder()
    emu.deliver_hooks_to(receiver, backoff=0.0)
    emu.set_quirks(hook_inactive_after=2)
    async with emulator_http(emu) as http:
        await _user(http, emu)
        hook_id = await _active_hook(http, emu, f"app/{PROJECTS}", "item.create")
        receiver.statuses = [500, 200, 500]
        await _create(http, "fails")  # 1 failure
        await _create(http, "delivered")  # the count starts again
        await _create(http, "fails again")  # 1 failure
        hooks = (await http.get(f"/hook/app/{PROJECTS}/")).json()
        assert [h["status"] for h in hooks if h["hook_id"] == hook_id] == ["active"]
        receiver.statuses = [502]
        await _create(http, "second failure in a row")
        hooks = (await http.get(f"/hook/app/{PROJECTS}/")).json()
        assert [h["status"] for h in hooks if h["hook_id"] == hook_id] == ["inactive"]
        delivered = len(emu.hook_deliveries())
        await _create(http, "not sent to an inactive hook")
        assert len(emu.hook_deliveries()) == delivered
        # Verified again, it is active and delivered to.
        await http.post(f"/hook/{hook_id}/verify/request")
        code = emu.hook_verification_code(hook_id)
        await http.post(f"/hook/{hook_id}/verify/validate", json={"code": code})
        await _create(http, "after repair")
    assert emu.hook_deliveries()[-1]["status"] == "delivered"
    assert emu.hook_deliveries()[-1]["params"]["type"] == "item.create"
