"""A client that goes away during injected latency is normal for the emulator (issue 15.12).

The server runs on a real loopback socket (`Emulator.serve()`); the client gives up long
before the injected latency ends, then the test waits for the emulator to count the
disconnect (no wall-clock guess about when the server got there) and checks that nothing
was printed or logged.
"""

from __future__ import annotations

import logging
from functools import partial

import anyio
import httpx
import pytest

from podiokit.testing import Emulator

from .conftest import client_fields

pytestmark = pytest.mark.anyio

# Far above the client's patience, so the client is always gone when the handler reads.
LATENCY_MS = 1500


async def _until_disconnect_counted(emu: Emulator, count: int) -> None:
    # Polled: the server runs in uvicorn's thread, which cannot set this loop's Event.
    with anyio.fail_after(15):
        while emu.stats()["client_disconnects"] < count:  # noqa: ASYNC110
            await anyio.sleep(0.01)


def _password_form(emu: Emulator) -> dict[str, str]:
    c = emu.credentials
    return {"grant_type": "password", "username": c["username"], "password": c["password"],
            **client_fields(emu)}  # fmt: skip


async def test_a_client_timeout_during_latency_prints_no_traceback(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    emu = Emulator(items=2, latency=LATENCY_MS)
    async with emu.serve() as url, httpx.AsyncClient(base_url=url, timeout=0.1) as http:
        with pytest.raises(httpx.TimeoutException):
            await http.post("/oauth/token", data=_password_form(emu))
        await _until_disconnect_counted(emu, 1)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    assert "ClientDisconnect" not in out + err
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert noisy == []
    assert not any(r.exc_info for r in caplog.records)


async def test_a_cancelled_client_during_latency_prints_no_traceback(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
):
    emu = Emulator(items=2, latency=LATENCY_MS)
    async with emu.serve() as url, httpx.AsyncClient(base_url=url) as http:
        before = emu.stats()["requests"]
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(partial(http.post, "/oauth/token/v2", json=_password_form(emu)))
                with anyio.fail_after(15):  # cancel once the server holds the request
                    while emu.stats()["requests"] == before:  # noqa: ASYNC110
                        await anyio.sleep(0.01)
                scope.cancel()
        await _until_disconnect_counted(emu, 1)
        # The emulator still answers the next caller.
        async with httpx.AsyncClient(base_url=url) as again:
            emu.set_faults(latency=0)
            assert (await again.post("/oauth/token", data=_password_form(emu))).status_code == 200
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
