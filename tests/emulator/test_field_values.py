"""Field values end to end: every write form through `items.create` and back through
`items.get` (issue 8), and the emulator refusing what breaks a field's type or settings with
Podio's 400 `invalid_value` envelope (issue 16, point 1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from podiokit import Podio, PodioBadRequestError
from podiokit.fields import DateRange, Duration, Email, Embed, Location, Money, Phone, Progress, Ref
from podiokit.testing import Emulator

from .conftest import CLIENTS, PROJECTS

pytestmark = pytest.mark.anyio

# Seeded by the demo world: the Clients app's logos and website embeds (see _seed.py).
FILE_ID = 700_002
EMBED_ID = 800_001


def timed_deadline(emu: Emulator) -> None:
    """Turn the Projects deadline's time on, as an app admin could: the seed has it off."""
    app = emu._core.world.apps[PROJECTS]
    field = next(f for f in app.fields if f.external_id == "deadline")
    field.settings = {**(field.settings or {}), "time": "enabled"}


@pytest.fixture
async def podio(emu: Emulator) -> AsyncIterator[Podio]:
    creds = emu.credentials
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
    client = Podio(creds["client_id"], creds["client_secret"], api_url=creds["api_url"],
                   http_client=http)  # fmt: skip
    async with http, client:
        await client.authenticate_with_credentials(creds["username"], creds["password"])
        yield client


