"""The emulator with the user's own apps: definitions loaded from GET /app JSON, and the
app-field operations (add, update, delete) that change an app and bump its revision."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from podiokit.cli import main
from podiokit.testing import Emulator

from .conftest import auth, password_token, sample

pytestmark = pytest.mark.anyio

TESTING = 6686618  # samples/apps__get_app__2.json


@asynccontextmanager
async def _client(emu: Emulator) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url=emu.credentials["api_url"]) as c:
        yield c, auth(await password_token(c, emu))


async def test_an_app_loads_from_its_json(tmp_path: Path) -> None:
    definition = sample("apps__get_app__2.json")
    path = tmp_path / "apps.json"
    path.write_text(json.dumps([definition]))
    emu = Emulator(items=3, apps=path)  # a file of a list, next to the demo apps
    assert [a["app_id"] for a in emu.credentials["apps"]] == [3002, 3001, TESTING]
    async with _client(emu) as (http, headers):
        app = (await http.get(f"/app/{TESTING}", headers=headers)).json()
        assert (app["current_revision"], app["config"]["item_name"]) == (4, "thing")
        assert app["token"] == definition["token"]
        served = {f["field_id"]: f for f in app["fields"]}
        for field in definition["fields"]:
            got = served[field["field_id"]]
            assert (got["external_id"], got["type"], got["label"]) == (
                field["external_id"], field["type"], field["label"],
            )  # fmt: skip
            assert got["config"]["settings"] == field["config"]["settings"]
            assert got["config"]["required"] == field["config"]["required"]
        body = {
            "fields": {"title": "Hello", "category": 2, "money": {"value": "3", "currency": "DKK"}}
        }
        created = await http.post(f"/item/app/{TESTING}/", json=body, headers=headers)
        assert created.status_code == 200, created.text
        refused = await http.post(
            f"/item/app/{TESTING}/", json={"fields": {"category": 7}}, headers=headers
        )
        assert refused.status_code == 400  # the app's own options decide


async def test_a_loaded_app_replaces_a_seeded_one_of_the_same_id() -> None:
    definition = {**sample("apps__get_app__2.json"), "app_id": 3001}
    emu = Emulator(items=5, apps=[definition])
    async with _client(emu) as (http, headers):
        app = (await http.get("/app/3001", headers=headers)).json()
        assert app["config"]["name"] == "Testing"
        page = (await http.post("/item/app/3001/filter/", json={}, headers=headers)).json()
        assert page["total"] == 0


@pytest.mark.parametrize(
    ("definition", "message"),
    [({"fields": []}, "with its app_id"), ({"app_id": 5}, "has no `fields` list")],
)
def test_a_definition_without_what_it_needs_is_refused(
    definition: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Emulator(seed="empty", apps=[definition])


def test_the_command_refuses_a_missing_apps_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emulator", "--port", "0", "--apps", str(tmp_path / "nope.json")]) == 2
    assert "nope.json" in capsys.readouterr().err


async def test_fields_change_and_the_revision_follows() -> None:
    emu = Emulator(items=4)
    async with _client(emu) as (http, headers):

        async def app() -> dict[str, Any]:
            return dict((await http.get("/app/3002", headers=headers)).json())

        before = await app()
        item_id = (await http.post("/item/app/3002/filter/", json={}, headers=headers)).json()[
            "items"
        ][0]["item_id"]
        added = await http.post(
            "/app/3002/field/",
            json={"type": "category", "config": {"label": "Risk", "settings": {
                "multiple": False, "options": [{"text": "Low"}, {"text": "High"}]}}},
            headers=headers,
        )  # fmt: skip
        assert added.status_code == 200, added.text
        new_id = added.json()["field_id"]
        status = next(f for f in before["fields"] if f["external_id"] == "status")
        options = status["config"]["settings"]["options"]
        changed = await http.put(
            f"/app/3002/field/{status['field_id']}",
            json={"label": "Stage", "required": True,
                  "settings": {**status["config"]["settings"],
                               "options": [*options[:2], {"text": "Archived"}]}},
            headers=headers,
        )  # fmt: skip
        assert changed.json() == {"revision": before["current_revision"] + 2}
        deleted = await http.delete("/app/3002/field/41012", headers=headers)
        assert deleted.json() == {"revision": before["current_revision"] + 3}
        after = await app()
        fields = {f["field_id"]: f for f in after["fields"]}
        assert 41012 not in fields and fields[new_id]["external_id"] == "risk-2"  # "risk" exists
        assert [o["id"] for o in fields[new_id]["config"]["settings"]["options"]] == [1, 2]
        stage = fields[status["field_id"]]
        assert (stage["label"], stage["config"]["required"]) == ("Stage", True)
        assert [(o["id"], o["text"]) for o in stage["config"]["settings"]["options"]] == [
            (1, "Planned"), (2, "Active"), (5, "Archived"),
        ]  # fmt: skip
        # Items show the change at once: the new label, the app's revision, no deleted field.
        item = (await http.get(f"/item/{item_id}", headers=headers)).json()
        assert item["app"]["current_revision"] == after["current_revision"]
        labels = {f["field_id"]: f["label"] for f in item["fields"]}
        assert labels[status["field_id"]] == "Stage" and 41012 not in labels
        for method, path, body in (
            ("PUT", "/app/3002/field/999", {"label": "x"}),
            ("DELETE", "/app/3002/field/999", None),
        ):
            answer = await http.request(method, path, json=body, headers=headers)
            assert answer.status_code == 404
        bad = await http.put(
            f"/app/3002/field/{new_id}", json={"settings": "nope"}, headers=headers
        )
        assert bad.status_code == 400 and "settings must be an object" in bad.text
        nameless = await http.post("/app/3002/field/", json={"type": "text"}, headers=headers)
        assert nameless.status_code == 400
