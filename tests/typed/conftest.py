"""Generated modules shared by the typed-model tests (made once per session)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from .support import build_module, demo_definitions, sample_definitions


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("typed_models")


@pytest.fixture(scope="session")
def demo(models_dir: Path) -> ModuleType:
    """`Project` (app 3002) and `Client` (app 3001), made from the emulator's demo apps."""
    return build_module(demo_definitions(), models_dir, "typed_demo_apps")


@pytest.fixture(scope="session")
def samples(models_dir: Path) -> ModuleType:
    """One class per real app of tests/fixtures/samples."""
    return build_module(sample_definitions(), models_dir, "typed_sample_apps")
