"""What `podiokit typegen` writes: names, types by field type and settings, what each class
records, and code that passes mypy --strict, ruff and ruff format as it is."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from podiokit._typegen import DefinitionError, generate
from podiokit._typegen._names import attribute_names, class_names, member_names
from podiokit._typegen._render import RESERVED_ATTRIBUTES
from podiokit.typed import (
    AppModel,
    Contact,
    DateRange,
    EmbedRef,
    FileRef,
    ItemRef,
    Location,
    Money,
    Option,
    Phone,
)

from .support import build_module, demo_definitions, sample_definitions

ROOT = Path(__file__).resolve().parents[2]


def field(field_id: int, external_id: str, kind: str, **config: Any) -> dict[str, Any]:
    settings = config.pop("settings", None)
    return {
        "field_id": field_id,
        "external_id": external_id,
        "type": kind,
        "label": config.pop("label", external_id.title()),
        "status": config.pop("status", "active"),
        "config": {"settings": settings, **config},
    }


def options(*texts: str, deleted: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    out = [{"id": n + 1, "text": t, "status": "active"} for n, t in enumerate(texts)]
    out += [{"id": 90 + n, "text": t, "status": "deleted"} for n, t in enumerate(deleted)]
    return out


def deals_app() -> dict[str, Any]:
    """An app with every field type and the names that need care."""
    return {
        "app_id": 501,
        "current_revision": 7,
        "config": {"name": "Deals", "item_name": "deal"},
        "fields": [
            field(1, "title", "text", required=True),
            field(
                2,
                "status",
                "category",
                settings={
                    "multiple": False,
                    "options": options("Open", "On hold", "1", "", deleted=("Lost",)),
                },
            ),
            field(3, "tags", "category", settings={"multiple": True, "options": options("A")}),
            field(4, "amount", "money", settings={"allowed_currencies": ["EUR", "USD"]}),
            field(5, "close-date", "date", settings={"time": "disabled", "end": "disabled"}),
            field(6, "meeting", "date", settings={"time": "required", "end": "enabled"}),
            field(7, "window", "date", settings={"time": "enabled", "end": "required"}),
            field(
                8,
                "client",
                "app",
                settings={"multiple": False, "referenced_apps": [{"app_id": 502}]},
            ),
            field(
                9,
                "others",
                "app",
                settings={"multiple": True, "referenced_apps": [{"app_id": 777}]},
            ),
            field(10, "owner", "contact", required=True),
            field(11, "class", "text"),
            field(12, "item_id", "number"),
            field(13, "2nd-phone", "phone"),
            field(14, "Café", "email"),
            field(15, "contact", "text"),
            field(16, "contact-", "text"),
            field(17, "filter", "duration"),
            field(18, "score", "progress"),
            field(19, "total", "calculation", settings={"return_type": "number"}),
            field(20, "where", "location"),
            field(21, "logo", "image"),
            field(22, "link", "embed"),
            field(23, "money", "question", settings={"options": options("Yes", "No")}),
            field(24, "gone", "text", status="deleted"),
            field(25, "str", "tel"),
            field(26, "signature", "mystery"),
        ],
    }


def clients_app() -> dict[str, Any]:
    return {
        "app_id": 502,
        "current_revision": 1,
        "config": {"name": "Clients", "item_name": "Deal"},
        "fields": [field(1, "title", "text")],
    }


@pytest.fixture(scope="module")
def deals(models_dir: Path) -> ModuleType:
    return build_module([deals_app(), clients_app()], models_dir, "typed_deals")


def test_names_are_valid_and_predictable() -> None:
    names = attribute_names(
        [
            (5, "contact", ""),
            (9, "contact", ""),
            (3, "contact-2", ""),
            (4, "contact_9", ""),
            (6, "class", ""),
            (7, "item_id", ""),
            (8, "2nd phone", ""),
            (10, "Café au lait", ""),
            (11, "", "A Label"),
            (12, "", ""),
            (13, "closeDate", ""),
        ],
        set(RESERVED_ATTRIBUTES),
    )
    assert names == {
        5: "contact",  # the oldest field keeps the name
        9: "contact_9_",  # the next takes its id, past a name already taken
        3: "contact_2",
        4: "contact_9",
        6: "class_field",
        7: "item_id_field",
        8: "f_2nd_phone",
        10: "cafe_au_lait",
        11: "a_label",
        12: "field_12",
        13: "close_date",
    }
    # Reordering or adding fields renames none of the others.
    again = attribute_names([(9, "contact", ""), (5, "contact", ""), (1, "x", "")], set())
    assert (again[5], again[9]) == ("contact", "contact_9")
    assert member_names([(1, "On hold"), (2, "On-hold"), (3, "1"), (4, "")]) == {
        1: "ON_HOLD",
        2: "ON_HOLD_2",
        3: "N_1",
        4: "OPTION_4",
    }
    assert class_names(
        [
            (3, "deal", "Deals"),
            (1, "Deal", "Old deals"),
            (2, "Money", "x"),
            (4, "", "None"),
            (5, "", ""),
        ],
        {"Money"},
    ) == {
        1: "Deal",
        3: "Deal3",
        2: "MoneyItem",
        4: "NoneItem",
        5: "App5",
    }


def test_each_class_records_its_app_and_fields(deals: ModuleType) -> None:
    Deal = deals.Deal
    assert issubclass(Deal, AppModel)
    assert (Deal.app_id, Deal.app_revision, Deal.app_name, Deal.item_name) == (
        501,
        7,
        "Deals",
        "deal",
    )
    assert deals.Deal502.app_id == 502  # the other app named its items "Deal" too
    fields = Deal.podio_fields
    assert [pf.field_id for pf in fields.values()] == [*range(1, 24), 25, 26]  # 24 is deleted
    assert fields["status"].options is Deal.Status
    assert fields["amount"].currencies == ("EUR", "USD")
    assert (fields["meeting"].time, fields["meeting"].end) == ("required", "enabled")
    assert Deal.field_id("close_date") == 5
    assert [(m.name, m.id, m.text) for m in Deal.Status] == [
        ("OPEN", 1, "Open"),
        ("ON_HOLD", 2, "On hold"),
        ("N_1", 3, "1"),
        ("OPTION_4", 4, ""),
    ]
    # A question field named "money" gets an enum that does not hide the Money type.
    assert issubclass(Deal.MoneyOption, Option) and fields["money"].options is Deal.MoneyOption
    assert {
        "class_field",
        "item_id_field",
        "f_2nd_phone",
        "cafe",
        "contact",
        "contact_16",
        "filter_field",
        "str_field",
    } <= set(fields)


def test_attributes_are_typed_by_field_type_and_settings(deals: ModuleType) -> None:
    Deal, Client = deals.Deal, deals.Deal502
    Deal.model_rebuild()  # its references to the other class resolve now both exist
    hints = {name: info.annotation for name, info in Deal.model_fields.items()}
    expected = {
        "title": str,
        "status": Deal.Status | None,
        "tags": list[Deal.Tags],
        "amount": Money | None,
        "close_date": dt.date | None,
        "meeting": DateRange[dt.datetime] | None,
        "window": DateRange[dt.datetime | dt.date] | None,
        "client": ItemRef[Client] | None,
        "others": list[ItemRef[AppModel]],  # app 777 was not made with it
        "owner": list[Contact],
        "class_field": str | None,
        "item_id_field": Decimal | None,
        "f_2nd_phone": list[Phone],
        "filter_field": dt.timedelta | None,
        "score": int | None,
        "total": Decimal | None,
        "where": Location | None,
        "logo": list[FileRef],
        "link": list[EmbedRef],
        "str_field": str | None,
        "signature": list[dict[str, Any]],
    }
    for name, tp in expected.items():
        assert hints[name] == tp, name
    # Required fields must be given; the others default to None or [].
    with pytest.raises(ValidationError) as refused:
        Deal()
    assert {e["loc"][0] for e in refused.value.errors()} == {"title", "owner"}
    deal = Deal(title="Acme", owner=[Contact(7)])
    assert (deal.status, deal.tags, deal.item_id) == (None, [], None)


def test_the_same_apps_give_the_same_file() -> None:
    apps = [deals_app(), clients_app()]
    text = generate(apps)
    assert generate(apps) == text
    shuffled = deals_app()
    shuffled["fields"] = [shuffled["fields"][0], *reversed(shuffled["fields"][1:])]
    # Field order changes the order of attributes, never their names.
    again = generate([shuffled, clients_app()])
    assert "contact_16: str | None = None" in again and "contact_16: str | None = None" in text
    assert text.startswith("# Generated by `podiokit typegen` from Podio apps 501 (Deals,")


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"fields": []}, "app_id is not an integer"),
        ({"app_id": 1}, "app 1: no `fields` list"),
        ({"app_id": 1, "fields": [{"field_id": 2}]}, "field 2 has no type"),
        ({"app_id": 1, "fields": [field(2, "a", "text"), field(2, "b", "text")]}, "listed twice"),
    ],
)
def test_a_bad_definition_is_named(definition: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        generate([definition])


# ------------------------------------------------------------------------ mypy and ruff
USAGE = """
from __future__ import annotations

