"""Tasks, comments and (minimal) hooks."""

from __future__ import annotations

import hashlib
import time
from typing import Any
from urllib.parse import urlsplit

from . import _push, _uploads
from ._common import JSON, fmt_dt, via
from ._errors import ApiError, dumps_text, invalid_value, missing_object
from ._hooks_delivery import comment_event, send_verify
from ._router import Ctx, Reply, Route
from ._state import Hook
from ._work import drop_comment, make_comment, make_task, ref_object

HOOK_TYPES = {
    "item.create", "item.update", "item.delete", "comment.create", "comment.delete",
    "file.change", "app.update", "app.delete", "app.create", "task.create", "task.update",
    "task.delete", "member.add", "member.remove", "status.create", "status.update",
    "status.delete", "form.create", "form.update", "form.delete",
}  # fmt: skip


def _task(ctx: Ctx) -> JSON:
    task = ctx.world.tasks.get(ctx.int_param("task_id"))
    if task is None:
        raise ApiError(404, "not_found", f"Object not found: task {ctx.params['task_id']}")
    return task


async def create_task(ctx: Ctx) -> Any:
    body = await ctx.json()
    files = _uploads.file_ids(ctx.world, body)
    task = make_task(ctx.world, body, ctx.byline())
    _uploads.attach_all(ctx.world, "task", task["task_id"], files)
    return task


async def create_task_on(ctx: Ctx) -> Any:
    ref = (ctx.params["ref_type"], ctx.int_param("ref_id"))
    body = await ctx.json()
    files = _uploads.file_ids(ctx.world, body)
    task = make_task(ctx.world, body, ctx.byline(), ref=ref)
    _uploads.attach_all(ctx.world, "task", task["task_id"], files)
    return task


async def get_task(ctx: Ctx) -> Any:
    task = _task(ctx)
    # Podio signs a carrier's push when it serves it: a re-fetch renews the subscription.
    task["push"] = _push.push_object(f"/task/{task['task_id']}")
    return task


async def get_tasks(ctx: Ctx) -> Any:
    q = ctx.request.query_params
    tasks = list(ctx.world.tasks.values())
    if "completed" in q:
        want = q["completed"].lower() in ("1", "true")
        tasks = [t for t in tasks if (t["status"] == "completed") == want]
    if "reference" in q:  # "item:123"
        ref_type, _, ref_id = q["reference"].partition(":")
        tasks = [t for t in tasks if t["ref_type"] == ref_type and str(t["ref_id"]) == ref_id]
    if "space" in q:
        tasks = [t for t in tasks if str(t["space_id"]) == q["space"]]
    offset, limit = ctx.int_query("offset", 0), ctx.int_query("limit", 10)
    return tasks[offset : offset + limit]


async def update_task(ctx: Ctx) -> Any:
    task, body = _task(ctx), await ctx.json()
    for key in ("text", "description", "private", "due_date", "due_time", "external_id"):
        if key in body:
            task[key] = body[key]
    _push.publish(ctx.core, "task", task["task_id"], "update", ctx.byline(), {})
    return task


async def delete_task(ctx: Ctx) -> Reply:
    del ctx.world.tasks[_task(ctx)["task_id"]]
    return Reply(204, b"", media_type=None)


async def complete(ctx: Ctx) -> Any:
    task = _task(ctx)
    task.update(status="completed", completed_on=fmt_dt(time.time()), completed_by=ctx.byline(),
                completed_via=via())  # fmt: skip
    _push.publish(ctx.core, "task", task["task_id"], "complete", ctx.byline(), {})
    return {}


async def incomplete(ctx: Ctx) -> Any:
    task = _task(ctx)
    task.update(status="active", completed_on=None, completed_by=None, completed_via=None)
    _push.publish(ctx.core, "task", task["task_id"], "incomplete", ctx.byline(), {})
    return {}


def _comment(ctx: Ctx) -> JSON:
    comment = ctx.world.comments.get(ctx.int_param("comment_id"))
    if comment is None:
        raise ApiError(404, "not_found", f"Object not found: comment {ctx.params['comment_id']}")
    return comment


async def add_comment(ctx: Ctx) -> Any:
    ref = (ctx.params["ref_type"], ctx.int_param("ref_id"))
    body = await ctx.json()
    files = _uploads.file_ids(ctx.world, body)
    comment = make_comment(ctx.world, ref, body, ctx.byline())
    _uploads.attach_all(ctx.world, "comment", comment["comment_id"], files)
    comment_event(ctx, "comment.create", comment)
    ref_type, ref_id = ref
    if ref_type in ("item", "task"):
        _push.publish(ctx.core, ref_type, ref_id, "comment_create", ctx.byline(), comment)
    return comment


async def get_comments(ctx: Ctx) -> Any:
    ref_type, ref_id = ctx.params["ref_type"], ctx.int_param("ref_id")
    ref_object(ctx.world, ref_type, ref_id)
    ref = {"type": ref_type, "id": ref_id}
    return [c for c in ctx.world.comments.values() if c["ref"] == ref]


async def get_comment(ctx: Ctx) -> Any:
    return _comment(ctx)


async def update_comment(ctx: Ctx) -> Any:
    comment, body = _comment(ctx), await ctx.json()
    if not isinstance(body.get("value"), str):
        raise invalid_value("Invalid value null (null): must be a string")
    comment.update(value=body["value"], rich_value=body["value"], last_edit_on=fmt_dt(time.time()))
    _touch(ctx, comment)
    return Reply(204, b"", media_type=None)


