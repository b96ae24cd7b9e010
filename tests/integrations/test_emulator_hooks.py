"""The emulator's hook deliveries on the wire: form-encoded POSTs, `hook_id` on every event,
the hook URL's query string moved into the body, field-level hooks, retries, timeouts, a
loopback receiver, and the control routes."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

import anyio
import anyio.to_thread
import httpx
import pytest

from podiokit.testing import Emulator

from .conftest import emulator_http

pytestmark = pytest.mark.anyio

PROJECTS = 3002  # the demo app (credentials["apps"][0])


class Recorder:
    """A raw ASGI receiver: records each POST, answers from `statuses` (then 200)."""

    def __init__(self, *statuses: int, hang: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.statuses = list(statuses)
        self.hang = hang
        # Set from the server's thread when an event (not a verify) arrives.
        self.got_event = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.calls.append({
            "method": scope["method"], "path": scope["path"], "query": scope["query_string"],
            "content_type": headers.get("content-type", ""),
            "params": dict(parse_qsl(body.decode())),
        })  # fmt: skip
        if self.calls[-1]["params"].get("type") != "hook.verify":
            self.got_event.set()
        if self.hang:
            await anyio.Event().wait()  # never answers: the emulator's timeout ends it
        status = self.statuses.pop(0) if self.statuses else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def events(self) -> list[dict[str, str]]:
        return [c["params"] for c in self.calls if c["params"].get("type") != "hook.verify"]


async def _user(http: httpx.AsyncClient, emu: Emulator) -> None:
    c = emu.credentials
    token = await http.post("/oauth/token", data={
        "grant_type": "password", "username": c["username"], "password": c["password"],
        "client_id": c["client_id"], "client_secret": c["client_secret"],
    })  # fmt: skip
    http.headers["Authorization"] = f"OAuth2 {token.json()['access_token']}"


async def _active_hook(http: httpx.AsyncClient, emu: Emulator, ref: str, kind: str,
                       url: str = "http://hooks.example.com/in?source=podio") -> int:  # fmt: skip
    created = await http.post(f"/hook/{ref}/", json={"url": url, "type": kind})
    assert created.status_code == 200, created.text
    hook_id = int(created.json()["hook_id"])
    code = emu.hook_verification_code(hook_id)
    ok = await http.post(f"/hook/{hook_id}/verify/validate", json={"code": code})
    assert ok.status_code == 204
    return hook_id


async def test_deliveries_are_forms_with_hook_id_and_the_url_query_in_the_body(
    emu: Emulator,
) -> None:
    receiver = Recorder()
    emu.deliver_hooks_to(receiver)
    async with emulator_http(emu) as http:
        await _user(http, emu)
        hook_id = await _active_hook(http, emu, f"app/{PROJECTS}", "item.create")
        verify = receiver.calls[0]
        assert verify["params"] == {"type": "hook.verify", "hook_id": str(hook_id),
                                    "code": emu.hook_verification_code(hook_id),
                                    "source": "podio"}  # fmt: skip
        created = await http.post(f"/item/app/{PROJECTS}/", json={"fields": {"title": "x"}})
        item_id = created.json()["item_id"]
    call = receiver.calls[-1]
    assert (call["method"], call["path"], call["query"]) == ("POST", "/in", b"")
    assert call["content_type"] == "application/x-www-form-urlencoded"
    params = call["params"]
    assert params["type"] == "item.create" and params["hook_id"] == str(hook_id)
    assert params["item_id"] == str(item_id) and params["source"] == "podio"
    assert params["item_revision_id"].isdigit()


async def test_field_hooks_fire_only_for_their_field(emu: Emulator) -> None:
    receiver = Recorder()
    emu.deliver_hooks_to(receiver)
    async with emulator_http(emu) as http:
        await _user(http, emu)
        fields = (await http.get(f"/app/{PROJECTS}")).json()["fields"]
        title = next(f["field_id"] for f in fields if f["external_id"] == "title")
        await _active_hook(http, emu, f"app_field/{title}", "item.update")
        item_id = (await http.post(f"/item/app/{PROJECTS}/",
                                   json={"fields": {"title": "a"}})).json()["item_id"]  # fmt: skip
        other = next(f for f in fields if f["type"] == "number")["external_id"]
        await http.put(f"/item/{item_id}", json={"fields": {other: 5}})
        assert receiver.events() == []
        await http.put(f"/item/{item_id}", json={"fields": {"title": "b"}})
        await http.put(f"/item/{item_id}", json={"fields": {"title": "b"}})  # no change
    assert [e["item_id"] for e in receiver.events()] == [str(item_id)]


async def test_comment_delete_and_unchanged_updates(emu: Emulator) -> None:
    receiver = Recorder()
    emu.deliver_hooks_to(receiver)
    async with emulator_http(emu) as http:
        await _user(http, emu)
        await _active_hook(http, emu, f"app/{PROJECTS}", "comment.delete")
        await _active_hook(http, emu, f"app/{PROJECTS}", "item.update")
        item_id = (await http.post(f"/item/app/{PROJECTS}/",
                                   json={"fields": {"title": "a"}})).json()["item_id"]  # fmt: skip
        await http.put(f"/item/{item_id}", json={"fields": {"title": "a"}})  # nothing changed
        comment = (await http.post(f"/comment/item/{item_id}/", json={"value": "hi"})).json()
        await http.delete(f"/comment/{comment['comment_id']}")
    assert [(e["type"], e["comment_id"]) for e in receiver.events()] == [
        ("comment.delete", str(comment["comment_id"]))
    ]


async def test_retries_then_gives_up_and_timeouts_count_as_failures(emu: Emulator) -> None:
    receiver = Recorder(503, 502)
    emu.deliver_hooks_to(receiver, attempts=3, backoff=0.0)
    async with emulator_http(emu) as http:
        await _user(http, emu)
        hook_id = emu.hook_deliveries()  # nothing yet
        assert hook_id == []
        await http.post(f"/hook/app/{PROJECTS}/", json={"url": "http://h.example.com/",
                                                        "type": "item.create"})  # fmt: skip
    assert emu.hook_deliveries()[-1]["attempts"] == [503, 502, 200]

    hanging = Recorder(hang=True)
    emu.deliver_hooks_to(hanging, attempts=2, backoff=0.0, timeout=0.05)
    async with emulator_http(emu) as http:
        await _user(http, emu)
        await http.post(f"/hook/app/{PROJECTS}/", json={"url": "http://h.example.com/",
                                                        "type": "item.create"})  # fmt: skip
    last = emu.hook_deliveries()[-1]
    assert (last["status"], last["attempts"]) == ("failed", ["TimeoutError", "TimeoutError"])


def test_bad_delivery_settings_are_refused(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="attempts"):
        emu.deliver_hooks_to(None, attempts=0)
    with pytest.raises(ValueError, match="target"):
        emu.deliver_hooks_to("ftp://x")


@asynccontextmanager
async def _serve(app: Any) -> AsyncIterator[str]:
    """`app` on a real loopback port (uvicorn in a thread)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the receiver failed to start")
            await anyio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await anyio.to_thread.run_sync(thread.join)
        sock.close()


async def test_loopback_delivery_set_through_the_control_route(emu: Emulator) -> None:
    receiver = Recorder()
    async with (
        _serve(receiver) as base,
        emu.serve() as api,
        httpx.AsyncClient(base_url=api) as http,
    ):
        target = await http.post("/_emulator/hooks/target", json={"url": base})
        assert target.json()["url"] == base
        bad = await http.post("/_emulator/hooks/target", json={"url": "nope"})
        assert bad.status_code == 400
        await _user(http, emu)
        await _active_hook(http, emu, f"app/{PROJECTS}", "item.create")
        await http.post(f"/item/app/{PROJECTS}/", json={"fields": {"title": "x"}})
        # Over a socket the API answers first and delivers after: wait for it.
        assert await anyio.to_thread.run_sync(receiver.got_event.wait, 10)
        listed = (await http.get("/_emulator/hooks/deliveries")).json()
    assert receiver.calls[-1]["path"] == "/in"
    assert [d["type"] for d in listed] == ["hook.verify", "item.create"]
    assert all("code" not in d["params"] for d in listed)
