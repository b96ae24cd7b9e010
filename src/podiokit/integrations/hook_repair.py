"""See which of your webhooks are active, and get inactive ones verified again.

A hook Podio has turned inactive receives nothing, and nothing says when Podio does that
(after failed deliveries? how many?) or whether it retries a delivery first
(docs/dev/podio-behaviour.md §7). An app that depends on its hooks can check them at
start-up and repair them: `repair_hooks` creates the hooks that are missing and asks Podio
to send `hook.verify` again for the inactive ones (the receiver answers it, which makes them
active), then reports each hook's status as Podio lists it.

```python
hooks = await list_hooks(podio, "app", app_id, url=url)   # [Hook(hook_id=..., status="inactive"), ...]
report = await repair_hooks(podio, "app", app_id, url, types=["item.create"], retry_for=60)
```

`podio` must be the client that created the hooks (the app, or a user who may manage it).
Plain Podio calls: no web framework needed (`PodioWebhooks.repair` wraps this for FastAPI).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, MutableSet
from dataclasses import dataclass
from typing import Literal

import anyio

from .._client import Podio
from ..models.hooks import Hook

__all__ = ["HookRepair", "list_hooks", "repair_hooks"]

log = logging.getLogger("podiokit.integrations.hooks")

Action = Literal["none", "created", "verification requested"]


@dataclass(frozen=True)
class HookRepair:
    """One hook after `repair_hooks`.

    Attributes:
        hook_id: the hook's id.
        type: its event type ("item.create", ...).
        status: as Podio lists it after the repair: "active", or "inactive" when the
            verification has not come back (yet).
        action: "none" (it was active), "created" (it was missing), or "verification
            requested" (it was inactive).
    """

    hook_id: int
    type: str
    status: str
    action: Action

    @property
    def active(self) -> bool:
        return self.status == "active"


async def list_hooks(
    podio: Podio, ref_type: str, ref_id: int, *, url: str | None = None
) -> list[Hook]:
    """The hooks on an object (`ref_type` "app", "app_field" or "space"), each with its
    `status` ("active" or "inactive"): only those whose URL is `url` when given (compare
    with the URL you registered, its query included)."""
    hooks = await podio.hooks.get_all(ref_type, ref_id)
    return [h for h in hooks if url is None or h.url == url]


async def repair_hooks(
    podio: Podio,
    ref_type: str,
    ref_id: int,
    url: str,
    *,
    types: Iterable[str] = (),
    retry_for: float = 0.0,
    retry_every: float = 5.0,
    known_hooks: MutableSet[int] | None = None,
) -> list[HookRepair]:
    """Make the hooks that call `url` on an object active again.

    A hook of each of `types` that does not exist is created (Podio then sends
    `hook.verify`); each inactive hook calling `url` gets a new verification request
    (`podio.hooks.request_verification`). Hooks already active are left alone. With
    `retry_for` seconds, hooks still inactive are asked again every `retry_every` seconds
    until all are active or the time is up: run it that way at start-up, in a task, since
    Podio's `hook.verify` can only be answered once the app is serving. Hooks left inactive
    are logged. Returns every hook calling `url`, as Podio lists it at the end.

    The id of each hook calling `url` is added to `known_hooks` (the set a receiver checks
    deliveries against) as soon as it is known: an event may arrive the moment its hook is
    verified, before this returns.
    """
    if retry_for < 0 or retry_every <= 0:
        raise ValueError(
            f"retry_for must be >= 0 and retry_every > 0 seconds, not {retry_for!r} and "
            f"{retry_every!r}"
        )
    wanted = list(dict.fromkeys(types))
    actions: dict[int, Action] = {}
    known = known_hooks if known_hooks is not None else set()
    hooks = await list_hooks(podio, ref_type, ref_id, url=url)
    known |= {h.hook_id for h in hooks if h.hook_id is not None}
    present = {h.type for h in hooks}
    for kind in wanted:
        if kind not in present:
            created = await podio.hooks.create(ref_type, ref_id, url=url, type=kind)
            if created.hook_id is not None:
                known.add(created.hook_id)
                actions[created.hook_id] = "created"
    for hook in hooks:
        if hook.hook_id is None:
            continue
        if hook.status == "active":
            actions[hook.hook_id] = "none"
        else:
            actions[hook.hook_id] = "verification requested"
            await podio.hooks.request_verification(hook.hook_id)
    hooks = await list_hooks(podio, ref_type, ref_id, url=url)
    if retry_for > 0:
        with anyio.move_on_after(retry_for) as scope:
            while inactive := [h.hook_id for h in hooks if h.status != "active" and h.hook_id]:
                await anyio.sleep(retry_every)
                for hook_id in inactive:
                    await podio.hooks.request_verification(hook_id)
                hooks = await list_hooks(podio, ref_type, ref_id, url=url)
        if scope.cancelled_caught:  # the time ran out mid-way: the statuses as they are now
            hooks = await list_hooks(podio, ref_type, ref_id, url=url)
    report = [
        HookRepair(h.hook_id, h.type or "", h.status or "inactive",
                   actions.get(h.hook_id, "verification requested"))
        for h in hooks if h.hook_id is not None
    ]  # fmt: skip
    for r in report:
        if not r.active:
            log.warning("Podio hook %s (%s on %s %s) is still inactive: it receives nothing "
                        "until its hook.verify is answered", r.hook_id, r.type, ref_type, ref_id)  # fmt: skip
    return report
