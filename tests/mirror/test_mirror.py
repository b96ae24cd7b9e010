"""The mirror run against the in-process emulator: first copy, incremental runs and their
call budget, deletions, fields, sessions, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from podiokit import Podio
from podiokit.mirror import MirrorError, MirrorStore, mirror
from podiokit.testing import Emulator
from podiokit.testing._state import Field

from ._helpers import (
    CLIENTS,
    COUNT,
    FILTER,
    GET_APP,
    PROJECTS,
    app_tokens,
    assert_exact,
    calls_since,
    change,
    make_podio,
    routes,
    stored,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def emu() -> Emulator:
    return Emulator(items=1_200)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mirror.db'}"


async def test_update_create_delete_then_the_mirror_equals_a_fresh_export(
    emu: Emulator, podio: Podio, db_url: str, tmp_path: Path
) -> None:
    """The issue's end-to-end case (scaled down), on SQLite and on PostgreSQL."""
    before = routes(emu)
    first = (await mirror(podio, [PROJECTS], db_url)).apps[PROJECTS]
    # GET /app, the latest edit, the exporter's probe, its pages (3 ranges + the sweep),
    # and the two calls checking that ranges are honoured.
    assert calls_since(emu, before) == {GET_APP: 1, FILTER: 6 + 2}
    assert first.calls == 7 + 2
    assert (first.mode, first.created, first.updated, first.deleted) == ("full", 1_200, 0, 0)
    await assert_exact(podio, db_url, PROJECTS, tmp_path)

    await change(podio, PROJECTS, update=50, create=30, delete=10)
    before = routes(emu)
    second = (await mirror(podio, [PROJECTS], db_url)).apps[PROJECTS]
    made = calls_since(emu, before)
    assert second.calls == sum(made.values())  # counted exactly
    assert (second.mode, second.created, second.updated, second.deleted) == (
        "incremental", 30, 50, 10,
    )  # fmt: skip
    assert second.items == 1_220 == second.created + second.updated + second.unchanged
    # Count + one page of edits; counts disagree (deletions): the ids listed light (micro
    # items by offset pages, overlapping by a few: 3 pages for 1,220 items). No GET /app.
    assert second.listed and set(made) == {COUNT, FILTER} and made[COUNT] == 1
    assert made[FILTER] == 1 + 3
    await assert_exact(podio, db_url, PROJECTS, tmp_path)

    before = routes(emu)
    third = (await mirror(podio, [PROJECTS], db_url)).apps[PROJECTS]
    assert calls_since(emu, before) == {COUNT: 1, FILTER: 1}
    assert (third.calls, third.created, third.updated, third.deleted) == (2, 0, 0, 0)
    assert not third.listed


async def test_edits_only_cost_the_count_and_one_call_per_500_edits(
    emu: Emulator, podio: Podio, sqlite_url: str, tmp_path: Path
) -> None:
    await mirror(podio, [PROJECTS], sqlite_url)
    await change(podio, PROJECTS, update=700)
    before = routes(emu)
    result = (await mirror(podio, [PROJECTS], sqlite_url)).apps[PROJECTS]
    # 700 edits: two pages of 500 (the second reaches older edits and stops), and the count.
    assert calls_since(emu, before) == {COUNT: 1, FILTER: 2}
    assert (result.calls, result.updated, result.created, result.listed) == (3, 700, 0, False)
    await assert_exact(podio, sqlite_url, PROJECTS, tmp_path)


async def test_creations_alone_are_read_by_their_edit_time_and_need_no_listing(
    emu: Emulator, podio: Podio, sqlite_url: str, tmp_path: Path
) -> None:
    await mirror(podio, [PROJECTS], sqlite_url)
    await change(podio, PROJECTS, create=12)
    before = routes(emu)
    result = (await mirror(podio, [PROJECTS], sqlite_url)).apps[PROJECTS]
    assert calls_since(emu, before) == {COUNT: 1, FILTER: 1}
    assert (result.created, result.listed) == (12, False)
    await assert_exact(podio, sqlite_url, PROJECTS, tmp_path)


