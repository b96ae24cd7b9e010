"""Every real item of the samples, read into its app's generated class: nothing is lost,
each value is the one Podio sent, and each can be written back."""

from __future__ import annotations

import copy
import json
import logging
from types import ModuleType
from typing import Any

import pytest

from podiokit import FieldValueError
from podiokit._typed import _model
from podiokit._typed._convert import render_values
from podiokit.fields import encode_fields
from podiokit.models import Item
from podiokit.typed import AppModel, ItemRef, Option

from .support import item_app_id, sample, sample_items

ITEMS = sample_items()
# Types whose read form the typed value reproduces exactly.
EXACT = {"text", "number", "money", "progress", "duration", "calculation", "phone", "email",
         "location", "embed", "tel"}  # fmt: skip
REFERENCE_KEYS = {"app": "item_id", "contact": "profile_id", "image": "file_id"}


def model_for(module: ModuleType, item: dict[str, Any]) -> type[AppModel]:
    app_id = item_app_id(item)
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, AppModel) and obj.app_id == app_id
    ]
    assert len(found) == 1, app_id
    return found[0]


def _agrees(kind: str, rendered: dict[str, Any], sent: dict[str, Any]) -> bool:
    if kind in EXACT:
        return rendered == sent
    if kind in ("category", "question"):
        option = sent["value"] if isinstance(sent["value"], dict) else {"id": sent["value"]}
        return rendered["value"]["id"] == option["id"] and (
            "text" not in option or rendered["value"]["text"] == option["text"]
        )
    if kind in REFERENCE_KEYS:
        key = REFERENCE_KEYS[kind]
        return bool(rendered["value"][key] == sent["value"][key])
    if kind == "date":  # the UTC keys and the day; local times are the user's timezone's
        shared = [k for k in rendered if k in sent]  # older items lack start_utc
        return bool(shared) and all(sent[k] == rendered[k] for k in shared)
    return False


@pytest.mark.parametrize(("name", "item"), ITEMS, ids=[n for n, _ in ITEMS])
def test_every_sample_item_comes_back_exactly(
    samples: ModuleType, name: str, item: dict[str, Any]
) -> None:
    model = model_for(samples, item)
    typed = model.from_item(item)
    assert typed.to_item() == item
    assert typed.item_id == item["item_id"] and typed.revision == item["revision"]
    # The same from the JSON text and from podiokit's own Item model.
    assert model.from_item(json.dumps(item)) == typed
    assert model.from_item(Item.model_validate(item)) == typed


@pytest.mark.parametrize(("name", "item"), ITEMS, ids=[n for n, _ in ITEMS])
def test_every_value_read_is_the_value_podio_sent(
    samples: ModuleType, name: str, item: dict[str, Any]
) -> None:
    model = model_for(samples, item)
    typed = model.from_item(item)
    by_id = {pf.field_id: (attr, pf) for attr, pf in model.podio_fields.items()}
    checked = 0
    for entry in item["fields"]:
        attr, pf = by_id[entry["field_id"]]
        if {entry["type"], pf.type} - {"category", "question"} and entry["type"] != pf.type:
            continue  # items__get_item__5 repeats one field id for three fields
        rendered = render_values(pf, getattr(typed, attr))
        assert len(rendered) == len(entry["values"]), attr
        for got, sent in zip(rendered, entry["values"], strict=True):
            assert _agrees(pf.type, got, sent), (attr, got, sent)
        checked += 1
    assert checked >= len(item["fields"]) - 2


@pytest.mark.parametrize(("name", "item"), ITEMS, ids=[n for n, _ in ITEMS])
def test_every_value_read_can_be_written_back(
    samples: ModuleType, name: str, item: dict[str, Any]
) -> None:
    model = model_for(samples, item)
    typed = model.from_item(item)
    values = {
        attr: getattr(typed, attr)
        for attr, pf in model.podio_fields.items()
        if pf.type != "calculation" and getattr(typed, attr) not in (None, [])
    }
    assert values
    again = model.changes(**values)  # each validated as if assigned
    body = encode_fields(again)  # and through podiokit.fields' checks
    assert set(body) == {str(model.podio_fields[a].field_id) for a in values}
    assert again == model.changes(**{a: getattr(typed, a) for a in values})


