"""Field values: the write forms Podio accepts (§5.5) turned into the read forms it serves (§5.4).

A value that breaks the field's type or its settings is refused with 400 `invalid_value`, as
Podio does (§2.2): one value on a single-value field, categories and relationships per their
`multiple` setting, relationships only to `referenced_apps`, phone/email types from §5.4 (and the
field's `possible_types`), progress an integer 0-100, durations not negative, times only where the
date field's `time` setting allows one, ends not before starts, and only files and embeds that
exist. Where docs/dev/podio-behaviour.md is silent the field's own settings decide.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from ._common import JSON, fmt_date, fmt_dt, fmt_number, parse_dt, via
from ._errors import invalid_value
from ._state import Field, Item, World, app_short, space_short

PHONE_TYPES = ("mobile", "work", "home", "main", "work_fax", "private_fax", "other")
EMAIL_TYPES = ("work", "home", "other")
# Types whose field holds one value; the rest hold a list (category/app/question per setting).
SINGLE = frozenset({"text", "number", "money", "progress", "duration", "date", "location"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?\Z")
_LOCATION_TEXT = ("formatted", "street_number", "street_name", "street_address", "postal_code",
                  "city", "state", "country")  # fmt: skip


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    names = {list: "array", dict: "object", str: "string", int: "integer", float: "float"}
    return names.get(type(value), type(value).__name__)


def describe(value: Any) -> str:
    """Podio's `Invalid value <json> (<kind>)` prefix: JSON, never a Python repr (§2.2)."""
    return f"Invalid value {json.dumps(value, ensure_ascii=False)} ({_kind(value)})"


def _bad(field: Field, value: Any, why: str) -> Exception:
    return invalid_value(f"{describe(value)}: field {field.external_id} {why}")


def _unwrap(value: Any) -> Any:
    # {"value": v} and bare v are the same write (sub_id form vs short form).
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _ref_id(field: Field, value: Any, key: str) -> int:
    """An id given bare, as {"value": id} or as {"value": {key: id}} (NET's object form)."""
    raw = _unwrap(value)
    if isinstance(raw, dict):
        raw = raw.get(key)
    if isinstance(raw, str) and raw.isdigit():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise _bad(field, value, "takes an id (a positive integer)")
    return raw


