"""File upload and download, hand-written: the generated `podio.files` methods call these.

Uploads are Podio's multipart body (a `source` file part and a `filename` text part,
docs/dev/podio-behaviour.md §6) built by httpx from a seekable file object, so the body is read in 64 KiB
chunks and never held whole, and httpx seeks back to the start on every attempt: a retry or
the replay after a 401-forced refresh sends the whole file again. Sources that cannot seek (an
async iterator, a pipe) are first spooled to a temporary file.

Downloads GET the file's `link` (https://files.podio.com/{file_id}); the pipeline gives that
URL the token only under its token-host rules (_pipeline.Pipeline._url). Whether Podio's link
redirects (to a CDN, say) is not known (docs/dev/podio-behaviour.md §6), so redirects are
followed, up to five: the token goes along only while each hop stays on the link's own
origin; a hop to another origin is sent without it (a signed URL needs none, and must never
see it). When the link fails, the content is fetched from `GET /file/{file_id}/raw` on the
API host instead (podio-rb's `find_raw`): after an error answer from the link or a redirect
target (4xx, or 5xx once the retries are spent), a connection failure or timeout once the
retries are spent, a redirect without a usable Location or past the fifth, or a link the
token may not be sent to. A 420 is not a failure of the link (Podio refuses every call
then) and is raised, as is any error of the fallback itself.

Only the `Requester` interface (_resource.py) is used, like generated code.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import ExitStack
from typing import IO, Any, Union

import anyio
import anyio.to_thread
import httpx

from ._resource import NOT_GIVEN, Operation, Requester, TimeoutArg, decode_json
from .errors import PodioError, PodioRateLimitError

__all__ = ["FileSource", "download", "stream", "upload"]

logger = logging.getLogger("podiokit")

#: Redirects followed from a file's link before it counts as failed.
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

#: What `podio.files.upload` accepts as the file's content.
FileSource = Union[
    bytes, bytearray, memoryview, str, "os.PathLike[str]", IO[bytes], AsyncIterable[bytes]
]

_SPOOL_CHUNK = 64 * 1024
#: A download's declared length up to this is allocated at once (the transport's rule too).
_ALLOCATE_AT_ONCE = 16 * 1024 * 1024

_BodyReader = Callable[[httpx.Response], Awaitable[None]]

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
            # Its own OSError subclass (FileNotFoundError, IsADirectoryError, PermissionError,
            # ...), as open() raises it, with a message naming the path.
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise type(exc)(
                exc.errno, f"upload source cannot be read: {reason}", os.fspath(source)
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


class _LinkFailed(Exception):
    """The file's link (or a redirect from it) did not give the content."""


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


async def _follow(
    requester: Requester,
    link: str,
    *,
    params: dict[str, Any] | None,
    headers: dict[str, str],
    timeout: TimeoutArg,
    max_retries: int | None,
    stream: bool,
    read_body: _BodyReader | None,
    operation: Operation,
) -> httpx.Response:
    """GET the link and the redirects it answers; the final successful response."""
    url = httpx.URL(link)
    home = _origin(url)
    carry = True  # the token goes only while every hop stays on the link's origin
    for _ in range(MAX_REDIRECTS + 1):
        try:
            response = await requester._send(
                "GET",
                str(url),
                params=params,
                headers=headers,
                timeout=timeout,
                max_retries=max_retries,
                idempotent=True,
                stream=stream,
                read_body=read_body,
                redirects=True,
                authenticate=carry,
                operation=operation,
            )
        except PodioRateLimitError:
            raise  # Podio refuses every call: the fallback would be refused too
        except PodioError as exc:
            raise _LinkFailed(f"{type(exc).__name__} {exc.status or ''}".strip()) from exc
        except ValueError as exc:  # the pipeline will not send the token there
            raise _LinkFailed("the link's host may not receive the token") from exc
        if response.status_code not in _REDIRECTS:
            return response
        location = response.headers.get("location", "")
        await response.aclose()
        try:
            target = url.join(location) if location else None
        except httpx.InvalidURL:
            target = None
        if target is None or target.scheme not in ("http", "https") or not target.host:
            raise _LinkFailed(f"a redirect ({response.status_code}) without a usable Location")
        url, params = target, None  # the target's own query stands (a signature, say)
        if _origin(url) != home:
            carry = False
    raise _LinkFailed(f"more than {MAX_REDIRECTS} redirects")


