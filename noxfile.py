"""Developer tasks. CI (`.ci/run`) runs `tests` on every Python below, then `lint`,
`typecheck`, `codegen -- --check`, `wheel` and `docs`."""

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


#: What `nox -s wheel` runs in a fresh venv per install target (the wheel plus one extra).
WHEEL_CHECKS = {
    "": ["python", "tests/packaging/core_smoke.py"],
    "cli": ["python", "tests/packaging/extra_smoke.py", "cli"],
    "redis": ["python", "tests/packaging/extra_smoke.py", "redis"],
    "fastapi": ["python", "tests/packaging/extra_smoke.py", "fastapi"],
    "emulator": ["python", "tests/packaging/extra_smoke.py", "emulator"],
    "export": ["python", "tests/packaging/extra_smoke.py", "export"],
    "mirror": ["python", "tests/packaging/extra_smoke.py", "mirror"],
    "postgres": ["python", "tests/packaging/extra_smoke.py", "postgres"],
    "aiohttp": ["python", "tests/packaging/extra_smoke.py", "aiohttp"],
    "all": ["podiokit", "demo", "--items", "500"],
}


@nox.session(python=PYTHON, reuse_venv=False)
def wheel(session: nox.Session) -> None:
    """What users install: build the sdist and wheel, then for the wheel alone (no extras)
    and for each extra on its own, a fresh venv holding just that, and a smoke check run in
    it (`podiokit demo` for `[all]`). `nox -s wheel -- cli` checks only the named targets
    (`core` is the wheel without extras)."""
    session.install("build>=1")
    tmp = pathlib.Path(session.create_tmp()).resolve()
    dist = tmp / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist))
    (wheel_file,) = dist.glob("podiokit-*.whl")
    (sdist_file,) = dist.glob("podiokit-*.tar.gz")
    session.log(f"built {wheel_file.name} and {sdist_file.name}")
    wanted = ["" if name == "core" else name for name in session.posargs] or list(WHEEL_CHECKS)
    for extra in wanted:
        command = WHEEL_CHECKS[extra]
        venv = tmp / f"venv-{extra or 'core'}"
        session.run("python", "-m", "venv", "--clear", str(venv))
        python = str(venv / "bin" / "python")
        target = f"{wheel_file}[{extra}]" if extra else str(wheel_file)
        session.run(python, "-m", "pip", "install", "-q", target, external=True)
        session.run(python, "-m", "pip", "list", "--format=freeze", external=True, silent=True)
        session.run(str(venv / "bin" / command[0]), *command[1:], external=True)


#: What `nox -s docs` installs besides podiokit itself (the site needs no extra of ours).
DOCS_REQUIREMENTS = ["mkdocs>=1.6,<2", "mkdocs-material>=9.5,<10", "mkdocstrings[python]>=0.26"]


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site with `mkdocs build --strict` (a broken link, a missing
    page or anchor fails it) after checking that docs/reference/ matches the spec. The site
    goes to the session's temporary directory; `nox -s docs -- serve` previews it instead."""
    _install(session)
    session.install(*DOCS_REQUIREMENTS)
    session.run("python", "-m", "codegen", "--check")
    env = {"NO_MKDOCS_2_WARNING": "1"}
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve", *session.posargs[1:], env=env)
        return
    site = pathlib.Path(session.create_tmp()).resolve() / "site"
    session.run("mkdocs", "build", "--strict", "--site-dir", str(site), *session.posargs, env=env)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """The benchmarks under benchmarks/ (ratios against raw httpx in the same run)."""
    _install(session)
    for script in session.posargs or [
        "bench_body.py",
        "bench_concurrency.py",
        "bench_cpu64.py",
        "bench_emulator.py",
        "bench_export.py",
        "bench_import.py",
        "bench_mirror.py",
        "bench_peers.py",
        "bench_shared_budget.py",
        "bench_store.py",
        "bench_sync.py",
        "bench_typed.py",
        "bench_typed_models.py",
        "bench_write.py",
    ]:
        session.run("python", f"benchmarks/{script}")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The tour of the SDK against the embedded emulator."""
    _install(session, "all")
    session.run("podiokit", "demo", *session.posargs)
