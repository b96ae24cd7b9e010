"""One-off bootstrap: write a first `spec/areas/*.yaml` from the shared `endpoints.tsv`.

This script was used ONCE to produce the initial spec. The YAML under `spec/areas/` is now the
source of truth, reviewed and edited by hand (query and body parameters, pagination,
idempotency, binary returns, models, conflict decisions); running this again would overwrite
those edits, so it refuses to touch an existing file unless given `--force`. It is kept so the
provenance of the spec is reproducible.

    python -m codegen.bootstrap_spec /work/shared/podio-api/endpoints.tsv [--force]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

# TSV area -> (Python area, Podio doc area title, noun tokens dropped from operation names)
AREAS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "actions": ("actions", "Actions", ("action",)),
    "app-market": ("app_market", "App market", ("share", "shares")),
    "applications": ("apps", "Applications", ("app", "apps")),
    "batch": ("batches", "Batch", ("batch", "batches")),
    "calendar": ("calendar", "Calendar", ("calendar",)),
    "comments": ("comments", "Comments", ("a_comment", "comment", "comments")),
    "contacts": ("contacts", "Contacts", ("contact", "contacts")),
    "conversations": ("conversations", "Conversations", ("conversation", "conversations")),
    "devices": ("devices", "Devices", ("device",)),
    "email": ("email", "Email", ("email",)),
    "embeds": ("embeds", "Embeds", ("embed",)),
    "files": ("files", "Files", ("file", "files")),
    "flows": ("flows", "Flows", ("flow", "flows")),
    "forms": ("forms", "Forms", ("form", "forms")),
    "friends": ("friends", "Friends", ("friend",)),
    "grants": ("grants", "Grants", ("grant", "grants")),
    "hooks": ("hooks", "Hooks", ("hook", "hooks")),
    "importer": ("importer", "Importer", ()),
    "integrations": ("integrations", "Integrations", ("integration",)),
    "items": ("items", "Items", ("item", "items")),
    "layout": ("layouts", "Layout", ("layout",)),
    "linked-accounts": (
        "linked_accounts",
        "Linked Accounts",
        ("linked_account", "linked_accounts"),
    ),
    "notifications": ("notifications", "Notifications", ("notification", "notifications")),
    "oauth-authorization": ("oauth", "OAuth authorization", ()),
    "organizations": ("orgs", "Organizations", ("organization", "organizations", "org")),
    "questions": ("questions", "Questions", ("question",)),
    "ratings": ("ratings", "Ratings", ("rating", "ratings")),
    "recurrence": ("recurrence", "Recurrence", ("recurrence",)),
    "reference": ("reference", "Reference", ()),
    "reminders": ("reminders", "Reminders", ("reminder",)),
    "search": ("search", "Search", ()),
    "space-members": ("space_members", "Space members", ("space_members", "space_member")),
    "spaces": ("spaces", "Spaces", ("space", "spaces")),
    "status": ("statuses", "Status", ("status_message", "status")),
    "stream": ("stream", "Stream", ("stream",)),
    "subscriptions": ("subscriptions", "Subscriptions", ("subscription",)),
    "tags": ("tags", "Tags", ("tag", "tags")),
    "tasks": ("tasks", "Tasks", ("task", "tasks")),
    "users": ("users", "Users", ("user",)),
    "views": ("views", "Views", ("view", "views")),
    "views (legacy filter API)": ("views", "Views", ()),
    "voting": ("voting", "Voting", ()),
    "widgets": ("widgets", "Widgets", ("widget", "widgets")),
}

BOOL_PARAMS = {"silent", "hook", "remember", "mark_as_viewed", "sort_desc", "private",
               "completed", "exclude_self", "required", "starred", "viewed", "only_used",
               "delete_values", "include_space", "exclude_demo", "alert_invite",
               "include_standard_views", "include_inactive", "counts", "highlights"}  # fmt: skip
INT_PARAMS = {"limit", "offset", "revision", "priority", "groups_limit", "row"}
DICT_PARAMS = {"filters", "config", "reminder", "recurrence", "ref", "layout", "values"}
LIST_PARAMS = {"tags", "people", "labels", "fields", "responsible", "groupings"}


def guess_type(name: str, where: str) -> str:
    if name in BOOL_PARAMS:
        return "bool"
    if name in INT_PARAMS or name.endswith("_id"):
        return "int"
    if name.endswith("_ids"):
        return "list[int]" if where == "body" else "list[int] | str"
    if where == "body" and name in DICT_PARAMS:
        return "dict[str, Any]"
    if where == "body" and name in LIST_PARAMS:
        return "list[Any]"
    return "str" if where == "query" else "Any"


def parse_params(text: str) -> tuple[list[str], list[str]]:
    """(query names, body names) from the TSV's free-text parameter column."""
    query: list[str] = []
    body: list[str] = []
    for part in text.split(";"):
        part = part.strip()
        kind, _, rest = part.partition(":")
        kind = kind.strip()
        if kind.startswith("query"):
            target = query
        elif kind in ("body", "form/body"):
            target = body
        else:
            continue
        rest = re.sub(r"\{[^{}]*\}|\([^()]*\)|\[\]", "", rest)
        for raw in rest.split(","):
            name = raw.strip().split(" ")[0]
            name = {"limt": "limit"}.get(name, name)  # a typo in one client
            if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name not in target:
                target.append(name)
    return query, body


