"""The checkpoint beside the output: what is in the temporary file, to resume without
duplicates or gaps.

It is rewritten (atomically: a new file renamed over the old) after every page, once the
page is flushed to the temporary file. It records the byte length of the file at that
moment, so a resume first cuts off anything written after it (a page half written when the
process died), then continues every range from its committed cursor.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._bulk import Range

__all__ = ["Checkpoint", "CheckpointError"]

VERSION = 1


class CheckpointError(ValueError):
    """The checkpoint cannot be used for this export (unreadable, or another export's)."""


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
            "ranges": [r.as_json() for r in self.ranges],
        }
        return json.dumps(body, separators=(",", ":")).encode()

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(self.to_bytes())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        try:
            body = json.loads(path.read_bytes())
            if body.get("version") != VERSION:
                raise CheckpointError(
                    f"checkpoint {str(path)!r} has version {body.get('version')!r}, "
                    f"expected {VERSION}"
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
            )
        except CheckpointError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"checkpoint {str(path)!r} is unreadable ({type(exc).__name__}); "
                "delete it to start the export again"
            ) from None

    def check_matches(self, path: Path, format: str, app_ids: list[int]) -> None:
        if self.format != format:
            raise CheckpointError(
                f"checkpoint {str(path)!r} is for format {self.format!r}, not {format!r}"
            )
        if sorted(self.app_ids) != sorted(app_ids):
            raise CheckpointError(
                f"checkpoint {str(path)!r} is for apps {self.app_ids}, not {app_ids}"
            )
