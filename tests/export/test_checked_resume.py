"""Checked resumes (issue 25, items 2 and 7): a resume over a temporary file that does not
hold what its checkpoint records refuses (exit 7) instead of padding it with zeros; the
checkpoint never claims bytes the disk may not hold; and a run without --resume never
silently discards an interrupted export."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from podiokit import Podio
from podiokit.cli import export as export_cli
from podiokit.export import (
    CheckpointError,
    ExportProgress,
    _checkpoint,
    _output,
    export,
    output_paths,
)
from podiokit.testing import Emulator
from tests.cli._subprocess import emulator_env, one_error_line, run_cli, serving, unused_port

from .conftest import CLIENTS, PROJECTS, app_tokens, exported_ids, world_ids


class Crash(Exception):
    pass


def crash_after(pages: int) -> Any:
    seen = [0]

    def on_progress(progress: ExportProgress) -> None:
        if progress.items:
            seen[0] += 1
            if seen[0] >= pages:
                raise Crash

    return on_progress


async def _interrupted(podio: Podio, out: Path, pages: int = 6) -> dict[str, Any]:
    """An export that stopped after `pages` pages; its checkpoint's content."""
    with pytest.raises(Crash):
        await export(
            podio, [PROJECTS, CLIENTS], out, page_size=100, concurrency=2,
            on_progress=crash_after(pages),
        )  # fmt: skip
    _, part, checkpoint = output_paths(out)
    saved: dict[str, Any] = json.loads(checkpoint.read_bytes())
    assert 0 < saved["offset"] <= part.stat().st_size
    return saved


