"""Orgs, spaces, users and apps."""

from __future__ import annotations

from typing import Any

from ._common import EPOCH, JSON, fmt_dt
from ._errors import ApiError
from ._push import push_object
from ._router import Ctx, Route
from ._state import App, Org, Space, World

ORG_RIGHTS = ["view", "update", "add_space", "add_conversation", "statistics", "view_admins"]
SPACE_RIGHTS = [
    "view",
    "update",
    "add_app",
    "add_task",
    "add_status",
    "add_file",
    "add_hook",
    "subscribe",
    "share",
    "add_user",
    "add_contact",
    "view_members",
]
# A space's short form: the keys of the spaces listed in a real GET /org/ body
# (samples/orgs__get_orgs__2), plus org_id.
SPACE_MICRO = ("space_id", "name", "url", "url_label", "org_id", "type", "role", "rights",
               "premium", "rank")  # fmt: skip
APP_RIGHTS = [
    "view",
    "update",
    "add_item",
    "add_task",
    "add_hook",
    "export",
    "reference",
    "subscribe",
    "view_structure",
    "add_filter",
    "share",
    "delete",
]


def space_json(world: World, space: Space, *, with_org: bool = True) -> JSON:
    org = world.orgs[space.org_id]
    out: JSON = {
        "space_id": space.space_id,
        "name": space.name,
        "url": f"https://podio.com/{org.url_label}/{space.url_label}",
        "url_label": space.url_label,
        "org_id": space.org_id,
        "type": "regular",
        "privacy": "closed",
        "auto_join": False,
        "role": "admin",
        "rights": SPACE_RIGHTS,
        "description": None,
        "premium": False,
        "subscribed": True,
        "post_on_new_app": True,
        "post_on_new_member": True,
        "is_overdue": False,
        "video": None,
        "owner": {"type": "org", "id": org.org_id},
        "created_on": fmt_dt(EPOCH - 86_400),
        # A space's creator is served as a short profile (samples/spaces__get_space__1).
        "created_by": world.users[world.demo_user_id].mini_profile(),
        "rank": 1,
        "push": push_object(f"/space/{space.space_id}"),
    }
    if with_org:
        out["org"] = org_json(world, org, with_spaces=False)
    return out


def org_json(world: World, org: Org, *, with_spaces: bool = True) -> JSON:
    out: JSON = {
        "org_id": org.org_id,
        "name": org.name,
        "url": f"https://podio.com/{org.url_label}",
        "url_label": org.url_label,
        "type": "premium",
        "logo": None,
        "image": None,
        "role": "admin",
        "status": "active",
        "premium": True,
        "contract_status": "full",
        "segment": None,
        "segment_size": None,
        "sales_agent_id": None,
        "grants_count": 0,
        "rank": 1,
        "domains": [],
        "rights": ORG_RIGHTS,
        "user_limit": 0,
        "created_on": fmt_dt(EPOCH - 2 * 86_400),
    }
    if with_spaces:
        out["spaces"] = [
            space_json(world, s, with_org=False)
            for s in world.spaces.values()
            if s.org_id == org.org_id
        ]
    return out


def app_json(ctx: Ctx, app: App) -> JSON:
    short = ctx.core.serializer.app_short(app)
    owner = ctx.world.users[ctx.world.demo_user_id].mini_profile()
    return {
        "app_id": app.app_id,
        "original": None,
        "original_revision": None,
        "status": "active",
        "space_id": app.space_id,
        "current_revision": app.revision,
        "default_view_id": None,
        "url": short["url"],
        "link": short["link"],
        "url_add": short["url_add"],
        "link_add": short["link_add"],
        "url_label": app.url_label,
        "token": app.token,
        "mailbox": f"{app.url_label}.{app.app_id:08x}",
        "owner": owner,
        "rights": APP_RIGHTS,
        "subscribed": False,
        "pinned": False,
        "integration": None,
        "config": {
            "name": app.name,
            "item_name": app.item_name,
            "description": "",
            "usage": "",
            "icon": f"{app.icon_id}.png",
            "icon_id": app.icon_id,
            "type": "standard",
            "allow_edit": True,
            "allow_create": True,
            "allow_attachments": True,
            "allow_comments": True,
            "allow_tags": True,
            "default_view": "badge",
            "silent_creates": False,
            "silent_edits": False,
            "disable_notifications": False,
            "fivestar": "fivestar" in app.ratings,
            "fivestar_label": "Rating" if "fivestar" in app.ratings else None,
            "thumbs": False,
            "thumbs_label": None,
            "yesno": False,
            "yesno_label": None,
            "rsvp": False,
            "rsvp_label": None,
            "approved": False,
            "show_app_item_id": False,
            "app_item_id_prefix": None,
            "app_item_id_padding": 1,
            "external_id": None,
            "tasks": [],
        },
        "fields": [f.as_json() for f in app.fields],
    }


