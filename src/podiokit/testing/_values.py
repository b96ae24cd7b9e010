"""Field values: the write forms Podio accepts (§5.5) turned into the read forms it serves (§5.4)."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from ._common import JSON, fmt_date, fmt_dt, fmt_number, parse_dt, via
from ._errors import invalid_value
from ._state import Field, Item, World


def _bad(field: Field, value: Any, why: str) -> Exception:
    return invalid_value(f"Invalid value {value!r} for field {field.external_id}: {why}")


def _unwrap(value: Any) -> Any:
    # {"value": v} and bare v are the same write (sub_id form vs short form).
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _ref_id(value: Any, key: str) -> Any:
    value = _unwrap(value)
    if isinstance(value, dict):
        return value.get(key)
    return value


def _number(field: Field, value: Any) -> float:
    value = _unwrap(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _bad(field, value, "must be a number") from None


def text_value(field: Field, value: Any, world: World) -> JSON:
    value = _unwrap(value)
    if not isinstance(value, (str, int, float)):
        raise _bad(field, value, "must be a string")
    return {"value": str(value)}


def number_value(field: Field, value: Any, world: World) -> JSON:
    return {"value": fmt_number(_number(field, value))}


def money_value(field: Field, value: Any, world: World) -> JSON:
    allowed = (field.settings or {}).get("allowed_currencies") or ["USD"]
    currency = value.get("currency", allowed[0]) if isinstance(value, dict) else allowed[0]
    if currency not in allowed:
        raise _bad(field, value, f"currency must be one of {allowed}")
    amount = value.get("value") if isinstance(value, dict) else value
    return {"currency": currency, "value": fmt_number(_number(field, amount))}


def int_value(field: Field, value: Any, world: World) -> JSON:
    number = _number(field, value)
    if field.type == "progress" and not 0 <= number <= 100:
        raise _bad(field, value, "must be between 0 and 100")
    return {"value": int(number)}


def category_value(field: Field, value: Any, world: World) -> JSON:
    option_id = _ref_id(value, "id")
    for option in (field.settings or {}).get("options", []):
        if option_id in (option["id"], option["text"]) and option["status"] == "active":
            return {"value": option}
    raise _bad(field, value, "not a valid option")


def question_value(field: Field, value: Any, world: World) -> JSON:
    # Read back as the option object, like a category: the real item in
    # samples/items__get_item_basic__1.json shows it (behaviour.md's int id is UNCONFIRMED).
    return category_value(field, value, world)


def app_value(field: Field, value: Any, world: World) -> JSON:
    item = world.items.get(_int(field, _ref_id(value, "item_id")))
    if item is None:
        raise _bad(field, value, "referenced item does not exist")
    return {"value": item_mini(world, item)}


def contact_value(field: Field, value: Any, world: World) -> JSON:
    profile_id = _int(field, _ref_id(value, "profile_id"))
    for user in world.users.values():
        if profile_id in (user.profile_id, user.user_id):
            return {"value": user.profile()}
    raise _bad(field, value, "unknown profile")


def date_value(field: Field, value: Any, world: World) -> JSON:
    if isinstance(value, str):
        value = {"start": value}
    if not isinstance(value, dict):
        raise _bad(field, value, "must be object")
    out: JSON = {}
    for end in ("start", "end"):
        # Any of the documented spellings; the demo user's timezone is UTC, so local == UTC.
        raw = value.get(f"{end}_utc") or value.get(end) or value.get(f"{end}_date")
        if raw is None:
            continue
        if f"{end}_time" in value and f"{end}_date" in value and value[f"{end}_time"]:
            raw = f"{value[f'{end}_date']} {value[f'{end}_time']}"
        ts = parse_dt(str(raw))
        if ts is None:
            raise _bad(field, value, "dates are YYYY-MM-DD or YYYY-MM-DD HH:MM:SS")
        out.update(date_part(end, ts, has_time=len(str(raw)) > 10))
    if "start" not in out:
        raise _bad(field, value, "a start is required")
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


def location_value(field: Field, value: Any, world: World) -> JSON:
    lat = value.get("lat") if isinstance(value, dict) else None
    lng = value.get("lng") if isinstance(value, dict) else None
    text = _unwrap(value)
    if not isinstance(text, str):
        raise _bad(field, value, "must be an address")
    return {
        "value": text,
        "formatted": text,
        "street_address": None,
        "city": None,
        "state": None,
        "postal_code": None,
        "country": None,
        "lat": lat,
        "lng": lng,
        "map_in_sync": lat is not None,
    }


def typed_value(field: Field, value: Any, world: World) -> JSON:
    kind = value.get("type", "work") if isinstance(value, dict) else "work"
    text = _unwrap(value)
    if not isinstance(text, str):
        raise _bad(field, value, "must be a string")
    return {"type": kind, "value": text}


def image_value(field: Field, value: Any, world: World) -> JSON:
    return {"value": file_mini(_int(field, _ref_id(value, "file_id")))}


def embed_value(field: Field, value: Any, world: World) -> JSON:
    if isinstance(value, str):
        return {"embed": embed_obj(zlib.crc32(value.encode()), value), "file": None}
    if isinstance(value, dict) and "embed" in value:
        embed = value["embed"]
        embed_id = embed.get("embed_id") if isinstance(embed, dict) else embed
        url = embed.get("url", "https://example.com") if isinstance(embed, dict) else None
        file_id = _ref_id(value.get("file"), "file_id")
        return {
            "embed": embed_obj(_int(field, embed_id), url or "https://example.com"),
            "file": file_mini(_int(field, file_id)) if file_id is not None else None,
        }
    raise _bad(field, value, "must be an embed")


def _int(field: Field, value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(field, value, "must be an id") from None


def file_mini(file_id: int) -> JSON:
    link = f"https://files.podio.com/{file_id}"
    return {
        "file_id": file_id,
        "name": f"image-{file_id}.png",
        "mimetype": "image/png",
        "size": 10_000 + file_id % 50_000,
        "link": link,
        "thumbnail_link": link,
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
    app = world.apps[item.app_id]
    space = world.spaces[app.space_id]
    return {
        "item_id": item.item_id,
        "app_item_id": item.app_item_id,
        "title": item.title,
        "link": world.item_link(item),
        "app": {
            "app_id": app.app_id,
            "name": app.name,
            "item_name": app.item_name,
            "icon": f"{app.icon_id}.png",
            "icon_id": app.icon_id,
            "status": "active",
            "space_id": app.space_id,
        },
        "space": {
            "space_id": space.space_id,
            "name": space.name,
            "url": f"https://podio.com/{world.orgs[space.org_id].url_label}/{space.url_label}",
            "url_label": space.url_label,
            "org_id": space.org_id,
            "type": "regular",
        },
        "created_by": item.created_by,
        "created_on": fmt_dt(item.created_ts),
        "created_via": via(),
        "files": [],
        "initial_revision": {"revision": 0, "created_on": fmt_dt(item.created_ts)},
        "revision": item.revision,
        "sharefile_vault_url": None,
        "sharefile_vault_folder_id": None,
    }


Converter = Callable[[Field, Any, World], JSON]

CONVERTERS: dict[str, Converter] = {
    "text": text_value,
    "number": number_value,
    "money": money_value,
    "progress": int_value,
    "duration": int_value,
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


def read_values(world: World, field: Field, raw: Any) -> list[JSON]:
    """Accept the four shapes: [{sub_id: v}, ...], [v, ...], {sub_id: v} or bare v."""
    convert = CONVERTERS.get(field.type)
    if convert is None:
        raise invalid_value(f"The field {field.external_id} of type {field.type} is read-only")
    entries = raw if isinstance(raw, list) else [raw]
    return [convert(field, entry, world) for entry in entries]