async def test_an_edit_made_while_a_run_reads_comes_with_the_next_run(
    emu: Emulator, podio: Podio, sqlite_url: str, tmp_path: Path
) -> None:
    """The cursor is the latest edit before the run read anything: an item edited after its
    page was read (even one older than later edits the run saw) is read next time."""
    first_ids = [i for i in emu._core.world.apps[PROJECTS].item_ids[:3]]
    edited: list[int] = []

    def edit_during_the_copy(progress: object) -> None:
        if not edited:
            # The first page is written: edit an item it held.
            world = emu._core.world
            item = world.items[first_ids[0]]
            from podiokit.testing._items import update_item

            update_item(world, item, {"fields": {"title": "during"}}, item.created_by)
            edited.append(item.item_id)

    await mirror(podio, [PROJECTS], sqlite_url, concurrency=1, on_progress=edit_during_the_copy)
    assert edited
    assert b"during" not in stored(sqlite_url, PROJECTS)[edited[0]]
    result = (await mirror(podio, [PROJECTS], sqlite_url)).apps[PROJECTS]
    assert result.updated == 1
    await assert_exact(podio, sqlite_url, PROJECTS, tmp_path)


async def test_each_app_with_its_own_app_token_and_both_exact(
    emu: Emulator, sqlite_url: str, tmp_path: Path
) -> None:
    podio, http = make_podio(emu)
    try:
        result = await mirror(podio, [PROJECTS, CLIENTS], sqlite_url, app_tokens=app_tokens(emu))
        assert set(result.apps) == {PROJECTS, CLIENTS}
        assert emu.stats()["token_grants"] == {"app": 2}
        await change(podio.session(f"app:{CLIENTS}"), CLIENTS, update=3, delete=2)
        before = routes(emu)
        again = await mirror(podio, [PROJECTS, CLIENTS], sqlite_url, app_tokens=app_tokens(emu))
        assert again.apps[PROJECTS].calls == 2
        assert again.apps[CLIENTS].deleted == 2 and again.apps[CLIENTS].updated == 3
        assert again.calls == sum(calls_since(emu, before).values())
        for app_id in (PROJECTS, CLIENTS):
            await assert_exact(podio.session(f"app:{app_id}"), sqlite_url, app_id, tmp_path)
    finally:
        await podio.aclose()
        await http.aclose()


async def test_a_new_field_on_an_item_rebuilds_the_typed_table_once(
    emu: Emulator, podio: Podio, sqlite_url: str
) -> None:
    await mirror(podio, [PROJECTS], sqlite_url)
    # The app gains a text field (set up in the emulator's state: it has no route to add
    # fields), and an item gets a value in it through the API.
    app = emu._core.world.apps[PROJECTS]
    field_id = max(f.field_id for f in app.fields) + 1
    new = Field(field_id, "notes", "text", "Notes", {"format": "plain", "size": "small"}, 99)
    app.fields.append(new)
    app.by_key[str(field_id)] = app.by_key["notes"] = new
    item_id = app.item_ids[0]
    await podio.request("PUT", f"/item/{item_id}", json={"fields": {"notes": "hello"}})
    before = routes(emu)
    result = (await mirror(podio, [PROJECTS], sqlite_url)).apps[PROJECTS]
    assert result.fields_checked and calls_since(emu, before) == {COUNT: 1, FILTER: 1, GET_APP: 1}
    store = MirrorStore(sqlite_url)
    try:
        assert field_id in store.field_ids(PROJECTS)
    finally:
        store.close()
    # Known now: the next run does not ask again.
    before = routes(emu)
    assert (await mirror(podio, [PROJECTS], sqlite_url)).apps[PROJECTS].calls == 2
    assert GET_APP not in calls_since(emu, before)


async def test_refresh_fields_asks_for_the_app(
    emu: Emulator, podio: Podio, sqlite_url: str
) -> None:
    await mirror(podio, [PROJECTS], sqlite_url)
    before = routes(emu)
    result = (await mirror(podio, [PROJECTS], sqlite_url, refresh_fields=True)).apps[PROJECTS]
    assert calls_since(emu, before) == {GET_APP: 1, COUNT: 1, FILTER: 1}
    assert result.fields_checked and result.calls == 3


