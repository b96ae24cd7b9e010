"""App definitions in the emulator: apps loaded from Podio's app JSON, and changes to an
app's fields (the app-field routes, `_routes_apps`).

`Emulator(apps=[...])` (and `podiokit emulator --apps FILE`) takes the JSON of GET
/app/{app_id}, as saved by `podiokit typegen --save-json` or by hand: each app is added with
its fields, settings and revision (an app of the same id replaces the seeded one, without
items), so tests run against the shapes of the user's own apps. Every change to an app's
fields bumps its `current_revision`, as Podio's does.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ._common import JSON
from ._state import App, Field, Org, Space, World

__all__ = ["add_field", "delete_field", "load_apps", "update_field"]

_SLUG = re.compile(r"[^a-z0-9]+")
# Field types whose settings carry option lists (ids kept across edits).
_OPTION_TYPES = ("category", "question")


def _mapping(value: Any) -> JSON:
    return dict(value) if isinstance(value, Mapping) else {}


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


def _definitions(source: Any) -> list[JSON]:
    """App JSON from a dict, a list of them, or a path to a file holding either."""
    if isinstance(source, (str, Path)):
        source = json.loads(Path(source).read_text(encoding="utf-8"))
    items = source if isinstance(source, list) else [source]
    out = []
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("app_id"), int):
            raise ValueError("an app definition is GET /app/{app_id}'s JSON, with its app_id")
        if not isinstance(item.get("fields"), list):
            raise ValueError(f"app {item['app_id']}: the definition has no `fields` list")
        out.append(dict(item))
    return out


def _field(data: Mapping[str, Any], delta: int) -> Field:
    config = _mapping(data.get("config"))
    field_id, kind = data.get("field_id"), data.get("type")
    if not isinstance(field_id, int) or not isinstance(kind, str):
        raise ValueError(f"a field needs an integer field_id and a type: {dict(data)!r}")
    label = str(data.get("label") or config.get("label") or kind)
    external_id = str(data.get("external_id") or _slug(label) or field_id)
    settings = config.get("settings")
    return Field(
        field_id,
        external_id,
        kind,
        label,
        dict(settings) if isinstance(settings, Mapping) else None,
        int(config.get("delta", delta)) if isinstance(config.get("delta", delta), int) else delta,
        required=bool(config.get("required")),
    )


def _space(world: World, given: Any) -> int:
    """The app's space, made (with an org) when the world has no such space."""
    space_id: int = given if isinstance(given, int) else next(iter(world.spaces), 200)
    if space_id not in world.spaces:
        if 100 not in world.orgs:
            world.orgs[100] = Org(100, "Emulated Org", "emulated-org")
        world.spaces[space_id] = Space(space_id, 100, f"Space {space_id}", f"space-{space_id}")
    return space_id


def _drop_items(world: World, app: App) -> None:
    for item_id in app.item_ids:
        item = world.items.pop(item_id, None)
        if item is None:
            continue
        world.app_item_ids.pop((app.app_id, item.app_item_id), None)
        if item.external_id is not None:
            world.external_ids.pop((app.app_id, item.external_id), None)


def load_apps(world: World, sources: Iterable[Any]) -> None:
    """Add the apps of `sources` (see `_definitions`) to `world`."""
    for source in sources:
        for data in _definitions(source):
            app_id = data["app_id"]
            config = _mapping(data.get("config"))
            name = str(config.get("name") or data.get("name") or f"App {app_id}")
            token = data.get("token")
            if not (isinstance(token, str) and re.fullmatch(r"[0-9a-f]{32}", token)):
                token = hashlib.md5(f"app-{app_id}".encode()).hexdigest()
            icon_id = config.get("icon_id")
            fields = [
                _field(f, delta)
                for delta, f in enumerate(data["fields"])
                if isinstance(f, Mapping) and f.get("status", "active") == "active"
            ]
            app = App(
                app_id,
                _space(world, data.get("space_id")),
                name,
                str(config.get("item_name") or name),
                str(data.get("url_label") or _slug(name) or app_id),
                token,
                icon_id if isinstance(icon_id, int) else 1,
                fields,
            )
            revision = data.get("current_revision")
            app.revision = revision if isinstance(revision, int) and revision > 0 else 1
            old = world.apps.get(app_id)
            if old is not None:
                _drop_items(world, old)
            world.apps[app_id] = app