from podiokit import Podio, SyncPodio
from podiokit.models import Item
from podiokit.typed import ItemRef, ModelPage

from typed_demo_apps import Client, Project


async def use(podio: Podio) -> None:
    project: Project = await podio.items.get(1, model=Project)
    item: Item = await podio.items.get(1)
    again: Project = await podio.items.get_by_app_item_id(Project.app_id, 3, model=Project)
    async for each in podio.items.filter(Project.app_id, model=Project):
        title: str = each.title
        client: ItemRef[Client] | None = each.client
    page: ModelPage[Project] = await podio.items.filter(Project.app_id, model=Project, limit=5)
    await podio.items.create(Project.app_id, Project(title="x", status=Project.Status.ACTIVE))
    await podio.items.update(project.item_id or 0, Project.changes(progress=5))
    filters = Project.filter(status=[Project.Status.ACTIVE], budget=(1000, None))
    await podio.items.filter(Project.app_id, filters=filters, model=Project)


def use_sync(podio: SyncPodio) -> None:
    project: Project = podio.items.get(1, model=Project)
    for each in podio.items.filter(Client.app_id, model=Client):
        tier: Client.Tier | None = each.tier
"""
WRONG = """
from __future__ import annotations

from podiokit import Podio

from typed_demo_apps import Client, Project


