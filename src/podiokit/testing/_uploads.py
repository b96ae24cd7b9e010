"""File upload, download and attach (docs/dev/podio-behaviour.md §6).

Uploads are Podio's multipart body: a `source` file part and a `filename` text part, on
`POST /file/` or `POST /file/v2/`. Starlette's parser spools parts over 1 MB to disk and the
bytes are kept in a temporary file, so a large upload never sits in memory whole (tests
measure the client's memory in the same process).

Downloads answer the file's `link`: `https://files.podio.com/{file_id}` in process (the
ASGI transport sends every host here), and this server's own origin when served on a socket,
where no request could reach files.podio.com. Both take the same OAuth2 header as the API.

The quirk `file_redirect` (_quirks.py) makes the link answer a redirect instead: to a signed
URL on a second origin ("cross_origin"; "broken" signs it already expired), as a CDN would,
or to another path of the link's own host ("same_origin"). The second origin is
`https://files-cdn.emulator.test` in process and, on a socket, the same port under the other
loopback name (localhost for 127.0.0.1, else 127.0.0.1): another origin that reaches this
server. Like a presigned S3 URL, it refuses a request that also carries an Authorization
header (400), so a client that forwards the token across origins fails loudly.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from typing import IO, Any

from starlette.datastructures import UploadFile

from ._common import JSON
from ._errors import ApiError, missing_object, not_found
from ._files import file_full
from ._router import Ctx, Reply, Route
from ._state import World
from ._values import file_mini

_CHUNK = 64 * 1024
_FILE_START = 700_000_000
# The in-process URL's host (emulator.IN_PROCESS_URL); links then point at Podio's file host.
_IN_PROCESS_HOST = "podio.emulator"
_SIZES = ("badge", "extra_large", "large", "medium", "small", "tiny")


# The in-process second origin (quirk file_redirect): not a Podio host, so no token goes.
CDN_ORIGIN = "https://files-cdn.emulator.test"
_CDN_SECRET = "emulator-cdn-secret"
_CDN_LIFE = 300


def _link_base(ctx: Ctx) -> str:
    url = ctx.request.url
    if url.hostname in (_IN_PROCESS_HOST, "files.podio.com"):
        return "https://files.podio.com"
    return f"{url.scheme}://{url.netloc}"


async def upload(ctx: Ctx) -> Any:
    content_type = ctx.request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise not_found("Missing parameters: source.")
    form = await ctx.request.form(max_files=1, max_fields=10)
    try:
        source = form.get("source")
        if not isinstance(source, UploadFile):
            # As Podio answers a body without the file part (§6, podio-php#57).
            raise not_found("Missing parameters: source.")
        name = form.get("filename")
        if not isinstance(name, str) or not name.strip():
            name = source.filename or ""
        if not name.strip():
            raise not_found("Missing parameters: filename.")
        body: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the world)
        try:
            shutil.copyfileobj(source.file, body, _CHUNK)
        except Exception:
            body.close()
            raise
        size = body.tell()
        mimetype = source.content_type or "application/octet-stream"
    finally:
        await form.close()
    world = ctx.world
    file_id = world.new_id("file", max(_FILE_START, max(world.files, default=0) + 1))
    link = f"{_link_base(ctx)}/{file_id}"
    mini = file_mini(file_id, name=name, mimetype=mimetype, size=size, link=link)
    world.files[file_id] = mini
    world.file_bodies[file_id] = body
    full = file_full(world, mini, None)
    full["created_on"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    full["created_by"] = ctx.byline()
    return full


def _file(ctx: Ctx, raw_id: str) -> JSON:
    if not raw_id.isdigit():
        raise not_found()
    mini = ctx.world.files.get(int(raw_id))
    if mini is None:
        raise missing_object("file", raw_id)
    return mini


async def _chunks(body: IO[bytes], size: int) -> AsyncIterator[bytes]:
    # Each download reads at its own offset: two downloads of one file may interleave.
    offset = 0
    while offset < size:
        body.seek(offset)
        chunk = body.read(min(_CHUNK, size - offset))
        if not chunk:
            return
        offset += len(chunk)
        yield chunk


def _second_origin(ctx: Ctx) -> str:
    url = ctx.request.url
    if url.hostname in (_IN_PROCESS_HOST, "files.podio.com", "files-cdn.emulator.test"):
        return CDN_ORIGIN
    other = "127.0.0.1" if url.hostname == "localhost" else "localhost"
    return f"{url.scheme}://{other}:{url.port}"


def _cdn_signature(file_id: int, expires: int) -> str:
    return hashlib.sha1(f"{_CDN_SECRET}:{file_id}:{expires}".encode()).hexdigest()


async def link(ctx: Ctx) -> Any:
    """A file's `link` (files.podio.com/{file_id}[/{size}]): its bytes, or the redirect the
    quirk `file_redirect` asks for."""
    mode = ctx.core.options.quirks.file_redirect
    if mode == "off":
        return await download(ctx)
    size_name = ctx.params.get("size")
    if size_name is not None and size_name not in _SIZES:
        raise not_found()
    file_id = _file(ctx, ctx.params["file_id"])["file_id"]
    counts = ctx.core.file_redirects
    counts["redirected"] += 1
    if mode == "same_origin":
        location = f"/{file_id}/content"  # relative: the client resolves it
    else:
        expires = int(time.time()) + (_CDN_LIFE if mode == "cross_origin" else -_CDN_LIFE)
        location = (f"{_second_origin(ctx)}/cdn/{file_id}?expires={expires}"
                    f"&signature={_cdn_signature(file_id, expires)}")  # fmt: skip
    return Reply(302, b"", {"location": location}, media_type=None)


async def cdn(ctx: Ctx) -> Any:
    """The second origin's signed URL: no token wanted, and none accepted (a presigned URL
    with an Authorization header is refused, as S3 refuses it)."""
    counts = ctx.core.file_redirects
    counts["second_origin"] += 1
    if ctx.request.headers.get("authorization") or "oauth_token" in ctx.request.query_params:
        counts["second_origin_with_token"] += 1
        raise ApiError(400, "invalid_request", "Only one auth mechanism allowed")
    raw_id = ctx.params["file_id"]
    try:
        expires = int(ctx.request.query_params.get("expires", ""))
    except ValueError:
        raise ApiError(403, "forbidden", "Missing or malformed expires") from None
    signature = ctx.request.query_params.get("signature", "")
    if not raw_id.isdigit() or signature != _cdn_signature(int(raw_id), expires):
        raise ApiError(403, "forbidden", "The request signature does not match")
    if expires < time.time():
        raise ApiError(403, "forbidden", "Request has expired")
    return await download(ctx)


async def download(ctx: Ctx) -> Any:
    size_name = ctx.params.get("size")
    if size_name is not None and size_name not in _SIZES:
        raise not_found()
    mini = _file(ctx, ctx.params["file_id"])
    file_id = mini["file_id"]
    name = str(mini.get("name") or file_id).replace('"', "")
    headers = {"content-disposition": f'attachment; filename="{name}"'}
    media_type = str(mini.get("mimetype") or "application/octet-stream")
    body = ctx.world.file_bodies.get(file_id)
    if body is None:
        # A seeded file (an image field's): deterministic placeholder bytes.
        return Reply(200, f"podio emulator file {file_id}\n".encode(), headers, media_type)
    size = int(mini["size"])
    headers["content-length"] = str(size)
    return Reply(200, b"", headers, media_type, stream=_chunks(body, size))


def file_ids(world: World, body: JSON) -> list[int]:
    """The `file_ids` of a create body (item, task, comment), checked before anything is made."""
    ids = body.get("file_ids")
    if ids is None:
        return []
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise ApiError(400, "invalid_value", "file_ids must be a list of integers")
    for file_id in ids:
        if file_id not in world.files:
            raise missing_object("file", file_id)
    return ids


def attach_all(world: World, ref_type: str, ref_id: int, ids: list[int]) -> None:
    attached = world.attachments.setdefault((ref_type, ref_id), [])
    for file_id in ids:
        if file_id in attached:
            continue
        attached.append(file_id)
        # Tasks and comments are kept as their JSON; items list attachments when serialised.
        held = world.tasks.get(ref_id) if ref_type == "task" else world.comments.get(ref_id)
        if ref_type in ("task", "comment") and held is not None:
            full = file_full(world, world.files[file_id], None)
            del full["context"]
            held.setdefault("files", []).append(full)
    if ref_type == "item" and ref_id in world.items:
        world.items[ref_id].invalidate()  # its `files` change


async def attach(ctx: Ctx) -> Any:
    mini = _file(ctx, ctx.params["file_id"])
    body = await ctx.json()
    ref_type, ref_id = body.get("ref_type"), body.get("ref_id")
    if not isinstance(ref_type, str) or not ref_type:
        raise ApiError(400, "invalid_value", "ref_type is required")
    if isinstance(ref_id, bool) or not isinstance(ref_id, int):
        raise ApiError(400, "invalid_value", "ref_id must be an integer")
    world = ctx.world
    if ref_type == "item":
        item = world.items.get(ref_id)
        if item is None:
            raise missing_object("item", ref_id)
        ctx.check_app(world.apps[item.app_id])
    elif ref_type == "task":
        if ref_id not in world.tasks:
            raise missing_object("task", ref_id)
    elif ref_type == "comment":
        if ref_id not in world.comments:
            raise missing_object("comment", ref_id)
    else:
        raise ApiError(400, "invalid_value", f"Invalid value {ref_type!r} for ref_type")
    attach_all(world, ref_type, ref_id, [mini["file_id"]])
    return None


def _digits_only(route: Route) -> Route:
    # Only numeric first segments: any other unknown path keeps its plain 404, token or not.
    route.pattern = re.compile(
        route.pattern.pattern.replace("(?P<file_id>[^/]+)", r"(?P<file_id>\d+)")
    )
    return route


ROUTES = [
    Route("POST", "/file/", upload),
    Route("POST", "/file/v2/", upload),
    Route("POST", "/file/{file_id}/attach", attach),
    Route("GET", "/file/{file_id}/raw", download),
    # The quirk file_redirect's targets: the second origin, and the same-origin path.
    _digits_only(Route("GET", "/cdn/{file_id}", cdn, auth=False, pool="none")),
    _digits_only(Route("GET", "/{file_id}/content", download)),
    # files.podio.com/{file_id}[/{size}]: the file's `link` (see the module docstring).
    _digits_only(Route("GET", "/{file_id}", link)),
    _digits_only(Route("GET", "/{file_id}/{size}", link)),
]
