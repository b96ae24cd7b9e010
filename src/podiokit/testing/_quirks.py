"""Quirk switches: the emulator behaves like each reading of Podio we could not confirm.

The emulator encodes what podiokit infers about Podio (docs/dev/podio-behaviour.md). Where an
inference may be wrong, a quirk makes the emulator behave like the alternative, so the SDK's
fallbacks can be tested against it:

- `range_filter`: "honoured" (default), "ignored" (an `app_item_id` `{"from", "to"}` filter
  is dropped entirely) or "ignore_to" (only its `to` is dropped);
- `micro_view`: "honoured" (default: `fields=items.view(micro)` gives micro items) or
  "ignored" (full items come back);
- `file_redirect`: "off" (default: a file's link answers its bytes), "cross_origin" (the link
  answers 302 to a signed URL on a second origin, a CDN that refuses an Authorization
  header), "same_origin" (302 to another path of the link's own host, which wants the
  token) or "broken" (302 to the second origin, whose signature has expired: 403);
- `push_unknown_shapes`: each push event is preceded by messages of shapes nobody documents
  (no `event`, no `ref`, string ids, extra keys, data that is not an object);
- `budget_swap`: route names (as `stats()["routes"]` names them, e.g.
  "POST /item/app/{app_id}/filter/") counted in the other rate-limit budget;
- `hook_retries`: extra delivery attempts after a failed one (default 0: nothing documents
  that Podio retries);
- `hook_inactive_after`: a hook turns inactive after this many failed deliveries in a row
  (default 0: never).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

RANGE_FILTER = ("honoured", "ignored", "ignore_to")
MICRO_VIEW = ("honoured", "ignored")
FILE_REDIRECT = ("off", "cross_origin", "same_origin", "broken")
#: The route a bare `budget_swap` (no value) swaps: filter, Podio's busiest limited call.
DEFAULT_SWAP = "POST /item/app/{app_id}/filter/"
#: What a quirk named without a value means (`--quirk file_redirect`).
_BARE: dict[str, Any] = {
    "range_filter": "ignored",
    "micro_view": "ignored",
    "file_redirect": "cross_origin",
    "push_unknown_shapes": True,
    "budget_swap": (DEFAULT_SWAP,),
}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Quirks:
    range_filter: str = "honoured"
    micro_view: str = "honoured"
    file_redirect: str = "off"
    push_unknown_shapes: bool = False
    budget_swap: tuple[str, ...] = ()
    hook_retries: int = 0
    hook_inactive_after: int = 0

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["budget_swap"] = list(self.budget_swap)
        return out

    def updated(self, changes: Any) -> Quirks:
        """A copy with `changes` applied: a mapping {name: value}, or names as strings
        ("name" or "name=value", the command line's form). Raises ValueError naming the
        quirk and the value."""
        return replace(self, **{name: _check(name, value) for name, value in _pairs(changes)})


NAMES = tuple(f.name for f in fields(Quirks))


def _pairs(changes: Any) -> list[tuple[str, Any]]:
    if changes is None:
        return []
    if isinstance(changes, Mapping):
        pairs = [(str(k), v) for k, v in changes.items()]
    elif isinstance(changes, str | bytes) or not isinstance(changes, Iterable):
        raise ValueError(
            "quirks must be a mapping {name: value} or a list of 'name' / 'name=value' "
            f"strings, not {changes!r}"
        )
    else:
        pairs = []
        for entry in changes:
            if not isinstance(entry, str):
                raise ValueError(f"a quirk must be 'name' or 'name=value', not {entry!r}")
            name, sep, value = entry.partition("=")
            pairs.append((name.strip(), value.strip() if sep else _Bare))
    for name, _ in pairs:
        if name not in NAMES:
            raise ValueError(f"unknown quirk {name!r}; known: {', '.join(NAMES)}")
    return pairs


class _Bare:
    """A quirk named without a value."""


def _check(name: str, value: Any) -> Any:
    if value is _Bare:
        if name not in _BARE:
            raise ValueError(f"quirk {name} needs a value: {name}=N")
        return _BARE[name]
    if name == "range_filter":
        return _choice(name, value, RANGE_FILTER)
    if name == "micro_view":
        return _choice(name, value, MICRO_VIEW)
    if name == "file_redirect":
        if value is True:
            return "cross_origin"
        if value is False or value is None:
            return "off"
        return _choice(name, value, FILE_REDIRECT)
    if name == "push_unknown_shapes":
        return _flag(name, value)
    if name == "budget_swap":
        return _routes(value)
    return _count(name, value)


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"quirk {name} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise ValueError(f"quirk {name} must be true or false, not {value!r}")


def _count(name: str, value: Any) -> int:
    try:
        number = int(value) if isinstance(value, str) else value
    except ValueError:
        number = None
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise ValueError(f"quirk {name} must be a whole number >= 0, not {value!r}")
    return number


def _routes(value: Any) -> tuple[str, ...]:
    if value in (None, False, ""):
        return ()
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, Iterable) or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"quirk budget_swap takes route names such as {DEFAULT_SWAP!r}, not {value!r}"
        )
    out = []
    for name in names:
        method, _, template = name.strip().partition(" ")
        out.append(f"{method.upper()} {template.strip()}")
    return tuple(out)
