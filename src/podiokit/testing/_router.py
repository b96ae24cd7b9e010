"""Route table and the per-request context handlers receive."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from ._common import JSON
from ._errors import ApiError, dumps_text, forbidden, not_found
from ._state import App, Token, World, any_json

if TYPE_CHECKING:
    from ._core import Core


@dataclass
class Reply:
    """A handler's answer when it is not plain JSON with status 200."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str | None = "application/json; charset=utf-8"
    # A body sent in chunks instead of `body` (file downloads); `headers` gives its length.
    stream: AsyncIterator[bytes] | None = None


@dataclass
class Ctx:
    core: Core
    request: Request
    params: dict[str, str]
    token: Token | None = None
    rate_headers: dict[str, str] = field(default_factory=dict)
    _body: bytes | None = None

    @property
    def world(self) -> World:
        return self.core.world

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise not_found() from None

    async def raw_body(self) -> bytes:
        if self._body is None:
            self._body = await self.request.body()
        return self._body

    async def json(self, *, required: bool = True) -> JSON:
        raw = await self.raw_body()
        if not raw.strip():
            if required:
                raise not_found("No body was given.")
            return {}
        try:
            value = json.loads(raw)
        except ValueError:
            raise ApiError(400, "invalid_value", "The body is not valid JSON") from None
        return any_json(value)

    async def json_any(self) -> Any:
        """A body that may be any JSON value (field value writes take lists)."""
        raw = await self.raw_body()
        if not raw.strip():
            raise not_found("No body was given.")
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(400, "invalid_value", "The body is not valid JSON") from None

    def int_query(self, name: str, default: int) -> int:
        value = self.request.query_params.get(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError(
                400, "invalid_value", f"Invalid value {dumps_text(value)} for {name}"
            ) from None

    def flag(self, name: str, default: bool = False) -> bool:
        # Clients send silent=1, silent=true, hook=0 ... (§5.1).
        value = self.request.query_params.get(name)
        if value is None:
            return default
        return value.lower() in ("1", "true", "yes")

    def byline(self) -> JSON:
        token = self.token
        if token is not None and token.ref_type == "app":
            return self.world.app_byline(self.world.apps[token.ref_id])
        user = self.world.users[token.ref_id if token else self.world.demo_user_id]
        return self.core.byline(user)

    def check_app(self, app: App) -> None:
        """An app token reaches its own app only."""
        token = self.token
        if token is not None and token.ref_type == "app" and token.ref_id != app.app_id:
            raise forbidden()

    def app(self, app_id: int) -> App:
        app = self.world.apps.get(app_id)
        if app is None:
            raise ApiError(404, "not_found", f"Object not found: app {app_id}")
        self.check_app(app)
        return app


Handler = Callable[[Ctx], Awaitable[Any]]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    auth: bool = True
    pool: str = "general"
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template.rstrip("/"))
        self.pattern = re.compile(f"^{regex}$")

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self._by_method: dict[str, list[Route]] = {}
        for route in routes:
            self._by_method.setdefault(route.method, []).append(route)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        path = path.rstrip("/") or "/"
        for route in self._by_method.get(method, ()):
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None