def _overwrite(path: Path, at: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(data)


pytestmark = pytest.mark.anyio


async def test_a_part_cut_short_is_refused_then_force_starts_over(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    out = tmp_path / "items.jsonl"
    _, part, _ = output_paths(out)
    saved = await _interrupted(podio, out)
    os.truncate(part, saved["offset"] - 5_000)  # a crash before the data reached the disk
    with pytest.raises(CheckpointError, match="cut short") as refused:
        await export(podio, [PROJECTS, CLIENTS], out, resume=True)
    assert "force=True to start over" in str(refused.value)
    assert part.stat().st_size == saved["offset"] - 5_000, "the refusal changed the file"
    result = await export(podio, [PROJECTS, CLIENTS], out, force=True)
    ids = exported_ids(out)
    assert max(ids.values()) == 1
    assert set(ids) == world_ids(emu, PROJECTS) | world_ids(emu, CLIENTS) and not result.resumed
    assert b"\0" not in out.read_bytes()


async def test_a_part_whose_tail_changed_is_refused(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    """Same length, other bytes: what a crash leaves when the file's size reached the disk
    before its data (zeros), or another export's file put in its place."""
    out = tmp_path / "items.jsonl"
    _, part, _ = output_paths(out)
    saved = await _interrupted(podio, out)
    _overwrite(part, saved["offset"] - 3_000, b"\0" * 3_000)
    with pytest.raises(CheckpointError, match="does not hold what"):
        await export(podio, [PROJECTS, CLIENTS], out, resume=True)


async def test_a_resume_over_an_intact_part_goes_on(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    out = tmp_path / "items.jsonl"
    _, part, _ = output_paths(out)
    await _interrupted(podio, out)
    with part.open("ab") as f:
        f.write(b'{"item_id": 1, "half a li')  # written after the checkpoint: cut off
    result = await export(podio, [PROJECTS, CLIENTS], out, resume=True)
    ids = exported_ids(out)
    assert result.resumed and max(ids.values()) == 1
    assert set(ids) == world_ids(emu, PROJECTS) | world_ids(emu, CLIENTS)


async def test_the_checkpoint_never_claims_what_the_disk_may_not_hold(
    emu: Emulator, podio: Podio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each checkpoint is written after the data it counts is synced, synced itself before
    it replaces the last one, and the folder is synced after the rename."""
    out = tmp_path / "items.jsonl"
    _, part, checkpoint = output_paths(out)
    monkeypatch.setattr(_output, "_SYNC_EVERY", 50_000)  # many checkpoints in a small export
    events: list[tuple[str, Any]] = []
    synced = [0]
    real_datasync, real_fsync, real_replace = _output._datasync, os.fsync, os.replace

    def name(fd: int) -> str:
        return os.readlink(f"/proc/self/fd/{fd}")

    def datasync(fd: int) -> None:
        real_datasync(fd)
        if name(fd) == str(part):
            synced[0] = os.fstat(fd).st_size

    def fsync(fd: int) -> None:
        real_fsync(fd)
        events.append(("fsync", name(fd)))

    def replace(src: Any, dst: Any) -> None:
        if str(dst) == str(checkpoint):
            claimed = json.loads(Path(src).read_bytes())["offset"]
            assert claimed <= synced[0], "the checkpoint claims bytes not synced yet"
            assert events and events[-1] == ("fsync", str(src)), "the checkpoint is not synced"
        real_replace(src, dst)
        events.append(("replace", str(dst)))

    monkeypatch.setattr(_output, "_datasync", datasync)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    await export(podio, [PROJECTS, CLIENTS], out, page_size=100, concurrency=2)
    saves = [i for i, event in enumerate(events) if event == ("replace", str(checkpoint))]
    assert len(saves) >= 3
    for i in saves:
        assert events[i + 1] == ("fsync", str(tmp_path)), "the rename may not be on disk"
    assert events[-2:] == [("replace", str(out)), ("fsync", str(tmp_path))]
    assert not checkpoint.exists()


async def test_a_checkpoint_saved_on_the_way_out_counts_every_page_written(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    """An export that stops with an error saves how far it got: the checkpoint counts every
    item in the file, so the resume fetches none again."""
    out = tmp_path / "items.jsonl"
    _, part, _ = output_paths(out)
    saved = await _interrupted(podio, out, pages=5)
    assert saved["offset"] == part.stat().st_size
    assert saved["items"] == sum(exported_ids(part).values()) >= 400


async def test_a_rerun_without_resume_refuses_and_keeps_the_partial_export(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    out = tmp_path / "items.jsonl"
    _, part, checkpoint = output_paths(out)
    await _interrupted(podio, out)
    kept = part.read_bytes()
    before = emu.stats()["routes"]
    with pytest.raises(CheckpointError) as refused:
        await export(podio, [PROJECTS, CLIENTS], out)
    assert str(refused.value) == (
        f"{checkpoint} exists (an export was interrupted): add resume=True to continue, or "
        "force=True to start over"
    )
    assert part.read_bytes() == kept and checkpoint.exists()
    assert emu.stats()["routes"] == before, "it called Podio before refusing"


async def test_resume_without_its_part_is_refused(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    out = tmp_path / "items.jsonl"
    _, part, _ = output_paths(out)
    await _interrupted(podio, out)
    part.unlink()
    with pytest.raises(CheckpointError, match="there is nothing to resume"):
        await export(podio, [PROJECTS, CLIENTS], out, resume=True)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_command_exits_7_and_says_what_to_do(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    out = tmp_path / "items.jsonl"
    _, part, checkpoint = output_paths(out)
    saved = await _interrupted(podio, out)
    with serving(emu) as url:
        env = emulator_env(emu, url, tmp_path, PODIO_APP_TOKEN=",".join(
            app_tokens(emu)[a] for a in (PROJECTS, CLIENTS)
        ))  # fmt: skip
        args = ("export", str(PROJECTS), str(CLIENTS), "--out", str(out))
        before = emu.stats()["token_grants"]
        rerun = run_cli(*args, env=env)
        assert rerun.returncode == 7 and one_error_line(rerun) == (
            f"podiokit export: {checkpoint} exists (an export was interrupted): add --resume "
            "to continue, or --force to start over"
        )
        os.truncate(part, saved["offset"] - 1)
        resumed = run_cli(*args, "--resume", env=env)
        assert resumed.returncode == 7, resumed.stderr
        assert "cut short" in one_error_line(resumed) and "add --force to start over" in (
            resumed.stderr
        )
        assert emu.stats()["token_grants"] == before, "it signed in before refusing"
        both = run_cli(*args, "--resume", "--force", env=env)
        assert both.returncode == 2 and "give one" in one_error_line(both)
        forced = run_cli(*args, "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    ids = exported_ids(out)
    assert max(ids.values()) == 1
    assert set(ids) == world_ids(emu, PROJECTS) | world_ids(emu, CLIENTS)


def test_a_checkpoint_of_another_format_exits_7_before_signing_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listens at PODIO_API_URL: a command that signed in first would exit 6."""
    out = tmp_path / "o.jsonl"
    (tmp_path / "o.jsonl.part").write_bytes(b"")
    body = {"version": _checkpoint.VERSION, "format": "csv", "app_ids": [PROJECTS], "offset": 0,
            "items": 0, "calls": 0, "totals": {}, "sink_state": {}, "tail": [0, 0], "ranges": []}  # fmt: skip
    (tmp_path / "o.jsonl.checkpoint").write_text(json.dumps(body))
    env = {"PODIO_CLIENT_ID": "id", "PODIO_CLIENT_SECRET": "s", "PODIO_APP_TOKEN": "t",
           "PODIO_API_URL": f"http://127.0.0.1:{unused_port()}"}  # fmt: skip
    code = export_cli.run([PROJECTS], str(out), format="jsonl", concurrency=1, resume=True,
                          app_tokens=[], env=env)  # fmt: skip
    assert code == 7
    assert "is for format 'csv', not 'jsonl'" in capsys.readouterr().err
