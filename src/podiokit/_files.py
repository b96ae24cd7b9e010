"""File upload and download, hand-written: the generated `podio.files` methods call these.

Uploads are Podio's multipart body (a `source` file part and a `filename` text part,
behaviour.md §6) built by httpx from a seekable file object, so the body is read in 64 KiB
chunks and never held whole, and httpx seeks back to the start on every attempt: a retry or
the replay after a 401-forced refresh sends the whole file again. Sources that cannot seek (an
async iterator, a pipe) are first spooled to a temporary file.

Downloads GET the file's `link` (https://files.podio.com/{file_id}); the pipeline gives that
URL the token only under its token-host rules (_pipeline.Pipeline._url).

Only the `Requester` interface (_resource.py) is used, like generated code.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from contextlib import ExitStack
from typing import IO, Any, Union

import anyio
import anyio.to_thread
import httpx

from ._resource import NOT_GIVEN, Operation, Requester, TimeoutArg, decode_json

__all__ = ["FileSource", "download", "stream", "upload"]

#: What `podio.files.upload` accepts as the file's content.
FileSource = Union[
    bytes, bytearray, memoryview, str, "os.PathLike[str]", IO[bytes], AsyncIterable[bytes]
]

_SPOOL_CHUNK = 64 * 1024

# The operations these calls belong to (spans, metrics, logs): the link's GET is the
# download itself, on the files host.
_UPLOAD = Operation("files", "upload", "POST", "/file/")
_GET = Operation("files", "get", "GET", "/file/{file_id}")
_DOWNLOAD = Operation("files", "download", "GET", "/{file_id}")
_STREAM = Operation("files", "stream", "GET", "/{file_id}")


async def upload(
    requester: Requester,
    source: FileSource,
    filename: str,
    *,
    mimetype: str | None = None,
    path: str = "/file/",
    extra_query: Mapping[str, Any] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    timeout: TimeoutArg = NOT_GIVEN,
    max_retries: int | None = None,
) -> Any:
    """POST the multipart upload; the generated method parses the File from the response."""
    if not isinstance(filename, str) or not filename:
        raise ValueError(f"filename must be a non-empty str, got {filename!r}")
    if mimetype is not None and not isinstance(mimetype, str):
        raise TypeError(f"mimetype must be a str or None, got {type(mimetype).__name__}")
    with ExitStack() as cleanup:
        fileobj = await _as_seekable(source, cleanup)
        part: tuple[str, IO[bytes]] | tuple[str, IO[bytes], str]
        part = (filename, fileobj) if mimetype is None else (filename, fileobj, mimetype)
        return await requester._send(
            "POST",
            path,
            params=dict(extra_query) if extra_query else None,
            files={"source": part},
            data={"filename": filename},
            headers=extra_headers,
            timeout=timeout,
            max_retries=max_retries,
            idempotent=False,
            operation=_UPLOAD,
        )


async def _as_seekable(source: Any, cleanup: ExitStack) -> IO[bytes]:
    """A binary file object positioned at the content's start that can be re-read."""
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source))
    if isinstance(source, str | os.PathLike):
        try:
            # open() may block on a slow disk or network mount: off the event loop.
            opened: IO[bytes] = await anyio.to_thread.run_sync(open, source, "rb")
            return cleanup.enter_context(opened)
        except OSError as exc:
            raise ValueError(
                f"upload source {os.fspath(source)!r} cannot be read: {exc.strerror}"
            ) from None
    if hasattr(source, "__aiter__"):
        spool = cleanup.enter_context(_spool())
        async for chunk in source:
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise TypeError(
                    f"upload source yielded {type(chunk).__name__}; an async iterator must yield bytes"
                )
            # Plain writes: the temporary file is local disk, and a thread hop per chunk
            # would cost more than the write.
            spool.write(chunk)
        spool.seek(0)
        return spool
    if hasattr(source, "read"):
        if isinstance(source, io.TextIOBase):
            raise TypeError("upload source is a text file; open it in binary mode ('rb')")
        if _seekable(source):
            return source  # type: ignore[no-any-return]
        spool = cleanup.enter_context(_spool())
        while chunk := source.read(_SPOOL_CHUNK):
            spool.write(chunk)
        spool.seek(0)
        return spool
    raise TypeError(
        "upload source must be bytes, a path, a binary file object or an async iterator of "
        f"bytes, got {type(source).__name__}"
    )


def _spool() -> IO[bytes]:
    # The caller's ExitStack closes (and so deletes) it after the upload.
    return tempfile.TemporaryFile()


def _seekable(fileobj: Any) -> bool:
    try:
        return bool(fileobj.seekable()) if hasattr(fileobj, "seekable") else False
    except (OSError, ValueError):
        return False


def _check_id(file_id: Any) -> int:
    if isinstance(file_id, bool) or not isinstance(file_id, int) or file_id < 1:
        raise ValueError(f"file_id must be a positive int, got {file_id!r}")
    return file_id


async def _link(
    requester: Requester, file_id: int, timeout: TimeoutArg, max_retries: int | None
) -> str:
    response = await requester._send(
        "GET",
        f"/file/{_check_id(file_id)}",
        timeout=timeout,
        max_retries=max_retries,
        idempotent=True,
        operation=_GET,
    )
    body = decode_json(response)
    link = body.get("link") if isinstance(body, dict) else None
    if not isinstance(link, str) or not link:
        raise ValueError(f"file {file_id} has no download link")
    return link


async def download(
    requester: Requester,
    file_id: int,
    *,
    extra_query: Mapping[str, Any] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    timeout: TimeoutArg = NOT_GIVEN,
    max_retries: int | None = None,
) -> httpx.Response:
    """GET /file/{file_id} for its link, then GET the link (the generated method returns the
    response's bytes)."""
    link = await _link(requester, file_id, timeout, max_retries)
    return await requester._send(
        "GET",
        link,
        params=dict(extra_query) if extra_query else None,
        headers={"Accept": "*/*", **(extra_headers or {})},
        timeout=timeout,
        max_retries=max_retries,
        idempotent=True,
        operation=_DOWNLOAD,
    )


async def stream(
    requester: Requester,
    file_id: int,
    *,
    chunk_size: int | None = None,
    extra_query: Mapping[str, Any] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    timeout: TimeoutArg = NOT_GIVEN,
    max_retries: int | None = None,
) -> AsyncIterator[bytes]:
    """The file's bytes in chunks, one chunk in memory at a time. The connection is released
    when the iteration ends; stopping early, close the iterator (`contextlib.aclosing`)."""
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    link = await _link(requester, file_id, timeout, max_retries)
    response = await requester._send(
        "GET",
        link,
        params=dict(extra_query) if extra_query else None,
        headers={"Accept": "*/*", **(extra_headers or {})},
        timeout=timeout,
        max_retries=max_retries,
        idempotent=True,
        stream=True,
        operation=_STREAM,
    )
    try:
        async for chunk in response.aiter_bytes(chunk_size):
            yield chunk
    finally:
        await response.aclose()
