"""`Emulator`: the Python face of the fake Podio API."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread

from ._app import EmulatorApp
from ._core import DEFAULT_REDIRECT_DOMAINS, Core, Options
from ._quirks import Quirks

IN_PROCESS_URL = "http://podio.emulator"


class Emulator:
    """A stateful fake Podio API.

    In process: `httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app),
    base_url=emu.credentials["api_url"])`. Over a real socket: `async with emu.serve() as
    url`. Options: seed ("demo" | "empty"), items (per app), token_lifetime (s), refresh
    ("rotate" | "reuse"), rate_limit (per hour; Podio's rate-limited operations get a
    quarter unless rate_limit_limited is given), rate_window (seconds the hourly budget lasts;
    shorten it in tests so a tripped limit clears), latency (ms), fault_rate (0..1), fault_seed,
    redirect_domains (the API key's registered domains: /oauth/authorize redirects only to
    these hosts or their subdomains; default loopback hosts, localhost and *.test),
    consent_page (True: a browser opening `/oauth/authorize` sees a consent page naming the
    app and scope, with the demo users to sign in as and Approve / Deny buttons; a program
    that does not ask for HTML, or a request with the `user=<id or e-mail>` or `deny=1`
    switch, is redirected back at once. False: browsers are redirected at once too), apps
    (app definitions to add: the JSON of GET /app/{app_id} as dicts, or paths of files
    holding one or a list, e.g. saved by `podiokit typegen --save-json`), quirks
    (behave like an alternative reading of Podio: a mapping such as
    `{"range_filter": "ignore_to"}` or strings such as `["micro_view=ignored",
    "file_redirect"]`; see `set_quirks`).
    """

    def __init__(
        self,
        *,
        seed: str = "demo",
        items: int = 300,
        token_lifetime: int = 28_800,
        refresh: str = "rotate",
        rate_limit: int = 1_000,
        rate_limit_limited: int | None = None,
        rate_window: float = 3600.0,
        latency: float = 0.0,
        fault_rate: float = 0.0,
        fault_seed: int = 0,
        redirect_domains: Sequence[str] = DEFAULT_REDIRECT_DOMAINS,
        consent_page: bool = True,
        apps: Sequence[Any] | str | os.PathLike[str] = (),
        quirks: Mapping[str, Any] | Iterable[str] | None = None,
    ) -> None:
        if isinstance(redirect_domains, str):  # a str is a Sequence[str] of letters
            raise ValueError("redirect_domains must be a sequence of domain names, not a str")
        options = Options(
            seed=seed,
            items=items,
            token_lifetime=token_lifetime,
            refresh=refresh,
            rate_limit=rate_limit,
            rate_limit_limited=rate_limit_limited,
            rate_window=rate_window,
            latency=latency,
            fault_rate=fault_rate,
            fault_seed=fault_seed,
            redirect_domains=tuple(redirect_domains),
            consent_page=consent_page,
            # One definition or file may be given alone.
            apps=(apps,) if isinstance(apps, (str, os.PathLike, Mapping)) else tuple(apps),
            quirks=Quirks().updated(quirks),
        )
        self._core = Core(options)
        self.app = EmulatorApp(self._core)
        self._base_url = IN_PROCESS_URL

    @property
    def credentials(self) -> dict[str, Any]:
        world = self._core.world
        demo = world.users[world.demo_user_id]
        return {
            "api_url": self._base_url,
            "auth_url": f"{self._base_url}/oauth/authorize",
            "client_id": world.client_id,
            "client_secret": world.client_secret,
            "username": demo.mail,
            "password": demo.password,
            "apps": [
                {"app_id": a.app_id, "app_token": a.token, "name": a.name}
                for a in world.apps.values()
            ],
            "control_url": f"{self._base_url}/_emulator",
        }

    @property
    def quirks(self) -> dict[str, Any]:
        """Every quirk switch and its value (`GET /_emulator/quirks`)."""
        return self._core.quirks.as_json()

    def set_quirks(
        self, changes: Mapping[str, Any] | Iterable[str] | None = None, /, **quirks: Any
    ) -> dict[str, Any]:
        """Change quirk switches (the others keep their value); every quirk after it.

        - ``range_filter``: ``"honoured"`` (default), ``"ignored"`` (an ``app_item_id``
          range filter is ignored entirely) or ``"ignore_to"`` (only its ``to``);
        - ``micro_view``: ``"honoured"`` (default) or ``"ignored"`` (full items come back
          for ``fields=items.view(micro)``);
        - ``file_redirect``: ``"off"`` (default), ``"cross_origin"`` (file links answer 302
          to a signed URL on a second origin that refuses an Authorization header),
          ``"same_origin"`` (302 to another path on the link's host) or ``"broken"`` (302 to
          the second origin, which answers 403: the signature expired);
        - ``push_unknown_shapes``: True sends push messages of undocumented shapes before
          each event;
        - ``budget_swap``: route names (as ``stats()["routes"]`` names them) counted in the
          other rate-limit budget;
        - ``hook_retries``: extra hook delivery attempts after a failure (default 0);
        - ``hook_inactive_after``: a hook turns inactive after N failed deliveries in a row
          (default 0: never).

        Raises ValueError naming the quirk for an unknown name or value."""
        merged: dict[str, Any] = {}
        if isinstance(changes, Mapping):
            merged.update(changes)
        elif changes is not None:
            merged.update(_strings(changes))
        merged.update(quirks)
        return self._core.set_quirks(merged).as_json()

    def expire_tokens(self) -> None:
        """Every access token issued so far is expired now; refresh tokens stay valid."""
        self._core.tokens.expire_all()

    def stats(self) -> dict[str, Any]:
        """Per-route request counts (`routes`), `token_grants` per grant type, `faults`."""
        return self._core.stats()

    def set_faults(
        self, *, latency: float = 0.0, fault_rate: float = 0.0, fault_seed: int | None = None
    ) -> None:
        self._core.set_faults(latency, fault_rate, fault_seed)

    def reset(self) -> None:
        """Back to the seeded state: items, tokens, counters."""
        self._core.reset()

    def drop_push_polls(self) -> None:
        """End every held push long-poll (`/faye` `/meta/connect`) with a 502, as a proxy
        dropping the connection would; clients must reconnect."""
        self._core_push().drop_polls()

    def publish_push(self, channel: str, data: Any) -> None:
        """Deliver `data` (any JSON value) as it is to the subscribers of `channel`
        (`POST /_emulator/push/publish`): shapes the emulator never makes itself."""
        self._core_push().publish(channel, data)

    def _core_push(self) -> Any:
        from ._push import hub

        return hub(self._core)

    def hook_verification_code(self, hook_id: int) -> str:
        """The code Podio would send in the hook.verify event; KeyError if unknown."""
        return self._core.world.hooks[hook_id].code

    def deliver_hooks_to(
        self,
        target: Any,
        *,
        attempts: int | None = None,
        backoff: float | None = None,
        timeout: float | None = None,
    ) -> None:
        """Where hook deliveries go: an ASGI app (in process, e.g. your FastAPI app), a base
        URL such as `"http://127.0.0.1:8001"` (the hook URL's path is kept), or None for
        each hook's own URL when it is a loopback one (others are "skipped"). `attempts` tries per delivery (3), `backoff` seconds before the
        second, doubled after (1.0), `timeout` seconds per attempt (15). Podio's own retry
        policy is UNCONFIRMED; see `_hooks_delivery`."""
        self._core.hook_delivery.configure(
            target, attempts=attempts, backoff=backoff, timeout=timeout
        )

    def hook_deliveries(self) -> list[dict[str, Any]]:
        """The latest hook deliveries, oldest first: `hook_id`, `url`, `type`, `params`
        (without a verify code), `status` ("delivered" | "failed") and `attempts` (each
        attempt's HTTP status or transport error)."""
        return [d.as_json() for d in self._core.hook_delivery.history]

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve on a real socket (uvicorn in a thread, so any event loop may call this)."""
        import uvicorn

        sock, url = _bind(host, port)
        server = uvicorn.Server(_config(self.app))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="podio-emulator", daemon=True
        )
        previous = self._base_url
        thread.start()
        try:
            while not server.started:
                if not thread.is_alive():
                    raise RuntimeError("the emulator server failed to start")
                await anyio.sleep(0.01)
            self._base_url = url
            yield url
        finally:
            self._base_url = previous
            server.should_exit = True
            await anyio.to_thread.run_sync(thread.join)
            sock.close()

    def run(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        on_ready: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Serve in the foreground until interrupted (the CLI). `port=0` picks a free port;
        `on_ready` gets the credentials once the socket is bound."""
        import uvicorn

        sock, url = _bind(host, port)
        self._base_url = url
        if on_ready is not None:
            on_ready(self.credentials)
        server = uvicorn.Server(_config(self.app))
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()


def _strings(changes: Iterable[str]) -> dict[str, Any]:
    """ "name" / "name=value" strings as {name: value} (a bare name takes its default)."""
    entries = list(changes)
    parsed = Quirks().updated(entries)  # checks every entry, naming a bad one
    names = [str(e).partition("=")[0].strip() for e in entries]
    return {name: getattr(parsed, name) for name in names}


def _bind(host: str, port: int) -> tuple[socket.socket, str]:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this on Linux. Without it a response's head and body (two
    # writes) meet Nagle + delayed ACK: 40 ms per keep-alive request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    # Listening now, not when uvicorn starts: the credentials are printed (and `serve` may
    # return) first, and a client connecting in between must queue, not be refused.
    sock.listen(4096)
    shown = f"[{host}]" if ":" in host else host
    return sock, f"http://{shown}:{sock.getsockname()[1]}"


def _config(app: Any) -> Any:
    import uvicorn

    return uvicorn.Config(
        app, log_level="warning", lifespan="off", access_log=False, timeout_keep_alive=30,
        backlog=4096, server_header=False,  # the app sends Podio's "Server: nginx" itself
    )  # fmt: skip
