"""Typed models through the client: `model=` on reads (async and sync faces), models as the
fields of create and update, `Model.filter(...)`, and wrong values refused before sending."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from types import ModuleType
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from podiokit import FieldValueError, Podio, SyncPodio
from podiokit.models import Item
from podiokit.testing import Emulator
from podiokit.typed import Contact, DateRange, ItemRef, Location, ModelPage, Money

from .support import PROJECTS, TESTING_APP, sample, signed_in

pytestmark = pytest.mark.anyio

ITEMS = 40


class Recorded:
    """The JSON bodies of the item writes a client sent."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, str, Any]] = []

    async def __call__(self, request: httpx.Request) -> None:
        path = request.url.path
        if request.method in ("POST", "PUT") and path.startswith("/item/"):
            if path.endswith("/filter/"):
                return  # a read
            body = json.loads(request.content) if request.content else None
            self.writes.append((request.method, path, body))


@pytest.fixture
def emu() -> Emulator:
    return Emulator(items=ITEMS)


@pytest.fixture
def recorded() -> Recorded:
    return Recorded()


@pytest.fixture
async def podio(emu: Emulator, recorded: Recorded) -> AsyncIterator[Podio]:
    creds = emu.credentials
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emu.app),
        base_url=creds["api_url"],
        event_hooks={"request": [recorded]},
    )
    async with (
        http,
        Podio(
            creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
        ) as client,
    ):
        await client.authenticate_with_credentials(creds["username"], creds["password"])
        yield client


async def test_reads_return_the_model(podio: Podio, demo: ModuleType) -> None:
    Project = demo.Project
    items = [item async for item in podio.items.filter(PROJECTS)]
    projects = [p async for p in podio.items.filter(PROJECTS, model=Project)]
    assert len(projects) == ITEMS and all(isinstance(p, Project) for p in projects)
    assert [p.item_id for p in projects] == [i.item_id for i in items]
    assert [p.title for p in projects] == [i.title for i in items]
    page = await podio.items.filter(PROJECTS, model=Project, limit=5, offset=3)
    assert isinstance(page, ModelPage) and len(page.items) == 5
    assert (page.total, page.filtered) == (ITEMS, ITEMS)
    assert [p.item_id for p in page] == [p.item_id for p in projects[3:8]]

    first = items[0]
    project = await podio.items.get(first.item_id, model=Project)
    raw = await podio.request("GET", f"/item/{first.item_id}")
    assert project == Project.from_item(raw) and project.to_item() == raw
    assert project.client is not None and project.client.model is demo.Client
    client = await podio.items.get(project.client.item_id, model=project.client.model)
    assert isinstance(client, demo.Client) and client.title == project.client.title
    by_number = await podio.items.get_by_app_item_id(PROJECTS, first.app_item_id, model=Project)
    assert by_number == project
    plain = await podio.items.get(first.item_id)
    assert isinstance(plain, Item)  # without model=, as before


def test_the_sync_face_reads_models_too(emu: Emulator, demo: ModuleType) -> None:
    creds = emu.credentials
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
    with SyncPodio(
        creds["client_id"], creds["client_secret"], api_url=creds["api_url"], http_client=http
    ) as podio:
        podio.authenticate_with_credentials(creds["username"], creds["password"])
        page = podio.items.filter(demo.Client.app_id, model=demo.Client, limit=7)
        assert page.total == ITEMS and len(page.items) == 7
        clients = list(page)
        assert len(clients) == ITEMS and all(isinstance(c, demo.Client) for c in clients)
        one = podio.items.get(clients[0].item_id or 0, model=demo.Client)
        assert one.title == clients[0].title and one.tier is not None


async def test_a_read_item_written_back_is_the_same_item(podio: Podio, demo: ModuleType) -> None:
    """Every value of the demo apps (references included) goes back through create and
    comes back equal."""
    Project = demo.Project
    page = await podio.items.filter(PROJECTS, model=Project, limit=12)
    for project in page:
        values = {
            name: getattr(project, name)
            for name, pf in Project.podio_fields.items()
            if pf.type != "calculation"
        }
        created = await podio.items.create(Project.app_id, Project(**values))
        copy = await podio.items.get(created.item_id or 0, model=Project)
        for name in Project.podio_fields:  # the calculation too: same hours and rate
            assert getattr(copy, name) == getattr(project, name), name


