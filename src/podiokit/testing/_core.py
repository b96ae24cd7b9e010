"""The emulator's mutable core: options, the seeded world, tokens, limits, faults, stats."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ._app_defs import load_apps
from ._common import JSON
from ._filter import FilterCache
from ._hooks_delivery import HookDelivery
from ._push import hub as push_hub
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
        self.reset()

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
            "items": len(self.world.items),
            "tokens_active": len(self.tokens.by_access),
            "push": push_hub(self).stats(),
        }
