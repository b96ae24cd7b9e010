"""The mirror against a Podio that does not honour `app_item_id` ranges or the micro view
(the emulator's quirks): the full copy by the strategy the check picks, deletions found
from a light listing, each item once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from podiokit import Podio
from podiokit._bulk import RangeFilterError
from podiokit.cli import mirror as mirror_cli
from podiokit.mirror import MirrorStore, mirror
from podiokit.testing import Emulator

from ._helpers import FILTER, PROJECTS, assert_exact, calls_since, change, routes

pytestmark = pytest.mark.anyio

MICRO = "items.view(micro)"


@pytest.fixture
def emu() -> Emulator:
    return Emulator(items=1_200)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mirror.db'}"


@pytest.fixture
async def sent(emu: Emulator) -> AsyncIterator[tuple[Podio, list[httpx.Request]]]:
    """A signed-in client whose every request is kept (to look at its query)."""
    requests: list[httpx.Request] = []

    async def keep(request: httpx.Request) -> None:
        requests.append(request)

    creds = emu.credentials
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emu.app),
        base_url=creds["api_url"],
        event_hooks={"request": [keep]},
    )
    podio = Podio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    )
    await podio.authenticate_with_credentials(creds["username"], creds["password"])
    try:
        yield podio, requests
    finally:
        await podio.aclose()
        await http.aclose()


def micro_listings(requests: list[httpx.Request]) -> list[httpx.Request]:
    return [r for r in requests if r.url.params.get("fields") == MICRO]


@pytest.mark.parametrize(
    ("range_filter", "strategy"),
    [("honoured", "ranges"), ("ignored", "offset"), ("ignore_to", "offset")],
)
@pytest.mark.parametrize("micro_view", ["honoured", "ignored"])
async def test_each_quirk_the_mirror_holds_every_item_once(
    emu: Emulator,
    sent: tuple[Podio, list[httpx.Request]],
    sqlite_url: str,
    tmp_path: Path,
    range_filter: str,
    strategy: str,
    micro_view: str,
) -> None:
    podio, requests = sent
    emu.set_quirks(range_filter=range_filter, micro_view=micro_view)
    first = await mirror(podio, [PROJECTS], sqlite_url, page_size=200)
    app = first.apps[PROJECTS]
    assert (app.mode, app.created, app.strategy, first.strategy) == (
        "full", 1_200, strategy, strategy,
    )  # fmt: skip
    await assert_exact(podio, sqlite_url, PROJECTS, tmp_path)
    line = mirror_cli.summary(first, sqlite_url).splitlines()[-1]
    assert line.startswith(f"  strategy: {strategy} (")

    await change(podio, PROJECTS, update=20, create=15, delete=30)
    requests.clear()
    before = routes(emu)
    second = (await mirror(podio, [PROJECTS], sqlite_url, page_size=200)).apps[PROJECTS]
    # Deletions make the counts disagree: the ids are listed light, micro items asked for
    # (whether Podio honours it or not), and only what is gone is deleted.
    assert second.listed and second.strategy is None
    assert (second.created, second.updated, second.deleted) == (15, 20, 30)
    listings = micro_listings(requests)
    assert len(listings) == 7  # 1,185 items by pages of 200
    assert calls_since(emu, before)[FILTER] == 1 + 7  # the edits' page, the listing
    await assert_exact(podio, sqlite_url, PROJECTS, tmp_path)


async def test_a_micro_listing_is_micro_when_honoured(
    emu: Emulator, sent: tuple[Podio, list[httpx.Request]], sqlite_url: str
) -> None:
    podio, requests = sent
    await mirror(podio, [PROJECTS], sqlite_url)
    await change(podio, PROJECTS, delete=1)
    sizes: list[int] = []
    original = podio._send

    async def measured(*args: object, **kw: object) -> httpx.Response:
        response = await original(*args, **kw)  # type: ignore[arg-type]
        if kw.get("params") == {"fields": MICRO}:
            sizes.append(len(response.content))
        return response

    podio._send = measured  # type: ignore[method-assign]
    requests.clear()
    await mirror(podio, [PROJECTS], sqlite_url)
    # The listing asked for micro items (the query Podio sees), and got them.
    assert micro_listings(requests) and all(r.method == "POST" for r in micro_listings(requests))
    honoured = sum(sizes)
    sizes.clear()
    await change(podio, PROJECTS, delete=1)
    emu.set_quirks(micro_view="ignored")
    result = (await mirror(podio, [PROJECTS], sqlite_url)).apps[PROJECTS]
    assert result.deleted == 1
    # Micro items are a small part of full ones (the same listing, one item fewer).
    assert honoured * 5 < sum(sizes)


async def test_a_listing_showing_a_missed_item_copies_every_item(
    emu: Emulator, podio: Podio, sqlite_url: str, tmp_path: Path
) -> None:
    await mirror(podio, [PROJECTS], sqlite_url)
    store = MirrorStore(sqlite_url)
    try:
        # The mirror loses an item (say a restore from an old backup): the counts
        # disagree, the listing shows an item the mirror lacks, and every item is copied.
        some = sorted(store.item_ids(PROJECTS))[5]
        store.delete_items(PROJECTS, [some])
    finally:
        store.close()
    result = (await mirror(podio, [PROJECTS], sqlite_url)).apps[PROJECTS]
    assert result.listed and result.created == 1 and result.strategy == "ranges"
    await assert_exact(podio, sqlite_url, PROJECTS, tmp_path)


async def test_offset_and_ranges_asked_for(
    emu: Emulator, podio: Podio, sqlite_url: str, tmp_path: Path
) -> None:
    result = await mirror(podio, [PROJECTS], sqlite_url, strategy="offset")
    assert result.apps[PROJECTS].strategy == "offset"
    await assert_exact(podio, sqlite_url, PROJECTS, tmp_path)
    emu.set_quirks(range_filter="ignored")
    with pytest.raises(RangeFilterError):
        await mirror(podio, [PROJECTS], f"sqlite:///{tmp_path / 'b.db'}", strategy="ranges")
    with pytest.raises(ValueError, match="strategy must be one of auto, ranges, offset"):
        await mirror(podio, [PROJECTS], sqlite_url, strategy="both")


def test_the_command_says_the_strategy_and_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import anyio.from_thread

    from podiokit.cli import main

    emu = Emulator(items=300, quirks={"range_filter": "ignore_to"})
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(emu.serve()) as url,
    ):
        creds = emu.credentials
        for name in ("PODIO_APP_TOKEN", "PODIO_USERNAME", "PODIO_PASSWORD"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("PODIO_CLIENT_ID", creds["client_id"])
        monkeypatch.setenv("PODIO_CLIENT_SECRET", creds["client_secret"])
        monkeypatch.setenv("PODIO_API_URL", url)
        monkeypatch.setenv("PODIO_USERNAME", creds["username"])
        monkeypatch.setenv("PODIO_PASSWORD", creds["password"])
        db = f"sqlite:///{tmp_path / 'm.db'}"
        assert main(["mirror", str(PROJECTS), "--db", db]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[1].endswith(", by offset")
        assert out[-1] == (
            "  strategy: offset (offset pages sorted by app_item_id, checked against the item count)"
        )
        emu.set_quirks(range_filter="ignored")
        db2 = f"sqlite:///{tmp_path / 'n.db'}"
        assert main(["mirror", str(PROJECTS), "--db", db2, "--strategy", "ranges"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("podiokit mirror: Podio does not honour app_item_id ranges: ")
        assert err[-1].endswith("run with --strategy auto (the default) or --strategy offset")
        assert main(["mirror", str(PROJECTS), "--db", db2, "--strategy", "fast"]) == 2


@pytest.mark.parametrize("quirk", ["ignored", "ignore_to"])
async def test_the_deletion_search_on_a_session_that_never_checked_ranges(
    emu: Emulator, podio: Podio, sqlite_url: str, tmp_path: Path, quirk: str
) -> None:
    """A new session (no check made: an incremental run reads no full copy) meets a Podio
    that ignores ranges in the deletion search's window listings: a page outside its window
    sends the run to the light listing, trimmed pages stay exact; the right items go."""
    from ._helpers import make_podio

    await mirror(podio, [PROJECTS], sqlite_url)
    world = emu._core.world
    ordered = sorted(world.apps[PROJECTS].item_ids, key=lambda i: world.items[i].app_item_id)
    for item_id in (ordered[700], ordered[1_000]):  # a few deletions, far from item 1
        await podio.request("DELETE", f"/item/{item_id}")
    emu.set_quirks(range_filter=quirk)
    fresh, http = make_podio(emu)
    try:
        creds = emu.credentials
        await fresh.authenticate_with_credentials(creds["username"], creds["password"])
        result = (await mirror(fresh, [PROJECTS], sqlite_url)).apps[PROJECTS]
        assert (result.deleted, result.created, result.updated) == (2, 0, 0)
        assert result.strategy is None  # no full copy
        await assert_exact(fresh, sqlite_url, PROJECTS, tmp_path)
    finally:
        await fresh.aclose()
        await http.aclose()
