"""Every Python block of README.md and of the guides under docs/ runs against the emulator,
so the documentation cannot rot. A block preceded by `<!-- not run: reason -->` is skipped."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

import podiokit

from . import mdrun

ROOT = Path(__file__).resolve().parents[2]
# The typed models guide imports the classes `podiokit typegen` wrote for the demo apps.
EXAMPLES = ROOT / "examples"
PAGES = mdrun.pages(ROOT)
BLOCKS = [block for page in PAGES for block in mdrun.python_blocks(page, ROOT)]


def test_the_readme_has_runnable_blocks() -> None:
    assert sum(1 for b in BLOCKS if b.page == "README.md" and b.skip is None) >= 5


@pytest.mark.parametrize("page", PAGES[1:], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_guide_runs_its_blocks(page: Path) -> None:
    """A guide with Python in it has at least one block that runs (a page whose every
    block is skipped tests nothing)."""
    blocks = list(mdrun.python_blocks(page, ROOT))
    if blocks:
        assert any(b.skip is None for b in blocks), f"{page}: every block is skipped"


def test_reference_pages_are_not_run() -> None:
    assert PAGES[0].name == "README.md"
    assert not any("reference" in p.relative_to(ROOT / "docs").parts for p in PAGES[1:])


async def _run(block: mdrun.Block, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # FileSessionStore("~/...") stays in tmp_path
    monkeypatch.chdir(tmp_path)  # and so does a relative path
    monkeypatch.syspath_prepend(str(EXAMPLES))  # `from demo_apps import Project`
    emu = mdrun.emulator()
    opened: list[httpx.AsyncClient] = []
    podio_class = mdrun.emulator_podio_class(emu, opened)
    monkeypatch.setattr(podiokit, "Podio", podio_class)
    monkeypatch.setattr(podiokit, "SyncPodio", mdrun.emulator_sync_class(emu))
    ns: dict[str, Any] = await mdrun.namespace(emu, podio_class)
    podio = ns["podio"]  # a block may rebind the name
    try:
        with mdrun.otel_sandbox() as otel:
            result = eval(block.compile(), ns)
            if asyncio.iscoroutine(result):
                await result
            otel.check()
    finally:
        await podio.aclose()
        for http in opened:
            await http.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "block", [b for b in BLOCKS if not b.is_script and not b.is_pytest_file], ids=lambda b: b.id
)
async def test_snippet_runs(
    block: mdrun.Block, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if block.skip:
        pytest.skip(block.skip)
    await _run(block, monkeypatch, tmp_path)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.is_script], ids=lambda b: b.id)
def test_script_runs(block: mdrun.Block, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A whole program runs its own event loop: set up the emulator in one, run it after."""
    if block.skip:
        pytest.skip(block.skip)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    emu = mdrun.emulator()
    opened: list[httpx.AsyncClient] = []
    podio_class = mdrun.emulator_podio_class(emu, opened)
    monkeypatch.setattr(podiokit, "Podio", podio_class)
    monkeypatch.setattr(podiokit, "SyncPodio", mdrun.emulator_sync_class(emu))

    async def setup() -> dict[str, Any]:
        ns = await mdrun.namespace(emu, podio_class)
        await ns.pop("podio").aclose()
        return ns

    ns = asyncio.run(setup())
    if "redis_url" not in block.code:
        exec(block.compile(), ns)
        return
    with mdrun.redis_server() as url:
        if url is None:
            pytest.skip("redis-server is not installed (CI installs it)")
        ns["redis_url"] = url
        exec(block.compile(), ns)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.is_pytest_file], ids=lambda b: b.id)
def test_pytest_file_passes(block: mdrun.Block, tmp_path: Path) -> None:
    """A block of tests for the pytest plugin's fixtures is a test module: pytest runs it, in
    a directory of its own (none of this suite's conftest), and every test in it passes."""
    if block.skip:
        pytest.skip(block.skip)
    (tmp_path / "test_from_docs.py").write_text(block.code, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
         "test_from_docs.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout and " skipped" not in proc.stdout, proc.stdout


def test_the_readme_links_every_guide_and_keeps_its_two_commands_first() -> None:
    readme = PAGES[0].read_text(encoding="utf-8")
    for guide in sorted((ROOT / "docs" / "guides").glob("*.md")):
        assert f"](docs/guides/{guide.name})" in readme, guide.name
    assert "](docs/reference/index.md)" in readme
    first_block = readme.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert [line.split()[:3] for line in first_block] == [
        ["pip", "install", "-e"],
        ["pip", "install", "nox"],
    ]
