"""The walls of the design (CONTRIBUTING.md, "The walls"), read from the code's own imports.

Every `import` and `from ... import` in src/podiokit is read with `ast` (module level, inside
functions and under `TYPE_CHECKING` alike: a lazy import still ties one part to another),
resolved to a dotted module name, and checked against the rules below. A second test breaks
each wall on purpose in a throwaway copy of a package tree and checks that the rule fires.
"""

from __future__ import annotations

import ast
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

SRC = pathlib.Path(__file__).resolve().parents[2] / "src"

#: The parts that generated code (resources/, models/, sync/resources/) may import: the
#: request pipeline's small interface, the field helpers and the other generated modules.
GENERATED = ("podiokit.resources", "podiokit.models", "podiokit.sync.resources")
GENERATED_MAY_IMPORT = (
    *GENERATED,
    "podiokit._resource",
    "podiokit.sync._resource",
    "podiokit.pagination",
    "podiokit.fields",
    "podiokit.errors",
    "podiokit._options",
    "podiokit._files",  # the upload and download bodies: part of the request interface
    "podiokit._typed",  # typed app models (`model=`): values and write forms, like fields.py
)

#: The layers above the core: the core never imports them.
ABOVE_CORE = (
    "podiokit.integrations",
    "podiokit.testing",
    "podiokit.cli",
    "podiokit.export",
    "podiokit.mirror",
    "podiokit._bulk",
    "podiokit.push",
    "podiokit.sync",
)
CORE = (
    "podiokit._client",
    "podiokit._pipeline",
    "podiokit._refresh",
    "podiokit._ratelimit",
    "podiokit._retry",
    "podiokit._options",
    "podiokit._loop_local",
    "podiokit._files",
    "podiokit._resource",
    "podiokit._defaults",
    "podiokit._version",
    "podiokit._transport",
    "podiokit.auth",
    "podiokit.errors",
    "podiokit.sessions",
    "podiokit.transports",
    "podiokit.pagination",
    "podiokit.fields",
    "podiokit._typed",
)


#: Imports that cross a wall on purpose, each with its reason. Keep this short.
EXCEPTIONS = {
    # `podio.push` is the documented entry point to push (DESIGN.md, public API); the client
    # imports the module on first use of that property only.
    ("podiokit._client", "podiokit.push.PushClient"),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module, resolved
    line: int


def _module_name(path: pathlib.Path, root: pathlib.Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(root: pathlib.Path) -> Iterator[Import]:
    """Every import of every module below `root` (a folder holding the `podiokit` package)."""
    for path in sorted((root / "podiokit").rglob("*.py")):
        name = _module_name(path, root)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(name, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    prefix = ".".join(base)
                    target = f"{prefix}.{node.module}" if node.module else prefix
                else:
                    target = node.module or ""
                # `from pkg import sub` may name a submodule: count it as pkg.sub.
                for alias in node.names:
                    yield Import(name, f"{target}.{alias.name}", node.lineno)


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(root: pathlib.Path) -> list[str]:
    found: list[str] = []
    for imp in imports(root):
        if not imp.target.startswith("podiokit") or (imp.module, imp.target) in EXCEPTIONS:
            continue
        where = f"{imp.module}:{imp.line} imports {imp.target}"
        if _within(imp.module, GENERATED) and not _within(imp.target, GENERATED_MAY_IMPORT):
            found.append(f"generated code reaches past the request interface: {where}")
        if _within(imp.module, CORE) and _within(imp.target, ABOVE_CORE):
            found.append(f"the core imports a layer above it: {where}")
        emulator = _within(imp.module, ("podiokit.testing",)) and not imp.module.endswith(
            "pytest_plugin"
        )
        if emulator and not _within(imp.target, ("podiokit.testing",)):
            found.append(f"the emulator imports the SDK: {where}")
        if _within(imp.module, ("podiokit.mirror",)) and _within(imp.target, ("podiokit.export",)):
            found.append(f"the mirror imports the exporter: {where}")
        if _within(imp.module, ("podiokit.export",)) and _within(imp.target, ("podiokit.mirror",)):
            found.append(f"the exporter imports the mirror: {where}")
        if _within(imp.module, ("podiokit._bulk",)) and _within(
            imp.target, ("podiokit.export", "podiokit.mirror", "podiokit.cli")
        ):
            found.append(f"the bulk engine imports one of its users: {where}")
    return found


def test_the_walls_hold() -> None:
    assert violations(SRC) == []


def test_the_checker_reads_real_imports() -> None:
    # A checker that reads nothing would pass the test above: make sure it sees the
    # package's own imports, relative ones resolved.
    seen = {(i.module, i.target) for i in imports(SRC)}
    assert ("podiokit._client", "podiokit._pipeline.Pipeline") in seen or any(
        m == "podiokit._client" and t.startswith("podiokit._pipeline") for m, t in seen
    )


BROKEN = {
    "generated": ("podiokit/resources/items.py", "from ..cli import main\n"),
    "core": ("podiokit/_client.py", "from .export import export\n"),
    "emulator": ("podiokit/testing/_state.py", "from podiokit._client import Podio\n"),
    "mirror": ("podiokit/mirror/_run.py", "from ..export._run import export\n"),
    "bulk": ("podiokit/_bulk/_fetch.py", "from ..mirror import mirror\n"),
    "lazy": (
        "podiokit/auth.py",
        "def f():\n    from podiokit.integrations import fastapi\n",
    ),
}


@pytest.mark.parametrize("wall", sorted(BROKEN))
def test_breaking_a_wall_fails(tmp_path: pathlib.Path, wall: str) -> None:
    relative, line = BROKEN[wall]
    target = tmp_path / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    for parent in [target.parent, *target.parent.parents]:
        if parent == tmp_path:
            break
        (parent / "__init__.py").touch()
    target.write_text(line, encoding="utf-8")
    assert violations(tmp_path), f"breaking the {wall} wall went unnoticed"
