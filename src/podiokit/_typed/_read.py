"""Responses as typed app models: what `podio.items.get(..., model=Deal)` and
`podio.items.filter(..., model=Deal)` return (the spec's `model: {read: ...}` helpers).

A body is parsed once (`json.loads`, the cyclic GC paused as `parse_as` does) and each item
goes through its class's readers: no `Item` model is built on the way.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from typing import Any, Generic

import httpx
from pydantic_core import from_json

from .._resource import _request_parts, decode_json
from ..errors import PodioResponseError
from ._model import AppModelT

__all__ = ["ModelPage", "read_item", "read_page"]


class ModelPage(Generic[AppModelT]):
    """One page of items read as a model: `total` (items in the app), `filtered` (items
    matching) and `items`, as `ItemFilterResult` has them."""

    __slots__ = ("filtered", "items", "total")

    def __init__(self, items: list[AppModelT], total: int | None, filtered: int | None) -> None:
        self.items = items
        self.total = total
        self.filtered = filtered

    def __iter__(self) -> Iterator[AppModelT]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"<ModelPage total={self.total} filtered={self.filtered} items={len(self.items)}>"


def _decode(response: httpx.Response) -> Any:
    # pydantic-core's parser: twice as fast as json.loads on a page of items (and always
    # installed with pydantic). The GC is paused as in _resource.parse_as: thousands of fresh
    # containers, none garbage yet.
    content = response.content
    if not content.strip():
        return None
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        return from_json(content)
    except ValueError:
        return decode_json(response)  # raises PodioResponseError with an excerpt
    finally:
        if enabled:
            gc.enable()


def _bad(response: httpx.Response, what: str) -> PodioResponseError:
    method, path = _request_parts(response)
    return PodioResponseError(
        f"{response.status_code} response is not {what}",
        status=response.status_code,
        method=method,
        path=path,
    )


def read_item(response: httpx.Response, model: type[AppModelT]) -> AppModelT:
    """An item response (GET /item/{item_id}) as `model`."""
    data = _decode(response)
    if not isinstance(data, Mapping):
        raise _bad(response, "an item")
    return model._read(data)


def read_page(response: httpx.Response, model: type[AppModelT]) -> ModelPage[AppModelT]:
    """A filter response (`{"total", "filtered", "items"}`) with its items as `model`."""
    data = _decode(response)
    if not isinstance(data, Mapping):
        raise _bad(response, "a page of items")
    read = model._read
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        items = [read(item) for item in data.get("items") or ()]
    finally:
        if enabled:
            gc.enable()
    return ModelPage(items, data.get("total"), data.get("filtered"))
