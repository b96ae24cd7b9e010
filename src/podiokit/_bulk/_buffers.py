"""Buffers the bulk engine reads page bodies into, reused from page to page.

A body read into fresh memory costs its page faults on every page, a large share of what
receiving it costs (`python benchmarks/bench_body.py` measures it, with and without glibc
keeping freed memory; the figures are in the README). A buffer kept from an earlier page
costs none. The items sliced out of a page are views of its buffer, so a buffer
is taken back only once nothing refers to it any more.
"""

from __future__ import annotations

import httpx

from .._transport import read_into

__all__ = ["BodyReader", "PageBuffers"]


class PageBuffers:
    """At most `keep` idle buffers, handed out again before any new one is made."""

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._idle: list[bytearray] = []

    def take(self) -> bytearray:
        return self._idle.pop() if self._idle else bytearray()

    def give(self, buffer: bytearray) -> None:
        """Keep `buffer` for another page, unless something still refers to its bytes (an
        item sliced out of it that a writer kept): then it is left to be freed with them."""
        if len(self._idle) >= self._keep:
            return
        try:
            buffer.append(0)  # resizing fails while a view of the buffer exists
        except BufferError:
            return
        del buffer[-1]
        self._idle.append(buffer)


class BodyReader:
    """Reads one response's body into a buffer of `buffers` (the pipeline calls it once per
    attempt: a retried call starts the same buffer over). `buffer[:size]` is the body."""

    __slots__ = ("_buffers", "buffer", "size")

    def __init__(self, buffers: PageBuffers) -> None:
        self._buffers = buffers
        self.buffer: bytearray | None = None
        self.size = 0

    async def __call__(self, response: httpx.Response) -> None:
        buffer = self.buffer
        if buffer is None:
            buffer = self.buffer = self._buffers.take()
        self.size = await read_into(response, buffer)  # decoded, should Podio compress it
