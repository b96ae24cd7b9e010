"""A `Podio` wired to an in-process emulator (or one served on a loopback port)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from podiokit import Podio
from podiokit.testing import Emulator


@asynccontextmanager
async def connect(emu: Emulator, *, loopback: bool = False, **options: Any) -> AsyncIterator[Podio]:
    creds = emu.credentials
    options.setdefault("backoff_base", 0.01)
    if loopback:
        async with emu.serve() as url:
            creds = emu.credentials
            async with Podio(creds["client_id"], creds["client_secret"], api_url=url,
                             auth_url=creds["auth_url"], **options) as podio:  # fmt: skip
                yield podio
        return
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
    podio = Podio(creds["client_id"], creds["client_secret"], api_url=creds["api_url"],
                  auth_url=creds["auth_url"], http_client=http, **options)  # fmt: skip
    async with http, podio:
        yield podio


async def login_password(podio: Podio, emu: Emulator) -> None:
    creds = emu.credentials
    await podio.authenticate_with_credentials(creds["username"], creds["password"])


async def login_app(podio: Podio, emu: Emulator, index: int = 0) -> int:
    app = emu.credentials["apps"][index]
    await podio.authenticate_with_app(app["app_id"], app["app_token"])
    return int(app["app_id"])


def block(index: int, size: int) -> bytes:
    """Deterministic, non-repeating content: each block differs from its neighbours."""
    seed = hashlib.sha256(index.to_bytes(8, "big")).digest()
    return (seed * (size // len(seed) + 1))[:size]


async def generated(total: int, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    """`total` bytes from an async generator: a source that cannot be replayed."""
    sent = 0
    index = 0
    while sent < total:
        size = min(chunk, total - sent)
        yield block(index, size)
        sent += size
        index += 1


def expected_digest(total: int, chunk: int = 64 * 1024) -> str:
    digest = hashlib.sha256()
    sent = index = 0
    while sent < total:
        size = min(chunk, total - sent)
        digest.update(block(index, size))
        sent += size
        index += 1
    return digest.hexdigest()
