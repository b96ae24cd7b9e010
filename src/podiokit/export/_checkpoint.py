"""The checkpoint beside the output: what is in the temporary file, to resume without
duplicates or gaps.

It records the byte length of the temporary file at one moment, the ranges' cursors then,
and a checksum of the bytes just before that length. It never claims data the disk does
not hold: the data is synced first, then the checkpoint is written to a new file, synced,
renamed over the old one, and the folder synced (`save`). A resume checks that the file
still holds what the checkpoint records (its length and that checksum), cuts off anything
written after it (pages written since, or half written when the process died), then
continues every range from its cursor.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._bulk import Range
from ._errors import CheckpointError

__all__ = ["TAIL", "Checkpoint", "CheckpointError", "sync_folder"]

VERSION = 2
#: The checksum covers this many bytes before the checkpoint's offset (or all, if fewer).
TAIL = 64 * 1024


def sync_folder(folder: Path) -> None:
    """Make the folder's entries (a new file, a rename) durable; a no-op where folders
    cannot be opened (Windows)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Checkpoint:
    format: str
    app_ids: list[int]
    ranges: list[Range]
    offset: int = 0
    items: int = 0
    calls: int = 0
    totals: dict[int, int] = field(default_factory=dict)
    per_app: dict[int, int] = field(default_factory=dict)
    #: What the sink needs to continue the same file (the CSV columns).
    sink_state: dict[str, Any] = field(default_factory=dict)
    #: (size, CRC-32) of the last bytes of the file before `offset`, up to `TAIL` of them.
    tail: tuple[int, int] = (0, 0)

    def to_bytes(self) -> bytes:
        body = {
            "version": VERSION,
            "format": self.format,
            "app_ids": self.app_ids,
            "offset": self.offset,
            "items": self.items,
            "calls": self.calls,
            "totals": {str(k): v for k, v in self.totals.items()},
            "per_app": {str(k): v for k, v in self.per_app.items()},
            "sink_state": self.sink_state,
            "tail": list(self.tail),
            "ranges": [r.as_json() for r in self.ranges],
        }
        return json.dumps(body, separators=(",", ":")).encode()

    @staticmethod
    def save(data: bytes, path: Path) -> None:
        """Write checkpoint bytes (`to_bytes`) durably: to a new file, synced, renamed over
        the old one, then the folder synced. Whichever checkpoint a crash leaves, old or
        new, is whole. The caller syncs the data it describes first."""
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        sync_folder(path.parent)

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        try:
            body = json.loads(path.read_bytes())
            if body.get("version") != VERSION:
                raise CheckpointError(
                    f"checkpoint {str(path)!r} has version {body.get('version')!r}, "
                    f"expected {VERSION} (another podiokit wrote it): add {{force}} to start "
                    "over"
                )
            return cls(
                format=str(body["format"]),
                app_ids=[int(a) for a in body["app_ids"]],
                ranges=[Range.from_json(r) for r in body["ranges"]],
                offset=int(body["offset"]),
                items=int(body["items"]),
                calls=int(body["calls"]),
                totals={int(k): int(v) for k, v in body["totals"].items()},
                per_app={int(k): int(v) for k, v in (body.get("per_app") or {}).items()},
                sink_state=dict(body.get("sink_state") or {}),
                tail=(int(body["tail"][0]), int(body["tail"][1])),
            )
        except CheckpointError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"checkpoint {str(path)!r} is unreadable ({type(exc).__name__}): add "
                "{force} to start over"
            ) from None

    def check_matches(
        self, path: Path, format: str, app_ids: list[int], sink_state: dict[str, Any]
    ) -> None:
        """The checkpoint is this export's: same format (and sink options), same apps."""
        if self.format != format:
            raise CheckpointError(
                f"checkpoint {str(path)!r} is for format {self.format!r}, not {format!r}"
            )
        if sorted(self.app_ids) != sorted(app_ids):
            raise CheckpointError(
                f"checkpoint {str(path)!r} is for apps {self.app_ids}, not {app_ids}"
            )
        for key, value in sink_state.items():
            if key != "columns" and self.sink_state.get(key, False) != value:
                raise CheckpointError(
                    f"checkpoint {str(path)!r} is for an export with {key}="
                    f"{self.sink_state.get(key, False)!r}, not {value!r}"
                )

    def check_file(self, path: Path, part: Path) -> None:
        """`part` holds what the checkpoint (at `path`) records: at least `offset` bytes,
        the last of them with the recorded checksum. Else a CheckpointError saying so: the
        file was cut short, changed or replaced since, and a resume would lose items."""
        with open(part, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < self.offset:
                raise CheckpointError(
                    f"{part} holds {size} bytes but {path} records {self.offset}: the file "
                    "was cut short or replaced since; add {force} to start over"
                )
            length, crc = self.tail
            f.seek(self.offset - length)
            if length > self.offset or zlib.crc32(f.read(length)) != crc:
                raise CheckpointError(
                    f"{part} does not hold what {path} records (the {length} bytes before "
                    f"byte {self.offset} differ): the file was changed or replaced since; add "
                    "{force} to start over"
                )