async def test_create_and_update_send_only_what_is_set(
    podio: Podio, demo: ModuleType, recorded: Recorded
) -> None:
    Project = demo.Project
    clients = await podio.items.filter(demo.Client.app_id, model=demo.Client, limit=1)
    owner = (await podio.request("GET", "/user/status"))["profile"]["profile_id"]
    new = Project(
        title="Typed project",
        status=Project.Status.ACTIVE,
        budget=Money(Decimal("1500.25"), "EUR"),
        deadline=DateRange(date(2025, 1, 1), date(2025, 1, 3)),
        progress=40,
        estimate=timedelta(hours=3),
        site=Location("Aarhus, Denmark"),
        client=clients.items[0],  # an item read with its model stands for its ref
        owner=[Contact(owner)],
    )
    created = await podio.items.create(Project.app_id, new)
    method, path, body = recorded.writes[-1]
    assert (method, path) == ("POST", f"/item/app/{PROJECTS}/")
    assert body == {
        "fields": {
            "41001": "Typed project",
            "41002": [2],
            "41005": {"value": "1500.25", "currency": "EUR"},
            "41010": {"start_date": "2025-01-01", "end_date": "2025-01-03"},
            "41009": 40,
            "41011": 10800,
            "41015": "Aarhus, Denmark",
            "41003": [clients.items[0].item_id],
            "41004": [owner],
        }
    }
    read = await podio.items.get(created.item_id or 0, model=Project)
    assert (read.title, read.status, read.budget, read.progress) == (
        "Typed project", Project.Status.ACTIVE, Money(Decimal("1500.2500"), "EUR"), 40,
    )  # fmt: skip
    assert read.deadline == DateRange(date(2025, 1, 1), date(2025, 1, 3))
    assert read.client == ItemRef(clients.items[0].item_id or 0)
    assert [c.profile_id for c in read.owner] == [owner]

    read.status = Project.Status.DONE  # only this is sent
    await podio.items.update(read.item_id or 0, read)
    assert recorded.writes[-1][1:] == (f"/item/{read.item_id}", {"fields": {"41002": [4]}})
    await podio.items.update(read.item_id or 0, Project.changes(progress=80, notes=None))
    assert recorded.writes[-1][2] == {"fields": {"41009": 80, "41012": []}}
    again = await podio.items.get(read.item_id or 0, model=Project)
    assert (again.status, again.progress, again.title) == (Project.Status.DONE, 80, read.title)


async def test_wrong_values_are_refused_before_anything_is_sent(
    podio: Podio, demo: ModuleType, recorded: Recorded
) -> None:
    Project = demo.Project
    with pytest.raises(ValidationError, match="title"):
        Project(title=5)
    with pytest.raises(ValidationError, match="status"):
        Project(title="x", status=99)  # not an option of the app
    with pytest.raises(ValidationError, match="status"):
        Project(title="x", status=demo.Client.Tier.GOLD)  # another field's option
    project = Project(title="x")
    with pytest.raises(ValidationError, match="budget"):
        project.budget = "cheap"  # type: ignore[assignment]
    with pytest.raises(ValidationError, match="client"):
        Project(title="x", client="acme")
    refused = [
        (Project(title="x", budget=Money(Decimal(1), "GBP")), "budget.*EUR, USD, DKK"),
        (
            Project(title="x", deadline=DateRange(datetime(2025, 1, 1, 9, tzinfo=timezone.utc))),
            "deadline.*dates, not datetimes",
        ),
        (Project(title="x", cost=Decimal(3)), "cost.*read-only"),
    ]
    for model, message in refused:
        with pytest.raises(FieldValueError, match=message):
            await podio.items.create(Project.app_id, model)
    assert recorded.writes == []


async def test_filters_by_field_id(podio: Podio, demo: ModuleType) -> None:
    Project, Client = demo.Project, demo.Client
    filters = Project.filter(status=[Project.Status.ACTIVE], budget=(1000, None))
    assert filters == {"41002": [2], "41005": {"from": 1000}}
    assert Project.filter(status=Project.Status.DONE, deadline=(date(2024, 2, 1), None)) == {
        "41002": [4],
        "41010": {"from": "2024-02-01"},
    }
    assert Client.filter(industry=[Client.Industry.RETAIL, Client.Industry.HEALTH]) == {
        "40008": [1, 3]
    }
    statuses = (s for s in Project.Status if s.text.startswith(("A", "P")))  # any iterable
    assert Project.filter(status=statuses) == {"41002": [1, 2]}
    assert Project.filter(client=[7, ItemRef(8)], estimate=(None, timedelta(hours=2))) == {
        "41003": [7, 8],
        "41011": {"to": 7200},
    }
    every = [p async for p in podio.items.filter(PROJECTS, model=Project)]
    wanted = [
        p.item_id
        for p in every
        if p.status is Project.Status.ACTIVE and p.budget and p.budget.value >= 1000
    ]
    found = [p async for p in podio.items.filter(PROJECTS, filters=filters, model=Project)]
    assert sorted(p.item_id or 0 for p in found) == sorted(wanted) and wanted
    with pytest.raises(FieldValueError, match="cannot filter image fields"):
        Project.filter_body(cover=[1])
    with pytest.raises(TypeError, match="no field 'nope'"):
        Project.filter_body(nope=1)


async def test_the_emulator_serves_a_real_app_loaded_from_json(samples: ModuleType) -> None:
    """The real app of samples/apps__get_app__2 in the emulator, and its real item written
    and read back through its generated class."""
    emu = Emulator(seed="empty", apps=[sample("apps__get_app__2.json")])
    Thing = next(c for c in vars(samples).values() if getattr(c, "app_id", None) == TESTING_APP)
    item = Thing.from_item(sample("items__get_item_basic__1.json"))
    # What exists only in the real Podio (contacts, files, embeds, items) stays out.
    own = {
        name: getattr(item, name)
        for name, pf in Thing.podio_fields.items()
        if pf.type not in ("calculation", "contact", "image", "embed", "app")
        and getattr(item, name) not in (None, [])
    }
    async with signed_in(emu) as podio:
        assert (await podio.request("GET", f"/app/{TESTING_APP}"))["current_revision"] == 4
        created = await podio.items.create(TESTING_APP, Thing.changes(**own))
        copy = await podio.items.get(created.item_id or 0, model=Thing)
    assert sorted(own) == ["category", "date", "duration", "google_maps", "money", "number",
                           "progress_slider", "question", "title"]  # fmt: skip
    for name, value in own.items():
        if isinstance(value, Location):  # Podio fills in the formatted address itself
            assert copy.google_maps.value == value.value
        else:
            assert getattr(copy, name) == value, name
