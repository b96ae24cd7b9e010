"""The ids of the items an interrupted export already wrote, read back from its file.

A resumed app read by offset pages needs them (`copy_offset`'s `written`): its cursor does
not prove that every item below it was written. Item ids are unique across apps, so the
file's ids are read whole, whichever app wrote them. The file is streamed: an export of
many gigabytes costs its ids in memory, not its bytes.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import BinaryIO

import msgspec

__all__ = ["written_ids"]

_CHUNK = 4 << 20


class _Id(msgspec.Struct):
    item_id: int


_decode_id = msgspec.json.Decoder(_Id).decode


def written_ids(part: Path, format: str, length: int) -> set[int]:
    """The `item_id` of every item in the first `length` bytes of `part` (the bytes its
    checkpoint describes), written as `format` ("jsonl" or "csv")."""
    with open(part, "rb") as f:
        data = io.BufferedReader(_Limited(f, length), _CHUNK)
        if format == "jsonl":
            return {_decode_id(line).item_id for line in data if line.strip()}
        if format == "csv":
            # A cell may hold line breaks: csv reads the rows, not the lines.
            text = io.TextIOWrapper(data, encoding="utf-8-sig", newline="")
            rows = csv.reader(text)
            header = next(rows, None)
            if header is None:
                return set()
            at = header.index("item_id")
            # An Excel-safe file may start a cell with the ' that keeps it from running.
            return {int(row[at].lstrip("'")) for row in rows if len(row) > at and row[at]}
    raise ValueError(f"format: no reader of written items for {format!r}")


class _Limited(io.RawIOBase):
    """The first `length` bytes of `f`, as a stream."""

    def __init__(self, f: BinaryIO, length: int) -> None:
        self._f, self._left = f, length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        data = self._f.read(min(len(buffer), self._left))
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)