def returns_of(text: str) -> str:
    if text.startswith("empty"):
        return "empty"
    if text.startswith(("binary", "file export", "text/")):
        return "bytes"
    if text.startswith("list"):
        return "list"
    if text.startswith("object"):
        return "object"
    return "json"


def op_name(slug: str, nouns: tuple[str, ...]) -> str:
    name = slug
    if name.startswith("add_new_"):
        name = "create_" + name[len("add_new_") :]
    for noun in sorted(nouns, key=len, reverse=True):
        stripped = re.sub(rf"(^|_){noun}(_|$)", r"\1", name, count=1).strip("_")
        if stripped != name:
            name = stripped
            break
    return name or slug


def podio_name(doc: str, operation: str) -> str:
    slug = doc.split("/", 1)[1] if doc else operation
    words = re.sub(r"-\d+$", "", slug).replace("_", "-").split("-")
    return " ".join(words).capitalize()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("tsv", type=Path)
    parser.add_argument("--out", type=Path, default=Path("spec/areas"))
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    areas: dict[str, list[dict[str, str]]] = {}
    with args.tsv.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if row["area"].startswith("internal/"):
                continue  # billing/admin APIs behind Podio's trusted connection stay out
            areas.setdefault(row["area"], []).append(row)
    files: dict[str, list[str]] = {}
    names: dict[str, set[str]] = {}
    for tsv_area, rows in areas.items():
        area, title, nouns = AREAS[tsv_area]
        lines = files.setdefault(area, [])
        if not lines:
            lines += [f"area: {area}", f"podio_area: {tsv_area}", f"title: {title}", "operations:"]
        used = names.setdefault(area, set())
        for row in rows:
            doc_ref = row["doc_ref"]
            related = None
            if doc_ref.startswith("related: "):
                related = doc_ref.split()[1]
                doc = None
            elif doc_ref == "undocumented":
                doc = None
            else:
                doc = doc_ref.split(" ")[0]
            slug = row["operation"]
            name = op_name(slug, nouns) if doc else slug
            if tsv_area == "views (legacy filter API)":
                name = "legacy_" + slug
            if name in used:
                name = slug
            used.add(name)
            query, body = parse_params(row["notable_query_or_body_params"])
            if row["method"] in ("GET", "DELETE"):
                query, body = query + [b for b in body if b not in query], []
            lines.append(f"  {name}:")
            lines.append(f"    podio: {podio_name(doc or '', slug)}")
            if doc:
                lines.append(f"    doc: {doc}")
            else:
                lines.append("    undocumented: true")
            if related:
                lines.append(f"    related: {related}  # a client links this page for this path")
            lines.append(f"    method: {row['method']}")
            lines.append(f"    path: {row['path']}")
            if query:
                lines.append("    query:")
                lines += [f"      {q}: {guess_type(q, 'query')}" for q in query]
            if body:
                lines.append("    body:")
                if tsv_area == "oauth-authorization":
                    lines.append("      encoding: form")
                lines.append("      fields:")
                lines += [f"        {b}: {guess_type(b, 'body')!r}" for b in body]
            lines.append(f"    returns: {returns_of(row['returns'])}  # TSV: {row['returns']}")
    args.out.mkdir(parents=True, exist_ok=True)
    for area, lines in files.items():
        path = args.out / f"{area}.yaml"
        if path.exists() and not args.force:
            print(f"skip {path} (exists; the YAML is the source of truth)", file=sys.stderr)
            continue
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
