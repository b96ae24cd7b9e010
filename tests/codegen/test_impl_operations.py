"""Spec keys for operations done by a hand-written helper: impl, args, positional, stream."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from codegen.spec import SpecError, validate_area
from podiokit.resources.files import FilesResource

BASE: dict[str, Any] = {"area": "things", "podio_area": "things", "title": "Things"}


def _op(**extra: Any) -> dict[str, Any]:
    op = {"podio": "Get thing", "doc": "things/get-thing-1", "method": "GET",
          "path": "/thing/{thing_id}"}  # fmt: skip
    op.update(extra)
    return op


def _validate(ops: dict[str, Any]) -> None:
    validate_area(Path("spec/areas/things.yaml"), {**BASE, "operations": ops}, {})


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (_op(args={"x": "int"}), "`args` needs `impl`"),
        (_op(returns="stream"), "`returns: stream` needs `impl`"),
        (_op(query={"x": {"type": "int", "positional": True}}), "`positional: true` needs `impl`"),
        (_op(impl="files.upload"), "String should match pattern"),
        (
            _op(
                impl="_files.download",
                query={"limit": "int", "offset": "int"},
                paginate={"by": "query", "max_limit": 5},
            ),
            "cannot be paginated",
        ),
        (_op(impl="_files.download", args={"timeout": "int"}), "reserved by the generator"),
    ],
)
def test_impl_keys_are_checked(op: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        _validate({"get": op})


def test_impl_operation_is_accepted() -> None:
    _validate({"get": _op(impl="_files.stream", returns="stream",
                          args={"chunk_size": {"type": "int", "positional": True}})})  # fmt: skip


def test_generated_files_methods_have_the_documented_signatures() -> None:
    upload = inspect.signature(FilesResource.upload)
    kinds = {name: p.kind for name, p in upload.parameters.items()}
    assert kinds["source"] is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert kinds["filename"] is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert kinds["mimetype"] is inspect.Parameter.KEYWORD_ONLY
    assert inspect.iscoroutinefunction(FilesResource.upload)
    assert inspect.iscoroutinefunction(FilesResource.download)
    # stream returns the async iterator itself: `async for chunk in podio.files.stream(id)`.
    assert not inspect.iscoroutinefunction(FilesResource.stream)
