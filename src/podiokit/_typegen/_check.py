"""Drift: how the apps differ from what a generated file was made from, in words.

The file is imported (it is generated code) and its classes read back into definitions
(`_apps.from_classes`); each difference becomes one line naming the app, the field and what
changed: a field added, removed or renamed, an option gone or renamed, a type or setting
changed, a new revision. No line means the file still matches.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from ._apps import AppDef, FieldDef, from_classes
from ._render import _plan

__all__ = ["differences", "load_module", "module_apps"]


def load_module(path: Path) -> ModuleType:
    """Import a generated file under a private name (never cached in sys.modules)."""
    name = f"_podiokit_typegen_check_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the classes resolve their annotations through it
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def module_apps(module: ModuleType) -> list[AppDef]:
    """The definitions behind the module's classes, in the file's order."""
    from podiokit._typed import AppModel

    classes = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, AppModel)
        and obj.__module__ == module.__name__
        and obj.app_id
    ]
    return from_classes(classes)


def _where(app: AppDef, cls: str) -> str:
    return f"app {app.app_id} ({app.name}, class {cls})"


def _options(f: FieldDef, old: FieldDef, name: str) -> list[str]:
    out = []
    before = {o.id: o.text for o in old.options}
    after = {o.id: o.text for o in f.options}
    for option_id, text in before.items():
        if option_id not in after:
            out.append(f"{name}: option {text!r} ({option_id}) is gone")
        elif after[option_id] != text:
            out.append(f"{name}: option {option_id} renamed {text!r} -> {after[option_id]!r}")
    for option_id, text in after.items():
        if option_id not in before:
            out.append(f"{name}: option {text!r} ({option_id}) added")
    return out


_SETTINGS = {
    "type": "type",
    "required": "required",
    "multiple": "multiple",
    "apps": "referenced apps",
    "time": "time setting",
    "end": "end setting",
    "currencies": "currencies",
    "returns": "return type",
}


def _field(f: FieldDef, old: FieldDef, old_attr: str, new_attr: str) -> list[str]:
    name = f"field {f.field_id} {old_attr!r}"
    out = []
    if new_attr != old_attr or f.external_id != old.external_id:
        out.append(
            f"{name}: renamed (external id {old.external_id!r} -> {f.external_id!r}, "
            f"attribute {old_attr} -> {new_attr})"
        )
    if f.label != old.label:
        out.append(f"{name}: label {old.label!r} -> {f.label!r}")
    now, then = f.summary(), old.summary()
    for key, what in _SETTINGS.items():
        if now[key] != then[key]:
            out.append(f"{name}: {what} {_show(then[key])} -> {_show(now[key])}")
    if f.type == old.type:
        out += _options(f, old, name)
    return out


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(map(str, value)) + ")"
    return repr(value)


def differences(file_apps: Sequence[AppDef], apps: Sequence[AppDef]) -> list[str]:
    """One line per difference between the file's apps and the current ones."""
    old_classes = {c.app.app_id: c for c in _plan(file_apps).classes} if file_apps else {}
    new_classes = {c.app.app_id: c for c in _plan(apps).classes} if apps else {}
    out: list[str] = []
    for app_id, gone in old_classes.items():
        if app_id not in new_classes:
            out.append(f"{_where(gone.app, gone.name)}: no longer generated")
    for app_id, new in new_classes.items():
        app = new.app
        old = old_classes.get(app_id)
        if old is None:
            out.append(f"{_where(app, new.name)}: not in the file")
            continue
        where = _where(app, old.name)
        if new.name != old.name:
            out.append(f"{where}: class renamed {old.name} -> {new.name} (item name "
                       f"{old.app.item_name!r} -> {app.item_name!r})")  # fmt: skip
        if app.name != old.app.name:
            out.append(f"{where}: app renamed {old.app.name!r} -> {app.name!r}")
        before = {f.field_id: f for f in old.app.fields}
        after = {f.field_id: f for f in app.fields}
        lines = []
        for field_id, f in before.items():
            if field_id not in after:
                attr = old.attributes[field_id]
                lines.append(f"field {field_id} {attr!r} ({f.type}) removed")
        for field_id, f in after.items():
            attr = new.attributes[field_id]
            if field_id not in before:
                lines.append(f"field {field_id} {attr!r} ({f.type}) added")
            else:
                lines += _field(f, before[field_id], old.attributes[field_id], attr)
        out += [f"{where}: {line}" for line in lines]
        if app.revision != old.app.revision:
            note = "" if lines else " (no field changed)"
            out.append(f"{where}: revision {old.app.revision} -> {app.revision}{note}")
    return out