def _project_item() -> dict[str, Any]:
    """A Projects item as the emulator serves it (GET /item), from a seeded one."""
    return {
        "item_id": 7,
        "app_item_id": 7,
        "revision": 0,
        "app": {"app_id": 3002, "current_revision": 1},
        "fields": [
            {"field_id": 41001, "type": "text", "external_id": "title", "values": [{"value": "T"}]},
            {
                "field_id": 41002,
                "type": "category",
                "external_id": "status",
                "values": [
                    {"value": {"id": 9, "text": "Archived", "status": "active", "color": "X"}}
                ],
            },
            {"field_id": 99999, "type": "number", "external_id": "new", "values": [{"value": "1"}]},
        ],
    }


def test_an_option_the_class_does_not_know_is_kept(demo: ModuleType) -> None:
    Project = demo.Project
    raw = _project_item()
    project = Project.from_item(raw)
    status = project.status
    assert isinstance(status, Project.Status) and isinstance(status, Option)
    assert (status.id, status.text, status.known) == (9, "Archived", False)
    assert Project.from_item(raw).status is status  # one member per unknown option
    assert project.to_item() == raw  # the option and the unknown field are kept
    # What was read can be written back; an option id nobody read is refused.
    assert encode_fields(Project.changes(status=status))["41002"] == [9]
    with pytest.raises(ValueError, match="9 is not a valid"):
        Project.Status(9)
    with pytest.raises(ValueError, match="status"):
        Project(title="x", status=9)
    assert Project.Status.ACTIVE.known and Project.Status(2) is Project.Status.ACTIVE


def test_a_newer_app_revision_logs_once(
    demo: ModuleType, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_model, "_WARNED", set())
    newer = _project_item()
    newer["app"]["current_revision"] = 5
    with caplog.at_level(logging.WARNING, logger="podiokit.typed"):
        demo.Project.from_item(_project_item())
        assert caplog.records == []
        demo.Project.from_item(newer)
        demo.Project.from_item(newer)
    assert [r.getMessage() for r in caplog.records] == [
        "Project was made from revision 1 of app 3002 (Projects), which is now at revision 5:"
        " run `podiokit typegen --check` and regenerate"
    ]


def test_an_item_of_another_app_is_refused(demo: ModuleType) -> None:
    raw = _project_item()
    raw["app"]["app_id"] = 3001
    with pytest.raises(ValueError, match="belongs to app 3001, not to app 3002"):
        demo.Project.from_item(raw)


def test_a_field_whose_type_changed_is_left_in_the_item(demo: ModuleType) -> None:
    raw = _project_item()
    raw["fields"][0] = {**raw["fields"][0], "type": "number", "values": [{"value": "2.0"}]}
    project = demo.Project.from_item(raw)
    assert project.title is None
    assert project.to_item() == raw


def test_references_name_the_referenced_class(demo: ModuleType) -> None:
    item = copy.deepcopy(sample("items__get_item_basic__1.json"))
    client = {"field_id": 41003, "type": "app", "values": [
        {"value": {"item_id": 5, "title": "Acme", "app": {"app_id": 3001}}}
    ]}  # fmt: skip
    item["fields"] = [client]
    item.pop("app")
    project = demo.Project.from_item(item)
    assert project.client == ItemRef(5)
    assert (project.client.title, project.client.model) == ("Acme", demo.Client)


def test_required_values_cannot_be_cleared(demo: ModuleType) -> None:
    with pytest.raises(ValueError, match="title"):  # refused when assigned
        demo.Project.changes(title=None)
    project = demo.Project.changes(status=demo.Project.Status.DONE)
    object.__setattr__(project, "title", None)  # past the check: still refused when sent
    project.model_fields_set.add("title")
    with pytest.raises(FieldValueError, match=r"'title'.*required"):
        encode_fields(project)
