"""PodioWebhooks answers a delivery as soon as it is accepted and runs the handler in worker
tasks started with the app's lifespan: a slow handler never holds Podio's request, a full
queue answers 503, shutdown drains (then cancels), a failing handler is logged and counted,
never retried. Inline mode keeps the answer waiting for the handler.

Whether Podio retries deliveries is unknown (docs/dev/podio-behaviour.md §7): these tests
never rely on the emulator's retries."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
import httpx
import pytest
from fastapi import FastAPI

from podiokit import Podio
from podiokit.integrations.fastapi import HookEvent, PodioWebhooks
from podiokit.testing import Emulator

from .conftest import Received, browser

pytestmark = pytest.mark.anyio

SHARED = "hook-secret-0123456789abcdef"


def _event(item_id: int = 1, hook_id: int = 7) -> dict[str, str]:
    return {"type": "item.create", "hook_id": str(hook_id), "item_id": str(item_id)}


def _app(webhooks: PodioWebhooks) -> FastAPI:
    app = FastAPI()
    app.include_router(webhooks.router)
    return app


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[None]:
    """What a server (uvicorn) does around serving the app: its lifespan, with every
    included router's."""
    async with app.router.lifespan_context(app):
        yield


class Gate:
    """A handler that records each event, tells when it started, and waits to be let go."""

    def __init__(self) -> None:
        self.started: list[HookEvent] = []
        self.done: list[HookEvent] = []
        self.first = anyio.Event()
        self.release = anyio.Event()

    async def __call__(self, event: HookEvent) -> None:
        self.started.append(event)
        self.first.set()
        await self.release.wait()
        self.done.append(event)


async def test_a_handler_that_sleeps_10_s_does_not_delay_the_answer(podio: Podio) -> None:
    finished = anyio.Event()
    handled: list[int | None] = []

    async def slow(event: HookEvent) -> None:
        await anyio.sleep(10)
        handled.append(event.item_id)
        finished.set()

    webhooks = PodioWebhooks(podio, slow, secret=SHARED)
    app = _app(webhooks)
    async with serving(app), browser(app) as podio_side:
        started = time.monotonic()
        with anyio.fail_after(1):
            response = await podio_side.post(
                "/podio/hooks", data={**_event(5), "podiokit_secret": SHARED}
            )
        answered = time.monotonic() - started
        assert (response.status_code, response.text) == (200, "ok")
        assert answered < 1 and handled == []  # answered while the handler sleeps
        assert webhooks.stats().queued == 1
        with anyio.fail_after(15):
            await finished.wait()  # and the handler still runs to completion
    assert handled == [5]
    stats = webhooks.stats()
    assert (stats.accepted, stats.handled, stats.failed, stats.queued) == (1, 1, 0, 0)
    assert stats.state == "stopped"


async def test_events_from_the_emulator_reach_the_handler_in_order(
    emu: Emulator, hooks_podio: Podio, received: Received
) -> None:
    webhooks = PodioWebhooks(hooks_podio, received, secret=SHARED, known_hooks=set())
    app = _app(webhooks)
    emu.deliver_hooks_to(app, backoff=0.0)
    app_id = int(emu.credentials["apps"][0]["app_id"])
    async with serving(app):
        report = await webhooks.repair(
            "app", app_id, "https://myapp.example", types=["item.create"]
        )
        assert [(r.type, r.action, r.status) for r in report] == [
            ("item.create", "created", "active")
        ]
        ids = [(await hooks_podio.items.create(app_id, fields={"title": f"n{n}"})).item_id
               for n in range(5)]  # fmt: skip
        await webhooks.join()
        assert [e.item_id for e in received.events] == ids
    assert all(d["attempts"] == [200] for d in emu.hook_deliveries())


