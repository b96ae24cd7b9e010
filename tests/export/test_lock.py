"""One writer per output (issue 25, item 1): a second export to the same file refuses at once,
before any call, through a lock that dies with the process that holds it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from podiokit import Podio
from podiokit.export import OutputBusyError, export, output_paths
from podiokit.export._lock import OutputLock, lock_path
from podiokit.testing import Emulator
from tests.cli._subprocess import emulator_env, one_error_line, run_cli, serving, start_cli

from .conftest import CLIENTS, PROJECTS, app_tokens, exported_ids, world_ids


@pytest.mark.anyio
async def test_a_second_export_refuses_before_any_call(
    emu: Emulator, podio: Podio, tmp_path: Path
) -> None:
    out = tmp_path / "items.jsonl"
    held = OutputLock.acquire(out)  # another export, as far as the file system can tell
    before = emu.stats()["routes"]
    with pytest.raises(OutputBusyError, match=f"another export is writing {out}"):
        await export(podio, [PROJECTS], out, app_tokens=app_tokens(emu))
    assert emu.stats()["routes"] == before, "it called Podio before refusing"
    assert not output_paths(out)[1].exists()
    held.release()
    assert not lock_path(out).exists()
    result = await export(podio, [PROJECTS], out)
    assert set(exported_ids(out)) == world_ids(emu, PROJECTS) and result.items == 1_200
    assert not lock_path(out).exists()


HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from podiokit.export._lock import OutputLock

    OutputLock.acquire(Path(sys.argv[1]))
    print("locked", flush=True)
    time.sleep(120)
    """
)


@pytest.mark.anyio
async def test_the_lock_dies_with_its_process(emu: Emulator, podio: Podio, tmp_path: Path) -> None:
    out = tmp_path / "items.jsonl"
    holder = _locked_by_another_process(out)
    try:
        with pytest.raises(OutputBusyError):
            await export(podio, [CLIENTS], out)
    finally:
        holder.kill()  # SIGKILL: no cleanup; the lock file stays, the lock does not
        holder.wait()
    assert lock_path(out).exists()
    await export(podio, [CLIENTS], out)
    assert set(exported_ids(out)) == world_ids(emu, CLIENTS)


def _locked_by_another_process(out: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(out)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    return holder


def test_two_commands_at_once_one_refuses_and_the_file_is_whole(tmp_path: Path) -> None:
    """The case of the issue: a second `podiokit export` to the same --out while the first
    runs. It refuses at once (exit 9, before signing in) and the first completes."""
    emu = Emulator(items=1_500, latency=400)
    out = tmp_path / "items.jsonl"
    _, part, checkpoint = output_paths(out)
    with serving(emu) as url:
        token = app_tokens(emu)[PROJECTS]
        env = emulator_env(emu, url, tmp_path, PODIO_APP_TOKEN=token)
        args = ("export", str(PROJECTS), "--out", str(out), "--concurrency", "1")
        first = start_cli(*args, env=env)
        try:
            deadline = time.monotonic() + 30
            while not checkpoint.exists():
                assert first.poll() is None, first.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.02)
            started = time.monotonic()
            second = run_cli(*args, env=env)
            assert time.monotonic() - started < 10
        finally:
            first_out, first_err = first.communicate(timeout=60)
    assert second.returncode == 9, second.stderr
    assert f"another export is writing {out}" in one_error_line(second)
    assert emu.stats()["token_grants"] == {"app": 1}, "the second signed in"
    assert first.returncode == 0, first_err
    assert first_out.startswith(f"exported 1500 items from 1 app(s) to {out}")
    ids = exported_ids(out)
    assert max(ids.values()) == 1 and set(ids) == world_ids(emu, PROJECTS)
    assert not part.exists() and not checkpoint.exists() and not lock_path(out).exists()
