"""`podiokit typegen`'s engine: Podio app definitions -> a module of typed app classes, and
the drift check of such a module against the apps.

- `_apps`: app JSON (GET /app/{app_id}) -> definitions, and back from generated classes;
- `_names`: Python names for apps, fields and options;
- `_render`: the module's source;
- `_check`: the differences between a module and the apps, in words.

The runtime the generated classes build on is `podiokit.typed` (`_typed`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._apps import AppDef, DefinitionError, app_def
from ._check import differences, load_module, module_apps
from ._render import render

__all__ = [
    "AppDef",
    "DefinitionError",
    "app_def",
    "check",
    "file_app_ids",
    "generate",
    "read_definitions",
]


def read_definitions(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """App definitions saved as JSON: each file holds one app (the body of GET
    /app/{app_id}) or a list of them."""
    out: list[dict[str, Any]] = []
    for path in paths:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DefinitionError(f"{path}: not JSON ({exc})") from None
        for app in data if isinstance(data, list) else [data]:
            if not isinstance(app, Mapping) or "app_id" not in app:
                raise DefinitionError(f"{path}: not an app definition (GET /app/{{app_id}})")
            out.append(dict(app))
    return out


def _defs(definitions: Sequence[Mapping[str, Any]]) -> list[AppDef]:
    apps = [app_def(d) for d in definitions]
    seen: set[int] = set()
    for app in apps:
        if app.app_id in seen:
            raise DefinitionError(f"app {app.app_id} is given twice")
        seen.add(app.app_id)
    return apps


def generate(definitions: Sequence[Mapping[str, Any]]) -> str:
    """The module for these app definitions, one class per app, in this order."""
    return render(_defs(definitions))


def file_app_ids(path: str | Path) -> list[int]:
    """The apps a generated file was made from, in its order."""
    return [a.app_id for a in module_apps(load_module(Path(path)))]


def check(path: str | Path, definitions: Sequence[Mapping[str, Any]]) -> list[str]:
    """How the apps differ from the generated file at `path`, one line each (none: the file
    matches)."""
    return differences(module_apps(load_module(Path(path))), _defs(definitions))
