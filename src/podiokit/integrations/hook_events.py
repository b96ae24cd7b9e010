"""`HookEvent`: one of Podio's webhook deliveries, typed (framework-free).

Podio POSTs form-encoded parameters: `type`, `hook_id` and the event's ids as decimal
strings (docs/dev/podio-behaviour.md §7; https://developers.podio.com/doc/hooks). `HookEvent.from_params`
turns them into integers and refuses what cannot be one, naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HookEvent", "MalformedHookEvent"]

# Parameters Podio documents as ids (item.*, comment.*, app.*, form.*, task.*, status.*).
_INT_PARAMS = (
    "hook_id", "item_id", "item_revision_id", "comment_id", "app_id", "space_id", "task_id",
    "form_id", "status_id", "user_id", "profile_id", "org_id",
)  # fmt: skip


_TYPE = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class MalformedHookEvent(ValueError):
    """A delivery that is not one of Podio's: no `type`, or an id that is not an integer."""


@dataclass(frozen=True)
class HookEvent:
    """A webhook delivery. Ids Podio did not send are None; `params` holds every parameter
    as sent (including ones podiokit does not know, and the query string of the hook URL,
    which Podio moves into the body)."""

    type: str
    hook_id: int | None = None
    item_id: int | None = None
    item_revision_id: int | None = None
    external_id: str | None = None
    comment_id: int | None = None
    app_id: int | None = None
    space_id: int | None = None
    task_id: int | None = None
    form_id: int | None = None
    status_id: int | None = None
    user_id: int | None = None
    profile_id: int | None = None
    org_id: int | None = None
    #: file.change: the files added, replaced or removed (Podio sends them comma-separated).
    file_ids: tuple[int, ...] = ()
    #: file.change: "file_created" | "file_replaced" | "file_deleted".
    action_type: str | None = None
    #: hook.verify only: the code that activates the hook (kept out of the repr).
    code: str | None = field(default=None, repr=False)
    params: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> HookEvent:
        """Build from the delivery's form parameters; `MalformedHookEvent` says which
        parameter is wrong."""
        kind = params.get("type", "").strip()
        if not kind:
            raise MalformedHookEvent("the delivery has no 'type' parameter")
        if not _TYPE.fullmatch(kind):  # Podio's are "noun.verb"; unknown ones pass
            raise MalformedHookEvent(f"parameter 'type' is not an event name: {kind[:40]!r}")
        ids: dict[str, Any] = {name: _int(params, name) for name in _INT_PARAMS}
        code = params.get("code") or None
        if kind == "hook.verify" and (ids["hook_id"] is None or code is None):
            raise MalformedHookEvent("hook.verify needs 'hook_id' and 'code' parameters")
        return cls(
            type=kind,
            **ids,
            external_id=params.get("external_id") or None,
            file_ids=_int_list(params, "file_ids"),
            action_type=params.get("action_type") or None,
            code=code,
            params=dict(params),
        )


def _int(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdecimal()):  # int() would take "1_0" and "+1"
        raise MalformedHookEvent(f"parameter {name!r} is not an integer: {raw[:40]!r}")
    return int(raw)


def _int_list(params: Mapping[str, str], name: str) -> tuple[int, ...]:
    raw = params.get(name, "").strip()
    if not raw:
        return ()
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not all(part.isascii() and part.isdecimal() for part in parts):
        raise MalformedHookEvent(
            f"parameter {name!r} is not a comma-separated list of integers: {raw[:40]!r}"
        )
    return tuple(int(part) for part in parts)
