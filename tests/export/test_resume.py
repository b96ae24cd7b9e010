"""Resume: after a crash, a kill or a cancel, `resume=True` continues from the checkpoint
without duplicates or gaps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from podiokit import Podio
from podiokit.export import CheckpointError, ExportProgress, export, output_paths
from podiokit.testing import Emulator
from podiokit.testing._items import create_item, delete_item

from .conftest import CLIENTS, PROJECTS, exported_ids, world_ids

pytestmark = pytest.mark.anyio


class Crash(Exception):
    pass


def crash_after(pages: int) -> object:
    seen = [0]

    def on_progress(progress: ExportProgress) -> None:
        if progress.items:
            seen[0] += 1
            if seen[0] >= pages:
                raise Crash

    return on_progress


async def test_resume_after_a_crash_writes_every_item_once(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    out = tmp_path / "items.jsonl"
    _, part, checkpoint = output_paths(out)
    with pytest.raises(Crash):
        await export(
            podio, [PROJECTS, CLIENTS], out, page_size=100, concurrency=3,
            on_progress=crash_after(5),  # type: ignore[arg-type]
        )  # fmt: skip
    # No output that looks complete; the partial file and its checkpoint stay.
    assert not out.exists() and part.exists() and checkpoint.exists()
    written = exported_ids(part)
    assert 0 < sum(written.values()) < 2_400
    # The process died while writing a page: half a line after the checkpointed offset.
    _append(part, b'{"item_id": 1000501, "app_item_id": 1, "tit')
    # Meanwhile the app changes: items already exported and items still ahead are deleted,
    # new ones are created.
    world = emu._core.world
    by = world.users[world.demo_user_id].byline()
    exported_before = sorted(set(written) & world_ids(emu, PROJECTS))
    ahead = sorted(world_ids(emu, PROJECTS) - set(written))
    gone = {exported_before[0], ahead[0], ahead[-1]}
    for item_id in gone:
        delete_item(world, world.items[item_id])
    new = {create_item(world, world.apps[PROJECTS], {"fields": {"title": "n"}}, by).item_id}

    result = await export(podio, [PROJECTS, CLIENTS], out, page_size=100, resume=True)
    assert result.resumed
    ids = exported_ids(out)
    assert max(ids.values()) == 1, "an item was written twice"
    expected = world_ids(emu, PROJECTS) | world_ids(emu, CLIENTS) | {exported_before[0]}
    assert set(ids) == expected
    assert new <= set(ids)
    assert result.items == sum(ids.values()) == sum(result.per_app.values())
    assert not part.exists() and not checkpoint.exists()


async def test_resume_after_cancel(emu: Emulator, podio: Podio, tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    pages = [0]
    with anyio.CancelScope() as scope:

        def cancel_after_three(progress: ExportProgress) -> None:
            pages[0] += 1
            if pages[0] == 3:
                scope.cancel()  # what Ctrl-C does to the task

        await export(podio, [PROJECTS], out, page_size=100, on_progress=cancel_after_three)
    assert scope.cancelled_caught and not out.exists()
    await export(podio, [PROJECTS], out, page_size=100, resume=True)
    ids = exported_ids(out)
    assert max(ids.values()) == 1 and set(ids) == world_ids(emu, PROJECTS)


async def test_resume_refuses_another_exports_checkpoint(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    out = tmp_path / "items.jsonl"
    with pytest.raises(Crash):
        await export(podio, [PROJECTS], out, page_size=100, on_progress=crash_after(2))  # type: ignore[arg-type]
    with pytest.raises(CheckpointError, match="format 'jsonl', not 'csv'"):
        await export(podio, [PROJECTS], out, format="csv", resume=True)
    with pytest.raises(CheckpointError, match=r"apps \[3002\], not \[3001\]"):
        await export(podio, [CLIENTS], out, resume=True)
    _, _, checkpoint = output_paths(out)
    checkpoint.write_bytes(b"{not json")
    with pytest.raises(CheckpointError, match="unreadable"):
        await export(podio, [PROJECTS], out, resume=True)
    # force starts over, and discards what was left.
    result = await export(podio, [PROJECTS], out, page_size=250, force=True)
    assert not result.resumed and set(exported_ids(out)) == world_ids(emu, PROJECTS)


KILLED_EXPORT = textwrap.dedent(
    """
    import sys, anyio
    from podiokit import Podio
    from podiokit.export import export

    async def main(url, client_id, secret, username, password, out):
        async with Podio(client_id, secret, api_url=url) as podio:
            await podio.authenticate_with_credentials(username, password)
            await export(podio, [3002, 3001], out, page_size=50, concurrency=2)

    anyio.run(main, *sys.argv[1:])
    """
)


async def test_resume_after_kill_9(tmp_path: Path) -> None:
    """A real process, killed with SIGKILL mid-export, then resumed by another."""
    emu = Emulator(items=1_200, latency=50)
    out = tmp_path / "killed.jsonl"
    _, part, checkpoint = output_paths(out)
    script = tmp_path / "run_export.py"
    script.write_text(KILLED_EXPORT)
    async with emu.serve() as url:
        creds = emu.credentials
        args = [creds["client_id"], creds["client_secret"], creds["username"], creds["password"]]
        proc = _start([sys.executable, str(script), url, *args, str(out)])
        try:
            with anyio.fail_after(60):
                while not _checkpointed_items(checkpoint) >= 600:
                    assert proc.poll() is None, "the export ended before it was killed"
                    await anyio.sleep(0.02)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
        assert not out.exists() and part.exists()
        async with Podio(creds["client_id"], creds["client_secret"], api_url=url) as podio:
            await podio.authenticate_with_credentials(creds["username"], creds["password"])
            result = await export(podio, [PROJECTS, CLIENTS], out, page_size=50, resume=True)
    assert result.resumed
    ids = exported_ids(out)
    assert max(ids.values()) == 1
    assert set(ids) == world_ids(emu, PROJECTS) | world_ids(emu, CLIENTS)


def _checkpointed_items(path: Path) -> int:
    try:
        return int(json.loads(path.read_bytes())["items"])
    except (OSError, ValueError, KeyError):
        return 0


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def _start(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv)
