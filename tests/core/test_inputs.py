"""Issue 15.6-8: arguments are checked before anything is sent or saved: set_token's token,
the client's tunables, per-call max_retries; bodies carry dates, datetimes and Decimals in
Podio's forms."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import respx

from podiokit import OAuthToken, Podio
from podiokit.sessions import MemorySessionStore

from .conftest import SECRET, token_body

pytestmark = pytest.mark.anyio


# -- 6: set_token ------------------------------------------------------------------------


async def test_set_token_takes_a_mapping_and_converts_it(api: respx.MockRouter) -> None:
    route = api.get("/item/1").respond(json={"item_id": 1})
    store = MemorySessionStore()
    async with Podio("cid", SECRET, session_store=store) as podio:
        token = await podio.set_token({"access_token": "x"})
        assert isinstance(token, OAuthToken) and token.access_token == "x"
        assert await podio.request("GET", "/item/1") == {"item_id": 1}  # no AttributeError
        assert route.calls.last.request.headers["authorization"] == "OAuth2 x"
        token = await podio.set_token(token_body("y", "ry", expires_in=3600))
        assert token.refresh_token == "ry" and token.expires_at is not None
        assert token.ref is not None and token.ref.type == "user"
        assert await store.get("default") == token
        stored_form = OAuthToken(
            access_token="z", expires_at=datetime(2030, 1, 1, tzinfo=timezone.utc)
        )
        assert await podio.set_token(stored_form.to_storage()) == stored_form


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("a-token-string", TypeError, "not str"),
        (None, TypeError, "not NoneType"),
        (42, TypeError, "not int"),
        ({"refresh_token": "r"}, ValueError, "'access_token'"),
        ({"access_token": ""}, ValueError, "'access_token'"),
        ({"access_token": "x", "expires_in": "soon"}, ValueError, "expires_in"),
        ({"access_token": "x", "expires_at": "soon"}, ValueError, "expires_at"),
        (
            {"access_token": "x", "expires_in": 1, "expires_at": "2030-01-01"},
            ValueError,
            "not both",
        ),
    ],
)
async def test_set_token_rejects_what_it_cannot_use(
    api: respx.MockRouter, value: Any, error: type[Exception], message: str
) -> None:
    store = MemorySessionStore()
    async with Podio("cid", SECRET, session_store=store) as podio:
        with pytest.raises(error, match=message):
            await podio.set_token(value)
        assert podio.token is None
    assert await store.get("default") is None


# -- 7: dates, datetimes and Decimals in bodies --------------------------------------------


async def test_filter_sends_dates_datetimes_and_decimals_in_podio_forms(
    api: respx.MockRouter,
) -> None:
    api.post("/oauth/token").respond(json=token_body("acc"))
    route = api.post("/item/app/5/filter/").respond(json={"total": 0, "filtered": 0, "items": []})
    cest = timezone(timedelta(hours=2))
    async with Podio("cid", SECRET) as podio:
        await podio.authenticate_with_app(5, "t")
        page = await podio.items.filter(
            5,
            filters={
                "created_on": {
                    "from": date(2020, 1, 1),
                    "to": datetime(2020, 2, 1, 12, 30, tzinfo=cest),
                },
                "price": {"from": Decimal("1.50"), "to": Decimal("1E+3")},
            },
        )
        assert page.filtered == 0
        body = json.loads(route.calls.last.request.content)
        assert body["filters"] == {
            "created_on": {"from": "2020-01-01", "to": "2020-02-01 10:30:00"},
            "price": {"from": "1.50", "to": "1000"},
        }
        # The same conversion as item fields, anywhere in a body.
        api.post("/x").respond(json={})
        await podio.request("POST", "/x", json={"when": [date(2021, 3, 4)]})
        assert json.loads(api.calls.last.request.content) == {"when": ["2021-03-04"]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (datetime(2020, 1, 1), "naive datetime"),
        (Decimal("NaN"), "finite"),
        (object(), "Object of type object is not JSON serializable"),
    ],
)
async def test_a_body_value_that_cannot_be_sent_raises_before_sending(
    api: respx.MockRouter, value: object, message: str
) -> None:
    api.post("/oauth/token").respond(json=token_body("acc"))
    route = api.post("/item/app/5/filter/").respond(json={})
    async with Podio("cid", SECRET) as podio:
        await podio.authenticate_with_app(5, "t")
        with pytest.raises((TypeError, ValueError), match=message):
            await podio.items.filter(5, filters={"created_on": {"from": value}})
    assert route.call_count == 0


# -- 8: negative tunables ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("max_retries", -1, ValueError),
        ("max_retries", 1.5, TypeError),
        ("max_retries", True, TypeError),
        ("max_concurrency", 0, ValueError),
        ("rate_limit_wait", -1, ValueError),
        ("rate_limit_wait", float("nan"), ValueError),
        ("backoff_base", -1, ValueError),
        ("backoff_cap", -0.5, ValueError),
        ("backoff_cap", float("inf"), ValueError),
        ("pace_threshold", 5, ValueError),
        ("pace_threshold", -0.1, ValueError),
        ("pace_threshold", "0.2", TypeError),
    ],
)
def test_bad_tunables_are_refused_naming_option_and_value(
    option: str, value: object, error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        Podio("cid", SECRET, **{option: value})  # type: ignore[arg-type]
    assert option in str(info.value) and repr(value) in str(info.value)


def test_good_tunables_are_accepted() -> None:
    Podio(
        "cid",
        SECRET,
        max_retries=0,
        max_concurrency=None,
        rate_limit_wait=0,
        backoff_base=0,
        backoff_cap=0,
        pace_threshold=1,
    )


async def test_per_call_max_retries_is_checked_before_any_request(api: respx.MockRouter) -> None:
    api.post("/oauth/token").respond(json=token_body("acc"))
    route = api.get("/item/7").respond(json={"item_id": 7})
    async with Podio("cid", SECRET) as podio:
        await podio.authenticate_with_app(1, "t")
        with pytest.raises(ValueError, match=r"max_retries must be >= 0, not -1"):
            await podio.request("GET", "/item/7", max_retries=-1)
        with pytest.raises(ValueError, match=r"max_retries must be >= 0, not -1"):
            await podio.items.get(7, max_retries=-1)
        with pytest.raises(TypeError, match="max_retries"):
            await podio.items.get(7, max_retries=2.5)  # type: ignore[arg-type]
    assert route.call_count == 0
