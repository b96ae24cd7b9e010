"""Developer tasks. CI (`.ci/run`) runs `tests` on every Python below, `httpx_suite`, then
`lint`, `typecheck`, `codegen -- --check`, `docs` and `wheel`; a release runs `release_check`.
The browser tests (tests/browser) need Debian's `chromium` and `chromium-driver`; `.ci/run`
installs them."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
# Locally a missing interpreter is skipped with a warning; in CI it fails the run.
nox.options.error_on_missing_interpreters = bool(os.environ.get("CI"))

#: The oldest and newest Pythons `requires-python` allows that the machines have, and the
#: default one. Add 3.12 here when a machine ships it on PATH.
PYTHONS = ["3.10", "3.11", "3.13"]
PYTHON = "3.11"


#: The pytest-httpx the tests run with (see `tests`).
PYTEST_HTTPX = "pytest-httpx==0.36.2"


def _install(session: nox.Session, extras: str = "dev") -> None:
    session.install("-e", f".[{extras}]")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """pytest; every async test runs under asyncio and trio (anyio's plugin)."""
    _install(session)
    # tests/transport/test_mocking.py checks that pytest-httpx's mock sees podiokit's
    # requests. Without its dependencies: each release pins one httpx minor (0.36: 0.28.*),
    # and its patch of httpx's transport is the same on the httpx installed here.
    session.install("--no-deps", PYTEST_HTTPX)
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
    "otel": ["python", "tests/packaging/extra_smoke.py", "otel"],
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
    page or anchor fails it) after checking that docs/reference/ matches the spec, then read
    it in Chromium at desktop and phone widths (tests/browser/test_docs_site.py: console
    errors, titles, code cut off). The site goes to the session's temporary directory.
    `nox -s docs -- serve` previews it instead, on http://127.0.0.1:8100 (mkdocs.yml's
    `dev_addr`: 8000 and 8001 are `podiokit emulator`'s and the FastAPI example's)."""
    _install(session)
    session.install(*DOCS_REQUIREMENTS)
    session.run("python", "-m", "codegen", "--check")
    env = {"NO_MKDOCS_2_WARNING": "1"}
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve", *session.posargs[1:], env=env)
        return
    site = pathlib.Path(session.create_tmp()).resolve() / "site"
    session.run("mkdocs", "build", "--strict", "--site-dir", str(site), *session.posargs, env=env)
    session.run(
        "pytest", "-q", "tests/browser/test_docs_site.py", env={"PODIOKIT_DOCS_SITE": str(site)}
    )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """The benchmarks under benchmarks/ (ratios against raw httpx in the same run)."""
    _install(session)
    for script in session.posargs or [
        "bench_body.py",
        "bench_concurrency.py",
        "bench_cpu64.py",
        "bench_download.py",
        "bench_emulator.py",
        "bench_export.py",
        "bench_import.py",
        "bench_mirror.py",
        "bench_otel.py",
        "bench_peers.py",
        "bench_shared_budget.py",
        "bench_store.py",
        "bench_sync.py",
        "bench_typed.py",
        "bench_typed_models.py",
        "bench_write.py",
    ]:
        session.run("python", f"benchmarks/{script}")


#: The httpx release whose own tests `nox -s httpx_suite` runs against podiokit's transport:
#: its source release (sdist) from the package index, never a copy kept here. Move it with
#: the httpx podiokit is tested with.
HTTPX_SUITE_VERSION = "0.29.0"
#: httpx's async client, proxy and timeout tests (what reaches a transport).
HTTPX_SUITE_TESTS = [
    "tests/client/test_async_client.py",
    "tests/client/test_proxies.py",
    "tests/test_timeouts.py",
]
#: What httpx's tests import besides httpx (its conftest: uvicorn, trustme, cryptography).
HTTPX_SUITE_REQUIREMENTS = [
    "pytest>=8",
    "anyio>=4.4",
    "trio>=0.25",
    "trustme>=1.1",
    "uvicorn>=0.29",
    "cryptography",
    "pytest-timeout>=2",  # a test that hangs fails (--timeout) instead of stalling CI
]


@nox.session(python=PYTHON)
def httpx_suite(session: nox.Session) -> None:
    """httpx's own async client, proxy and timeout tests, from its pinned source release,
    with podiokit's `PodioTransport` as every AsyncClient's default transport, under asyncio
    and trio. tests/transport/httpx_suite/conftest_podio.py mounts it and lists, with
    reasons, the tests that do not apply; any other failure fails the session."""
    import tarfile

    session.install("-e", ".")
    session.install(f"httpx[http2,brotli,zstd,socks]=={HTTPX_SUITE_VERSION}")
    session.install(*HTTPX_SUITE_REQUIREMENTS)
    tmp = pathlib.Path(session.create_tmp()).resolve()
    download = tmp / "httpx-sdist"
    shutil.rmtree(download, ignore_errors=True)
    session.run(
        "python", "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
        "--dest", str(download), f"httpx=={HTTPX_SUITE_VERSION}",
    )  # fmt: skip
    (sdist,) = download.glob(f"httpx-{HTTPX_SUITE_VERSION}.tar.gz")
    source = tmp / f"httpx-{HTTPX_SUITE_VERSION}"
    shutil.rmtree(source, ignore_errors=True)
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp, filter="data")
    missing = [name for name in HTTPX_SUITE_TESTS if not (source / name).is_file()]
    if missing:
        session.error(f"{sdist.name} has no {', '.join(missing)}: its tests moved")
    plugin = pathlib.Path("tests/transport/httpx_suite/conftest_podio.py").resolve()
    shutil.copyfile(plugin, source / "conftest.py")
    with session.chdir(source):
        session.run(
            "python", "-m", "pytest", "-p", "no:cacheprovider", "-q", "--timeout=60",
            *HTTPX_SUITE_TESTS, *session.posargs,
        )  # fmt: skip


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The tour of the SDK against the embedded emulator."""
    _install(session, "all")
    session.run("podiokit", "demo", *session.posargs)


