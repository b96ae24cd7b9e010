"""The emulator's in-memory world: users, orgs, spaces, apps, items, tasks, comments, hooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._common import JSON, fmt_dt, image, via


class Shared(list[Any]):
    """A value list shared by many seeded items, serialised once (`raw`)."""

    raw: bytes | None = None


@dataclass
class User:
    user_id: int
    profile_id: int
    name: str
    mail: str
    password: str
    avatar: int

    def byline(self) -> JSON:
        return {
            "user_id": self.user_id,
            "name": self.name,
            "url": f"https://podio.com/users/{self.user_id}",
            "type": "user",
            "image": image(self.avatar),
            "avatar_type": "file",
            "avatar": self.avatar,
            "id": self.user_id,
            "avatar_id": self.avatar,
            "last_seen_on": "2024-01-02 09:00:00",
        }

    def mini_profile(self) -> JSON:
        """The short profile of an app's owner or a task's responsible (as in the samples)."""
        return {
            "user_id": self.user_id,
            "space_id": None,
            "image": image(self.avatar),
            "profile_id": self.profile_id,
            "org_id": None,
            "link": f"https://podio.com/users/{self.user_id}",
            "avatar": self.avatar,
            "type": "user",
            "last_seen_on": "2024-01-02 09:00:00",
            "name": self.name,
        }

    def profile(self) -> JSON:
        """The contact-field value and the /user/status profile."""
        return {
            "profile_id": self.profile_id,
            "user_id": self.user_id,
            "type": "user",
            "name": self.name,
            "avatar": self.avatar,
            "image": image(self.avatar),
            "link": f"https://podio.com/users/{self.user_id}",
            "mail": [self.mail],
            "phone": [],
            "title": [],
            "location": [],
            "url": [],
            "twitter": None,
            "space_id": None,
            "org_id": None,
            "external_id": None,
            "last_seen_on": "2024-01-02 09:00:00",
            "rights": ["view"],
        }


@dataclass
class Org:
    org_id: int
    name: str
    url_label: str


@dataclass
class Space:
    space_id: int
    org_id: int
    name: str
    url_label: str


@dataclass
class Field:
    field_id: int
    external_id: str
    type: str
    label: str
    settings: JSON | None
    delta: int
    required: bool = False

    def config(self) -> JSON:
        return {
            "default_value": None,
            "unique": False,
            "description": None,
            "hidden_create_view_edit": False,
            "required": self.required,
            "mapping": None,
            "label": self.label,
            "visible": True,
            "delta": self.delta,
            "hidden": False,
            "settings": self.settings,
        }

    def as_json(self) -> JSON:
        return {
            "status": "active",
            "type": self.type,
            "field_id": self.field_id,
            "label": self.label,
            "config": self.config(),
            "external_id": self.external_id,
        }


@dataclass
class App:
    app_id: int
    space_id: int
    name: str
    item_name: str
    url_label: str
    token: str
    icon_id: int
    fields: list[Field]
    item_ids: list[int] = field(default_factory=list)
    next_app_item_id: int = 1
    # The rating types the app turns on (config fivestar, thumbs ...); "like" is always on.
    ratings: tuple[str, ...] = ("like",)
    # Bumped on every item write: keys the filter result cache.
    version: int = 0
    by_key: dict[str, Field] = field(default_factory=dict)
    # The app's `current_revision`: bumped by every change to its fields (_app_defs).
    revision: int = 1

    def __post_init__(self) -> None:
        for f in self.fields:
            self.by_key[str(f.field_id)] = f
            self.by_key[f.external_id] = f

    def field(self, key: str | int) -> Field | None:
        return self.by_key.get(str(key))


@dataclass(slots=True)
class Revision:
    item_revision_id: int
    revision: int
    type: str
    created_ts: float
    by: JSON
    # The item's field values as of this revision (value lists are never mutated in place,
    # so this shares them): what get_revision_difference compares.
    values: dict[int, list[JSON]] | None = None

    raw: bytes | None = None  # serialised once: a revision never changes

    def as_json(self) -> JSON:
        return {
            "item_revision_id": self.item_revision_id,
            "revision": self.revision,
            "type": self.type,
            "created_on": fmt_dt(self.created_ts),
            "created_by": self.by,
            "created_via": via(),
            "user": self.by,
        }


@dataclass(slots=True)
class Item:
    item_id: int
    app_id: int
    app_item_id: int
    external_id: str | None
    title: str
    values: dict[int, list[JSON]]
    created_ts: float
    last_event_ts: float
    created_by: JSON
    revisions: list[Revision]
    tags: list[str] = field(default_factory=list)
    comment_count: int = 0
    # Serialised forms, dropped on every change (see _serialize).
    full_bytes: bytes | None = None
    short_bytes: bytes | None = None

    @property
    def revision(self) -> int:
        return self.revisions[-1].revision

    @property
    def last_edit_ts(self) -> float:
        """When the item was last edited (`last_edit_on`): its latest revision's time. Only
        edits make revisions; comments and other activity move `last_event_ts` alone."""
        return self.revisions[-1].created_ts

    def invalidate(self) -> None:
        self.full_bytes = None
        self.short_bytes = None


@dataclass
class Token:
    access_token: str
    refresh_token: str
    client_id: str
    ref_type: str  # "user" | "app"
    ref_id: int
    expires_at: float
    scope: str

    @property
    def identity(self) -> tuple[str, int]:
        return (self.ref_type, self.ref_id)


@dataclass
class Hook:
    hook_id: int
    ref_type: str
    ref_id: int
    url: str
    type: str
    code: str
    created_ts: float
    created_by: JSON
    status: str = "inactive"

    def as_json(self) -> JSON:
        return {
            "hook_id": self.hook_id,
            "status": self.status,
            "type": self.type,
            "url": self.url,
            "created_on": fmt_dt(self.created_ts),
            "created_by": self.created_by,
            "created_via": via(),
        }


@dataclass
class World:
    """Everything a seed creates; `reset` replaces it wholesale."""

    client_id: str = ""
    client_secret: str = ""
    users: dict[int, User] = field(default_factory=dict)
    orgs: dict[int, Org] = field(default_factory=dict)
    spaces: dict[int, Space] = field(default_factory=dict)
    apps: dict[int, App] = field(default_factory=dict)
    items: dict[int, Item] = field(default_factory=dict)
    tasks: dict[int, JSON] = field(default_factory=dict)
    comments: dict[int, JSON] = field(default_factory=dict)
    hooks: dict[int, Hook] = field(default_factory=dict)
    # Uploaded or seeded files and resolved embeds: file_id / embed_id -> their mini form.
    files: dict[int, JSON] = field(default_factory=dict)
    embeds: dict[int, JSON] = field(default_factory=dict)
    # Uploaded files' bytes (temporary files on disk) and files attached to objects:
    # (ref_type, ref_id) -> file ids, oldest first (_uploads).
    file_bodies: dict[int, Any] = field(default_factory=dict)
    attachments: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    # Index for external_id look-ups: (app_id, external_id) -> item_id.
    external_ids: dict[tuple[int, str], int] = field(default_factory=dict)
    app_item_ids: dict[tuple[int, int], int] = field(default_factory=dict)
    next_id: dict[str, int] = field(default_factory=dict)
    demo_user_id: int = 0

    def new_id(self, kind: str, start: int) -> int:
        value = self.next_id.get(kind, start)
        self.next_id[kind] = value + 1
        return value

    def user_by_mail(self, mail: str) -> User | None:
        for user in self.users.values():
            if user.mail.lower() == mail.lower():
                return user
        return None

    def app_byline(self, app: App) -> JSON:
        # Items created with an app token are "created by" the app (type "app", user_id -1).
        return {
            "user_id": -1,
            "name": app.name,
            "url": self.app_link(app),
            "type": "app",
            "image": None,
            "avatar_type": "icon",
            "avatar": app.icon_id,
            "id": app.app_id,
            "avatar_id": app.icon_id,
            "last_seen_on": None,
        }

    def app_link(self, app: App) -> str:
        space = self.spaces[app.space_id]
        org = self.orgs[space.org_id]
        return f"https://podio.com/{org.url_label}/{space.url_label}/apps/{app.url_label}"

    def item_link(self, item: Item) -> str:
        return f"{self.app_link(self.apps[item.app_id])}/items/{item.app_item_id}"


def space_short(world: World, space_id: int) -> JSON:
    """The short space view embedded in an item or a referenced app (items__get_item__4)."""
    space = world.spaces[space_id]
    return {
        "space_id": space.space_id,
        "name": space.name,
        "url": f"https://podio.com/{world.orgs[space.org_id].url_label}/{space.url_label}",
        "url_label": space.url_label,
        "org_id": space.org_id,
        "type": "regular",
        "sharefile_vault_url": None,
    }


def app_short(world: World, app: App) -> JSON:
    """The short app view embedded in an item (samples items__get_item__4, apps__app_in_item)."""
    link = world.app_link(app)
    return {
        "app_id": app.app_id,
        "status": "active",
        "name": app.name,
        "item_name": app.item_name,
        "icon": f"{app.icon_id}.png",
        "icon_id": app.icon_id,
        "space_id": app.space_id,
        "default_view_id": None,
        "current_revision": app.revision,
        "is_default": False,
        "url": link,
        "link": link,
        "url_add": f"{link}/items/new",
        "link_add": f"{link}/items/new",
        "url_label": app.url_label,
        "sharefile_vault_url": None,
        # Podio fills this for orgs on an item-limited plan; the emulated org is premium.
        "item_accounting_info": None,
        "config": {
            "item_name": app.item_name,
            "icon_id": app.icon_id,
            "type": "standard",
            "name": app.name,
            "icon": f"{app.icon_id}.png",
        },
    }


# How Podio names a JSON value's type in "Invalid value ... (array)" (podio-php#96).
_PHP_TYPES = {list: "array", str: "string", int: "integer", float: "float", bool: "boolean",
              type(None): "null"}  # fmt: skip


def any_json(value: Any) -> JSON:
    """Narrow a decoded JSON body to an object (Podio answers 400 otherwise)."""
    from ._errors import dumps_text, invalid_value

    if not isinstance(value, dict):
        kind = _PHP_TYPES.get(type(value), type(value).__name__)
        raise invalid_value(f"Invalid value {dumps_text(value)} ({kind}): must be object")
    return value