async def delete_comment(ctx: Ctx) -> Reply:
    comment = _comment(ctx)
    drop_comment(ctx.world, comment["comment_id"])
    comment_event(ctx, "comment.delete", comment)
    return Reply(204, b"", media_type=None)


def _touch(ctx: Ctx, comment: JSON) -> None:
    ref = comment["ref"]
    if ref["type"] == "item" and ref["id"] in ctx.world.items:
        ctx.world.items[ref["id"]].invalidate()


MAX_HOOKS_PER_TYPE = 10  # per object and type (docs/dev/podio-behaviour.md §7)


async def create_hook(ctx: Ctx) -> Any:
    ref_type, ref_id = ctx.params["ref_type"], ctx.int_param("ref_id")
    if ref_type not in ("app", "space", "app_field"):
        raise invalid_value(
            f"Invalid ref_type {dumps_text(ref_type)}: must be app, app_field or space"
        )
    if ref_type == "app_field":
        if not any(f.field_id == ref_id for a in ctx.world.apps.values() for f in a.fields):
            raise missing_object("app_field", ref_id)
    else:
        ref_object(ctx.world, ref_type, ref_id)
    body = await ctx.json()
    url, kind = _check_hook_url(body.get("url")), body.get("type")
    if kind not in HOOK_TYPES:
        raise invalid_value(f"Invalid value {dumps_text(kind)} for type")
    if ref_type == "app_field" and not str(kind).startswith("item."):
        # §7: a field-level hook fires on item events only.
        raise invalid_value(f"Invalid type {kind} for a hook on an app_field: only item.* types")
    same = [h for h in ctx.world.hooks.values()
            if (h.ref_type, h.ref_id, h.type) == (ref_type, ref_id, kind)]  # fmt: skip
    if len(same) >= MAX_HOOKS_PER_TYPE:
        raise invalid_value(
            f"At most {MAX_HOOKS_PER_TYPE} hooks of type {kind} on {ref_type} {ref_id}"
        )
    hook_id = ctx.world.new_id("hook", 70_001)
    code = hashlib.sha1(f"hook-{hook_id}".encode()).hexdigest()[:12]
    hook = ctx.world.hooks[hook_id] = Hook(
        hook_id, ref_type, ref_id, url, kind, code, time.time(), ctx.byline()
    )
    send_verify(ctx, hook)  # "Immediately after the webhook is created" (§7)
    return {"hook_id": hook_id}


def _check_hook_url(url: Any) -> str:
    """§7: hooks are delivered over http(s) on the default ports only (80 and 443)."""
    if not isinstance(url, str):
        raise invalid_value(f"Invalid value {dumps_text(url)} for url: must be a string")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_value(f"Invalid value {dumps_text(url)} for url: must be an http(s) URL")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port not in (None, 80, 443):
        raise invalid_value(f"Invalid url {url}: hooks can only use port 80 or 443")
    return url


async def list_hooks(ctx: Ctx) -> Any:
    ref_type, ref_id = ctx.params["ref_type"], ctx.int_param("ref_id")
    hooks = ctx.world.hooks.values()
    return [h.as_json() for h in hooks if h.ref_type == ref_type and h.ref_id == ref_id]


def _hook(ctx: Ctx) -> Hook:
    hook = ctx.world.hooks.get(ctx.int_param("hook_id"))
    if hook is None:
        raise ApiError(404, "not_found", f"Object not found: hook {ctx.params['hook_id']}")
    return hook


async def delete_hook(ctx: Ctx) -> Reply:
    del ctx.world.hooks[_hook(ctx).hook_id]
    return Reply(204, b"", media_type=None)


async def request_verify(ctx: Ctx) -> Reply:
    send_verify(ctx, _hook(ctx))
    return Reply(204, b"", media_type=None)


async def validate(ctx: Ctx) -> Reply:
    hook, body = _hook(ctx), await ctx.json()
    if body.get("code") != hook.code:
        # Podio's answer to a wrong code is UNCONFIRMED; a 400 is the natural reading.
        raise invalid_value("The verification code is not valid")
    hook.status = "active"
    return Reply(204, b"", media_type=None)


ROUTES = [
    Route("POST", "/task/", create_task),
    Route("GET", "/task/", get_tasks),
    Route("GET", "/task/{task_id}", get_task),
    Route("PUT", "/task/{task_id}", update_task),
    Route("DELETE", "/task/{task_id}", delete_task),
    Route("POST", "/task/{task_id}/complete", complete),
    Route("POST", "/task/{task_id}/incomplete", incomplete),
    Route("POST", "/task/{ref_type}/{ref_id}/", create_task_on),
    Route("GET", "/comment/{comment_id}", get_comment),
    Route("PUT", "/comment/{comment_id}", update_comment),
    Route("DELETE", "/comment/{comment_id}", delete_comment),
    Route("POST", "/comment/{ref_type}/{ref_id}/", add_comment),
    Route("GET", "/comment/{ref_type}/{ref_id}/", get_comments),
    Route("DELETE", "/hook/{hook_id}", delete_hook),
    Route("POST", "/hook/{hook_id}/verify/request", request_verify),
    Route("POST", "/hook/{hook_id}/verify/validate", validate),
    Route("POST", "/hook/{ref_type}/{ref_id}/", create_hook),
    Route("GET", "/hook/{ref_type}/{ref_id}/", list_hooks),
]
