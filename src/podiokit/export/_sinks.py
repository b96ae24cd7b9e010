"""Sinks turn one page of items into the bytes appended to the output.

JSONL copies: each line is the item's JSON as Podio sent it. CSV must read the values, so it
decodes each item (with msgspec, into plain dicts) and writes one column per field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import msgspec

from .._bulk import readable

__all__ = ["FORMATS", "Chunks", "CsvSink", "JsonlSink", "Sink", "make_sink"]

#: What a sink hands the output: one bytes object, or buffers to write in order.
Chunks = bytes | list[bytes | msgspec.Raw]

FORMATS = ("jsonl", "csv")


class Sink(Protocol):
    format: str
    #: True when `prepare` needs the apps' definitions (`GET /app/{app_id}`).
    needs_apps: bool

    def prepare(self, apps: Sequence[Mapping[str, Any]]) -> bytes:
        """Called once for a new output; returns what starts the file (a header)."""
        ...

    def state(self) -> dict[str, Any]:
        """What a resumed export needs to continue the same file (kept in the checkpoint)."""
        ...

    def restore(self, state: Mapping[str, Any]) -> None: ...

    def encode(self, app_id: int, items: list[msgspec.Raw], *, compact: bool = False) -> Chunks:
        """What to append for these items: bytes, or buffers written one after another.
        `compact`: the page these items came from has no raw line break (`Page.compact`)."""
        ...


class JsonlSink:
    """One item per line, the exact bytes Podio sent for it."""

    format = "jsonl"
    needs_apps = False

    def prepare(self, apps: Sequence[Mapping[str, Any]]) -> bytes:
        return b""

    def state(self) -> dict[str, Any]:
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        return None

    def encode(self, app_id: int, items: list[msgspec.Raw], *, compact: bool = False) -> Chunks:
        if not items:
            return b""
        if compact:
            # Each item's own bytes, a newline after each: written as they are (os.writev),
            # without copying the page into one more 6.6 MB buffer first.
            return [part for item in items for part in (item, b"\n")]
        data = b"\n".join([*items, b""])  # one copy of the page, ending in a newline
        # Counting the newlines costs about half of decoding the page: skipped when the
        # page was already known to be compact (Podio's pages are).
        if data.count(b"\n") == len(items) and b"\r" not in data:
            return data
        # A pretty-printed body: a raw line break in JSON can only be whitespace between
        # tokens (strings escape theirs), so a space keeps the same JSON on one line.
        lines = [bytes(r).replace(b"\r", b" ").replace(b"\n", b" ") for r in items]
        return b"\n".join(lines) + b"\n"


FIXED_COLUMNS = ("app_id", "item_id", "app_item_id", "title")


class CsvSink:
    """A header row, then one row per item: the item's ids and title, then one column per
    field (by external_id, across every exported app) holding a readable value."""

    format = "csv"
    needs_apps = True

    def __init__(self) -> None:
        self.columns: list[str] = []
        self._decoder = msgspec.json.Decoder()

    def prepare(self, apps: Sequence[Mapping[str, Any]]) -> bytes:
        columns: list[str] = []
        for app in apps:
            for field in app.get("fields") or ():
                if field.get("status", "active") != "active":
                    continue
                name = str(field.get("external_id") or field.get("field_id"))
                if name not in columns and name not in FIXED_COLUMNS:
                    columns.append(name)
        self.columns = columns
        return self._rows([[*FIXED_COLUMNS, *columns]])

    def state(self) -> dict[str, Any]:
        return {"columns": self.columns}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.columns = [str(c) for c in state.get("columns") or ()]

    def encode(self, app_id: int, items: list[msgspec.Raw], *, compact: bool = False) -> bytes:
        index = {name: i for i, name in enumerate(self.columns)}
        rows = []
        for raw in items:
            item = self._decoder.decode(raw)
            row = [str(app_id), str(item.get("item_id", "")), str(item.get("app_item_id", ""))]
            row.append(str(item.get("title") or ""))
            cells = [""] * len(self.columns)
            for field in item.get("fields") or ():
                name = str(field.get("external_id") or field.get("field_id"))
                at = index.get(name)
                if at is not None:
                    cells[at] = readable(field.get("type"), field.get("values") or ())
            rows.append(row + cells)
        return self._rows(rows)

    @staticmethod
    def _rows(rows: Iterable[Sequence[str]]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(rows)
        return buffer.getvalue().encode()


def make_sink(format: str) -> Sink:
    if format == "jsonl":
        return JsonlSink()
    if format == "csv":
        return CsvSink()
    raise ValueError(f"unknown export format {format!r}: use one of {', '.join(FORMATS)}")
