"""The Podio emulator: a stateful fake Podio API, and a pytest plugin for it.

`from podiokit.testing import Emulator` needs the `emulator` extra (starlette, uvicorn); the
import is lazy so that loading the pytest plugin never requires them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["Emulator"]


def __getattr__(name: str) -> Any:
    if name == "Emulator":
        from .emulator import Emulator

        return Emulator
    raise AttributeError(name)
