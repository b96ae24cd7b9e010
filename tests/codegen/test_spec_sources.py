"""The spec checked against sources it did not come from (issue 16 point 7).

The generated tests assert the spec against itself: a wrong path or a create marked idempotent
regenerates cleanly and passes them. These tests compare the spec with
`tests/fixtures/endpoints.tsv` (the catalogue compiled from Podio's docs and the official
clients), with a rule on which operations may be retried, and with real response bodies.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from codegen.__main__ import model_index
from codegen.spec import AreaSpec, Operation, load_areas
from podiokit import Podio
from podiokit import models as m
from podiokit.auth import OAuthToken

ROOT = Path(__file__).resolve().parents[2]
TSV = ROOT / "tests" / "fixtures" / "endpoints.tsv"
SAMPLES = ROOT / "tests" / "fixtures" / "samples"


def _areas() -> list[AreaSpec]:
    return load_areas(ROOT / "spec", model_index(ROOT / "spec"))


AREAS = _areas()
OPERATIONS: dict[str, Operation] = {
    f"{area.area}.{name}": op for area in AREAS for name, op in area.operations.items()
}


def _placeholders_blank(path: str) -> str:
    # Placeholder names differ between sources ({id} vs {item_id}); their places do not.
    return re.sub(r"\{[^{}]*\}", "{}", path)


def _catalogue() -> list[dict[str, str]]:
    with TSV.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


# --- method and path against the catalogue -------------------------------------------------

# Where the spec decided against the catalogue, once, with the reason (spec/README.md,
# "Conflicts decided"). Anything else that differs is a spec bug.
DECIDED: dict[str, tuple[str, str]] = {
    # operation: (what the catalogue says, why the spec differs)
    "oauth.get_access_token": (
        "POST /oauth/token/v2",
        "every client and docs/dev/podio-behaviour.md §1.3 use POST /oauth/token (form); /v2 takes JSON",
    ),
    "files.download": (
        "GET /file/{file_id}/raw",
        "podio-php, -java, -objc and -js GET the File's link on files.podio.com (docs/dev/podio-behaviour.md"
        " §6); only podio-rb and -py call /raw. The helper GETs /file/{id}, then the link",
    ),
}


def _documented_rows() -> dict[str, dict[str, str]]:
    rows = {}
    for row in _catalogue():
        ref = row["doc_ref"]
        if ref == "undocumented" or ref.startswith("related:"):
            continue
        rows[ref.split(" ")[0]] = row
    return rows


def test_every_documented_operation_has_the_catalogues_method_and_path() -> None:
    rows = _documented_rows()
    wrong = []
    for name, op in OPERATIONS.items():
        if op.doc is None:
            continue
        row = rows[op.doc]
        expected = f"{row['method']} {_placeholders_blank(row['path'])}"
        actual = f"{op.method} {_placeholders_blank(op.path)}"
        decided = DECIDED.get(name)
        if decided is not None:
            assert expected == _placeholders_blank(decided[0]), f"{name}: stale DECIDED entry"
            continue
        if actual != expected:
            wrong.append(
                f"{name}: spec {op.method} {op.path}, catalogue {row['method']} {row['path']}"
            )
    assert wrong == []


def test_every_undocumented_operation_is_in_the_catalogue() -> None:
    known = {(row["method"], _placeholders_blank(row["path"])) for row in _catalogue()}
    missing = [
        f"{name}: {op.method} {op.path}"
        for name, op in OPERATIONS.items()
        if op.undocumented and (op.method, _placeholders_blank(op.path)) not in known
    ]
    assert missing == []


def test_every_decided_difference_is_in_the_readme() -> None:
    readme = (ROOT / "spec" / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Conflicts decided", 1)[1].split("\n## ", 1)[0]
    for name in DECIDED:
        assert f"| {name} |" in table, name


# --- which operations may be retried -------------------------------------------------------

# POSTs that only read: safe to retry, so the pipeline retries them on 5xx and timeouts. Every
# other POST creates or changes something and a retry could do it twice.
READ_ONLY_POSTS = {
    "items.filter",  # Filter items: a query in a body
    "items.filter_by_view",
    "items.calculate",  # Calculate: aggregates over a filter
    "search.globally",
    "search.in_app",
    "search.in_org",
    "search.in_space",
    "search.in_app_and_space",
    "reference.search",
    "contacts.find_external",  # looks up contacts on a linked account
    "flows.get_effect_attributes",  # attributes an effect could use
    "flows.get_possible_attributes",
    "importer.get_preview",  # previews a row of an uploaded file
    "oauth.get_info",  # describes the current token
    "orgs.validate_url_label",  # checks a label, changes nothing
    "spaces.validate_url_label",
}

# Names of operations that make something new on each call, whatever the verb: retrying one
# after a lost answer makes it twice. (Verbs that set a state, such as activate or mark, are
# safe to replay as PUT/DELETE and are covered by the POST rule when they are POSTs.)
_CREATES = re.compile(
    r"^(create|add|install|copy|clone|upload|import|share|send|invite|duplicate|attach|post|"
    r"reply|regenerate|bulk|process|join|request|rate|like|subscribe)"
)
# PUT upserts named create_or_update: replaying one sets the same state again.
_UPSERT = re.compile(r"create_or_update$")


def test_only_the_named_read_only_posts_are_idempotent() -> None:
    marked = {name for name, op in OPERATIONS.items() if op.method == "POST" and op.is_idempotent}
    assert marked == READ_ONLY_POSTS


def test_no_operation_that_creates_is_idempotent() -> None:
    wrong = [
        f"{name} ({op.method} {op.path})"
        for name, op in OPERATIONS.items()
        if op.is_idempotent
        and op.method != "GET"
        and _CREATES.match(name.split(".", 1)[1])
        and not (op.method == "PUT" and _UPSERT.search(name))
    ]
    assert wrong == []


def test_reads_are_idempotent() -> None:
    assert [
        name for name, op in OPERATIONS.items() if op.method == "GET" and not op.is_idempotent
    ] == []


# --- typed returns against real bodies ------------------------------------------------------

Call = Callable[[Podio], Awaitable[Any]]

# sample -> (operation, how to call it, the type Podio's body is: a model, or [model] for a list)
SAMPLE_CALLS: dict[str, tuple[str, Call, Any]] = {
    "items__get_item__1.json": ("items.get", lambda p: p.items.get(1), m.Item),
    "items__get_item__2.json": ("items.get", lambda p: p.items.get(1), m.Item),
    "items__get_item__3.json": ("items.get", lambda p: p.items.get(1), m.Item),
    "items__get_item__4.json": ("items.get", lambda p: p.items.get(1), m.Item),
    "items__get_item__5.json": ("items.get", lambda p: p.items.get(1), m.Item),
    "items__get_item_basic__1.json": ("items.get_basic", lambda p: p.items.get_basic(1), m.Item),
    "items__filter_items__1.json": (
        "items.filter",
        lambda p: p.items.filter(1),
        m.ItemFilterResult,
    ),
    "items__get_item_references__1.json": (
        "items.get_references",
        lambda p: p.items.get_references(1),
        [m.ItemReference],
    ),
    "items__get_item_revisions__1.json": (
        "items.get_revisions",
        lambda p: p.items.get_revisions(1),
        [m.ItemRevision],
    ),
    "apps__get_app__2.json": ("apps.get", lambda p: p.apps.get(1), m.App),
    "apps__get_app_field_text__1.json": (
        "apps.get_field",
        lambda p: p.apps.get_field(1, 2),
        m.AppField,
    ),
    "apps__get_app_field_category__1.json": (
        "apps.get_field",
        lambda p: p.apps.get_field(1, 2),
        m.AppField,
    ),
    "spaces__get_space__1.json": ("spaces.get", lambda p: p.spaces.get(1), m.Space),
    "orgs__get_orgs__2.json": ("orgs.get_all", lambda p: p.orgs.get_all(), [m.Organization]),
    "tasks__get_task__1.json": ("tasks.get", lambda p: p.tasks.get(1), m.Task),
    "tasks__get_tasks__1.json": (
        "tasks.get_all",
        lambda p: p.tasks.get_all(),
        [m.Task],
    ),
    "files__get_files__1.json": (
        "files.get_on_app",
        lambda p: p.files.get_on_app(1),
        [m.File],
    ),
    "comments__get_comments_on_object__1.json": (
        "comments.get_on_object",
        lambda p: p.comments.get_on_object("item", 1),
        [m.Comment],
    ),
}


@pytest.fixture
async def podio() -> AsyncIterator[Podio]:
    client = Podio("client-id", "client-secret")
    await client.set_token(OAuthToken(access_token="access-1"))
    async with client:
        yield client


def _dump(value: Any) -> Any:
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value.model_dump(mode="json", by_alias=True, exclude_unset=True)


@pytest.mark.anyio
@pytest.mark.parametrize("sample", sorted(SAMPLE_CALLS))
async def test_typed_return_parses_the_real_body(podio: Podio, sample: str) -> None:
    operation, call, expected = SAMPLE_CALLS[sample]
    raw = (SAMPLES / sample).read_bytes()
    with respx.mock(base_url="https://api.podio.com") as api:
        route = api.route().mock(return_value=httpx.Response(200, content=raw))
        result = await call(podio)
    op = OPERATIONS[operation]
    sent = route.calls.last.request
    assert sent.method == op.method
    assert re.fullmatch(re.sub(r"\\\{[^{}]*\\\}", "[^/]+", re.escape(op.path)), sent.url.path)
    if isinstance(expected, list):
        assert isinstance(result, list) and result
        assert all(type(element) is expected[0] for element in result), type(result[0])
    else:
        assert type(result) is expected
    # Lossless: the typed result dumps back to the body Podio sent.
    assert _dump(result) == json.loads(raw)


def test_every_sample_of_an_operation_is_exercised() -> None:
    index = (SAMPLES / "INDEX.tsv").read_text(encoding="utf-8").splitlines()[1:]
    # Samples that are whole bodies of an operation the spec has (not embedded sub-objects,
    # not error envelopes, not the token endpoint the auth flows cover, not re-serialised).
    whole = {
        line.split("\t")[0]
        for line in index
        if "EMBEDDED" not in line
        and "CAVEAT" not in line
        and not line.startswith(("errors__", "oauth__"))
    }
    assert whole - set(SAMPLE_CALLS) == set()


# --- returns left untyped -------------------------------------------------------------------


def test_untyped_returns_are_exactly_the_ones_the_readme_explains() -> None:
    readme = (ROOT / "spec" / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Returns left untyped", 1)[1].split("\n## ", 1)[0]
    explained = set(re.findall(r"\b([a-z_]+\.[a-z_0-9]+)\b", section)) & set(OPERATIONS)
    untyped = {name for name, op in OPERATIONS.items() if op.returns in ("json", "object")}
    assert untyped == explained


# --- the corrected and newly typed operations, with Podio's shapes ------------------------------


async def _answer(podio: Podio, body: Any, call: Call) -> tuple[Any, httpx.Request]:
    with respx.mock(base_url="https://api.podio.com") as api:
        route = api.route().mock(return_value=httpx.Response(200, json=body))
        result = await call(podio)
    return result, route.calls.last.request


@pytest.mark.anyio
async def test_app_dependencies_are_an_object_of_apps_and_a_map(podio: Podio) -> None:
    # Issue 15 point 14: podio-java's Dependencies (apps + Map<Integer, List<Integer>>),
    # podio-php and podio-rb map result['apps'] to apps.
    body = {
        "apps": [{"app_id": 1, "config": {"name": "Projects"}}, {"app_id": 3}],
        "dependencies": {"1": [3], "3": []},
    }
    for call in (lambda p: p.apps.get_dependencies(1), lambda p: p.apps.get_space_dependencies(9)):
        result, _ = await _answer(podio, body, call)
        assert isinstance(result, m.AppDependencies)
        assert [app.app_id for app in result.apps or []] == [1, 3]
        assert result.dependencies == {1: [3], 3: []}
        assert _dump(result) == body


@pytest.mark.anyio
async def test_update_field_sends_the_config_at_the_top_level(podio: Podio) -> None:
    result, sent = await _answer(
        podio,
        {"revision": 12},
        lambda p: p.apps.update_field(
            1, 2, label="Status", description="Where it is", delta=3, required=True, hidden=False
        ),
    )
    assert (sent.method, sent.url.path) == ("PUT", "/app/1/field/2")
    assert json.loads(sent.content) == {
        "label": "Status",
        "description": "Where it is",
        "delta": 3,
        "required": True,
        "hidden": False,
    }
    assert isinstance(result, m.AppRevision) and result.revision == 12


@pytest.mark.anyio
async def test_task_creation_returns_a_task_or_a_list_of_them(podio: Podio) -> None:
    # One responsible: one task; several: a list (podio-rb flattens, podio-dotnet branches).
    one = json.loads((SAMPLES / "tasks__get_task__1.json").read_bytes())
    result, _ = await _answer(podio, one, lambda p: p.tasks.create(text="Call"))
    assert isinstance(result, m.Task) and result.task_id == one["task_id"]
    several = json.loads((SAMPLES / "tasks__get_tasks__1.json").read_bytes())[:2]
    result, _ = await _answer(
        podio, several, lambda p: p.tasks.create_with_reference("item", 5, text="Call")
    )
    assert [type(t) for t in result] == [m.Task, m.Task]
    assert [t.task_id for t in result] == [t["task_id"] for t in several]
    result, _ = await _answer(podio, one, lambda p: p.tasks.update(one["task_id"], text="Call"))
    assert isinstance(result, m.Task)


@pytest.mark.anyio
async def test_counts_are_typed(podio: Podio) -> None:
    result, sent = await _answer(podio, {"count": 12}, lambda p: p.items.get_count(4))
    assert sent.url.path == "/item/app/4/count"
    assert isinstance(result, m.Count) and result.count == 12
