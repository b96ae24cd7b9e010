"""Sinks turn one page of items into the bytes appended to the output.

JSONL copies: each line is the item's JSON as Podio sent it. CSV must read the values, so it
decodes each item (with msgspec, into plain dicts) and writes one column per field.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import msgspec

from .._bulk import date_parts, money_parts, readable

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
#: The item's own metadata, after the title.
META_COLUMNS = (
    "created_on",
    "created_by",
    "created_by_id",
    "last_event_on",
    "revision",
    "external_id",
    "link",
)
_RESERVED = frozenset(FIXED_COLUMNS + META_COLUMNS)
#: What a spreadsheet may run as a formula when a cell starts with it (OWASP's CSV
#: injection list); `excel=True` puts a ' before such a cell.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_BOM = "\ufeff"


def _escape(cell: str) -> str:
    """A cell a spreadsheet shows as text, never runs: "'=1+2"; a number stays a number."""
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def _part(kind: str, part: str, values: Sequence[Any]) -> str:
    if part == "amount":
        return money_parts(values)[0]
    if part == "currency":
        return money_parts(values)[1]
    if part == "start":
        return date_parts(values)[0]
    if part == "end":
        return date_parts(values)[1]
    return readable(kind, values)


def _field_columns(field: Mapping[str, Any], name: str) -> list[tuple[str, str]]:
    """(column, part) for one field of an app: money as amount and currency, a date that
    may have an end as start and end, anything else one readable cell."""
    kind = field.get("type")
    column = f"field_{name}" if name in _RESERVED else name
    if kind == "money":
        return [(column, "amount"), (f"{column}_currency", "currency")]
    if kind == "date":
        settings = (field.get("config") or {}).get("settings") or {}
        if settings.get("end") != "disabled":
            return [(column, "start"), (f"{column}_end", "end")]
        return [(column, "start")]
    return [(column, "value")]


class CsvSink:
    """A header row, then one row per item: the item's ids, title and metadata, then the
    fields (by external_id, across every exported app): one readable cell each, money as
    amount and currency, dates as start and end.

    `excel`: for spreadsheets: a UTF-8 byte order mark first (Excel reads the file as UTF-8
    then), and cells starting with `=`, `+`, `-`, `@`, a tab or a carriage return, numbers
    aside, written after a `'`, so a spreadsheet shows them instead of running them."""

    format = "csv"
    needs_apps = True

    def __init__(self, *, excel: bool = False) -> None:
        self.excel = excel
        #: [column, field name, part] for every field column, in order.
        self.columns: list[list[str]] = []
        self._decoder = msgspec.json.Decoder()

    def prepare(self, apps: Sequence[Mapping[str, Any]]) -> bytes:
        columns: list[list[str]] = []
        taken: set[str] = set()
        for app in apps:
            for field in app.get("fields") or ():
                if field.get("status", "active") != "active":
                    continue
                name = str(field.get("external_id") or field.get("field_id"))
                if name == "title" or name in taken:
                    continue  # the title is the item's own; a field shared by apps: once
                taken.add(name)
                columns += [[column, name, part] for column, part in _field_columns(field, name)]
        self.columns = columns
        header = self._rows([[*FIXED_COLUMNS, *META_COLUMNS, *(c[0] for c in columns)]])
        return _BOM.encode() + header if self.excel else header

    def state(self) -> dict[str, Any]:
        return {"columns": self.columns, "excel": self.excel}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.columns = [[str(v) for v in c] for c in state.get("columns") or ()]
        self.excel = bool(state.get("excel", False))

    def encode(self, app_id: int, items: list[msgspec.Raw], *, compact: bool = False) -> bytes:
        by_field: dict[str, list[tuple[int, str]]] = {}
        for at, (_, name, part) in enumerate(self.columns):
            by_field.setdefault(name, []).append((at, part))
        rows = []
        for raw in items:
            item = self._decoder.decode(raw)
            row = [str(app_id), _text(item.get("item_id")), _text(item.get("app_item_id"))]
            row.append(_text(item.get("title")))
            row += _meta(item)
            cells = [""] * len(self.columns)
            for field in item.get("fields") or ():
                name = str(field.get("external_id") or field.get("field_id"))
                kind, values = str(field.get("type")), field.get("values") or ()
                for at, part in by_field.get(name, ()):
                    cells[at] = _part(kind, part, values)
            rows.append(row + cells)
        return self._rows(rows)

    def _rows(self, rows: Iterable[Sequence[str]]) -> bytes:
        if self.excel:
            rows = [[_escape(cell) for cell in row] for row in rows]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(rows)
        return buffer.getvalue().encode()


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _meta(item: Mapping[str, Any]) -> list[str]:
    """The META_COLUMNS cells of one item."""
    by = item.get("created_by")
    by = by if isinstance(by, Mapping) else {}
    return [
        _text(item.get("created_on")),
        _text(by.get("name")),
        _text(by.get("user_id") if by.get("user_id") is not None else by.get("id")),
        _text(item.get("last_event_on")),
        _text(item.get("revision")),
        _text(item.get("external_id")),
        _text(item.get("link")),
    ]


def make_sink(format: str, *, excel: bool = False) -> Sink:
    if format == "jsonl":
        if excel:
            raise ValueError("excel is for format='csv', not 'jsonl'")
        return JsonlSink()
    if format == "csv":
        return CsvSink(excel=excel)
    raise ValueError(f"unknown export format {format!r}: use one of {', '.join(FORMATS)}")
