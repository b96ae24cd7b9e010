"""The emulator's mutable core: options, the seeded world, tokens, limits, faults, stats."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from ._app_defs import load_apps
from ._common import JSON
from ._filter import FilterCache
from ._hooks_delivery import HookDelivery
from ._push import hub as push_hub
from ._quirks import Quirks
from ._ratelimit import RateLimiter
from ._seed import seed
from ._serialize import Serializer
from ._state import User, World
from ._tokens import TokenStore
from ._values import index_media

# Loopback hosts, localhost and the reserved testing TLD (RFC 2606), safe for any test suite.
DEFAULT_REDIRECT_DOMAINS = ("localhost", "127.0.0.1", "::1", "*.test")


@dataclass
class Options:
    seed: str = "demo"
    items: int = 300
    token_lifetime: int = 28_800
    refresh: str = "rotate"
    rate_limit: int = 1_000
    # Podio's "rate limited" operations (filter, the token endpoint) get a quarter: 250.
    rate_limit_limited: int | None = None
    # Podio's window is one hour; tests and soak runs shorten it so a tripped limit clears.
    rate_window: float = 3600.0
    latency: float = 0.0
    fault_rate: float = 0.0
    fault_seed: int = 0
    # Where /oauth/authorize may send the browser back to (§1.2: the API key's domain).
    redirect_domains: tuple[str, ...] = DEFAULT_REDIRECT_DOMAINS
    # A browser at /oauth/authorize sees a consent page (programs are answered at once).
    consent_page: bool = True
    # App definitions (GET /app/{app_id} JSON, or files of it) added after the seed.
    apps: tuple[Any, ...] = ()
    # Alternative readings of Podio (_quirks.py); kept across reset(), changed by set_quirks.
    quirks: Quirks = field(default_factory=Quirks)

    def validate(self) -> None:
        if self.refresh not in ("rotate", "reuse"):
            raise ValueError("refresh must be 'rotate' or 'reuse'")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        if self.rate_window <= 0:
            raise ValueError("rate_window must be > 0 seconds")
        if isinstance(self.redirect_domains, str) or not all(
            isinstance(d, str) and d.strip() for d in self.redirect_domains
        ):
            raise ValueError("redirect_domains must be a sequence of domain names")
        self.redirect_domains = tuple(self.redirect_domains)
        if self.items < 0 or self.rate_limit < 1 or self.token_lifetime < 1:
            raise ValueError("items must be >= 0; rate_limit and token_lifetime >= 1")


class Core:
    def __init__(self, options: Options) -> None:
        options.validate()
        self.options = options
        # Outside reset: a reset keeps where hooks are delivered.
        self.hook_delivery = HookDelivery()
        self.set_quirks(options.quirks)
        self.reset()

    @property
    def quirks(self) -> Quirks:
        # The hook quirks live in the delivery (deliver_hooks_to(attempts=) sets them too).
        out = self.hook_delivery
        return replace(self.options.quirks, hook_retries=out.attempts - 1,
                       hook_inactive_after=out.inactive_after)  # fmt: skip

    def set_quirks(self, changes: Any) -> Quirks:
        """Apply quirk changes (a Quirks, a mapping or "name[=value]" strings); the result."""
        quirks = changes if isinstance(changes, Quirks) else self.quirks.updated(changes)
        quirks = replace(quirks, budget_swap=_route_names(quirks.budget_swap))
        self.options.quirks = quirks
        self.hook_delivery.attempts = 1 + quirks.hook_retries
        self.hook_delivery.inactive_after = quirks.hook_inactive_after
        return self.quirks

    def reset(self) -> None:
        opts = self.options
        self.world = World()
        seed(self.world, opts.seed, opts.items)
        load_apps(self.world, opts.apps)
        index_media(self.world)
        self.tokens = TokenStore(opts.token_lifetime, opts.refresh)
        limited = opts.rate_limit_limited or max(1, opts.rate_limit // 4)
        self.limiter = RateLimiter(opts.rate_limit, limited, window=opts.rate_window)
        self.serializer = Serializer(self.world)
        self.filters = FilterCache()
        self.routes: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.requests = 0
        self.client_disconnects = 0
        # The quirk file_redirect: links redirected, second-origin requests, and those of
        # them that carried a token (which a client must never send there).
        self.file_redirects: Counter[str] = Counter(
            redirected=0, second_origin=0, second_origin_with_token=0
        )
        self.set_faults(opts.latency, opts.fault_rate, opts.fault_seed)
        self._bylines: dict[int, JSON] = {}

    def set_faults(self, latency: float, fault_rate: float, fault_seed: int | None = None) -> None:
        if not 0.0 <= fault_rate <= 1.0 or latency < 0:
            raise ValueError("fault_rate must be between 0 and 1 and latency >= 0")
        self.options.latency = latency
        self.options.fault_rate = fault_rate
        if fault_seed is not None:
            self.options.fault_seed = fault_seed
            # Seeded: the same requests in the same order meet the same faults.
            self.rng = random.Random(fault_seed)

    def byline(self, user: User) -> JSON:
        # One dict per user, so serialised bylines can be cached by identity.
        hit = self._bylines.get(user.user_id)
        if hit is None:
            hit = self._bylines[user.user_id] = user.byline()
        return hit

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "client_disconnects": self.client_disconnects,
            "routes": dict(self.routes),
            "token_grants": dict(self.tokens.grants),
            "rate_limited": self.limiter.refused,
            "faults": dict(self.faults),
            "file_redirects": dict(self.file_redirects),
            "items": len(self.world.items),
            "tokens_active": len(self.tokens.by_access),
            "push": push_hub(self).stats(),
        }


def _route_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """`budget_swap` names checked against the API's routes that count against a budget."""
    from ._app import API_ROUTES  # here: _app imports this module

    known = {r.name.rstrip("/"): r.name for r in API_ROUTES if r.pool in ("general", "limited")}
    out = []
    for name in names:
        found = known.get(name.rstrip("/"))
        if found is None:
            raise ValueError(
                f"quirk budget_swap: no rate-limited route {name!r} (use the names of "
                "stats()['routes'], e.g. 'POST /item/app/{app_id}/filter/')"
            )
        out.append(found)
    return tuple(out)
