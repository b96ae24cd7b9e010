"""A plain `pip install podiokit` brings only the declared runtime dependencies (and what
they depend on). These tests run the core smoke script, and import every resource and model
module, in a subprocess where any other third-party import fails, as it would in a venv
holding the wheel alone. `.ci/run` also does it for real, in a fresh venv from the wheel."""

from __future__ import annotations

import importlib.metadata as md
import pathlib
import re
import subprocess
import sys
import textwrap

HERE = pathlib.Path(__file__).parent


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _runtime_closure(dist: str = "podiokit") -> set[str]:
    """Distributions a no-extras install of `dist` brings (environment markers honoured)."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = [dist]
    while todo:
        name = todo.pop()
        if _norm(name) in seen:
            continue
        seen.add(_norm(name))
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def _top_level_names(dist: md.Distribution) -> set[str]:
    """Import names a distribution installs, from its RECORD (Python 3.10's
    `packages_distributions` reads only top_level.txt, which hatchling and maturin omit)."""
    names: set[str] = set()
    for file in dist.files or []:
        top = file.parts[0]
        if top.endswith((".dist-info", ".data")) or top in ("..", "__pycache__"):
            continue
        names.add(top.removesuffix(".py") if len(file.parts) == 1 else top)
    return {n for n in names if n.isidentifier()}


def _allowed_top_level() -> set[str]:
    allowed = _runtime_closure()
    names = {"podiokit"}
    for dist in md.distributions():
        if _norm(dist.metadata["Name"]) in allowed:
            names |= _top_level_names(dist)
    return names


GUARD = textwrap.dedent(
    """
    import sys, importlib.abc
    ALLOWED = set(sys.argv[1].split(","))
    class Guard(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            if top in sys.stdlib_module_names or top in ALLOWED or top.startswith("_"):
                return None
            raise ModuleNotFoundError(f"No module named {top!r} (not a declared dependency)", name=top)
    sys.meta_path.insert(0, Guard())
    """
)


def _run_guarded(code: str) -> subprocess.CompletedProcess[str]:
    allowed = ",".join(sorted(_allowed_top_level()))
    return subprocess.run(
        [sys.executable, "-c", GUARD + code, allowed],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=HERE.parent.parent,
    )


def test_declared_dependencies_exclude_dev_only_packages() -> None:
    """The guard means something only if the dev venv's extras are outside it."""
    allowed = _allowed_top_level()
    assert {"httpx", "pydantic", "anyio"} <= allowed
    assert (
        not {"trio", "sniffio", "starlette", "typer", "redis", "pytest", "sqlalchemy", "psycopg"}
        & allowed
    )


def test_core_smoke_needs_only_declared_dependencies() -> None:
    smoke = HERE / "core_smoke.py"
    result = _run_guarded(f"import runpy; runpy.run_path({str(smoke)!r}, run_name='__main__')")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "core smoke OK" in result.stdout


def test_every_resource_and_model_module_imports_without_extras() -> None:
    code = textwrap.dedent(
        """
        import importlib, pkgutil
        import podiokit, podiokit.sessions, podiokit.errors, podiokit.fields, podiokit.pagination
        for pkg in ("podiokit.resources", "podiokit.models"):
            mod = importlib.import_module(pkg)
            for info in pkgutil.iter_modules(mod.__path__):
                importlib.import_module(f"{pkg}.{info.name}")
        print("ok")
        """
    )
    result = _run_guarded(code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


def test_guard_catches_an_undeclared_import() -> None:
    """The same guard, given a module that imports trio at top level, refuses it."""
    result = _run_guarded("import trio")
    assert result.returncode != 0
    assert "not a declared dependency" in result.stderr
