"""Developer tasks. `nox -s tests lint typecheck` is what CI runs (plus `codegen -- --check`)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False

PYTHON = "3.11"


def _install(session: nox.Session, extras: str = "dev") -> None:
    session.install("-e", f".[{extras}]")


@nox.session(python=PYTHON)
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
