"""File objects (§6; samples/files__get_files__1): image-field files, with their context."""

from __future__ import annotations

from ._common import EPOCH, JSON, fmt_dt, via
from ._push import push_object
from ._state import Item, World
from ._values import item_mini

FILE_RIGHTS = ["download", "view", "delete", "update"]


def holders(world: World, app_ids: list[int]) -> dict[int, Item]:
    """file_id -> the first item (in creation order) whose image field holds it."""
    out: dict[int, Item] = {}
    for app_id in app_ids:
        app = world.apps[app_id]
        images = [f.field_id for f in app.fields if f.type == "image"]
        for item_id in app.item_ids:
            item = world.items[item_id]
            for field_id in images:
                for entry in item.values.get(field_id, ()):
                    out.setdefault(entry["value"]["file_id"], item)
    return out


def _item_data(world: World, item: Item) -> JSON:
    mini = item_mini(world, item)
    del mini["space"], mini["files"]
    app = world.apps[item.app_id]
    first = next((f for f in app.fields if f.field_id in item.values and f.type != "text"), None)
    excerpt = None
    if first is not None:
        value = item.values[first.field_id][0].get("value")
        text = value.get("text") or value.get("title") or value.get("name") if isinstance(
            value, dict) else value  # fmt: skip
        excerpt = {"label": first.label, "text": str(text)}
    return {**mini, "excerpt": excerpt}


def _context(world: World, item: Item | None) -> JSON | None:
    if item is None:
        return None
    return {
        "type": "item",
        "id": item.item_id,
        "type_name": "PodioItem",
        "title": item.title,
        "link": world.item_link(item),
        "created_on": fmt_dt(item.created_ts),
        "created_by": item.created_by,
        "created_via": via(),
        "data": _item_data(world, item),
    }


def file_full(world: World, mini: JSON, holder: Item | None) -> JSON:
    by = holder.created_by if holder else world.users[world.demo_user_id].byline()
    created = holder.created_ts if holder else EPOCH
    file_id = mini["file_id"]
    return {
        **mini,
        "context": _context(world, holder),
        "created_on": fmt_dt(created),
        "created_by": by,
        "created_via": via(),
        "replaces": [],
        "rights": FILE_RIGHTS,
        "push": push_object(f"/file/{file_id}"),
        "presence": None,
    }  # fmt: skip


def item_files(world: World, item: Item) -> list[JSON]:
    """The files an item holds: the files of its image fields (Podio lists an image field's
    files among the item's files: INFERRED from items__get_item__2, whose image file is in
    `files`)."""
    out: list[JSON] = []
    seen: set[int] = set()
    app = world.apps[item.app_id]
    for field in app.fields:
        if field.type != "image":
            continue
        for entry in item.values.get(field.field_id, ()):
            mini = entry["value"]
            if mini["file_id"] not in seen:
                seen.add(mini["file_id"])
                full = file_full(world, mini, item)
                del full["context"]
                out.append(full)
    # Files attached with POST /file/{id}/attach (or file_ids on create), after the images.
    for file_id in world.attachments.get(("item", item.item_id), ()):
        if file_id not in seen and file_id in world.files:
            seen.add(file_id)
            full = file_full(world, world.files[file_id], item)
            del full["context"]
            out.append(full)
    return out
