"""Bulk export of Podio apps: concurrent, exact while the app changes, resumable, and
copying each item's JSON as Podio sent it.

```python
from podiokit.export import export

result = await export(podio, [app_id], "items.jsonl", app_tokens={app_id: app_token})
```

Needs the `export` extra (`pip install 'podiokit[export]'`, for msgspec). The names are
loaded on first use, so the CLI can register `podiokit export` without it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._bulk import STRATEGIES, ExportProgress, RangeFilterError
    from ._errors import CheckpointError, OutputBusyError, OutputError
    from ._paths import check_output, output_paths
    from ._run import ExportResult, export
    from ._sinks import FORMATS

__all__ = [
    "FORMATS",
    "STRATEGIES",
    "CheckpointError",
    "ExportProgress",
    "ExportResult",
    "OutputBusyError",
    "OutputError",
    "RangeFilterError",
    "check_output",
    "export",
    "output_paths",
]

_HOMES = {
    "FORMATS": "._sinks",
    "CheckpointError": "._errors",
    "ExportProgress": ".._bulk",
    "ExportResult": "._run",
    "OutputBusyError": "._errors",
    "OutputError": "._errors",
    "RangeFilterError": ".._bulk",
    "STRATEGIES": ".._bulk",
    "check_output": "._paths",
    "export": "._run",
    "output_paths": "._paths",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'podiokit.export' has no attribute {name!r}")
    try:
        import msgspec  # noqa: F401
    except ImportError as exc:
        raise ImportError("podiokit.export needs msgspec: pip install 'podiokit[export]'") from exc
    return getattr(import_module(home, __name__), name)
