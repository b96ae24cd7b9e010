"""`add_exception_handlers`: Podio unreachable or unavailable inside a route's own calls is a
503 with Retry-After (JSON for APIs, a page for browsers), not a 500 with a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import Depends, FastAPI

from podiokit import Podio
from podiokit.integrations.fastapi import PodioAuth, add_exception_handlers
from podiokit.testing import Emulator

from .conftest import browser, sign_in

pytestmark = pytest.mark.anyio


@pytest.fixture
def app(auth: PodioAuth) -> FastAPI:
    app = FastAPI()
    app.include_router(auth.router, prefix="/auth")
    add_exception_handlers(app)

    @app.get("/me")
    async def me(user: Podio = Depends(auth.client)) -> dict[str, Any]:
        profile = await user.request("GET", "/user/")
        return {"user_id": profile["user_id"]}

    return app


@pytest.mark.parametrize("seed", range(4))  # each seed picks other faults: 502, 503, 504, drop
async def test_podio_outage_in_a_route_is_503(app: FastAPI, emu: Emulator, seed: int) -> None:
    async with browser(app) as b:
        await sign_in(b, emu)
        assert (await b.get("/me")).status_code == 200
        emu.set_faults(fault_rate=1.0, fault_seed=seed)
        api = await b.get("/me")
        page = await b.get("/me", headers={"accept": "text/html,*/*;q=0.8"})
        emu.set_faults(fault_rate=0.0)
        assert (await b.get("/me")).status_code == 200
    assert api.status_code == 503, api.text
    assert api.json() == {"detail": "Podio could not be reached: try again in a moment"}
    assert api.headers["retry-after"] == "30"
    assert page.status_code == 503
    assert "<title>Podio is unavailable</title>" in page.text