async def test_an_emptied_app_is_emptied_in_the_mirror(
    emu: Emulator, podio: Podio, sqlite_url: str
) -> None:
    await mirror(podio, [CLIENTS], sqlite_url)
    world = emu._core.world
    from podiokit.testing._items import delete_item

    for item_id in list(world.apps[CLIENTS].item_ids):
        delete_item(world, world.items[item_id])
    result = (await mirror(podio, [CLIENTS], sqlite_url)).apps[CLIENTS]
    assert result.deleted == 1_200 and stored(sqlite_url, CLIENTS) == {}
    assert (await mirror(podio, [CLIENTS], sqlite_url)).apps[CLIENTS].calls == 2


async def test_bad_arguments_are_named(podio: Podio, sqlite_url: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        await mirror(podio, [], sqlite_url)
    with pytest.raises(ValueError, match="duplicates"):
        await mirror(podio, [PROJECTS, PROJECTS], sqlite_url)
    with pytest.raises(ValueError, match="concurrency"):
        await mirror(podio, [PROJECTS], sqlite_url, concurrency=0)
    with pytest.raises(MirrorError, match="unsupported database URL scheme 'mysql'") as caught:
        await mirror(podio, [PROJECTS], "mysql://u:secret@host/db")
    assert "secret" not in str(caught.value)


async def test_a_busy_day_still_costs_two_calls_when_nothing_changed(
    emu: Emulator, podio: Podio, sqlite_url: str
) -> None:
    """The filter is by day, so its window can hold many items: the run reads newest edit
    first and stops at the first page that reaches edits older than the cursor."""
    import time

    from podiokit.testing._items import create_item

    world = emu._core.world
    app = world.apps[PROJECTS]
    by = world.users[world.demo_user_id].byline()
    start = time.time() - 3_000
    for n in range(1_300):  # edited today, one a second
        create_item(world, app, {"fields": {"title": f"busy {n}"}}, by, now=start + n)
    await mirror(podio, [PROJECTS], sqlite_url)
    before = routes(emu)
    result = (await mirror(podio, [PROJECTS], sqlite_url)).apps[PROJECTS]
    assert calls_since(emu, before) == {COUNT: 1, FILTER: 1}
    assert result.calls == 2
    # 500 items read again (one page) and skipped; every item the mirror holds is unchanged.
    assert (result.read, result.unchanged, result.items) == (500, 2_500, 2_500)


async def test_deletions_while_the_edits_are_paged_skip_no_edit(
    emu: Emulator, podio: Podio, sqlite_url: str, tmp_path: Path
) -> None:
    """Offsets move up when items of the window are deleted between two pages: the run
    reads again from where they moved (the window's `filtered` tells by how much)."""
    from podiokit.testing._items import delete_item

    await mirror(podio, [PROJECTS], sqlite_url)
    await change(podio, PROJECTS, update=300)
    world = emu._core.world
    newest_first = sorted(
        (world.items[i] for i in world.apps[PROJECTS].item_ids),
        key=lambda item: item.last_edit_ts,
        reverse=True,
    )
    gone = [item.item_id for item in newest_first[:20]]  # all on the first page
    pages = [0]

    def delete_after_the_first_page(progress: object) -> None:
        pages[0] += 1
        if pages[0] == 1:
            for item_id in gone:
                delete_item(world, world.items[item_id])

    result = await mirror(
        podio, [PROJECTS], sqlite_url, page_size=100, on_progress=delete_after_the_first_page
    )
    assert result.apps[PROJECTS].updated == 300
    # The deleted items were read before they went; the next run finds them gone.
    again = (await mirror(podio, [PROJECTS], sqlite_url)).apps[PROJECTS]
    assert (again.deleted, again.updated) == (20, 0)
    await assert_exact(podio, sqlite_url, PROJECTS, tmp_path)
