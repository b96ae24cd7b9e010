"""Developer tasks. CI (`.ci/run`) runs `tests` on every Python below, then `lint`,
`typecheck`, `codegen -- --check` and `wheel`."""

from __future__ import annotations

import os
import pathlib
import shutil

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
# Locally a missing interpreter is skipped with a warning; in CI it fails the run.
nox.options.error_on_missing_interpreters = bool(os.environ.get("CI"))

#: The oldest and newest Pythons `requires-python` allows that the machines have, and the
#: default one. Add 3.12 here when a machine ships it on PATH.
PYTHONS = ["3.10", "3.11", "3.13"]
PYTHON = "3.11"


def _install(session: nox.Session, extras: str = "dev") -> None:
    session.install("-e", f".[{extras}]")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """pytest; every async test runs under asyncio and trio (anyio's plugin)."""
    _install(session)
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over src/."""
    _install(session)
    session.run("mypy", "--strict", "src/podiokit")


@nox.session(python=PYTHON)
def codegen(session: nox.Session) -> None:
    """Regenerate resources/ and models/ from spec/ (`nox -s codegen -- --check` to verify)."""
    _install(session)
    session.run("python", "-m", "codegen", *session.posargs)


@nox.session(python=PYTHON, reuse_venv=False)
def wheel(session: nox.Session) -> None:
    """What users install: build the sdist and wheel, install the wheel alone (no extras) in
    a fresh venv and run the core smoke script there, then install `wheel[all]` in another
    fresh venv and run `podiokit demo`."""
    session.install("build>=1")
    tmp = pathlib.Path(session.create_tmp()).resolve()
    dist = tmp / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist))
    (wheel_file,) = dist.glob("podiokit-*.whl")
    (sdist_file,) = dist.glob("podiokit-*.tar.gz")
    session.log(f"built {wheel_file.name} and {sdist_file.name}")
    for name, target, command in (
        ("core", str(wheel_file), ["python", "tests/packaging/core_smoke.py"]),
        ("all", f"{wheel_file}[all]", ["podiokit", "demo", "--items", "500"]),
    ):
        venv = tmp / f"venv-{name}"
        session.run("python", "-m", "venv", "--clear", str(venv))
        python = str(venv / "bin" / "python")
        session.run(python, "-m", "pip", "install", "-q", target, external=True)
        session.run(python, "-m", "pip", "list", "--format=freeze", external=True)
        session.run(str(venv / "bin" / command[0]), *command[1:], external=True)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """The benchmarks under benchmarks/ (ratios against raw httpx in the same run)."""
    _install(session)
    for script in session.posargs or [
        "bench_concurrency.py",
        "bench_emulator.py",
        "bench_import.py",
    ]:
        session.run("python", f"benchmarks/{script}")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The tour of the SDK against the embedded emulator."""
    _install(session, "all")
    session.run("podiokit", "demo", *session.posargs)