async def wrong(podio: Podio) -> None:
    client: Client = await podio.items.get(1, model=Project)
    Project.filter(nope=1)
    Project.filter(status=Client.Tier.GOLD)
"""


def _ruff() -> str:
    found = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(found).exists():
        pytest.skip("ruff is not installed")
    return found


@pytest.fixture(scope="module")
def generated(models_dir: Path, demo: ModuleType, deals: ModuleType) -> list[Path]:
    samples = models_dir / "typed_sample_apps_lint.py"
    samples.write_text(generate(sample_definitions()), encoding="utf-8")
    return [Path(demo.__file__ or ""), Path(deals.__file__ or ""), samples]


def test_generated_code_passes_ruff_as_written(generated: list[Path], tmp_path: Path) -> None:
    ruff = _ruff()
    for path in generated:
        for config, rules in (
            (["--config", str(ROOT / "pyproject.toml")], []),  # this repository's rules
            (["--line-length", "88"], ["--select", "E,F,W,I,B,UP,RUF,SIM,C4,PIE,RET"]),
        ):
            check = subprocess.run(
                [ruff, "check", "--no-cache", *config, *rules, str(path)],
                capture_output=True,
                text=True,
                check=False,
                cwd=tmp_path,
            )
            assert check.returncode == 0, check.stdout + check.stderr
            fmt = subprocess.run(
                [ruff, "format", "--no-cache", "--check", "--diff", *config, str(path)],
                capture_output=True,
                text=True,
                check=False,
                cwd=tmp_path,
            )
            assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_generated_code_and_its_use_pass_mypy_strict(
    generated: list[Path], models_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "use_models.py").write_text(USAGE, encoding="utf-8")
    (tmp_path / "wrong_models.py").write_text(WRONG, encoding="utf-8")
    (tmp_path / "mypy.ini").write_text(
        "[mypy]\nstrict = True\nplugins = pydantic.mypy\n", encoding="utf-8"
    )
    env = {"MYPYPATH": f"{models_dir}", "PATH": "/usr/bin:/bin"}
    src = ROOT / "src"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            "mypy.ini",
            "--cache-dir",
            ".cache",
            *map(str, generated),
            "use_models.py",
            "wrong_models.py",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": f"{src}"},
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert all(line.startswith("wrong_models.py") for line in errors), result.stdout
    wrong = "\n".join(errors)
    assert "wrong_models.py:10: error:" in wrong  # get(model=Project) is no Client
    assert 'Unexpected keyword argument "nope"' in wrong
    assert 'Argument "status" to "filter" of "Project" has incompatible type' in wrong
    assert len(errors) == 3, result.stdout


def test_demo_and_sample_modules_import(demo: ModuleType, samples: ModuleType) -> None:
    assert {demo.Project.app_id, demo.Client.app_id} == {3002, 3001}
    made = [o for o in vars(samples).values() if isinstance(o, type) and issubclass(o, AppModel)]
    assert len(made) == len(sample_definitions()) + 1  # and AppModel itself
    assert len(demo_definitions()) == 2


def test_the_example_module_is_what_typegen_writes_for_the_demo_apps() -> None:
    """examples/demo_apps.py (the docs import it): regenerate it with
    `podiokit typegen 3002 3001 --out examples/demo_apps.py` against `podiokit emulator`."""
    example = ROOT / "examples" / "demo_apps.py"
    assert example.read_text(encoding="utf-8") == generate(demo_definitions())


def test_imports_are_what_the_code_uses() -> None:
    """A label or option text naming a type imports nothing (ruff's F401 would flag it)."""
    text = generate(
        [
            {
                "app_id": 9,
                "config": {"name": "Notes"},
                "fields": [
                    field(1, "title", "text", label='Money Decimal dt.date Iterable["x"] """'),
                    field(
                        2, "kind", "category", settings={"options": options("Contact", "ItemRef")}
                    ),
                ],
            }
        ]
    )
    imports = [line for line in text.splitlines() if line.startswith(("from ", "import ", "    "))]
    assert "import datetime as dt" not in imports and "from decimal import Decimal" not in imports
    assert text.count("from podiokit.typed import (") == 1
    block = text.split("from podiokit.typed import (\n", 1)[1].split(")", 1)[0]
    assert block.split() == ["AppModel,", "Option,", "OptionFilter,", "PodioField,"]
    compile(text, "notes.py", "exec")  # the label's quotes are escaped