# --------------------------------------------------------------------------- field changes
def _reindex(app: App) -> None:
    app.by_key.clear()
    for f in app.fields:
        app.by_key[str(f.field_id)] = f
        app.by_key[f.external_id] = f
    app.revision += 1
    app.version += 1  # filter results cached for the old fields are stale


def _settings(kind: str, value: Any, old: JSON | None) -> JSON | None:
    if value is None:
        return old
    if not isinstance(value, Mapping):
        raise ValueError("settings must be an object")
    settings = dict(value)
    if kind in _OPTION_TYPES and "options" in settings:
        settings["options"] = _options(settings["options"], (old or {}).get("options") or [])
    return settings


def _options(given: Any, old: list[JSON]) -> list[JSON]:
    """Options as Podio keeps them: ids kept, a new option gets the next id."""
    if not isinstance(given, list):
        raise ValueError("options must be a list")
    next_id = max([o.get("id", 0) for o in old] + [0]) + 1
    out = []
    for option in given:
        if not isinstance(option, Mapping) or not isinstance(option.get("text"), str):
            raise ValueError("an option is an object with a text")
        entry = {"status": "active", "color": "DCEBD8", **option}
        if not isinstance(entry.get("id"), int):
            entry["id"] = next_id
            next_id += 1
        out.append(entry)
    return out


def add_field(world: World, app: App, body: JSON) -> Field:
    """POST /app/{app_id}/field/: `{type, config: {label, settings, required, ...}}`."""
    kind, config = body.get("type"), _mapping(body.get("config"))
    if not isinstance(kind, str) or not kind:
        raise ValueError("a field needs a type")
    label = config.get("label")
    if not isinstance(label, str) or not label.strip():
        raise ValueError("a field needs config.label")
    external_id = str(config.get("external_id") or _slug(label) or kind)
    taken = {f.external_id for f in app.fields}
    base, n = external_id, 2
    while external_id in taken:  # Podio numbers a repeated external id: contact, contact-2
        external_id, n = f"{base}-{n}", n + 1
    field_id = world.new_id("field", 90_000_001)
    field = Field(
        field_id,
        external_id,
        kind,
        label,
        _settings(kind, config.get("settings"), None),
        len(app.fields),
        required=bool(config.get("required")),
    )
    app.fields.append(field)
    _reindex(app)
    return field


def update_field(world: World, app: App, field: Field, body: JSON) -> None:
    """PUT /app/{app_id}/field/{field_id}: the attributes given change, the rest stay."""
    if "label" in body:
        if not isinstance(body["label"], str) or not body["label"].strip():
            raise ValueError("label must be a non-empty string")
        field.label = body["label"]
    if "settings" in body:
        field.settings = _settings(field.type, body["settings"], field.settings)
    if "required" in body:
        field.required = bool(body["required"])
    if "delta" in body and isinstance(body["delta"], int):
        app.fields.remove(field)
        app.fields.insert(max(0, min(body["delta"], len(app.fields))), field)
        for delta, f in enumerate(app.fields):
            f.delta = delta
    _reindex(app)


def delete_field(world: World, app: App, field: Field) -> None:
    """DELETE /app/{app_id}/field/{field_id}: gone from the app and from its items."""
    app.fields.remove(field)
    for item_id in app.item_ids:
        item = world.items.get(item_id)
        if item is not None and field.field_id in item.values:
            item.values = {k: v for k, v in item.values.items() if k != field.field_id}
    _reindex(app)
