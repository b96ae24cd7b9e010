"""Statuses map to podio-js's error classes, with every attribute, and never a token."""

from __future__ import annotations

import pytest
import respx

import podiokit
from podiokit import Podio, errors

from .conftest import SECRET, error_body, token_body

pytestmark = pytest.mark.anyio

TABLE = [
    (400, "invalid_value", errors.PodioBadRequestError),
    (400, "invalid_grant", errors.PodioInvalidGrantError),
    (401, "unauthorized", errors.PodioAuthorizationError),
    (403, "forbidden", errors.PodioForbiddenError),
    (404, "not_found", errors.PodioNotFoundError),
    (409, "conflict", errors.PodioConflictError),
    (410, "gone", errors.PodioGoneError),
    (420, "rate_limit", errors.PodioRateLimitError),
    (429, "rate_limit", errors.PodioRateLimitError),
    (500, "server_error", errors.PodioServerError),
    (502, "bad_gateway", errors.PodioUnavailableError),
    (503, "unavailable", errors.PodioUnavailableError),
    (504, "timeout", errors.PodioUnavailableError),
    (402, "payment_required", errors.PodioError),
]


@pytest.mark.parametrize(("status", "code", "cls"), TABLE, ids=[f"{s}-{c}" for s, c, _ in TABLE])
async def test_status_maps_to_class_with_all_attributes(
    api: respx.MockRouter, status: int, code: str, cls: type[errors.PodioError]
) -> None:
    api.post("/oauth/token").respond(json=token_body("the-access-token"))
    body = error_body(
        code, f"description of {code}. Please wait 1800 seconds", method="POST", path="/item/app/5/"
    )
    body["error_detail"] = "some.detail"
    body["error_parameters"] = {"field": "x"}
    body["error_propagate"] = True
    api.post("/item/app/5/").respond(status, json=body)
    async with Podio("cid", SECRET, max_retries=0, rate_limit_wait=0) as podio:
        await podio.authenticate_with_app(5, "t")
        with pytest.raises(errors.PodioError) as info:
            await podio.request(
                "POST", "/item/app/5/", json={"fields": {}}, params={"oauth_token": "leak?"}
            )
    err = info.value
    assert type(err) is cls
    assert isinstance(err, errors.PodioError)
    assert err.status == status and err.error == code
    assert err.error_description == body["error_description"]
    assert err.error_detail == "some.detail" and err.error_parameters == {"field": "x"}
    assert err.error_propagate is True
    assert err.method == "POST" and err.path == "/item/app/5/"
    for text in (str(err), repr(err)):
        assert "the-access-token" not in text and SECRET not in text and "leak" not in text
    if cls is errors.PodioRateLimitError:
        assert err.retry_after == 1800  # type: ignore[attr-defined]


async def test_html_502_still_maps_to_its_class(api: respx.MockRouter) -> None:
    api.post("/oauth/token").respond(json=token_body("t"))
    api.get("/item/1").respond(
        502,
        text="<html><body><h1>502 Bad Gateway</h1></body></html>",
        headers={"Content-Type": "text/html"},
    )
    async with Podio("cid", SECRET, max_retries=0) as podio:
        await podio.authenticate_with_app(1, "t")
        with pytest.raises(errors.PodioUnavailableError) as info:
            await podio.request("GET", "/item/1")
    assert info.value.status == 502 and info.value.error is None
    assert info.value.method == "GET" and info.value.path == "/item/1"


def test_every_error_is_exported_from_both_modules() -> None:
    for name in errors.__all__:
        if name == "error_for_status":
            continue
        assert getattr(podiokit, name) is getattr(errors, name)
    assert issubclass(errors.PodioInvalidGrantError, errors.PodioBadRequestError)
    assert issubclass(errors.PodioTimeoutError, errors.PodioConnectionError)
