"""App definitions as typegen sees them: what a generated class depends on, and nothing else.

`app_def` reads Podio's app JSON (GET /app/{app_id}, live or saved); `from_classes` reads the
same back from the classes a generated module holds (`PodioField` tables and option enums),
so a drift check compares like with like.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AppDef", "DefinitionError", "FieldDef", "OptionDef", "app_def", "from_classes"]

#: Podio computes these: read only, never required of a writer.
READ_ONLY = frozenset({"calculation"})


class DefinitionError(ValueError):
    """An app definition typegen cannot read; the message names the app and what is wrong."""


@dataclass(frozen=True)
class OptionDef:
    id: int
    text: str


@dataclass(frozen=True)
class FieldDef:
    field_id: int
    external_id: str
    type: str
    label: str
    required: bool = False
    multiple: bool = False
    options: tuple[OptionDef, ...] = ()
    apps: tuple[int, ...] = ()
    time: str | None = None
    end: str | None = None
    currencies: tuple[str, ...] = ()
    returns: str | None = None

    def summary(self) -> dict[str, Any]:
        """The keys `podiokit.typed.PodioField.summary` gives for the generated field."""
        return {
            "field_id": self.field_id,
            "external_id": self.external_id,
            "type": self.type,
            "label": self.label,
            "required": self.required,
            "multiple": self.multiple,
            "options": [(o.id, o.text) for o in self.options],
            "apps": list(self.apps),
            "time": self.time,
            "end": self.end,
            "currencies": list(self.currencies),
            "returns": self.returns,
        }


@dataclass(frozen=True)
class AppDef:
    app_id: int
    name: str
    item_name: str
    revision: int
    fields: tuple[FieldDef, ...] = field(default_factory=tuple)


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DefinitionError(f"{what} is not an integer: {value!r}")
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _referenced_apps(settings: Mapping[str, Any]) -> tuple[int, ...]:
    # Newer apps list `referenced_apps: [{app_id, view_id, app}]`, older ones
    # `referenceable_types: [app_id]` or `apps: [{app_id, ...}]`.
    ids: list[int] = []
    for ref in settings.get("referenced_apps") or ():
        if isinstance(ref, Mapping) and isinstance(ref.get("app_id"), int):
            ids.append(ref["app_id"])
    if not ids:
        ids = [a for a in settings.get("referenceable_types") or () if isinstance(a, int)]
    if not ids:
        ids = [a["app_id"] for a in settings.get("apps") or ()
               if isinstance(a, Mapping) and isinstance(a.get("app_id"), int)]  # fmt: skip
    return tuple(dict.fromkeys(ids))


def _calculation_returns(settings: Mapping[str, Any]) -> str:
    returns = settings.get("return_type")
    if isinstance(returns, str) and returns:
        return returns
    # Calculations made before `return_type` existed: a number when it has an expression.
    return "number" if "decimals" in settings or settings.get("expression") else "text"


def field_def(data: Mapping[str, Any], app_id: int) -> FieldDef:
    field_id = _int(data.get("field_id"), f"app {app_id}: a field's field_id")
    kind = data.get("type")
    if not isinstance(kind, str) or not kind:
        raise DefinitionError(f"app {app_id}: field {field_id} has no type")
    config = _mapping(data.get("config"))
    settings = _mapping(config.get("settings"))
    external_id = _text(data.get("external_id")) or str(field_id)
    label = _text(data.get("label")) or _text(config.get("label")) or external_id
    options: tuple[OptionDef, ...] = ()
    apps: tuple[int, ...] = ()
    currencies: tuple[str, ...] = ()
    multiple, time, end, returns = False, None, None, None
    if kind in ("category", "question"):
        multiple = bool(settings.get("multiple", False))
        options = tuple(
            OptionDef(o["id"], _text(o.get("text")))
            for o in settings.get("options") or ()
            if isinstance(o, Mapping) and isinstance(o.get("id"), int)
            and o.get("status", "active") == "active"
        )  # fmt: skip
    elif kind == "app":
        multiple = bool(settings.get("multiple", True))  # old reference fields took many
        apps = _referenced_apps(settings)
    elif kind == "date":
        time = _text(settings.get("time")) or "enabled"
        end = _text(settings.get("end")) or "enabled"
    elif kind == "money":
        currencies = tuple(
            c for c in settings.get("allowed_currencies") or () if isinstance(c, str)
        )
    elif kind == "calculation":
        returns = _calculation_returns(settings)
    return FieldDef(
        field_id=field_id,
        external_id=external_id,
        type=kind,
        label=label,
        required=bool(config.get("required")) and kind not in READ_ONLY,
        multiple=multiple,
        options=options,
        apps=apps,
        time=time,
        end=end,
        currencies=currencies,
        returns=returns,
    )


def app_def(data: Any) -> AppDef:
    """An app definition (the JSON of GET /app/{app_id}); its active fields, in order."""
    if not isinstance(data, Mapping):
        raise DefinitionError(f"an app definition is a JSON object, not {type(data).__name__}")
    app_id = _int(data.get("app_id"), "app_id")
    config = _mapping(data.get("config"))
    name = _text(config.get("name")) or _text(data.get("name")) or f"App {app_id}"
    item_name = _text(config.get("item_name")) or _text(data.get("item_name")) or name
    revision = data.get("current_revision")
    fields = data.get("fields")
    if not isinstance(fields, list):
        raise DefinitionError(f"app {app_id}: no `fields` list (is this GET /app/{app_id}?)")
    defs = tuple(
        field_def(f, app_id)
        for f in fields
        if isinstance(f, Mapping) and f.get("status", "active") == "active"
    )
    seen: set[int] = set()
    for f in defs:
        if f.field_id in seen:
            raise DefinitionError(f"app {app_id}: field {f.field_id} is listed twice")
        seen.add(f.field_id)
    return AppDef(app_id, name, item_name, revision if isinstance(revision, int) else 0, defs)


def from_classes(classes: Iterable[Any]) -> list[AppDef]:
    """The definitions a generated module's classes were made from."""
    out = []
    for cls in classes:
        fields = []
        for pf in cls.podio_fields.values():
            s = pf.summary()
            fields.append(
                FieldDef(
                    field_id=s["field_id"],
                    external_id=s["external_id"],
                    type=s["type"],
                    label=s["label"],
                    required=s["required"],
                    multiple=s["multiple"],
                    options=tuple(OptionDef(i, t) for i, t in s["options"]),
                    apps=tuple(s["apps"]),
                    time=s["time"],
                    end=s["end"],
                    currencies=tuple(s["currencies"]),
                    returns=s["returns"],
                )
            )
        item_name = cls.item_name or cls.__name__
        out.append(AppDef(cls.app_id, cls.app_name, item_name, cls.app_revision, tuple(fields)))
    return out


def by_id(apps: Sequence[AppDef]) -> dict[int, AppDef]:
    return {a.app_id: a for a in apps}
