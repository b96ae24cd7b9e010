"""A database copy of Podio apps, kept up to date by incremental runs (`podiokit mirror`).

```python
from podiokit.mirror import mirror

result = await mirror(podio, [app_id], "sqlite:///podio-mirror.db")
```

Needs the `mirror` extra (`pip install 'podiokit[mirror]'`, for SQLAlchemy and msgspec;
`podiokit[postgres]` for PostgreSQL). The names are loaded on first use, so the CLI can
register `podiokit mirror` without it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._errors import MirrorError
    from ._run import AppResult, MirrorProgress, MirrorResult, mirror
    from ._store import AppState, MirrorStore

__all__ = [
    "AppResult",
    "AppState",
    "MirrorError",
    "MirrorProgress",
    "MirrorResult",
    "MirrorStore",
    "mirror",
]

_HOMES = {
    "AppResult": "._run",
    "AppState": "._store",
    "MirrorError": "._errors",
    "MirrorProgress": "._run",
    "MirrorResult": "._run",
    "MirrorStore": "._store",
    "mirror": "._run",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'podiokit.mirror' has no attribute {name!r}")
    try:
        import msgspec  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"podiokit.mirror needs {exc.name or 'sqlalchemy and msgspec'}: "
            "pip install 'podiokit[mirror]'"
        ) from exc
    return getattr(import_module(home, __name__), name)