def _space(ctx: Ctx) -> Space:
    space = ctx.world.spaces.get(ctx.int_param("space_id"))
    if space is None:
        raise ApiError(404, "not_found", f"Object not found: space {ctx.params['space_id']}")
    return space


async def get_orgs(ctx: Ctx) -> Any:
    return [org_json(ctx.world, o) for o in ctx.world.orgs.values()]


async def get_org(ctx: Ctx) -> Any:
    org = ctx.world.orgs.get(ctx.int_param("org_id"))
    if org is None:
        raise ApiError(404, "not_found", f"Object not found: org {ctx.params['org_id']}")
    return org_json(ctx.world, org)


async def get_org_spaces(ctx: Ctx) -> Any:
    org_id = ctx.int_param("org_id")
    return [space_json(ctx.world, s) for s in ctx.world.spaces.values() if s.org_id == org_id]


async def get_org_space_list(ctx: Ctx) -> Any:
    """GET /space/org/{org_id}/ (podio-dotnet `GetListOfOrganizationWorkspaces`): the org's
    workspaces in their short form."""
    org_id = ctx.int_param("org_id")
    org = ctx.world.orgs.get(org_id)
    if org is None:
        raise ApiError(404, "not_found", f"Object not found: org {org_id}")
    out = []
    for space in ctx.world.spaces.values():
        if space.org_id == org_id:
            full = space_json(ctx.world, space, with_org=False)
            out.append({k: full[k] for k in SPACE_MICRO})
    return out


async def get_space(ctx: Ctx) -> Any:
    return space_json(ctx.world, _space(ctx))


async def get_user(ctx: Ctx) -> Any:
    user = ctx.world.users[_user_id(ctx)]
    return {
        "user_id": user.user_id,
        "profile_id": user.profile_id,
        "name": user.name,
        "mail": user.mail,
        "mails": [{"mail": user.mail, "verified": True, "primary": True}],
        "status": "active",
        "locale": "en_GB",
        "timezone": "UTC",
        "type": "user",
        "flags": [],
        "created_on": fmt_dt(EPOCH - 3 * 86_400),
        "link": f"https://podio.com/users/{user.user_id}",
        "avatar": user.avatar,
    }


async def get_user_status(ctx: Ctx) -> Any:
    user_id = _user_id(ctx)
    profile = ctx.world.users[user_id].profile()
    return {
        "user": await get_user(ctx),
        "profile": profile,
        "properties": {},
        "inbox_new": 0,
        "calendar_code": f"{user_id:032x}",
        "mailbox": f"user.{user_id}",
        "task_mail": f"task.{user_id}",
        "message_unread_count": 0,
        "flags": [],
        "betas": [],
        "push": push_object(f"/user/{user_id}"),
        "presence": {
            "ref_type": "user",
            "ref_id": user_id,
            "user_id": user_id,
            "signature": f"{user_id + 1:040x}",
        },
    }


def _user_id(ctx: Ctx) -> int:
    token = ctx.token
    if token is not None and token.ref_type == "user":
        return token.ref_id
    raise ApiError(403, "forbidden", "This operation needs a user, not an app", propagate=True)


async def get_app(ctx: Ctx) -> Any:
    return app_json(ctx, ctx.app(ctx.int_param("app_id")))


async def get_apps(ctx: Ctx) -> Any:
    apps = ctx.world.apps.values()
    if ctx.token is not None and ctx.token.ref_type == "app":
        apps = [a for a in apps if a.app_id == ctx.token.ref_id]  # type: ignore[assignment]
    return [app_json(ctx, a) for a in apps]


async def get_space_apps(ctx: Ctx) -> Any:
    space = _space(ctx)
    apps = [a for a in ctx.world.apps.values() if a.space_id == space.space_id]
    return [app_json(ctx, a) for a in apps if not _hidden(ctx, a)]


def _hidden(ctx: Ctx, app: App) -> bool:
    token = ctx.token
    return token is not None and token.ref_type == "app" and token.ref_id != app.app_id


async def get_app_field(ctx: Ctx) -> Any:
    app = ctx.app(ctx.int_param("app_id"))
    field = app.field(ctx.params["field"])
    if field is None:
        raise ApiError(404, "not_found", f"Object not found: field {ctx.params['field']}")
    return field.as_json()


ROUTES = [
    Route("GET", "/org/", get_orgs),
    Route("GET", "/org/{org_id}", get_org),
    Route("GET", "/org/{org_id}/space/", get_org_spaces),
    Route("GET", "/space/org/{org_id}/", get_org_space_list),
    Route("GET", "/space/{space_id}", get_space),
    Route("GET", "/user/", get_user),
    Route("GET", "/user/status", get_user_status),
    Route("GET", "/app/", get_apps),
    Route("GET", "/app/space/{space_id}/", get_space_apps),
    Route("GET", "/app/{app_id}", get_app),
    Route("GET", "/app/{app_id}/field/{field}", get_app_field),
]
