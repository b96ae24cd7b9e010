"""The reader behind `podio.files.download`: any body, whatever its head declares."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import httpx
import pytest

from podiokit._files import _Whole

pytestmark = pytest.mark.anyio


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, *chunks: bytes) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


async def _read(headers: dict[str, str], *chunks: bytes) -> bytes:
    whole = _Whole()
    await whole(httpx.Response(200, headers=headers, stream=_Chunks(*chunks)))
    return whole.take()


async def test_declared_length() -> None:
    body = bytes(range(256)) * 4096
    parts = [body[i : i + 100_000] for i in range(0, len(body), 100_000)]
    assert await _read({"content-length": str(len(body))}, *parts) == body


async def test_no_declared_length() -> None:
    assert await _read({}, b"abc", b"", b"def" * 100_000) == b"abc" + b"def" * 100_000


async def test_compressed_body_is_decoded_whatever_its_length() -> None:
    body = b"podio " * 50_000
    packed = gzip.compress(body)
    headers = {"content-encoding": "gzip", "content-length": str(len(packed))}
    assert await _read(headers, packed[:1000], packed[1000:]) == body


async def test_empty_body() -> None:
    assert await _read({"content-length": "0"}) == b""
    assert type(await _read({"content-length": "0"})) is bytes
