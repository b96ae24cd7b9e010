"""Chaos (issue 25): 20 exports through the real command, killed (SIGKILL, SIGTERM),
truncated (the temporary file cut short), raced (two at once) and resumed at random points,
from a fixed seed. Every file that any run reported complete holds every item exactly once.

Each export follows what a cron job would do: run with --resume; after a refusal naming
--force (the temporary file no longer matches its checkpoint), run with --force. A run that
meets a checkpoint without --resume must refuse and leave it alone. The timing of the kills
varies from run to run; what must hold does not.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from podiokit.export import output_paths
from podiokit.testing import Emulator
from tests.cli._subprocess import emulator_env, serving, start_cli

from .conftest import CLIENTS, PROJECTS, app_tokens, world_ids

SEED = 25
EXPORTS = 20
#: Exports running at once (each is a subprocess; most of a run is waiting for pages).
AT_ONCE = 5


@dataclass
class Tally:
    kills: int = 0
    truncations: int = 0
    races: int = 0
    refusals: int = 0
    resumed: int = 0
    completed: list[str] = field(default_factory=list)


def _verify(out: Path, expected: set[int], summary: str) -> None:
    """A run said it completed: the file holds every item exactly once."""
    ids: Counter[int] = Counter()
    with open(out, "rb") as f:
        for line in f:
            ids[json.loads(line)["item_id"]] += 1
    twice = [i for i, n in ids.items() if n > 1]
    assert not twice, f"{out.name}: items written twice: {twice[:5]} ({summary!r})"
    missing = expected - set(ids)
    assert not missing, f"{out.name}: {len(missing)} items missing ({summary!r})"
    assert set(ids) == expected
    assert summary.split(" items ")[0].endswith(f" {len(expected)}"), summary


def _look(part: Path) -> tuple[int, int, int] | None:
    try:
        st = part.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def _writing(proc: subprocess.Popen[str], part: Path) -> None:
    """Wait until `proc` writes its temporary file (created, cut back to its checkpoint,
    or grown) or ends."""
    before = _look(part)
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        now = _look(part)
        if now is not None and now != before:
            return
        time.sleep(0.01)


def _episode(n: int, folder: Path, env: dict[str, str], expected: set[int], tally: Tally) -> None:
    rng = random.Random(SEED * 1_000 + n)
    out = folder / f"export-{n}.jsonl"
    _, part, checkpoint = output_paths(out)
    args = ("export", str(PROJECTS), str(CLIENTS), "--out", str(out), "--concurrency", "2")
    flags = ["--resume"]
    done = False

    def start(*extra: str) -> subprocess.Popen[str]:
        nonlocal done
        done = False  # a new run: the file is complete again once one reports so
        return start_cli(*args, *extra, env=env)

    def finished(proc: subprocess.Popen[str]) -> str:
        """Wait for `proc`; verify the file if it reports complete; the next flags."""
        nonlocal done, flags
        stdout, stderr = proc.communicate(timeout=60)
        if proc.returncode == 0:
            _verify(out, expected, stdout.splitlines()[0])
            tally.completed.append(out.name)
            tally.resumed += stdout.startswith("resumed")
            done = True
        elif proc.returncode == 7:
            assert "--force to start over" in stderr, stderr
            flags = ["--force"] if "--resume to continue" not in stderr else ["--resume"]
        elif proc.returncode == 9:
            assert "another export is writing" in stderr, stderr
        elif proc.returncode in (-signal.SIGKILL, -signal.SIGTERM):
            flags = ["--resume"]
        else:
            raise AssertionError(f"exit {proc.returncode}: {stderr}")
        return stderr

    # One or two events of chaos, then runs until one completes.
    events = [rng.choice(["kill", "kill", "race"])]
    if rng.random() < 0.5:
        events.append(rng.choice(["kill", "race", "rerun", "rerun"]))
    for action in [*events, "finish", "finish", "finish", "finish"]:
        if done and action == "finish":
            break
        if action == "kill":
            proc = start(*flags)
            _writing(proc, part)
            time.sleep(rng.uniform(0.0, 1.0))
            proc.send_signal(rng.choice([signal.SIGKILL, signal.SIGTERM]))
            tally.kills += proc.poll() is None
            finished(proc)
            if part.exists() and rng.random() < 0.5:
                size = part.stat().st_size
                with open(part, "r+b") as f:
                    f.truncate(rng.randrange(size + 1))
                tally.truncations += 1
        elif action == "race":
            first = start(*flags)
            _writing(first, part)
            time.sleep(rng.uniform(0.0, 0.8))
            second = start(*flags)
            tally.races += 1
            finished(first)
            finished(second)
        elif action == "rerun" and checkpoint.exists():
            # Without --resume over a checkpoint: refused, nothing touched.
            size = part.stat().st_size if part.exists() else None
            before = flags
            proc = start_cli(*args, env=env)
            stderr = finished(proc)
            assert proc.returncode == 7 and "add --resume to continue" in stderr, stderr
            assert (part.stat().st_size if part.exists() else None) == size
            tally.refusals += 1
            flags = before
        elif action == "finish":
            finished(start(*flags))
    assert done, f"export {n} never completed"
    assert not checkpoint.exists() and not part.exists()


def test_killed_truncated_raced_and_resumed_exports_hold_every_item_once(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    emu = Emulator(items=2_000, latency=100, rate_limit=1_000_000)
    expected = world_ids(emu, PROJECTS) | world_ids(emu, CLIENTS)
    tally = Tally()
    with serving(emu) as url:
        tokens = app_tokens(emu)
        env = emulator_env(
            emu, url, tmp_path, PODIO_APP_TOKEN=f"{tokens[PROJECTS]},{tokens[CLIENTS]}"
        )
        with ThreadPoolExecutor(AT_ONCE) as pool:
            runs = [
                pool.submit(_episode, n, tmp_path, env, expected, tally) for n in range(EXPORTS)
            ]
            for run in runs:
                run.result()
    assert len(set(tally.completed)) == EXPORTS
    # The chaos happened: kills, cut files, races, refusals and resumes that completed.
    assert tally.kills >= 10 and tally.truncations >= 3 and tally.races >= 3
    assert tally.refusals >= 1 and tally.resumed >= 1
    print(f"chaos: {tally} in {time.monotonic() - started:.1f} s")
