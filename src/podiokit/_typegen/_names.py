"""Python names for apps, fields and options: valid, stable, and never shadowing each other.

- A class is named for the app's item name in CapWords ("deal" -> `Deal`); an attribute for
  the field's external id in snake_case ("close-date" -> `close_date`); an option for its
  text in UPPER_SNAKE ("On hold" -> `ON_HOLD`). Letters are folded to ASCII ("Café" ->
  `cafe`); what starts with a digit gets a prefix (`f_2nd_phone`, `N_1`, `App2024`).
- A name a class already uses (`item_id`, `filter`, `model_dump`, ...), a keyword or a name
  the annotations need (`str`, `dt`, ...) gets `_field` appended.
- When two fields, options or apps would get one name, the oldest (lowest id) keeps it and
  each other gets `_<id>` appended: adding or reordering fields never renames another.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Callable, Iterable

__all__ = ["attribute_names", "camel", "class_names", "member_names", "snake"]

_NON_WORD = re.compile(r"[^0-9A-Za-z]+")


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return folded.encode("ascii", "ignore").decode("ascii")


def snake(text: str) -> str:
    """`snake_case` of `text`: ASCII letters, digits and single underscores ("" if none)."""
    # Split camelCase too: "closeDate" -> "close_date".
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", _ascii(text))
    return _NON_WORD.sub("_", spaced).strip("_").lower()


def camel(text: str) -> str:
    """`CapWords` of `text` ("" if it has no letter or digit)."""
    parts = [p for p in _NON_WORD.split(_ascii(text)) if p]
    return "".join(p[0].upper() + p[1:] for p in parts)


def _unique(items: Iterable[tuple[int, str]], suffix: Callable[[str, int], str]) -> dict[int, str]:
    """id -> name, the lowest id keeping a shared name and the others `suffix(name, id)`."""
    out: dict[int, str] = {}
    taken: set[str] = set()
    pending = sorted(items)
    for item_id, name in pending:
        if name in taken:
            continue
        out[item_id] = name
        taken.add(name)
    for item_id, name in pending:
        if item_id in out:
            continue
        candidate = suffix(name, item_id)
        while candidate in taken:
            candidate += "_"
        out[item_id] = candidate
        taken.add(candidate)
    return out


def attribute_names(fields: Iterable[tuple[int, str, str]], reserved: set[str]) -> dict[int, str]:
    """field_id -> attribute name, from (field_id, external_id, label)."""
    wanted = []
    for field_id, external_id, label in fields:
        name = snake(external_id) or snake(label) or f"field_{field_id}"
        if name[0].isdigit():
            name = f"f_{name}"
        if keyword.iskeyword(name) or name in reserved:
            name += "_field"
        wanted.append((field_id, name))
    return _unique(wanted, lambda name, i: f"{name}_{i}")


def member_names(options: Iterable[tuple[int, str]]) -> dict[int, str]:
    """option id -> enum member name, from (id, text)."""
    wanted = []
    for option_id, text in options:
        name = snake(text).upper() or f"OPTION_{option_id}"
        if name[0].isdigit():
            name = f"N_{name}"
        wanted.append((option_id, name))
    return _unique(wanted, lambda name, i: f"{name}_{i}")


def class_names(apps: Iterable[tuple[int, str, str]], reserved: set[str]) -> dict[int, str]:
    """app_id -> class name, from (app_id, item_name, app name)."""
    wanted = []
    for app_id, item_name, name in apps:
        cls = camel(item_name) or camel(name) or f"App{app_id}"
        if cls[0].isdigit():
            cls = f"App{cls}"
        if cls in reserved or keyword.iskeyword(cls):
            cls += "Item"
        wanted.append((app_id, cls))
    return _unique(wanted, lambda name, i: f"{name}{i}")


def nested_name(attribute: str, taken: set[str]) -> str:
    """The option enum's class name for a field, not one of `taken` (which it joins)."""
    base = camel(attribute) or "Options"
    name = base if base not in taken else f"{base}Option"
    n = 2
    while name in taken:
        name = f"{base}Option{n}"
        n += 1
    taken.add(name)
    return name
