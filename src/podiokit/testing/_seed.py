"""Deterministic seeds. `demo`: an org, a space, users, two apps covering every field type.

Item values come from small pools of pre-built value lists picked by index arithmetic, so
100,000 items seed in about a second. Values are never mutated in place (writes replace the
lists), which makes sharing them between items safe.
"""

from __future__ import annotations

import gc
import hashlib
from typing import Any

from ._common import EPOCH, JSON, fmt_number
from ._serialize import referenced_app
from ._state import App, Field, Item, Org, Revision, Shared, Space, User, World
from ._values import date_part, embed_obj, file_mini, item_mini

DEMO_CLIENT_ID = "podiokit-emulator"
DEMO_CLIENT_SECRET = "emulator-secret-0f9c2a7d41b6"
DEMO_USERNAME = "demo@podiokit.test"
DEMO_PASSWORD = "demo-password"

ADJECTIVES = ["Amber", "Bold", "Crisp", "Daring", "Eager", "Fluent", "Golden", "Hidden",
              "Ivory", "Jolly", "Keen", "Lucky", "Mellow", "Noble", "Open", "Prime"]  # fmt: skip
NOUNS = ["Atlas", "Beacon", "Comet", "Delta", "Ember", "Falcon", "Garden", "Harbor",
         "Island", "Juniper", "Kite", "Lantern", "Meadow", "Nimbus", "Orbit", "Pioneer"]  # fmt: skip
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
             "Wonka", "Tyrell", "Cyberdyne", "Soylent", "Gringotts", "Monarch"]  # fmt: skip
# (address, street, city, state, postal code, country, lat, lng): geocoded as Podio serves them.
PLACES = [
    ("Champ de Mars, 5 Avenue Anatole France, 75007 Paris, France", "5 Avenue Anatole France",
     "Paris", "Île-de-France", "75007", "France", 48.8583701, 2.2944813),
    ("Aboulevarden 20, 8000 Aarhus, Denmark", "Aboulevarden 20", "Aarhus", "Central Denmark",
     "8000", "Denmark", 56.1567, 10.2108),
    ("1 Infinite Loop, Cupertino, CA 95014, USA", "1 Infinite Loop", "Cupertino", "California",
     "95014", "USA", 37.33182, -122.03118),
    ("Karl Johans gate 22, 0026 Oslo, Norway", "Karl Johans gate 22", "Oslo", "Oslo", "0026",
     "Norway", 59.91273, 10.74609),
    ("Rua Augusta 100, 1100-053 Lisboa, Portugal", "Rua Augusta 100", "Lisboa", "Lisboa",
     "1100-053", "Portugal", 38.71078, -9.13736),
]  # fmt: skip
PHOTOS = ["site-survey.jpg", "kickoff-whiteboard.jpg", "mockup-v2.png", "floor-plan.png",
          "team-photo.jpg", "moodboard.png"]  # fmt: skip
PAGES = [
    (
        "https://github.com/podiokit/{slug}",
        "github.com",
        "GitHub - podiokit/{slug}",
        "Source code and issue tracker for the {title} project.",
    ),
    (
        "https://docs.google.com/document/d/{slug}",
        "docs.google.com",
        "{title} - project brief",
        "Goals, scope and milestones, shared with the client.",
    ),
    (
        "https://www.figma.com/file/{slug}",
        "www.figma.com",
        "{title} - designs on Figma",
        "Wireframes and the approved visual design.",
    ),
]


