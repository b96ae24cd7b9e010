"""The ids of the items an interrupted export already wrote, read back from its file.

A resumed app read by offset pages needs them (`copy_offset`'s `written`): its cursor does
not prove that every item below it was written. Item ids are unique across apps, so the
file's ids are read whole, whichever app wrote them.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import msgspec

__all__ = ["written_ids"]


class _Id(msgspec.Struct):
    item_id: int


_decode_id = msgspec.json.Decoder(_Id).decode


def written_ids(part: Path, format: str, length: int) -> set[int]:
    """The `item_id` of every item in the first `length` bytes of `part` (the bytes its
    checkpoint describes), written as `format` ("jsonl" or "csv")."""
    with open(part, "rb") as f:
        data = f.read(length)
    if format == "jsonl":
        return {_decode_id(line).item_id for line in data.splitlines() if line.strip()}
    if format == "csv":
        rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        header = next(rows, None)
        if header is None:
            return set()
        at = header.index("item_id")
        # A cell of an Excel-safe file may start with the ' that keeps it from running.
        return {int(row[at].lstrip("'")) for row in rows if len(row) > at and row[at]}
    raise ValueError(f"format: no reader of written items for {format!r}")
