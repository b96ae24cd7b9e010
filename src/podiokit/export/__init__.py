"""Bulk export of Podio apps: concurrent, exact under change, resumable, copying each item's
JSON as Podio sent it.

```python
from podiokit.export import export

result = await export(podio, [app_id], "items.jsonl", app_tokens={app_id: token})
```

Needs the `export` extra (`pip install 'podiokit[export]'`, for msgspec).
"""

from __future__ import annotations

from ._checkpoint import CheckpointError
from ._run import ExportProgress, ExportResult, export, output_paths
from ._sinks import FORMATS

__all__ = [
    "FORMATS",
    "CheckpointError",
    "ExportProgress",
    "ExportResult",
    "export",
    "output_paths",
]
