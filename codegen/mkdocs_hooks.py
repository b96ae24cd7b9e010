"""MkDocs hooks of the documentation site (`hooks:` in mkdocs.yml).

`on_config` expands a navigation entry that is a glob (`reference/*.md`) into the pages it
matches, sorted by file name, leaving out pages the navigation names elsewhere: the
generated API reference pages join the navigation (highlight, previous/next) without a
hand-kept list that drifts from the spec.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any


def on_config(config: Any) -> Any:
    docs = Path(config["docs_dir"])
    pages = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*.md"))
    named = {entry for entry in _entries(config["nav"] or []) if "*" not in entry}

    def expand(item: Any) -> Any:
        if isinstance(item, list):
            out: list[Any] = []
            for entry in item:
                if isinstance(entry, str) and "*" in entry:
                    out.extend(_glob(pages, entry, named))
                else:
                    out.append(expand(entry))
            return out
        if isinstance(item, dict):
            return {
                title: _glob(pages, value, named) if isinstance(value, str) and "*" in value
                else expand(value)
                for title, value in item.items()
            }  # fmt: skip
        return item

    config["nav"] = expand(config["nav"])
    return config


def _glob(pages: list[str], pattern: str, named: set[str]) -> list[str]:
    # fnmatch's `*` crosses `/`: keep a glob to its own directory.
    depth = pattern.count("/")
    found = [
        p for p in pages
        if p.count("/") == depth and fnmatch.fnmatchcase(p, pattern) and p not in named
    ]  # fmt: skip
    if not found:
        raise ValueError(f"the navigation entry {pattern!r} matches no page")
    return found


def _entries(item: Any) -> list[str]:
    if isinstance(item, str):
        return [item]
    if isinstance(item, list):
        return [e for sub in item for e in _entries(sub)]
    if isinstance(item, dict):
        return [e for sub in item.values() for e in _entries(sub)]
    return []
