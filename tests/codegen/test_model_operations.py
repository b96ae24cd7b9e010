"""Spec key `model:` (typed app models from `podiokit typegen`): checked in the spec, and what
it makes of the items operations."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from codegen.spec import SpecError, validate_area
from podiokit.resources.items import ItemsResource
from podiokit.sync.resources.items import SyncItemsResource

BASE: dict[str, Any] = {"area": "things", "podio_area": "things", "title": "Things"}
MODELS = {"Item": "items", "ItemFilterResult": "items"}


def _op(**extra: Any) -> dict[str, Any]:
    op = {"podio": "Get thing", "doc": "things/get-thing-1", "method": "GET",
          "path": "/thing/{thing_id}", "returns": "Item"}  # fmt: skip
    op.update(extra)
    return op


def _write(fields: dict[str, Any]) -> dict[str, Any]:
    return _op(method="POST", body={"fields": fields}, model={"write": "fields"})


def _validate(op: dict[str, Any]) -> None:
    validate_area(Path("spec/areas/things.yaml"), {**BASE, "operations": {"get": op}}, MODELS)


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (_op(model={}), "takes one of `read` or `write`"),
        (_op(model={"read": "_typed.read_item", "write": "fields"}), "one of `read` or `write`"),
        (_op(model={"read": "typed.read_item"}), "String should match pattern"),
        (_op(model={"read": "_typed.read_item"}, returns="json"), "needs `returns` to name a"),
        (_op(model={"read": "_typed.read_item"}, impl="_typed.get"), "cannot be used with `impl`"),
        (_write({}), "names no body member with `encode: fields`"),
        (_write({"fields": {"type": "Mapping[str, Any] | AppModel"}}), "`encode: fields`"),
        (_write({"fields": {"type": "Mapping[str, Any]", "encode": "fields"}}), "name AppModel"),
    ],
)
def test_the_model_key_is_checked(op: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        _validate(op)


def test_the_model_key_is_accepted() -> None:
    _validate(_op(model={"read": "_typed.read_item"}))
    _validate(_write({"fields": {"type": "Mapping[str, Any] | AppModel", "encode": "fields"}}))


@pytest.mark.parametrize("resource", [ItemsResource, SyncItemsResource])
def test_item_reads_take_a_model_and_writes_take_one_positionally(resource: type) -> None:
    for name in ("get", "get_basic", "get_by_app_item_id", "get_by_external_id", "filter",
                 "filter_by_view"):  # fmt: skip
        model = inspect.signature(getattr(resource, name)).parameters["model"]
        assert (model.kind, model.default) == (inspect.Parameter.KEYWORD_ONLY, None), name
    for name in ("create", "update"):
        params = list(inspect.signature(getattr(resource, name)).parameters.values())
        assert params[2].name == "fields", name
        assert params[2].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        assert "AppModel" in str(params[2].annotation)