async def _content(
    requester: Requester,
    file_id: int,
    *,
    extra_query: Mapping[str, Any] | None,
    extra_headers: Mapping[str, str] | None,
    timeout: TimeoutArg,
    max_retries: int | None,
    stream: bool,
    operation: Operation,
    read_body: _BodyReader | None = None,
) -> httpx.Response:
    """The response carrying the file's content: from its link, else from /file/{id}/raw."""
    link = await _link(requester, file_id, timeout, max_retries)
    params = dict(extra_query) if extra_query else None
    headers = {"Accept": "*/*", **(extra_headers or {})}
    try:
        return await _follow(
            requester, link, params=params, headers=headers, timeout=timeout,
            max_retries=max_retries, stream=stream, read_body=read_body, operation=operation,
        )  # fmt: skip
    except _LinkFailed as failed:
        logger.info(
            "file %s: its link failed (%s); fetching GET /file/%s/raw instead",
            file_id, failed, file_id,
        )  # fmt: skip
        reason = failed
    try:
        return await requester._send(
            "GET",
            f"/file/{file_id}/raw",
            params=params,
            headers=headers,
            timeout=timeout,
            max_retries=max_retries,
            idempotent=True,
            stream=stream,
            read_body=read_body,
            operation=operation,
        )
    except PodioError as exc:
        raise exc from reason


async def download(
    requester: Requester,
    file_id: int,
    *,
    extra_query: Mapping[str, Any] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    timeout: TimeoutArg = NOT_GIVEN,
    max_retries: int | None = None,
) -> bytes:
    """The file's bytes: GET /file/{file_id} for its link, then the link (redirects
    followed; the fallback described in the module doc), the body read by `_Whole`."""
    whole = _Whole()
    await _content(
        requester, file_id, extra_query=extra_query, extra_headers=extra_headers,
        timeout=timeout, max_retries=max_retries, stream=False, read_body=whole,
        operation=_DOWNLOAD,
    )  # fmt: skip
    return whole.take()


class _Whole:
    """Reads a body into one `bytes` the size of the file, so a download peaks at about the
    file's size plus a chunk (benchmarks/bench_download.py). httpx's own read keeps every
    chunk and then joins them: twice the size.

    The chunks are written into an `io.BytesIO` whose `getvalue()` hands back its buffer
    without a copy when nothing else views it (CPython; elsewhere it copies). With a declared
    length (and no content coding) the buffer is made that long up front, up to
    _ALLOCATE_AT_ONCE, then doubled towards it: a length is only a claim, so a server that
    declares 2 GB and sends 10 bytes costs 16 MB. Without one, BytesIO grows by an eighth.
    Called once per attempt: a retried download starts over."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data = b""

    async def __call__(self, response: httpx.Response) -> None:
        length = _declared_length(response)
        buffer = io.BytesIO()
        got = allocated = 0
        async for chunk in response.aiter_bytes():
            end = got + len(chunk)
            if length is not None and allocated < end <= length:
                allocated = min(length, max(2 * allocated, _ALLOCATE_AT_ONCE, end))
                buffer.seek(allocated - 1)
                buffer.write(b"\0")  # sizes the buffer exactly: no over-allocation
                buffer.seek(got)
            buffer.write(chunk)
            got = end
        buffer.truncate(got)
        self._data = buffer.getvalue()

    def take(self) -> bytes:
        data, self._data = self._data, b""
        return data


def _declared_length(response: httpx.Response) -> int | None:
    """The body's length as received, when the head declares it and nothing decodes it."""
    if response.headers.get("content-encoding", "identity").lower() not in ("identity", ""):
        return None
    try:
        length = int(response.headers.get("content-length", ""))
    except ValueError:
        return None
    return length if length > 0 else None


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
    when the iteration ends; stopping early, close the iterator (`contextlib.aclosing`).
    Redirects and the fallback are settled before the first chunk; a body cut short after
    it raises."""
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    response = await _content(
        requester, file_id, extra_query=extra_query, extra_headers=extra_headers,
        timeout=timeout, max_retries=max_retries, stream=True, operation=_STREAM,
    )  # fmt: skip
    try:
        async for chunk in response.aiter_bytes(chunk_size):
            yield chunk
    finally:
        await response.aclose()
