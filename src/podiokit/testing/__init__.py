"""The Podio emulator: a stateful fake Podio API (docs/dev/podio-behaviour.md), and a pytest plugin for it.

In process, no socket:

    emu = Emulator(items=300)                      # seed="demo": an org, a space, two apps
    creds = emu.credentials                        # client_id/secret, username/password, apps
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app),
                             base_url=creds["api_url"])

On a real loopback port (works under asyncio and trio):

    async with emu.serve() as url:                 # credentials now point at url
        ...
    emu.expire_tokens(); emu.stats(); emu.set_faults(latency=20, fault_rate=0.1)

From a shell: `podiokit emulator --port 8000` prints the credentials as one JSON line.
In pytest: the `podio_emulator` and `podio_client` fixtures (see `pytest_plugin`).

This package is written from Podio's documented behaviour and never imports the SDK's client,
models or spec. `from podiokit.testing import Emulator` needs the `emulator` extra
(starlette, uvicorn); the import is lazy so that loading the pytest plugin never needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["Emulator"]


def __getattr__(name: str) -> Any:
    if name == "Emulator":
        from .emulator import Emulator

        return Emulator
    raise AttributeError(name)
