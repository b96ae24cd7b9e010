"""`podiokit demo`: a tour of the SDK. It sits above the core (it drives the emulator), so it
lives in its own package, like `cli`."""

from __future__ import annotations

from ._live import DemoConfigError
from ._tour import run_demo

__all__ = ["DemoConfigError", "run_demo"]
