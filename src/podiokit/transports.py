"""The HTTP transports a user may pass to `Podio(..., transport=...)`.

`PodioTransport` is podiokit's own (the default when no proxy is configured): pass one to
set its pool size or keep-alive. `aiohttp_transport()` sends podiokit's requests through
aiohttp (httpx-aiohttp's `AiohttpTransport`), for applications that already run on aiohttp;
asyncio only. benchmarks/bench_cpu64.py compares their client CPU per call.

```python
from podiokit.transports import aiohttp_transport

async with Podio(client_id, client_secret, transport=aiohttp_transport()) as podio:
    ...
```

Needs the `aiohttp` extra (`pip install 'podiokit[aiohttp]'`); `import podiokit` never
imports aiohttp.
"""

from __future__ import annotations

import httpx

from . import _defaults
from ._transport import PodioTransport

__all__ = ["PodioTransport", "aiohttp_transport"]

#: podiokit's own pool size for its default `max_concurrency` (Podio.__init__).
DEFAULT_MAX_CONNECTIONS = _defaults.MAX_CONNECTIONS


def aiohttp_transport(
    *, max_connections: int = DEFAULT_MAX_CONNECTIONS
) -> httpx.AsyncBaseTransport:
    """An httpx transport over aiohttp, for `Podio(..., transport=aiohttp_transport())`.

    `max_connections` caps the connections kept to Podio (keep it at least the client's
    `max_concurrency`). TLS certificates are always verified.
    Runs on asyncio only: under trio a call raises `RuntimeError` saying so. One client may
    run in successive `asyncio.run` calls: each event loop gets its own aiohttp session.
    """
    try:
        import httpx_aiohttp  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "aiohttp_transport needs httpx-aiohttp: pip install 'podiokit[aiohttp]'"
        ) from exc
    if isinstance(max_connections, bool) or not isinstance(max_connections, int):
        raise TypeError(f"max_connections must be an int, not {max_connections!r}")
    if max_connections < 1:
        raise ValueError(f"max_connections must be >= 1, not {max_connections!r}")
    from ._transport._aiohttp import PodioAiohttpTransport

    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    return PodioAiohttpTransport(limits=limits)
