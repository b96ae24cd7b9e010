"""Tasks and comments: plain dicts in Podio's shape (§5.7), created by routes and the seed."""

from __future__ import annotations

import time

from ._common import JSON, fmt_dt, via
from ._errors import invalid_value, missing_object
from ._push import push_object
from ._state import World

TASK_RIGHTS = ["view", "comment", "update", "delete", "add_file"]
COMMENT_RIGHTS = ["rate", "delete", "update", "add_file", "view", "add_question"]


def ref_object(world: World, ref_type: str, ref_id: int) -> JSON:
    """The reference a task or comment hangs on; 404 when it does not exist."""
    if ref_type == "item" and ref_id in world.items:
        item = world.items[ref_id]
        link = world.item_link(item)
        data: JSON = {"item_id": ref_id, "app_item_id": item.app_item_id, "title": item.title,
                      "link": link, "app_id": item.app_id}  # fmt: skip
        return {"type": "item", "id": ref_id, "title": item.title, "link": link, "data": data}
    if ref_type == "space" and ref_id in world.spaces:
        space = world.spaces[ref_id]
        link = f"https://podio.com/{world.orgs[space.org_id].url_label}/{space.url_label}"
        data = {"space_id": ref_id, "name": space.name, "url": link,
                "url_label": space.url_label, "type": "regular"}  # fmt: skip
        return {"type": "space", "id": ref_id, "title": space.name, "link": link, "data": data}
    if ref_type == "app" and ref_id in world.apps:
        app = world.apps[ref_id]
        link = world.app_link(app)
        data = {"app_id": ref_id, "name": app.name, "item_name": app.item_name, "link": link,
                "space_id": app.space_id}  # fmt: skip
        return {"type": "app", "id": ref_id, "title": app.name, "link": link, "data": data}
    raise missing_object(ref_type, ref_id)


def make_task(
    world: World,
    body: JSON,
    by: JSON,
    *,
    ref: tuple[str, int] | None = None,
    now: float | None = None,
) -> JSON:
    text = body.get("text")
    if not isinstance(text, str) or not text:
        raise invalid_value("Invalid value null (null): must be a non-empty string")
    now = time.time() if now is None else now
    task_id = world.new_id("task", 600_001)
    if ref is None and body.get("ref_type") and body.get("ref_id"):
        ref = (str(body["ref_type"]), int(body["ref_id"]))
    ref_json = ref_object(world, *ref) if ref else None
    space_id = None
    if ref and ref[0] == "space":
        space_id = ref[1]
    elif ref and ref[0] == "item":
        space_id = world.apps[world.items[ref[1]].app_id].space_id
    demo = world.users[world.demo_user_id]
    responsible = body.get("responsible")
    owner = world.users.get(int(responsible)) if isinstance(responsible, int) else None
    due_date = body.get("due_date")
    task: JSON = {
        "task_id": task_id,
        "status": "active",
        "group": "upcoming" if due_date else "later",
        "text": text,
        "description": body.get("description"),
        "private": bool(body.get("private", False)),
        "due_on": f"{due_date} {body.get('due_time') or '00:00:00'}" if due_date else None,
        "due_date": due_date,
        "due_time": body.get("due_time"),
        "responsible": (owner or demo).mini_profile(),
        "space_id": space_id,
        "link": f"https://podio.com/tasks/{task_id}",
        "created_on": fmt_dt(now),
        "completed_on": None,
        "created_by": by,
        "completed_by": None,
        "created_via": via(),
        "completed_via": None,
        "deleted_on": None,
        "deleted_by": None,
        "deleted_via": None,
        "started": False,
        "ref": ref_json,
        "ref_type": ref[0] if ref else None,
        "ref_id": ref[1] if ref else None,
        "ref_title": ref_json["title"] if ref_json else None,
        "ref_link": ref_json["link"] if ref_json else None,
        "like_count": 0,
        "is_liked": False,
        "subscribed": True,
        "subscribed_count": 1,
        "labels": [],
        "files": [],
        "comments": [],
        "reminder": None,
        "recurrence": None,
        "external_id": body.get("external_id"),
        "rights": TASK_RIGHTS,
        "push": push_object(f"/task/{task_id}"),
        "presence": {"ref_type": "task", "ref_id": task_id, "user_id": world.demo_user_id,
                     "signature": f"{task_id + 1:040x}"},
    }  # fmt: skip
    world.tasks[task_id] = task
    return task


def make_comment(
    world: World, ref: tuple[str, int], body: JSON, by: JSON, *, now: float | None = None
) -> JSON:
    value = body.get("value")
    if not isinstance(value, str) or not value:
        raise invalid_value("Invalid value null (null): must be a non-empty string")
    ref_object(world, *ref)
    now = time.time() if now is None else now
    comment_id = world.new_id("comment", 900_001)
    space_id = None
    if ref[0] == "item":
        item = world.items[ref[1]]
        space_id = world.apps[item.app_id].space_id
        item.comment_count += 1
        # A comment is activity (`last_event_on`, "the last activity"), not an edit: no
        # revision, so `last_edit_on` stays.
        item.last_event_ts = max(item.last_event_ts, now)
        item.invalidate()
    comment: JSON = {
        "comment_id": comment_id,
        "value": value,
        "rich_value": value,
        "external_id": body.get("external_id"),
        "space_id": space_id,
        "ref": {"type": ref[0], "id": ref[1]},
        "created_on": fmt_dt(now),
        "created_by": by,
        "created_via": via(),
        "user": by,
        "files": [],
        "embed": None,
        "embed_file": None,
        "questions": [],
        "like_count": 0,
        "is_liked": False,
        "last_edit_on": None,
        "rights": COMMENT_RIGHTS,
    }
    world.comments[comment_id] = comment
    return comment


def drop_comment(world: World, comment_id: int) -> None:
    comment = world.comments.pop(comment_id)
    ref = comment["ref"]
    if ref["type"] == "item" and ref["id"] in world.items:
        item = world.items[ref["id"]]
        item.comment_count -= 1
        item.invalidate()
