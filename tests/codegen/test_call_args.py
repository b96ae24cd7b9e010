"""Arguments every generated method checks or passes through: path ids and `timeout=`.

Path arguments are checked against the spec's declared type before a request is built
(issue 15 point 8); a per-call `timeout=None` means no timeout, as in httpx, and an omitted
one the client's default (issue 15 point 9).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import IntEnum
from typing import Any

import httpx
import pytest
import respx

from podiokit import Podio
from podiokit.auth import OAuthToken
from podiokit.resources._helpers import path_id, path_id_or_text, path_ids, path_text

pytestmark = pytest.mark.anyio

API = "https://api.podio.com"


@pytest.fixture
async def podio() -> AsyncIterator[Podio]:
    client = Podio("client-id", "client-secret", timeout=httpx.Timeout(42.0, connect=7.0))
    await client.set_token(OAuthToken(access_token="access-1"))
    async with client:
        yield client


@pytest.fixture
def api() -> Any:
    # No route: any request that goes out fails the test with respx's "not mocked" error.
    with respx.mock(base_url=API, assert_all_called=False) as router:
        yield router


# --- path ids ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda p: p.items.get(None), TypeError, "item_id must be an int, got None (NoneType)"),
        (lambda p: p.items.get(True), TypeError, "item_id must be an int, got True (bool)"),
        (
            lambda p: p.items.get(1000999.0),
            TypeError,
            "item_id must be an int, got 1000999.0 (float)",
        ),
        (lambda p: p.items.get("123"), TypeError, "item_id must be an int, got '123' (str)"),
        (lambda p: p.apps.get("abc"), TypeError, "app_id must be an int, got 'abc' (str)"),
        (lambda p: p.items.get(-5), ValueError, "item_id must not be negative, got -5"),
        # A second path argument is checked too, by its own name.
        (
            lambda p: p.items.get_by_app_item_id(1, None),
            TypeError,
            "app_item_id must be an int, got None",
        ),
        # Text segments (app labels, view names) must be text, and not empty.
        (
            lambda p: p.apps.get_on_space_by_url_label(1, 5),
            TypeError,
            "url_label must be a str, got 5 (int)",
        ),
        (lambda p: p.apps.get_on_space_by_url_label(1, ""), ValueError, "url_label must not be"),
        # A view is named by id or by name; anything else is refused.
        (
            lambda p: p.views.get(1, 2.5),
            TypeError,
            "view_id_or_name must be an int id or a str, got 2.5",
        ),
        (lambda p: p.contacts.get([]), ValueError, "profile_ids must name at least one id"),
        (lambda p: p.contacts.get([1, "x"]), TypeError, "profile_ids must be an int, got 'x'"),
    ],
)
async def test_bad_path_arguments_raise_before_any_request(
    podio: Podio, api: respx.MockRouter, call: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        await call(podio)
    assert message in str(info.value)
    assert api.calls.call_count == 0


async def test_good_path_arguments_are_sent(podio: Podio, api: respx.MockRouter) -> None:
    route = api.route().mock(return_value=httpx.Response(200, json={"ok": True}))

    class Kind(IntEnum):
        BIG = 12

    await podio.views.get(Kind.BIG, "my view/2")
    await podio.views.get(3, 4)
    await podio.items.get_revision(5, 0)  # revision 0 is an item's first
    await podio.contacts.get((1, 2))
    paths = [call.request.url.raw_path for call in route.calls]
    assert paths == [
        b"/view/app/12/my%20view%2F2",
        b"/view/app/3/4",
        b"/item/5/revision/0",
        b"/contact/1,2/v2",
    ]


def test_helpers_encode_the_accepted_forms() -> None:
    assert path_id(7, "x") == "7"
    assert path_ids([1, 2], "x") == "1,2"
    assert path_ids(3, "x") == "3"
    assert path_text("a/b c", "x") == "a%2Fb%20c"
    assert path_id_or_text("name", "x") == "name"
    assert path_id_or_text(9, "x") == "9"
    with pytest.raises(TypeError, match="x must be an int id or a str, got False"):
        path_id_or_text(False, "x")


# --- per-call timeout ----------------------------------------------------------------------


def _timeout_of(route: respx.Route) -> dict[str, float | None]:
    return dict(route.calls.last.request.extensions["timeout"])


NO_TIMEOUT = {"connect": None, "read": None, "write": None, "pool": None}
CLIENT_DEFAULT = {"connect": 7.0, "read": 42.0, "write": 42.0, "pool": 42.0}


async def test_generated_method_timeout_none_means_no_timeout(
    podio: Podio, api: respx.MockRouter
) -> None:
    route = api.get("/item/1").mock(return_value=httpx.Response(200, json={"item_id": 1}))
    await podio.items.get(1, timeout=None)
    assert _timeout_of(route) == NO_TIMEOUT
    await podio.items.get(1)
    assert _timeout_of(route) == CLIENT_DEFAULT
    await podio.items.get(1, timeout=3.0)
    assert _timeout_of(route) == {"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0}


async def test_request_timeout_none_means_no_timeout(podio: Podio, api: respx.MockRouter) -> None:
    route = api.post("/item/app/1/filter/").mock(return_value=httpx.Response(200, json={}))
    await podio.request("POST", "/item/app/1/filter/", json={}, timeout=None)
    assert _timeout_of(route) == NO_TIMEOUT
    await podio.request("POST", "/item/app/1/filter/", json={})
    assert _timeout_of(route) == CLIENT_DEFAULT


async def test_paginated_method_passes_timeout_on(podio: Podio, api: respx.MockRouter) -> None:
    route = api.post("/item/app/1/filter/").mock(
        return_value=httpx.Response(200, json={"items": [], "total": 0, "filtered": 0})
    )
    await podio.items.filter(1, timeout=None)
    assert _timeout_of(route) == NO_TIMEOUT


def test_not_given_is_one_falsy_singleton() -> None:
    import copy
    import pickle

    from podiokit._resource import NOT_GIVEN

    assert copy.deepcopy(NOT_GIVEN) is NOT_GIVEN
    assert pickle.loads(pickle.dumps(NOT_GIVEN)) is NOT_GIVEN
    assert not NOT_GIVEN
    assert repr(NOT_GIVEN) == "NOT_GIVEN"
