"""Item writes (create, update, delete) with revisions, and the derived title/calculations."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from ._common import JSON, fmt_number
from ._errors import ApiError, dumps_text, invalid_value
from ._state import App, Field, Item, Revision, World
from ._values import read_values


def parse_fields(world: World, app: App, raw: Any) -> dict[int, list[JSON]]:
    """Both write forms: an object keyed by external_id/field_id, or a list of entries."""
    pairs: list[tuple[Any, Any]] = []
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        for entry in raw:
            if not isinstance(entry, dict):
                raise invalid_value(f"Invalid value {dumps_text(entry)}: must be object")
            key = entry.get("external_id", entry.get("field_id"))
            pairs.append((key, entry.get("values", entry.get("value"))))
    elif raw is not None:
        raise invalid_value(f"Invalid value {dumps_text(raw)}: must be object")
    out: dict[int, list[JSON]] = {}
    for key, value in pairs:
        field = app.field(key)
        if field is None:
            raise invalid_value(f"Invalid field {dumps_text(key)} for app {app.app_id}")
        out[field.field_id] = read_values(world, field, value)
    return out


def title_of(app: App, values: dict[int, list[JSON]]) -> str:
    # Podio titles an item by its first text field.
    for field in app.fields:
        if field.type == "text":
            entries = values.get(field.field_id)
            return str(entries[0]["value"]) if entries else ""
    return ""


def _amount(values: dict[int, list[JSON]], field_id: int) -> Decimal:
    entries = values.get(field_id)
    return Decimal(entries[0]["value"]) if entries else Decimal(0)


def recalculate(app: App, values: dict[int, list[JSON]]) -> None:
    """Calculation fields are read-only; the emulator supports `plus`/`times` of two fields."""
    for field in app.fields:
        if field.type != "calculation":
            continue
        expr = (field.settings or {}).get("expression") or {}
        left_id = expr.get("left", {}).get("field_id", 0)
        right_id = expr.get("right", {}).get("field_id", 0)
        if left_id not in values and right_id not in values:
            values.pop(field.field_id, None)  # nothing to calculate from: no value
            continue
        left, right = _amount(values, left_id), _amount(values, right_id)
        result = left * right if expr.get("type") == "times" else left + right
        values[field.field_id] = [{"value": fmt_number(result)}]


def create_item(world: World, app: App, body: JSON, by: JSON, *, now: float | None = None) -> Item:
    now = time.time() if now is None else now
    values = parse_fields(world, app, body.get("fields"))
    recalculate(app, values)
    return add_item(
        world,
        app,
        values,
        by,
        now,
        external_id=body.get("external_id"),
        tags=list(body.get("tags") or []),
    )


def add_item(
    world: World,
    app: App,
    values: dict[int, list[JSON]],
    by: JSON,
    now: float,
    *,
    external_id: str | None = None,
    tags: list[str] | None = None,
) -> Item:
    item_id = world.new_id("item", 1_000_001)
    revision_id = world.new_id("revision", 5_000_001)
    item = Item(
        item_id=item_id,
        app_id=app.app_id,
        app_item_id=app.next_app_item_id,
        external_id=external_id,
        title=title_of(app, values),
        values=values,
        created_ts=now,
        last_event_ts=now,
        created_by=by,
        revisions=[Revision(revision_id, 0, "creation", now, by, values)],
        tags=tags or [],
    )
    app.next_app_item_id += 1
    app.item_ids.append(item_id)
    app.version += 1
    world.items[item_id] = item
    world.app_item_ids[(app.app_id, item.app_item_id)] = item_id
    if external_id is not None:
        world.external_ids[(app.app_id, external_id)] = item_id
    return item


def _revision_number(value: Any) -> int | None:
    """`revision` as a number: clients send 1 or "1" (form-minded ones send strings)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise invalid_value(f"Invalid value {dumps_text(value)} for revision: must be an integer")


def update_item(world: World, item: Item, body: JSON, by: JSON) -> bool:
    """Apply an update; False when nothing changed (no new revision then)."""
    expected = _revision_number(body.get("revision"))
    if expected is not None and expected != item.revision:
        raise ApiError(
            409,
            "conflict",
            f"The item has been updated since revision {expected}; "
            f"the current revision is {item.revision}",
            parameters={"revision": item.revision},
        )
    app = world.apps[item.app_id]
    changes = parse_fields(world, app, body.get("fields"))
    values = dict(item.values)
    for field_id, entries in changes.items():
        if entries:
            values[field_id] = entries
        else:
            values.pop(field_id, None)  # [] clears a field (§5.5)
    recalculate(app, values)
    external_id = body.get("external_id", item.external_id)
    tags = list(body["tags"]) if "tags" in body else item.tags
    if values == item.values and external_id == item.external_id and tags == item.tags:
        return False
    if item.external_id is not None:
        world.external_ids.pop((app.app_id, item.external_id), None)
    if external_id is not None:
        world.external_ids[(app.app_id, external_id)] = item.item_id
    now = time.time()
    item.values = values
    item.external_id = external_id
    item.tags = tags
    item.title = title_of(app, values)
    item.last_event_ts = now
    item.revisions.append(
        Revision(world.new_id("revision", 5_000_001), item.revision + 1, "update", now, by, values)
    )
    item.invalidate()
    app.version += 1
    return True


def delete_item(world: World, item: Item) -> None:
    app = world.apps[item.app_id]
    del world.items[item.item_id]
    app.item_ids.remove(item.item_id)
    world.app_item_ids.pop((app.app_id, item.app_item_id), None)
    if item.external_id is not None:
        world.external_ids.pop((app.app_id, item.external_id), None)
    app.version += 1


def field_entries(app: App, item: Item) -> list[tuple[Field, list[JSON]]]:
    """Fields that have values, in the app's order (Podio omits empty fields)."""
    return [(f, item.values[f.field_id]) for f in app.fields if f.field_id in item.values]