def _token(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _options(*names: str) -> list[JSON]:
    colors = ["DCEBD8", "F7F0C5", "FFD5C2", "D2E4EB", "E1D8ED"]
    return [
        {"status": "active", "text": n, "id": i + 1, "color": colors[i % len(colors)]}
        for i, n in enumerate(names)
    ]


def seed(world: World, name: str, items: int) -> None:
    # The collector would walk millions of fresh containers repeatedly while seeding; after a
    # large seed, freezing keeps later collections from re-walking the seeded world.
    enabled = gc.isenabled()
    gc.disable()
    try:
        _seed(world, name, items)
    finally:
        if enabled:
            gc.enable()
    if items >= 10_000:
        gc.freeze()


def _seed(world: World, name: str, items: int) -> None:
    if name not in ("demo", "empty"):
        raise ValueError(f"unknown seed {name!r}: use 'demo' or 'empty'")
    world.client_id = DEMO_CLIENT_ID
    world.client_secret = DEMO_CLIENT_SECRET
    demo = User(1001, 2001, "Dana Demo", DEMO_USERNAME, DEMO_PASSWORD, 9001)
    world.users[demo.user_id] = demo
    world.demo_user_id = demo.user_id
    if name == "empty":
        return
    for n, who in enumerate(["Alex Archer", "Blake Berg", "Casey Chen"], start=2):
        mail = f"{who.split()[0].lower()}@podiokit.test"
        world.users[1000 + n] = User(1000 + n, 2000 + n, who, mail, f"pw-{n}", 9000 + n)
    world.orgs[100] = Org(100, "Emulated Org", "emulated-org")
    world.spaces[200] = Space(200, 100, "Demo Space", "demo-space")
    clients, projects = _apps()
    # Projects first: it is "the demo app" (credentials["apps"][0]) and has most field types.
    projects.ratings = ("fivestar", "like")
    for app in (projects, clients):
        world.apps[app.app_id] = app
    _link_references(world, projects)
    _seed_clients(world, clients, items, demo)
    _seed_projects(world, projects, clients, items, demo)


def _apps() -> tuple[App, App]:
    def f(fid: int, ext: str, kind: str, label: str, settings: Any, delta: int) -> Field:
        return Field(fid, ext, kind, label, settings, delta, required=ext == "title")

    clients = App(
        3001, 200, "Clients", "Client", "clients", _token("app-3001"), 42,
        [
            f(40001, "title", "text", "Name", {"format": "plain", "size": "small"}, 0),
            f(40002, "email", "email", "Email", {"include_in_cc": False, "include_in_bcc": False, "possible_types": ["work", "home", "other"]}, 1),
            f(40003, "phone", "phone", "Phone", {"call_link_scheme": "callto", "possible_types": ["mobile", "work", "home"]}, 2),
            f(40004, "address", "location", "Address", {"structured": False, "has_map": True}, 3),
            f(40005, "logo", "image", "Logo", {"allowed_mimetypes": ["image/png"]}, 4),
            f(40006, "website", "embed", "Website", None, 5),
            f(40007, "tier", "question", "Tier", {"multiple": False, "options": _options("Gold", "Silver", "Bronze"), "display": "inline"}, 6),
            f(40008, "industry", "category", "Industry", {"multiple": True, "options": _options("Retail", "Finance", "Health", "Energy"), "display": "list"}, 7),
            f(40009, "account-manager", "contact", "Account manager", {"type": "space_users", "valid_types": ["user"]}, 8),
        ],
    )  # fmt: skip
    projects = App(
        3002, 200, "Projects", "Project", "projects", _token("app-3002"), 17,
        [
            f(41001, "title", "text", "Title", {"format": "plain", "size": "small"}, 0),
            f(41002, "status", "category", "Status", {"multiple": False, "options": _options("Planned", "Active", "On hold", "Done"), "display": "inline"}, 1),
            f(41003, "client", "app", "Client", {"multiple": False, "referenced_apps": [{"app_id": 3001, "view_id": None}]}, 2),
            f(41004, "owner", "contact", "Owner", {"type": "space_users", "valid_types": ["user"]}, 3),
            f(41005, "budget", "money", "Budget", {"allowed_currencies": ["EUR", "USD", "DKK"]}, 4),
            f(41006, "hours", "number", "Hours", {"decimals": 1}, 5),
            f(41007, "rate", "number", "Hourly rate", {"decimals": 2}, 6),
            f(41008, "cost", "calculation", "Cost", {"script": "@[Hours](field_41006) * @[Hourly rate](field_41007)", "expression": {"type": "times", "left": {"type": "field", "field_id": 41006}, "right": {"type": "field", "field_id": 41007}}, "decimals": 2, "unit": "", "return_type": "number", "color": None, "time": None, "calendar": None}, 7),
            f(41009, "progress", "progress", "Progress", None, 8),
            f(41010, "deadline", "date", "Deadline", {"calendar": True, "color": "DCEBD8", "end": "enabled", "time": "disabled"}, 9),
            f(41011, "estimate", "duration", "Estimate", {"fields": ["days", "hours", "minutes"]}, 10),
            f(41012, "notes", "text", "Notes", {"format": "html", "size": "large"}, 11),
            f(41013, "project-page", "embed", "Project page", None, 12),
            f(41014, "cover", "image", "Cover image", {"allowed_mimetypes": ["image/png", "image/jpeg"]}, 13),
            f(41015, "site", "location", "Site", {"structured": True, "has_map": True}, 14),
            f(41016, "risk", "question", "Risk", {"multiple": False, "options": _options("Low", "Medium", "High"), "display": "inline"}, 15),
        ],
    )  # fmt: skip
    return clients, projects


def _link_references(world: World, app: App) -> None:
    """App fields carry the referenced apps in full, as Podio serves them (samples)."""
    for field in app.fields:
        settings = field.settings
        if field.type != "app" or settings is None:
            continue
        targets = [world.apps[r["app_id"]] for r in settings["referenced_apps"]]
        minis = [referenced_app(world, target) for target in targets]
        settings["referenced_apps"] = [
            {"app_id": t.app_id, "view_id": None, "view": None, "app": mini}
            for t, mini in zip(targets, minis, strict=True)
        ]
        settings["apps"] = minis
        settings["referenceable_types"] = [t.app_id for t in targets]


def _place(k: int) -> Shared:
    address, street, city, state, postal, country, lat, lng = PLACES[k % len(PLACES)]
    return Shared([{"value": address, "formatted": address, "street_address": street,
                    "city": city, "state": state, "postal_code": postal, "country": country,
                    "lat": lat, "lng": lng, "map_in_sync": True}])  # fmt: skip


def _seed_items(world: World, app: App, count: int, by: JSON, make: Any, external: str) -> None:
    """Append `count` items built by `make(i)`; created ten minutes apart from EPOCH."""
    new_id = world.items.__setitem__
    item_id = world.next_id.get("item", 1_000_001)
    revision_id = world.next_id.get("revision", 5_000_001)
    for i in range(count):
        values, title = make(i)
        ts = EPOCH + i * 600
        n = app.next_app_item_id
        item = Item(
            item_id, app.app_id, n, f"{external}-{n}", title, values, ts, ts + 300, by,
            [Revision(revision_id, 0, "creation", ts, by, values)],
        )  # fmt: skip
        new_id(item_id, item)
        app.item_ids.append(item_id)
        world.app_item_ids[(app.app_id, n)] = item_id
        world.external_ids[(app.app_id, f"{external}-{n}")] = item_id
        app.next_app_item_id += 1
        item_id += 1
        revision_id += 1
    world.next_id["item"] = item_id
    world.next_id["revision"] = revision_id
    app.version += 1


def _seed_clients(world: World, app: App, count: int, by: User) -> None:
    fields = {f.external_id: f for f in app.fields}
    users = [u.profile() for u in world.users.values()]
    places = [_place(k) for k in range(len(PLACES))]
    logos = []
    for k in range(16):
        logo = {**file_mini(700_000 + k), "name": f"logo-{k + 1}.png"}
        world.files[logo["file_id"]] = logo
        logos.append(Shared([{"value": logo}]))
    tiers = [Shared([{"value": o}]) for o in (fields["tier"].settings or {})["options"]]
    industry = (fields["industry"].settings or {})["options"]
    industries = [Shared([{"value": industry[i]}]) for i in range(4)]
    industries.append(Shared([{"value": industry[0]}, {"value": industry[2]}]))
    managers = [Shared([{"value": p}]) for p in users]
    ids = {k: f.field_id for k, f in fields.items()}
    websites = []
    for k, company in enumerate(COMPANIES):
        site = {**embed_obj(800_000 + k, f"https://{company.lower()}.example"),
                "title": f"{company} - official site"}  # fmt: skip
        world.embeds[site["embed_id"]] = site
        websites.append(Shared([{"embed": site, "file": None}]))

    def make(i: int) -> tuple[dict[int, list[JSON]], str]:
        company = COMPANIES[i % len(COMPANIES)]
        name = f"{company} {NOUNS[(i // len(COMPANIES)) % len(NOUNS)]} {i + 1}"
        slug = f"{company.lower()}{i + 1}"
        values = {
            ids["title"]: [{"value": name}],
            ids["email"]: [{"type": "work", "value": f"contact@{slug}.example"}],
            ids["phone"]: [{"type": "work", "value": f"+4530{i % 1000000:06d}"}],
            ids["address"]: places[i % len(places)],
            ids["logo"]: logos[i % len(logos)],
            ids["website"]: websites[i % len(websites)],
            ids["tier"]: tiers[i % len(tiers)],
            ids["industry"]: industries[i % len(industries)],
            ids["account-manager"]: managers[i % len(managers)],
        }  # fmt: skip
        return values, name

    _seed_items(world, app, count, by.byline(), make, "client")


def _seed_projects(world: World, app: App, clients: App, count: int, by: User) -> None:
    fields = {f.external_id: f for f in app.fields}
    ids = {k: f.field_id for k, f in fields.items()}
    status = [Shared([{"value": o}]) for o in (fields["status"].settings or {})["options"]]
    client_refs = [
        Shared([{"value": item_mini(world, world.items[item_id])}])
        for item_id in clients.item_ids[:50]
    ]
    owners = [Shared([{"value": u.profile()}]) for u in world.users.values()]
    currencies = ["EUR", "USD", "DKK"]
    budgets = [Shared([{"currency": currencies[k % 3], "value": fmt_number(1000 + k * 137.25)}])
               for k in range(211)]  # fmt: skip
    hours = [Shared([{"value": fmt_number(5 + k * 2.5)}]) for k in range(97)]
    rates = [Shared([{"value": fmt_number(60 + k * 7.5)}]) for k in range(13)]
    costs = {
        (h, r): Shared([{"value": fmt_number((5 + h * 2.5) * (60 + r * 7.5))}])
        for h in range(97) for r in range(13)
    }  # fmt: skip
    progress = [Shared([{"value": k}]) for k in range(101)]
    deadlines = []
    for k in range(365):
        start = EPOCH + 86_400 * (30 + k)
        value = {**date_part("start", start, has_time=False)}
        if k % 3 == 0:
            value.update(date_part("end", start + 86_400 * (1 + k % 9), has_time=False))
        deadlines.append(Shared([value]))
    estimates = [Shared([{"value": 3600 * (1 + k % 40)}]) for k in range(40)]
    notes = [
        Shared([{"value": f"<p>Kick-off notes, part {k}. Scope agreed.</p>"}]) for k in range(10)
    ]
    covers = []
    for k, name in enumerate(PHOTOS):
        cover = {**file_mini(750_000 + k), "name": name,
                 "mimetype": "image/png" if name.endswith(".png") else "image/jpeg"}  # fmt: skip
        world.files[cover["file_id"]] = cover
        covers.append(Shared([{"value": cover}]))
    sites = [_place(k) for k in range(len(PLACES))]
    risks = [Shared([{"value": o}]) for o in (fields["risk"].settings or {})["options"]]
    pages = []
    for k in range(24):
        url, host, title, about = PAGES[k % len(PAGES)]
        slug, name = f"{NOUNS[k % 16].lower()}-{k + 1}", f"{NOUNS[k % 16]} {k + 1}"
        embed = {**embed_obj(850_000 + k, url.format(slug=slug)), "hostname": host,
                 "title": title.format(slug=slug, title=name),
                 "description": about.format(title=name)}  # fmt: skip
        world.embeds[embed["embed_id"]] = embed
        pages.append(Shared([{"embed": embed, "file": None}]))

    def make(i: int) -> tuple[dict[int, list[JSON]], str]:
        title = f"{ADJECTIVES[i % 16]} {NOUNS[(i // 16) % 16]} {i + 1}"
        h, r = (i * 31) % 97, (i * 7) % 13
        values = {
            ids["title"]: [{"value": title}],
            ids["status"]: status[(i * 5) % 4 if i % 7 else 3],
            ids["owner"]: owners[i % len(owners)],
            ids["budget"]: budgets[(i * 53) % 211],
            ids["hours"]: hours[h],
            ids["rate"]: rates[r],
            ids["cost"]: costs[(h, r)],
            ids["progress"]: progress[(i * 37) % 101],
            ids["deadline"]: deadlines[(i * 11) % 365],
            ids["estimate"]: estimates[i % 40],
        }
        if client_refs:
            values[ids["client"]] = client_refs[i % len(client_refs)]
        if i % 4 == 0:
            values[ids["notes"]] = notes[i % 10]
        # Most projects have a page, a site and a risk; every third has a cover image.
        if i % 5 != 4:
            values[ids["project-page"]] = pages[i % len(pages)]
        if i % 3 == 0:
            values[ids["cover"]] = covers[(i // 3) % len(covers)]
        values[ids["site"]] = sites[(i * 3) % len(sites)]
        values[ids["risk"]] = risks[(i * 7) % len(risks) if i % 6 else 2]
        return values, title

    _seed_items(world, app, count, by.byline(), make, "project")
    _seed_work(world, app, by)


def _seed_work(world: World, app: App, by: User) -> None:
    """A few tasks and comments so those areas have something to list."""
    from ._work import make_comment, make_task

    first = app.item_ids[:3]
    for n, item_id in enumerate(first):
        make_task(world, {"text": f"Review project #{n + 1}", "due_date": "2024-02-01"},
                  by.byline(), ref=("item", item_id), now=EPOCH + n * 60)  # fmt: skip
        make_comment(world, ("item", item_id), {"value": "Looks good to me."}, by.byline(),
                     now=EPOCH + n * 60)  # fmt: skip
    make_task(world, {"text": "Plan the quarter"}, by.byline(), ref=("space", 200), now=EPOCH)
