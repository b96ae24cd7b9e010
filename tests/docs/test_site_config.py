"""The documentation site's configuration: the generated reference pages are in the
navigation, class entries show their constructor's options, every public class of the
FastAPI integration has an entry, and `mkdocs serve` stays off the example's ports."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _config() -> dict[str, Any]:
    # mkdocs.yml may hold `!!python/name:` tags; none is needed to read these keys.
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *_: None)
    with (ROOT / "mkdocs.yml").open(encoding="utf-8") as fh:
        return dict(yaml.load(fh, Loader=Loader))


def _hooks() -> Any:
    (path,) = _config()["hooks"]
    spec = importlib.util.spec_from_file_location("mkdocs_hooks", ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pages(nav: Any) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [p for item in nav for p in _pages(item)]
    if isinstance(nav, dict):
        return [p for value in nav.values() for p in _pages(value)]
    return []


def test_every_page_is_in_the_navigation_once() -> None:
    config = _config()
    config["docs_dir"] = str(ROOT / config["docs_dir"])
    nav = _pages(_hooks().on_config(config)["nav"])
    docs = ROOT / "docs"
    every = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*.md"))
    assert sorted(nav) == every
    assert len(nav) == len(set(nav))
    assert "reference/items.md" in nav and "reference/models/items.md" in nav


def test_class_entries_show_their_constructor() -> None:
    options = _config()["plugins"][1]["mkdocstrings"]["handlers"]["python"]["options"]
    assert options["merge_init_into_class"] is True
    page = (ROOT / "docs" / "api" / "fastapi.md").read_text(encoding="utf-8")
    for name in ("PodioAuth", "PodioWebhooks", "HookEvent", "add_exception_handlers"):
        assert f"::: podiokit.integrations.fastapi.{name}\n" in page
    assert "::: podiokit.Podio\n" in (ROOT / "docs" / "api" / "client.md").read_text()


def test_mkdocs_serve_is_not_on_the_examples_ports() -> None:
    port = int(str(_config()["dev_addr"]).rsplit(":", 1)[1])
    assert port not in (8000, 8001)  # `podiokit emulator` and examples/fastapi_backend.py