async def round_trip(podio: Podio, app_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Create through the SDK; the raw values of the item `items.get` reads, by external_id."""
    created = await podio.items.create(app_id, fields=fields)
    item = await podio.items.get(created.item_id)  # the typed read must parse what was stored
    assert {f.external_id for f in item.fields or ()} >= set(fields)
    raw = await podio.request("GET", f"/item/{created.item_id}")
    return {f["external_id"]: f["values"] for f in raw["fields"]}


# --------------------------------------------------------------------------- issue 8
async def test_money_form(podio: Podio) -> None:
    got = await round_trip(
        podio, PROJECTS, {"title": "m", "budget": {"value": "10", "currency": "EUR"}}
    )
    assert got["budget"] == [{"currency": "EUR", "value": "10.0000"}]
    got = await round_trip(podio, PROJECTS, {"title": "m", "budget": Money(Decimal("9.5"), "DKK")})
    assert got["budget"] == [{"currency": "DKK", "value": "9.5000"}]


async def test_money_and_numbers_keep_every_digit(podio: Podio) -> None:
    """Issue 25, point 8: amounts beyond a float's 16 digits come back as written (a float
    turned 12345678901234.5678 into 12345678901234.5684), and so does a calculation."""
    exact = "12345678901234.5678"
    got = await round_trip(
        podio, PROJECTS,
        {"title": "m", "budget": Money(Decimal(exact), "EUR"), "hours": "0.1", "rate": exact},
    )  # fmt: skip
    assert got["budget"] == [{"currency": "EUR", "value": exact}]
    assert got["rate"] == [{"value": exact}]
    # cost = hours * rate, rounded to Podio's four decimals.
    assert got["cost"] == [{"value": "1234567890123.4568"}]


async def test_date_forms_without_time(podio: Podio) -> None:
    got = await round_trip(
        podio, PROJECTS,
        {"title": "d", "deadline": {"start_date": "2025-01-02", "end_date": "2025-01-05"}},
    )  # fmt: skip
    assert got["deadline"] == [{
        "start": "2025-01-02 00:00:00", "start_date": "2025-01-02", "start_time": None,
        "start_utc": "2025-01-02", "start_date_utc": "2025-01-02", "start_time_utc": None,
        "end": "2025-01-05 00:00:00", "end_date": "2025-01-05", "end_time": None,
        "end_utc": "2025-01-05", "end_date_utc": "2025-01-05", "end_time_utc": None,
    }]  # fmt: skip
    for value in ({"start_utc": "2025-01-02"}, {"start": "2025-01-02"}, date(2025, 1, 2),
                  DateRange(date(2025, 1, 2))):  # fmt: skip
        got = await round_trip(podio, PROJECTS, {"title": "d", "deadline": value})
        assert (got["deadline"][0]["start_date"], got["deadline"][0]["start_time"]) == (
            "2025-01-02",
            None,
        ), value


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"start_date": "2025-03-04", "start_time": "10:30:00",
                      "end_date": "2025-03-04", "end_time": "12:00:00"}, id="date+time"),
        pytest.param({"start_utc": "2025-03-04 10:30:00", "end_utc": "2025-03-04 12:00:00"},
                     id="utc"),
        pytest.param({"start": "2025-03-04 10:30:00", "end": "2025-03-04 12:00:00"}, id="local"),
        pytest.param(DateRange(datetime(2025, 3, 4, 10, 30, tzinfo=timezone.utc),
                               datetime(2025, 3, 4, 12, tzinfo=timezone.utc)), id="DateRange"),
    ],
)  # fmt: skip
async def test_date_forms_with_time(podio: Podio, emu: Emulator, value: Any) -> None:
    timed_deadline(emu)
    got = (await round_trip(podio, PROJECTS, {"title": "t", "deadline": value}))["deadline"][0]
    # The demo user's timezone is UTC, so local and UTC keys agree.
    assert (got["start_utc"], got["start_time"], got["end_utc"], got["end_time"]) == (
        "2025-03-04 10:30:00", "10:30:00", "2025-03-04 12:00:00", "12:00:00",
    )  # fmt: skip


async def test_phone_and_email_forms(podio: Podio) -> None:
    got = await round_trip(podio, CLIENTS, {
        "title": "c",
        "phone": [{"type": "mobile", "value": "+4512345678"},
                  {"type": "home", "value": "+4587654321"}],
        "email": {"type": "home", "value": "a@b.test"},
    })  # fmt: skip
    assert got["phone"] == [{"type": "mobile", "value": "+4512345678"},
                            {"type": "home", "value": "+4587654321"}]  # fmt: skip
    assert got["email"] == [{"type": "home", "value": "a@b.test"}]
    got = await round_trip(podio, CLIENTS, {"title": "c", "phone": Phone("+451", "work"),
                                            "email": Email("x@y.test", "other")})  # fmt: skip
    assert got["phone"] == [{"type": "work", "value": "+451"}]
    assert got["email"] == [{"type": "other", "value": "x@y.test"}]


async def test_embed_forms(podio: Podio) -> None:
    got = await round_trip(podio, CLIENTS, {
        "title": "e",
        "website": [{"embed": EMBED_ID, "file": FILE_ID}, {"url": "https://podio.com/x"}],
    })  # fmt: skip
    first, second = got["website"]
    assert first["embed"]["embed_id"] == EMBED_ID and first["file"]["file_id"] == FILE_ID
    assert second["embed"]["original_url"] == "https://podio.com/x" and second["file"] is None
    # An embed created by {"url"} exists from then on: its id can be written like any other.
    again = await round_trip(
        podio, CLIENTS, {"title": "e", "website": Embed(second["embed"]["embed_id"])}
    )
    assert again["website"] == [{"embed": second["embed"], "file": None}]


async def test_location_forms(podio: Podio) -> None:
    got = await round_trip(podio, CLIENTS, {"title": "l", "address": {
        "value": "Karl Johans gate 22, Oslo", "lat": 59.91, "lng": 10.75, "city": "Oslo",
        "country": "Norway"}})  # fmt: skip
    assert got["address"] == [{
        "value": "Karl Johans gate 22, Oslo", "formatted": "Karl Johans gate 22, Oslo",
        "street_address": None, "city": "Oslo", "state": None, "postal_code": None,
        "country": "Norway", "lat": 59.91, "lng": 10.75, "map_in_sync": True,
    }]  # fmt: skip
    got = await round_trip(podio, CLIENTS, {"title": "l", "address": Location("Aarhus")})
    assert (got["address"][0]["value"], got["address"][0]["map_in_sync"]) == ("Aarhus", False)


async def test_reference_and_category_forms(podio: Podio) -> None:
    client_id = (await podio.request("GET", f"/item/app/{CLIENTS}/", params={"limit": 1}))["items"][
        0
    ]["item_id"]
    for form in ({"value": client_id}, client_id, [client_id], Ref(client_id)):
        got = await round_trip(
            podio, PROJECTS, {"title": "r", "client": form, "status": {"value": 2}}
        )
        assert got["client"][0]["value"]["item_id"] == client_id, form
        assert got["status"][0]["value"]["text"] == "Active"
    got = await round_trip(podio, CLIENTS, {
        "title": "r", "industry": [{"value": 1}, {"value": 3}], "tier": 2, "logo": [FILE_ID],
        "account-manager": {"value": 2001},
    })  # fmt: skip
    assert [v["value"]["text"] for v in got["industry"]] == ["Retail", "Health"]
    assert got["tier"][0]["value"]["text"] == "Silver"
    assert got["logo"][0]["value"]["file_id"] == FILE_ID
    assert got["account-manager"][0]["value"]["profile_id"] == 2001


async def test_numbers_progress_and_duration(podio: Podio) -> None:
    got = await round_trip(podio, PROJECTS, {
        "title": "n", "hours": {"value": "12.5"}, "rate": 80, "progress": Progress(75),
        "estimate": Duration(5400),
    })  # fmt: skip
    assert (got["hours"], got["rate"]) == ([{"value": "12.5000"}], [{"value": "80.0000"}])
    assert (got["progress"], got["estimate"]) == ([{"value": 75}], [{"value": 5400}])


# --------------------------------------------------------------------------- issue 16.1
def refused(description: str) -> dict[str, Any]:
    return {"error": "invalid_value", "error_description": description}


NOT_THERE = "which does not exist"
TIME_OFF = "field deadline takes no time (its time setting is disabled)"
PHONE_TYPES = 'field phone takes a type from ["mobile", "work", "home"]'  # its possible_types
# (id, app, fields, Podio's error_description); CLIENT, CLIENT2, PROJECT stand for item ids.
CASES: list[tuple[str, int, dict[str, Any], str]] = [
    ("category-multiple-false", PROJECTS, {"status": [1, 2]},
     "Invalid value [1, 2] (array): field status takes one value"),
    ("app-two-refs", PROJECTS, {"client": ["CLIENT", "CLIENT2"]},
     "Invalid value [CLIENT, CLIENT2] (array): field client takes one value"),
    ("app-outside-referenced-apps", PROJECTS, {"client": "PROJECT"},
     "Invalid value PROJECT (integer): field client references items of apps [3001] only"),
    ("text-two-values", PROJECTS, {"title": ["a", "b"]},
     'Invalid value ["a", "b"] (array): field title takes one value'),
    ("phone-bogus-type", CLIENTS, {"phone": {"type": "bogus", "value": "+451"}},
     f'Invalid value {{"type": "bogus", "value": "+451"}} (object): {PHONE_TYPES}'),
    ("phone-type-outside-possible-types", CLIENTS, {"phone": {"type": "main", "value": "+451"}},
     f'Invalid value {{"type": "main", "value": "+451"}} (object): {PHONE_TYPES}'),
    ("email-phone-type", CLIENTS, {"email": {"type": "mobile", "value": "a@b.test"}},
     'Invalid value {"type": "mobile", "value": "a@b.test"} (object): '
     'field email takes a type from ["work", "home", "other"]'),
    ("email-not-an-address", CLIENTS, {"email": {"type": "work", "value": "not an email"}},
     'Invalid value {"type": "work", "value": "not an email"} (object): '
     "field email takes an email address"),
    ("number-nan", PROJECTS, {"hours": "NaN"},
     'Invalid value "NaN" (string): field hours takes a finite number'),
    ("number-true", PROJECTS, {"hours": True},
     "Invalid value true (boolean): field hours takes a number"),
    ("text-true", PROJECTS, {"title": True},
     "Invalid value true (boolean): field title takes a string"),
    ("progress-fraction", PROJECTS, {"progress": 50.9},
     "Invalid value 50.9 (float): field progress takes progress as a whole number"),
    ("progress-over-100", PROJECTS, {"progress": 101},
     "Invalid value 101 (integer): field progress takes progress from 0 to 100"),
    ("duration-negative", PROJECTS, {"estimate": -5},
     "Invalid value -5 (integer): field estimate takes a duration that is not negative"),
    ("time-disabled", PROJECTS, {"deadline": {"start_utc": "2025-03-04 10:30:00"}},
     f'Invalid value {{"start_utc": "2025-03-04 10:30:00"}} (object): {TIME_OFF}'),
    ("start-time-disabled", PROJECTS,
     {"deadline": {"start_date": "2025-03-04", "start_time": "10:30:00"}},
     f'Invalid value {{"start_date": "2025-03-04", "start_time": "10:30:00"}} (object): '
     f"{TIME_OFF}"),
    ("end-before-start", PROJECTS,
     {"deadline": {"start_date": "2025-03-04", "end_date": "2025-03-01"}},
     'Invalid value {"start_date": "2025-03-04", "end_date": "2025-03-01"} (object): '
     "field deadline ends before it starts"),
    ("image-made-up-file", CLIENTS, {"logo": [424242]},
     f"Invalid value 424242 (integer): field logo references file 424242, {NOT_THERE}"),
    ("embed-made-up-id", CLIENTS, {"website": {"embed": 424242, "file": None}},
     'Invalid value {"embed": 424242, "file": null} (object): '
     f"field website references embed 424242, {NOT_THERE}"),
    ("embed-made-up-thumbnail", CLIENTS, {"website": {"embed": EMBED_ID, "file": 424242}},
     f'Invalid value {{"embed": {EMBED_ID}, "file": 424242}} (object): '
     f"field website references file 424242, {NOT_THERE}"),
]  # fmt: skip
REFUSED = [pytest.param(app, fields, text, id=name) for name, app, fields, text in CASES]


@pytest.mark.parametrize(("app_id", "fields", "description"), REFUSED)
async def test_the_emulator_refuses_what_breaks_a_field(
    user_http: httpx.AsyncClient, app_id: int, fields: dict[str, Any], description: str
) -> None:
    # Item ids differ per seed size: put the real ones in place of the placeholders.
    client = (await user_http.get(f"/item/app/{CLIENTS}/", params={"limit": 2})).json()["items"]
    project = (await user_http.get(f"/item/app/{PROJECTS}/", params={"limit": 1})).json()["items"]
    ids = {"CLIENT2": client[1]["item_id"], "CLIENT": client[0]["item_id"],
           "PROJECT": project[0]["item_id"]}  # fmt: skip
    for name, item_id in ids.items():
        description = description.replace(name, str(item_id))
    fields = {k: _place(v, ids) for k, v in fields.items()}
    before = (await user_http.get(f"/item/app/{app_id}/count")).json()
    body = {"fields": {"title": "refused", **fields}}
    response = await user_http.post(f"/item/app/{app_id}/", json=body)
    assert response.status_code == 400, response.text
    got = response.json()
    assert {k: got[k] for k in ("error", "error_description")} == refused(description)
    assert set(got) == {"error_parameters", "error_detail", "error_propagate", "request",
                        "error_description", "error"}  # fmt: skip
    assert got["request"]["url"] == f"http://api.podio.com/item/app/{app_id}/"
    assert (await user_http.get(f"/item/app/{app_id}/count")).json() == before  # nothing stored


def _place(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, list):
        return [_place(v, ids) for v in value]
    return ids.get(value, value) if isinstance(value, str) else value


async def test_updates_are_checked_alike(user_http: httpx.AsyncClient) -> None:
    created = await user_http.post(f"/item/app/{PROJECTS}/", json={"fields": {"title": "ok"}})
    item_id = created.json()["item_id"]
    response = await user_http.put(f"/item/{item_id}", json={"fields": {"status": [1, 2]}})
    assert (response.status_code, response.json()["error_description"]) == (
        400,
        "Invalid value [1, 2] (array): field status takes one value",
    )
    response = await user_http.put(f"/item/{item_id}/value/progress", json=50.9)
    assert response.status_code == 400
    assert (await user_http.get(f"/item/{item_id}")).json()["revision"] == 0


async def test_settings_that_allow_are_followed(
    user_http: httpx.AsyncClient, emu: Emulator
) -> None:
    """What the settings allow passes: several categories where `multiple` is on, a time once
    the date field's time is enabled, integral progress sent as 50.0, an end on the start day."""
    timed_deadline(emu)
    several = {"title": "ok", "industry": [1, 2], "email": [{"type": "home", "value": "a@b.test"}]}
    response = await user_http.post(f"/item/app/{CLIENTS}/", json={"fields": several})
    assert response.status_code == 200, response.text
    response = await user_http.post(f"/item/app/{PROJECTS}/", json={"fields": {
        "title": "ok", "progress": 50.0, "estimate": 0,
        "deadline": {"start_utc": "2025-03-04 10:30:00", "end_date": "2025-03-04"}}})  # fmt: skip
    assert response.status_code == 200, response.text


async def test_a_required_time_or_end_must_be_given(
    user_http: httpx.AsyncClient, emu: Emulator
) -> None:
    field = next(f for f in emu._core.world.apps[PROJECTS].fields if f.external_id == "deadline")
    field.settings = {**(field.settings or {}), "time": "required", "end": "required"}
    response = await user_http.post(
        f"/item/app/{PROJECTS}/", json={"fields": {"deadline": {"start_date": "2025-03-04"}}}
    )
    assert response.json()["error_description"].endswith(
        "field deadline needs an end date (its end setting is required)"
    )
    both = {"start_date": "2025-03-04", "end_date": "2025-03-05"}
    response = await user_http.post(f"/item/app/{PROJECTS}/", json={"fields": {"deadline": both}})
    assert response.json()["error_description"].endswith(
        "field deadline needs a time (its time setting is required)"
    )


async def test_the_sdk_surfaces_the_refusal(podio: Podio) -> None:
    with pytest.raises(PodioBadRequestError) as info:
        await podio.items.create(CLIENTS, fields={"email": Email("a@b.test", "work"), "logo": [1]})
    assert info.value.error == "invalid_value"
    assert "field logo references file 1, which does not exist" in str(info.value.error_description)