# --- the release check --------------------------------------------------------------------
# Plain text and regexes, not an import of podiokit: it runs before anything is installed and
# whether the version lives in src/podiokit/_version.py or still in pyproject.toml.

ROOT = pathlib.Path(__file__).resolve().parent
_VERSION_PY = re.compile(r"^__version__\s*=\s*[\"']([^\"']+)[\"']", re.M)
_PYPROJECT_VERSION = re.compile(r"^version\s*=\s*[\"']([^\"']+)[\"']", re.M)
#: A Keep a Changelog heading of a released version: `## [0.1.0] - 2026-11-29`.
_CHANGELOG_RELEASE = re.compile(r"^##\s*\[(?!unreleased\])([^\]]+)\]", re.M | re.I)
_TAG = re.compile(r"^v?(\d+\.\d+\.\d+\S*)$")


def package_version(root: pathlib.Path = ROOT) -> str:
    """The version the build gives the package: `__version__` in src/podiokit/_version.py,
    else the static `version` of pyproject.toml."""
    version_py = root / "src" / "podiokit" / "_version.py"
    if version_py.is_file():
        found = _VERSION_PY.search(version_py.read_text(encoding="utf-8"))
        if found:
            return found.group(1)
    found = _PYPROJECT_VERSION.search((root / "pyproject.toml").read_text(encoding="utf-8"))
    if found is None:
        raise ValueError("no version in src/podiokit/_version.py or pyproject.toml")
    return found.group(1)


def changelog_version(root: pathlib.Path = ROOT) -> str:
    """The top released version of CHANGELOG.md (the first heading after [Unreleased])."""
    found = _CHANGELOG_RELEASE.search((root / "CHANGELOG.md").read_text(encoding="utf-8"))
    if found is None:
        raise ValueError("CHANGELOG.md has no released version (a '## [X.Y.Z] - date' heading)")
    return found.group(1).strip()


def tag_problem(tag: str, version: str) -> str | None:
    """Why `tag` may not release `version`, or None when it may: the tag must be the version
    itself, with or without a leading `v` (v0.1.0 releases 0.1.0; v0.2.0 does not)."""
    found = _TAG.match(tag.strip())
    if found is None:
        return f"tag {tag!r} is not a version tag (expected v{version})"
    if found.group(1) != version:
        return f"tag {tag!r} differs from the package version {version} (expected v{version})"
    return None


def release_tag(posargs: list[str], root: pathlib.Path = ROOT) -> str | None:
    """The tag being released: the session's argument, else the tag GitHub Actions built
    (`GITHUB_REF_NAME` when `GITHUB_REF_TYPE` is tag), else the tag on HEAD."""
    if posargs:
        return posargs[0]
    if os.environ.get("GITHUB_REF_NAME") and os.environ.get("GITHUB_REF_TYPE", "tag") == "tag":
        return os.environ["GITHUB_REF_NAME"]
    described = subprocess.run(
        ["git", "describe", "--tags", "--exact-match"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if described.returncode != 0:  # no tag on HEAD (or no git)
        return None
    return described.stdout.strip() or None


@nox.session(python=False)
def release_check(session: nox.Session) -> None:
    """Refuse to release a tag that differs from the package version, or a CHANGELOG.md whose
    top released version is another. `nox -s release_check -- v0.1.0` checks a tag by name;
    without it, `GITHUB_REF_NAME` or the tag on HEAD (`git describe --tags --exact-match`)."""
    version = package_version()
    tag = release_tag(session.posargs)
    if tag is None:
        session.error(
            "no release tag: HEAD carries none; name it: nox -s release_check -- v" + version
        )
    problem = tag_problem(tag, version)
    if problem is not None:
        session.error(problem)
    logged = changelog_version()
    if logged != version:
        session.error(
            f"CHANGELOG.md's top release is {logged}, the package version is {version}: "
            "move the [Unreleased] entries under the new version"
        )
    session.log(f"tag {tag} releases podiokit {version}; CHANGELOG.md agrees")
