"""Public import paths survive the house move: every public module of podiokit 0.1.0 (no
leading underscore anywhere in its dotted path) still imports, and every name its `__all__`
listed is still there. `public_api.json` was read off the package before the move; names may
be added, never lost.

The one path that went is `podiokit.demo`: the demo's helpers, never documented, now live in
the CLI that runs them (`podiokit.cli.demo`); `podiokit demo` is unchanged."""

from __future__ import annotations

import importlib
import json
import pathlib

import pytest

API = json.loads((pathlib.Path(__file__).parent / "public_api.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("module", API["modules"])
def test_public_module_still_imports(module: str) -> None:
    importlib.import_module(module)


@pytest.mark.parametrize("module", sorted(m for m, names in API["names"].items() if names))
def test_public_names_are_still_exported(module: str) -> None:
    mod = importlib.import_module(module)
    missing = [name for name in API["names"][module] if not hasattr(mod, name)]
    assert missing == [], f"{module} lost {missing}"
    if hasattr(mod, "__all__"):
        assert set(API["names"][module]) <= set(mod.__all__), f"{module}.__all__ shrank"