async def test_a_failing_handler_is_logged_and_counted_never_retried(
    emu: Emulator, hooks_podio: Podio, received: Received, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="podiokit")
    webhooks = PodioWebhooks(hooks_podio, received, secret=SHARED)
    app = _app(webhooks)
    emu.deliver_hooks_to(app, backoff=0.0)
    app_id = int(emu.credentials["apps"][0]["app_id"])
    async with serving(app):
        await webhooks.repair("app", app_id, "https://myapp.example", types=["item.create"])
        received.fail = 1
        await hooks_podio.items.create(app_id, fields={"title": "Fails once"})
        await hooks_podio.items.create(app_id, fields={"title": "Fine"})
        await webhooks.join()
    # Acknowledged at once: the emulator (Podio) has no reason to send either again.
    events = [d for d in emu.hook_deliveries() if d["type"] == "item.create"]
    assert [d["attempts"] for d in events] == [[200], [200]]
    assert len(received.events) == 2  # each event handled once: the failure is not retried
    stats = webhooks.stats()
    assert (stats.accepted, stats.handled, stats.failed) == (2, 1, 1)
    failures = [r for r in caplog.records if "handler failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None
    assert "item.create" in failures[0].getMessage()
    assert SHARED not in caplog.text


async def test_a_full_queue_answers_503_so_the_delivery_is_not_acknowledged(
    podio: Podio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="podiokit.integrations.fastapi")
    gate = Gate()
    webhooks = PodioWebhooks(podio, gate, queue_size=2)
    app = _app(webhooks)
    async with serving(app), browser(app) as podio_side:
        first = await podio_side.post("/podio/hooks", data=_event(1))
        with anyio.fail_after(5):
            await gate.first.wait()  # the worker holds event 1; 2 and 3 fill the queue
        statuses = [first.status_code]
        for n in (2, 3, 4, 5):
            response = await podio_side.post("/podio/hooks", data=_event(n))
            statuses.append(response.status_code)
            if response.status_code == 503:
                assert response.headers["retry-after"] == "30"
        assert statuses == [200, 200, 200, 503, 503]
        assert webhooks.stats().refused == 2
        gate.release.set()
        await webhooks.join()
        after = await podio_side.post("/podio/hooks", data=_event(6))  # room again
        assert after.status_code == 200
        await webhooks.join()
    assert [e.item_id for e in gate.done] == [1, 2, 3, 6]
    stats = webhooks.stats()
    assert (stats.accepted, stats.handled, stats.refused, stats.dropped) == (4, 4, 2, 0)
    full = [r.getMessage() for r in caplog.records if "queue is full" in r.getMessage()]
    assert len(full) == 1  # once per episode, not once per refused delivery
    assert any("2 refused" in r.getMessage() for r in caplog.records)


async def test_shutdown_drains_the_queue_and_refuses_new_deliveries(podio: Podio) -> None:
    gate = Gate()
    webhooks = PodioWebhooks(podio, gate, drain_timeout=30)
    app = _app(webhooks)
    late: list[int] = []

    async def post_while_stopping() -> None:
        for _ in range(500):  # the test's lifespan is ending: wait for it to stop accepting
            if webhooks.stats().state == "stopping":
                break
            await anyio.sleep(0.01)
        async with browser(app) as podio_side:
            late.append((await podio_side.post("/podio/hooks", data=_event(9))).status_code)
        gate.release.set()  # the handler may finish now: the queue drains

    async with anyio.create_task_group() as tg, browser(app) as podio_side:
        with anyio.fail_after(10):
            async with serving(app):
                for n in (1, 2, 3):
                    assert (
                        await podio_side.post("/podio/hooks", data=_event(n))
                    ).status_code == 200
                await gate.first.wait()
                tg.start_soon(post_while_stopping)
            # The lifespan ended only once the queue was drained.
    assert late == [503]
    assert [e.item_id for e in gate.done] == [1, 2, 3]
    stats = webhooks.stats()
    assert (stats.handled, stats.dropped, stats.refused, stats.state) == (3, 0, 1, "stopped")


async def test_shutdown_cancels_what_is_left_after_drain_timeout(
    podio: Podio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="podiokit.integrations.fastapi")
    gate = Gate()  # never released: a handler stuck for good
    webhooks = PodioWebhooks(podio, gate, drain_timeout=0.2)
    app = _app(webhooks)
    async with browser(app) as podio_side:
        with anyio.fail_after(5):
            async with serving(app):
                for n in (1, 2, 3):
                    await podio_side.post("/podio/hooks", data=_event(n))
                await gate.first.wait()
    assert [e.item_id for e in gate.started] == [1] and gate.done == []
    stats = webhooks.stats()
    assert (stats.accepted, stats.handled, stats.dropped, stats.queued) == (3, 0, 3, 0)
    assert any("3 accepted events were not handled" in r.getMessage() for r in caplog.records)
    await webhooks.join()  # nothing left to wait for


async def test_inline_mode_answers_after_the_handler_and_500_when_it_fails(
    podio: Podio,
) -> None:
    order: list[str] = []

    async def handler(event: HookEvent) -> None:
        await anyio.sleep(0.2)
        order.append(f"handled {event.item_id}")
        if event.item_id == 2:
            raise RuntimeError("the handler failed")

    webhooks = PodioWebhooks(podio, handler, mode="inline")
    app = _app(webhooks)
    async with serving(app), browser(app) as podio_side:
        ok = await podio_side.post("/podio/hooks", data=_event(1))
        order.append(f"answered {ok.status_code}")
        failed = await podio_side.post("/podio/hooks", data=_event(2))
    assert order == ["handled 1", "answered 200", "handled 2"]
    assert (failed.status_code, failed.text) == (500, "the handler failed")
    stats = webhooks.stats()
    assert (stats.accepted, stats.handled, stats.failed, stats.state) == (0, 1, 1, "stopped")


async def test_without_the_lifespan_deliveries_are_handled_inline_with_a_warning(
    podio: Podio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="podiokit.integrations.fastapi")
    received = Received()
    app = _app(PodioWebhooks(podio, received))
    async with browser(app) as podio_side:  # httpx.ASGITransport runs no lifespan
        for n in (1, 2):
            assert (await podio_side.post("/podio/hooks", data=_event(n))).status_code == 200
    assert [e.item_id for e in received.events] == [1, 2]  # nothing lost
    warnings = [r for r in caplog.records if "workers are not running" in r.getMessage()]
    assert len(warnings) == 1


async def test_the_lifespan_may_be_entered_twice_and_starts_one_set_of_workers(
    podio: Podio,
) -> None:
    # An app on an older FastAPI enters webhooks.lifespan() in its own lifespan; on a newer
    # one the router's is entered as well.
    webhooks = PodioWebhooks(podio, Received())

    @asynccontextmanager
    async def own(app: FastAPI) -> AsyncIterator[None]:
        async with webhooks.lifespan():
            yield

    app = FastAPI(lifespan=own)
    app.include_router(webhooks.router)
    async with serving(app), browser(app) as podio_side:
        assert webhooks.stats().state == "running"
        assert (await podio_side.post("/podio/hooks", data=_event())).status_code == 200
        await webhooks.join()
    assert webhooks.stats().handled == 1 and webhooks.stats().state == "stopped"


def test_uvicorn_starts_the_workers_with_the_app_and_drains_them_at_exit() -> None:
    """A real server: `app.include_router(webhooks.router)` is all it takes for uvicorn to
    start the workers with the app's own lifespan, and stopping the server lets the queued
    events finish."""
    import uvicorn

    podio = Podio("client-id", "client-secret")
    handled: list[int | None] = []
    app_lifespan: list[str] = []

    release = threading.Event()

    async def handler(event: HookEvent) -> None:
        await anyio.to_thread.run_sync(release.wait, 10)
        handled.append(event.item_id)

    @asynccontextmanager
    async def own(app: FastAPI) -> AsyncIterator[None]:
        app_lifespan.append("start")
        yield
        app_lifespan.append("stop")

    webhooks = PodioWebhooks(podio, handler)
    app = FastAPI(lifespan=own)
    app.include_router(webhooks.router)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        assert webhooks.stats().state == "running"
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/podio/hooks"
        with httpx.Client(timeout=5) as http:
            answers = [http.post(url, data=_event(n)).status_code for n in (1, 2)]
        assert answers == [200, 200] and handled == []  # answered; the handler still waits
    finally:
        server.should_exit = True
        time.sleep(0.2)  # the server is stopping: the handler may finish now
        release.set()
        thread.join(15)
        sock.close()
    assert handled == [1, 2]  # drained at shutdown
    assert app_lifespan == ["start", "stop"]
    assert webhooks.stats().state == "stopped"


@pytest.mark.parametrize(
    ("kwargs", "complaint"),
    [
        ({"mode": "later"}, "mode must be 'background' or 'inline'"),
        ({"queue_size": 0}, "queue_size must be an integer >= 1"),
        ({"workers": 0}, "workers must be an integer >= 1"),
        ({"workers": 1.5}, "workers must be an integer >= 1"),
        ({"drain_timeout": -1}, "drain_timeout must be >= 0"),
        ({"drain_timeout": float("nan")}, "drain_timeout must be >= 0"),
    ],
)
def test_bad_settings_are_refused_by_name(kwargs: dict[str, object], complaint: str) -> None:
    podio = Podio("client-id", "client-secret")
    with pytest.raises(ValueError, match=complaint):
        PodioWebhooks(podio, Received(), **kwargs)  # type: ignore[arg-type]
