"""A run killed midway, then run again, leaves the mirror exact; faults and expiring tokens
during a run; Podio's long rate-limit waits are waited out."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from podiokit import Podio
from podiokit.errors import PodioError
from podiokit.export import ExportProgress
from podiokit.mirror import MirrorStore, mirror
from podiokit.testing import Emulator

from ._helpers import (
    CLIENTS,
    PROJECTS,
    app_tokens,
    assert_exact,
    change,
    make_podio,
    stored,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def emu() -> Emulator:
    return Emulator(items=1_000)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mirror.db'}"


def _state(url: str, app_id: int) -> tuple[str | None, bool] | None:
    store = MirrorStore(url)
    try:
        state = store.state(app_id)
        return None if state is None else (state.cursor, state.full_done)
    finally:
        store.close()


async def _killed_after(podio: Podio, url: str, pages: int, **options: object) -> int:
    """Run the mirror and cancel it once `pages` pages are written (as a kill would stop
    it between two transactions); returns the pages it wrote."""
    written = [0]
    with anyio.CancelScope() as scope:

        def count(progress: ExportProgress) -> None:
            written[0] += 1
            if written[0] == pages:
                scope.cancel()

        await mirror(podio, [PROJECTS], url, on_progress=count, **options)  # type: ignore[arg-type]
    assert scope.cancelled_caught, "the run ended before it was killed"
    return written[0]


async def test_killed_during_the_first_copy_then_run_again(
    emu: Emulator, podio: Podio, url: str, tmp_path: Path
) -> None:
    await _killed_after(podio, url, 3, page_size=100, concurrency=2)
    # Whole pages only, and the copy is not marked done.
    assert len(stored(url, PROJECTS)) == 300
    state = _state(url, PROJECTS)
    assert state is not None and state[1] is False
    # Meanwhile: items already copied are edited and deleted, others created.
    await change(podio, PROJECTS, update=40, delete=25, create=15)
    result = (await mirror(podio, [PROJECTS], url)).apps[PROJECTS]
    assert result.mode == "full" and result.deleted == 25
    await assert_exact(podio, url, PROJECTS, tmp_path)
    assert _state(url, PROJECTS) is not None and _state(url, PROJECTS)[1] is True  # type: ignore[index]


async def test_killed_during_an_incremental_run_then_run_again(
    emu: Emulator, podio: Podio, url: str, tmp_path: Path
) -> None:
    await mirror(podio, [PROJECTS], url)
    cursor_before = _state(url, PROJECTS)
    await change(podio, PROJECTS, update=350, delete=5)
    await _killed_after(podio, url, 1, page_size=100)
    # The first page of edits is in, the cursor has not moved: the window is read again.
    assert _state(url, PROJECTS) == cursor_before
    result = (await mirror(podio, [PROJECTS], url)).apps[PROJECTS]
    assert result.mode == "incremental" and result.updated == 250 and result.deleted == 5
    await assert_exact(podio, url, PROJECTS, tmp_path)


async def test_a_failed_call_midway_then_run_again(emu: Emulator, tmp_path: Path, url: str) -> None:
    """An injected fault with no retries left fails the run between two pages; the next run
    repairs the mirror."""
    podio, http = make_podio(emu, max_retries=0, backoff_base=0.0)
    creds = emu.credentials
    try:
        await podio.authenticate_with_credentials(creds["username"], creds["password"])
        emu.set_faults(fault_rate=0.25, fault_seed=7)
        with pytest.raises(PodioError):
            await mirror(podio, [PROJECTS], url, page_size=50, concurrency=1)
        written = len(stored(url, PROJECTS))
        assert written < 1_000
        emu.set_faults()
        await change(podio, PROJECTS, update=5, delete=5)
        result = (await mirror(podio, [PROJECTS], url)).apps[PROJECTS]
        assert result.mode == "full"
        await assert_exact(podio, url, PROJECTS, tmp_path)
    finally:
        await podio.aclose()
        await http.aclose()


async def test_faults_and_expiring_tokens_during_runs(tmp_path: Path, url: str) -> None:
    """3% faults, tokens expiring every few pages, each app with its own token: both runs
    end exact."""
    emu = Emulator(items=2_000, fault_rate=0.03, fault_seed=5, token_lifetime=20)
    podio, http = make_podio(emu, max_retries=6, backoff_base=0.0)
    pages = [0]

    def expire_now_and_then(progress: ExportProgress) -> None:
        pages[0] += 1
        if pages[0] % 4 == 0:
            emu.expire_tokens()

    tokens = app_tokens(emu)
    try:
        await mirror(
            podio, [PROJECTS, CLIENTS], url, app_tokens=tokens, page_size=200,
            on_progress=expire_now_and_then,
        )  # fmt: skip
        emu.set_faults()  # the changes themselves go through (a POST is not retried)
        await change(podio.session(f"app:{PROJECTS}"), PROJECTS, update=30, delete=3, create=4)
        emu.set_faults(fault_rate=0.03, fault_seed=6)
        await mirror(
            podio, [PROJECTS, CLIENTS], url, app_tokens=tokens, page_size=200,
            on_progress=expire_now_and_then,
        )  # fmt: skip
        stats = emu.stats()
        assert stats["faults"] and stats["token_grants"].get("refresh_token", 0) >= 1
        emu.set_faults()
        for app_id in (PROJECTS, CLIENTS):
            await assert_exact(podio.session(f"app:{app_id}"), url, app_id, tmp_path)
    finally:
        await podio.aclose()
        await http.aclose()


async def test_a_long_rate_limit_is_waited_out(
    podio: Podio, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Podio's hourly limit answers 420 "Please wait N seconds": the run waits (through the
    bulk engine's sleep, replaced here) and reports it, instead of failing."""
    from podiokit._bulk import _fetch
    from podiokit.errors import PodioRateLimitError

    await mirror(podio, [PROJECTS], url)
    waits: list[float] = []
    seen: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(_fetch, "sleep", no_sleep)
    send = podio._send
    failed = [False]

    async def limited_once(*args: object, **kwargs: object) -> object:
        if not failed[0] and "filter" in str(args[1]):
            failed[0] = True
            raise PodioRateLimitError(
                "rate_limit", method="POST", path=str(args[1]), status=420, retry_after=1800.0
            )
        return await send(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(podio, "_send", limited_once)
    result = await mirror(podio, [PROJECTS], url, on_progress=lambda p: seen.append(p.waiting))
    assert waits == [1800.0] and 1800.0 in seen
    assert result.apps[PROJECTS].calls == 2