def _decimal(field: Field, value: Any, original: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _bad(field, original, "takes a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _bad(field, original, "takes a number") from None
    if not number.is_finite():
        raise _bad(field, original, "takes a finite number")
    return number


def _whole(field: Field, value: Any, what: str) -> int:
    number = _decimal(field, _unwrap(value), value)
    if number != number.to_integral_value():
        raise _bad(field, value, f"takes {what} as a whole number")
    return int(number)


def text_value(field: Field, value: Any, world: World) -> JSON:
    text = _unwrap(value)
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise _bad(field, value, "takes a string")
    if isinstance(text, float) and not math.isfinite(text):
        raise _bad(field, value, "takes a string")
    return {"value": str(text)}


def number_value(field: Field, value: Any, world: World) -> JSON:
    return {"value": fmt_number(_decimal(field, _unwrap(value), value))}


def money_value(field: Field, value: Any, world: World) -> JSON:
    allowed = (field.settings or {}).get("allowed_currencies") or ["USD"]
    if isinstance(value, dict):
        currency, amount = value.get("currency", allowed[0]), value.get("value")
    else:
        currency, amount = allowed[0], value
    if currency not in allowed:
        raise _bad(field, value, f"takes a currency from {json.dumps(allowed)}")
    return {"currency": currency, "value": fmt_number(_decimal(field, amount, value))}


def progress_value(field: Field, value: Any, world: World) -> JSON:
    # Podio's docs: "an integer from 0 to 100"; docs/dev/podio-behaviour.md says nothing of rounding, so a
    # fraction is refused rather than silently truncated.
    number = _whole(field, value, "progress")
    if not 0 <= number <= 100:
        raise _bad(field, value, "takes progress from 0 to 100")
    return {"value": number}


def duration_value(field: Field, value: Any, world: World) -> JSON:
    seconds = _whole(field, value, "seconds")
    if seconds < 0:
        raise _bad(field, value, "takes a duration that is not negative")
    return {"value": seconds}


def category_value(field: Field, value: Any, world: World) -> JSON:
    wanted = _unwrap(value)
    if isinstance(wanted, dict):
        wanted = wanted.get("id")
    if isinstance(wanted, bool) or not isinstance(wanted, (int, str)):
        raise _bad(field, value, "takes an option id")
    for option in (field.settings or {}).get("options", []):
        # Option text is accepted too (UNCONFIRMED in docs/dev/podio-behaviour.md; a sample uses it).
        if wanted in (option["id"], option["text"]) and option["status"] == "active":
            return {"value": option}
    raise _bad(field, value, "has no such active option")


def question_value(field: Field, value: Any, world: World) -> JSON:
    # Read back as the option object, like a category: the real item in
    # samples/items__get_item_basic__1.json shows it (docs/dev/podio-behaviour.md's int id is UNCONFIRMED).
    return category_value(field, value, world)


def app_value(field: Field, value: Any, world: World) -> JSON:
    item = world.items.get(_ref_id(field, value, "item_id"))
    if item is None:
        raise _bad(field, value, "references an item that does not exist")
    apps = [ref["app_id"] for ref in (field.settings or {}).get("referenced_apps") or []]
    if apps and item.app_id not in apps:
        raise _bad(field, value, f"references items of apps {json.dumps(apps)} only")
    return {"value": item_mini(world, item)}


def contact_value(field: Field, value: Any, world: World) -> JSON:
    profile_id = _ref_id(field, value, "profile_id")
    for user in world.users.values():
        if profile_id in (user.profile_id, user.user_id):
            return {"value": user.profile()}
    raise _bad(field, value, "references a profile that does not exist")


def _when(field: Field, value: JSON, end: str) -> tuple[str, bool] | None:
    """One end of a date write as ("YYYY-MM-DD[ HH:MM:SS]", has_time), from any spelling."""
    for key in (f"{end}_utc", end):  # the demo user's timezone is UTC, so local == UTC
        raw = value.get(key)
        if raw is not None:
            if not isinstance(raw, str) or parse_dt(raw) is None:
                raise _bad(field, value, f"takes {key} as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS")
            return raw, len(raw) > 10
    day, clock = value.get(f"{end}_date"), value.get(f"{end}_time")
    if day is None:
        if clock is not None:
            raise _bad(field, value, f"takes {end}_time only with {end}_date")
        return None
    if not isinstance(day, str) or len(day) != 10 or parse_dt(day) is None:
        raise _bad(field, value, f"takes {end}_date as YYYY-MM-DD")
    if clock is None:
        return day, False
    if not isinstance(clock, str) or not _TIME.match(clock):
        raise _bad(field, value, f"takes {end}_time as HH:MM:SS")
    return f"{day} {clock if len(clock) == 8 else clock + ':00'}", True


def date_value(field: Field, value: Any, world: World) -> JSON:
    if isinstance(value, str):
        value = {"start": value}
    if not isinstance(value, dict):
        raise _bad(field, value, "must be object")
    settings = field.settings or {}
    start, end = _when(field, value, "start"), _when(field, value, "end")
    if start is None:
        raise _bad(field, value, "needs a start")
    if end is not None and settings.get("end") == "disabled":
        raise _bad(field, value, "takes no end date (its end setting is disabled)")
    if end is None and settings.get("end") == "required":
        raise _bad(field, value, "needs an end date (its end setting is required)")
    timed = start[1] or (end is not None and end[1])
    if timed and settings.get("time") == "disabled":
        raise _bad(field, value, "takes no time (its time setting is disabled)")
    if not start[1] and settings.get("time") == "required":
        raise _bad(field, value, "needs a time (its time setting is required)")
    start_ts = parse_dt(start[0]) or 0.0
    out = date_part("start", start_ts, has_time=start[1])
    if end is not None:
        end_ts = parse_dt(end[0]) or 0.0
        # A date-only end is the whole day: compare days then, instants otherwise.
        if (end_ts < start_ts) if end[1] else (end[0][:10] < start[0][:10]):
            raise _bad(field, value, "ends before it starts")
        out.update(date_part("end", end_ts, has_time=end[1]))
    return out


def date_part(end: str, ts: float, *, has_time: bool) -> JSON:
    day = fmt_date(ts)
    clock = fmt_dt(ts)[11:] if has_time else None
    full = fmt_dt(ts) if has_time else f"{day} 00:00:00"
    return {
        end: full,
        f"{end}_date": day,
        f"{end}_time": clock,
        f"{end}_utc": full if has_time else day,
        f"{end}_date_utc": day,
        f"{end}_time_utc": clock,
    }


def _coordinate(field: Field, value: Any, key: str, limit: float) -> float | None:
    coord = value.get(key) if isinstance(value, dict) else None
    if coord is None:
        return None
    if (
        isinstance(coord, bool)
        or not isinstance(coord, (int, float))
        or not math.isfinite(coord)
        or abs(coord) > limit
    ):
        raise _bad(field, value, f"takes {key} as a number within ±{limit:g}")
    return float(coord)


def location_value(field: Field, value: Any, world: World) -> JSON:
    lat, lng = _coordinate(field, value, "lat", 90), _coordinate(field, value, "lng", 180)
    if (lat is None) != (lng is None):
        raise _bad(field, value, "takes lat and lng together")
    parts = value if isinstance(value, dict) else {}
    for key in _LOCATION_TEXT:
        if parts.get(key) is not None and not isinstance(parts[key], str):
            raise _bad(field, value, f"takes {key} as a string")
    text = _unwrap(value) if not isinstance(value, dict) or "value" in value else None
    if text is not None and (not isinstance(text, str) or not text.strip()):
        raise _bad(field, value, "takes an address (a non-empty string)")
    if text is None and lat is None:
        raise _bad(field, value, "needs an address or lat and lng")
    street = parts.get("street_address")
    if street is None and parts.get("street_name"):
        street = " ".join(p for p in (parts.get("street_number"), parts["street_name"]) if p)
    return {
        "value": text,
        "formatted": parts.get("formatted") or text,
        "street_address": street,
        "city": parts.get("city"),
        "state": parts.get("state"),
        "postal_code": parts.get("postal_code"),
        "country": parts.get("country"),
        "lat": lat,
        "lng": lng,
        "map_in_sync": lat is not None,
    }


def typed_value(field: Field, value: Any, world: World) -> JSON:
    kinds = PHONE_TYPES if field.type == "phone" else EMAIL_TYPES
    # The field's possible_types narrow §5.4's list (docs/dev/podio-behaviour.md is silent: settings decide).
    possible = [k for k in (field.settings or {}).get("possible_types") or kinds if k in kinds]
    default = "work" if "work" in possible else possible[0]
    kind = value.get("type", default) if isinstance(value, dict) else default
    if kind not in possible:
        raise _bad(field, value, f"takes a type from {json.dumps(possible)}")
    text = _unwrap(value)
    if not isinstance(text, str) or not text.strip():
        raise _bad(field, value, "takes a non-empty string")
    if field.type == "email" and not _EMAIL.match(text):
        raise _bad(field, value, "takes an email address")
    return {"type": kind, "value": text}


def image_value(field: Field, value: Any, world: World) -> JSON:
    file_id = _ref_id(field, value, "file_id")
    if file_id not in world.files:
        raise _bad(field, value, f"references file {file_id}, which does not exist")
    return {"value": world.files[file_id]}


def embed_value(field: Field, value: Any, world: World) -> JSON:
    # {"url": ...} and a bare URL create the embed on the spot, as POST /embed/ would.
    if isinstance(value, dict) and set(value) == {"url"}:
        value = value["url"]
    if isinstance(value, str):
        if not value.startswith(("http://", "https://")):
            raise _bad(field, value, "takes an http(s) URL")
        return {"embed": new_embed(world, value), "file": None}
    if not isinstance(value, dict) or "embed" not in value:
        raise _bad(field, value, 'takes {"embed": embed_id, "file": file_id}')
    raw = value["embed"]
    if isinstance(raw, dict) and "embed_id" not in raw and isinstance(raw.get("url"), str):
        return {"embed": new_embed(world, raw["url"]), "file": None}
    embed_id = _ref_id(field, raw.get("embed_id") if isinstance(raw, dict) else raw, "embed_id")
    if embed_id not in world.embeds:
        raise _bad(field, value, f"references embed {embed_id}, which does not exist")
    thumb = value.get("file")
    if thumb is not None:
        file_id = _ref_id(field, thumb, "file_id")
        if file_id not in world.files:
            raise _bad(field, value, f"references file {file_id}, which does not exist")
        thumb = world.files[file_id]
    return {"embed": world.embeds[embed_id], "file": thumb}


def new_embed(world: World, url: str) -> JSON:
    embed = embed_obj(world.new_id("embed", 60_000_001), url)
    world.embeds[embed["embed_id"]] = embed
    return embed


def index_media(world: World) -> None:
    """Record every file and embed the seed put in item values: they exist from then on."""
    seen: set[int] = set()
    for app in world.apps.values():
        media = [(f.field_id, f.type) for f in app.fields if f.type in ("image", "embed")]
        for item_id in app.item_ids if media else ():
            values = world.items[item_id].values
            for field_id, kind in media:
                entries = values.get(field_id)
                if entries is None or id(entries) in seen:  # seeds share value lists
                    continue
                seen.add(id(entries))
                for entry in entries:
                    if kind == "image":
                        world.files.setdefault(entry["value"]["file_id"], entry["value"])
                        continue
                    world.embeds.setdefault(entry["embed"]["embed_id"], entry["embed"])
                    if entry.get("file"):
                        world.files.setdefault(entry["file"]["file_id"], entry["file"])


def file_mini(
    file_id: int,
    *,
    name: str | None = None,
    mimetype: str = "image/png",
    size: int | None = None,
    link: str | None = None,
) -> JSON:
    """A file as items and uploads show it (samples files__get_files, items__get_item__2);
    the defaults make a seeded image."""
    link = link or f"https://files.podio.com/{file_id}"
    return {
        "file_id": file_id,
        "name": name or f"image-{file_id}.png",
        "mimetype": mimetype,
        "size": 10_000 + file_id % 50_000 if size is None else size,
        "link": link,
        "thumbnail_link": link if mimetype.startswith("image/") else None,
        "perma_link": None,
        "hosted_by": "podio",
        "hosted_by_humanized_name": "Podio",
        "link_target": "_blank",
        "external_file_id": None,
        "description": None,
    }


def embed_obj(embed_id: int, url: str) -> JSON:
    host = url.split("//", 1)[-1].split("/", 1)[0]
    return {
        "embed_id": embed_id,
        "type": "link",
        "url": url,
        "original_url": url,
        "resolved_url": url,
        "hostname": host,
        "title": host,
        "description": None,
        "embed_html": None,
        "embed_width": None,
        "embed_height": None,
    }


def item_mini(world: World, item: Item) -> JSON:
    # Keys as in samples/items__app_reference_value__1 (the short app view, the full
    # creation revision).
    app = world.apps[item.app_id]
    return {
        "item_id": item.item_id,
        "app_item_id": item.app_item_id,
        "title": item.title,
        "link": world.item_link(item),
        "app": {k: v for k, v in app_short(world, app).items() if k != "item_accounting_info"},
        "space": space_short(world, app.space_id),
        "created_by": item.created_by,
        "created_on": fmt_dt(item.created_ts),
        "created_via": via(),
        "files": [],
        "initial_revision": item.revisions[0].as_json(),
        "revision": item.revision,
        "sharefile_vault_url": None,
        "sharefile_vault_folder_id": None,
    }


Converter = Callable[[Field, Any, World], JSON]

CONVERTERS: dict[str, Converter] = {
    "text": text_value,
    "number": number_value,
    "money": money_value,
    "progress": progress_value,
    "duration": duration_value,
    "category": category_value,
    "question": question_value,
    "app": app_value,
    "contact": contact_value,
    "date": date_value,
    "location": location_value,
    "phone": typed_value,
    "email": typed_value,
    "image": image_value,
    "embed": embed_value,
}


def _multiple(field: Field) -> bool:
    if field.type in SINGLE:
        return False
    if field.type in ("category", "question", "app"):
        return bool((field.settings or {}).get("multiple", True))
    return True


def read_values(world: World, field: Field, raw: Any) -> list[JSON]:
    """Accept the four shapes: [{sub_id: v}, ...], [v, ...], {sub_id: v} or bare v."""
    convert = CONVERTERS.get(field.type)
    if convert is None:
        raise invalid_value(f"The field {field.external_id} of type {field.type} is read-only")
    entries = raw if isinstance(raw, list) else [raw]
    if len(entries) > 1 and not _multiple(field):
        raise _bad(field, raw, "takes one value")
    return [convert(field, entry, world) for entry in entries]
