"""The Python module `podiokit typegen` writes: one `AppModel` class per app.

Plain string building, no template engine: the output is small and regular. It is laid out
as `ruff format` (and black) lay it out, at any line length from 80 up: a call that fits in
79 columns stays on one line, a longer one is split one argument per line with a trailing
comma, which keeps it split. Nothing in it depends on when or where it was made, so the same
apps give the same file.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ._apps import AppDef, FieldDef
from ._names import attribute_names, class_names, member_names, nested_name

__all__ = ["RESERVED_ATTRIBUTES", "render"]

FIT = 79  # columns a line may take and still fit every formatter's line length
RUNTIME = "podiokit.typed"
# Names of the runtime the classes may use; a class or option enum never takes one.
RUNTIME_NAMES = frozenset({
    "AppModel", "Contact", "ContactFilter", "DateFilter", "DateRange", "DurationRange",
    "Email", "EmbedRef", "Field", "FileRef", "ItemRef", "Location", "Money", "NumberRange", "Option",
    "OptionFilter", "Phone", "PodioField", "RefFilter",
})  # fmt: skip
# Other names the module imports or annotations use (CapWords ones clash with classes).
MODULE_NAMES = frozenset({"Any", "ClassVar", "Decimal", "Iterable", "dt"})
# Attribute names that would shadow what the annotations and the class use.
_SHADOWING = {"dt", "str", "int", "list", "dict", "cls", "self", "filter", "item_name"}


def _reserved_attributes() -> frozenset[str]:
    from podiokit._typed import AppModel

    names = {n for n in dir(AppModel) if not n.startswith("_")} | set(AppModel.model_fields)
    return frozenset(names) | _SHADOWING


RESERVED_ATTRIBUTES = _reserved_attributes()


def q(text: str) -> str:
    """A Python string literal of `text`, quoted as ruff format would quote it."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        literal = '"' + literal[1:-1].replace("\\'", "'") + '"'
    return literal


def doc_text(text: str) -> str:
    """`text` made safe inside a triple-quoted docstring, on one line."""
    flat = " ".join(text.split())
    return flat.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def docstring(text: str, indent: str) -> list[str]:
    """A docstring at `indent`, wrapped to fit."""
    width = FIT + 9 - len(indent) - 6
    lines = textwrap.wrap(doc_text(text), width=max(width, 30)) or [""]
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    out = [f'{indent}"""{lines[0]}']
    out += [f"{indent}{line}" for line in lines[1:]]
    out.append(f'{indent}"""')
    return out


def call(head: str, args: Sequence[str], tail: str, indent: str) -> list[str]:
    """`head(args)tail` on one line when it fits, else one argument per line."""
    one = f"{indent}{head}({', '.join(args)}){tail}"
    if len(one) <= FIT or not args:
        return [one]
    inner = indent + "    "
    return [f"{indent}{head}(", *(f"{inner}{a}," for a in args), f"{indent}){tail}"]


@dataclass
class _Class:
    app: AppDef
    name: str
    attributes: dict[int, str]
    enums: dict[int, str] = field(default_factory=dict)


@dataclass
class _Module:
    classes: list[_Class]
    by_app: dict[int, str]


def _plan(apps: Sequence[AppDef]) -> _Module:
    names = class_names(
        [(a.app_id, a.item_name, a.name) for a in apps], set(RUNTIME_NAMES | MODULE_NAMES)
    )
    classes = []
    for app in apps:
        attributes = attribute_names(
            [(f.field_id, f.external_id, f.label) for f in app.fields], set(RESERVED_ATTRIBUTES)
        )
        plan = _Class(app, names[app.app_id], attributes)
        taken = set(RUNTIME_NAMES | MODULE_NAMES) | set(names.values())
        for f in sorted(app.fields, key=lambda f: f.field_id):  # stable names: oldest first
            if f.type in ("category", "question"):
                plan.enums[f.field_id] = nested_name(attributes[f.field_id], taken)
        classes.append(plan)
    return _Module(classes, {a.app_id: names[a.app_id] for a in apps})


def _date_type(f: FieldDef) -> str:
    if f.time == "disabled":
        return "dt.date"
    if f.time == "required":
        return "dt.datetime"
    return "dt.datetime | dt.date"


def _value_type(f: FieldDef, plan: _Class, module: _Module) -> str:
    kind = f.type
    simple = {"text": "str", "tel": "str", "number": "Decimal", "money": "Money",
              "progress": "int", "duration": "dt.timedelta", "contact": "Contact",
              "image": "FileRef", "embed": "EmbedRef", "location": "Location",
              "phone": "Phone", "email": "Email"}  # fmt: skip
    if kind in simple:
        return simple[kind]
    if kind in ("category", "question"):
        return plan.enums[f.field_id]
    if kind == "app":
        targets = [module.by_app[a] for a in f.apps if a in module.by_app]
        if not targets or len(targets) != len(f.apps):
            return "ItemRef[AppModel]"
        return f"ItemRef[{' | '.join(targets)}]"
    if kind == "date":
        inner = _date_type(f)
        return f"DateRange[{inner}]" if f.end != "disabled" else inner
    if kind == "calculation":
        if f.returns == "number":
            return "Decimal"
        if f.returns == "date":
            return "dt.datetime | dt.date"
        return "str"
    return "dict[str, Any]"  # a field type this version does not know: its raw values


def _is_list(f: FieldDef) -> bool:
    if f.type in ("text", "tel", "number", "money", "progress", "duration", "date",
                  "location", "calculation"):  # fmt: skip
        return False
    if f.type in ("category", "question", "app"):
        return f.multiple
    return True


def _declaration(f: FieldDef, plan: _Class, module: _Module) -> str:
    name = plan.attributes[f.field_id]
    value = _value_type(f, plan, module)
    if _is_list(f):
        if f.required:
            return f"{name}: list[{value}]"
        return f"{name}: list[{value}] = Field(default_factory=list)"
    if f.required:
        return f"{name}: {value}"
    return f"{name}: {value} | None = None"


def _field_entry(f: FieldDef, plan: _Class) -> list[str]:
    args = [str(f.field_id), q(f.external_id), q(f.type), q(f.label)]
    if f.required:
        args.append("required=True")
    if f.multiple:
        args.append("multiple=True")
    if f.field_id in plan.enums:
        args.append(f"options={plan.enums[f.field_id]}")
    if f.apps:
        args.append(f"apps={_tuple(map(str, f.apps))}")
    if f.time is not None:
        args.append(f"time={q(f.time)}")
    if f.end is not None:
        args.append(f"end={q(f.end)}")
    if f.currencies:
        args.append(f"currencies={_tuple(map(q, f.currencies))}")
    if f.returns is not None:
        args.append(f"returns={q(f.returns)}")
    return call(f"{q(plan.attributes[f.field_id])}: PodioField", args, ",", " " * 8)


def _tuple(items: Iterable[str]) -> str:
    # No trailing comma after several: ruff format would read it as "keep this split".
    parts = list(items)
    return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"


_FILTER_TYPES = {"app": "RefFilter", "contact": "ContactFilter", "number": "NumberRange",
                 "money": "NumberRange", "progress": "NumberRange",
                 "duration": "DurationRange", "date": "DateFilter", "text": "str"}  # fmt: skip


def _filter_type(f: FieldDef, plan: _Class) -> str | None:
    if f.type in ("category", "question"):
        enum = plan.enums[f.field_id]
        return f"OptionFilter[{enum}]"
    if f.type == "calculation":
        return {"number": "NumberRange", "date": "DateFilter"}.get(f.returns or "")
    return _FILTER_TYPES.get(f.type)


def _filter_method(plan: _Class) -> list[str]:
    params = []
    for f in plan.app.fields:
        kind = _filter_type(f, plan)
        if kind is not None:
            params.append((plan.attributes[f.field_id], kind))
    out = ["    @classmethod"]
    if params:
        out.append("    def filter(")
        out.append("        cls,")
        out.append("        *,")
        out += [f"        {name}: {kind} | None = None," for name, kind in params]
        out.append("    ) -> dict[str, Any]:")
    else:
        out.append("    def filter(cls) -> dict[str, Any]:")
    out += docstring(
        f"Podio's filters for podio.items.filter({plan.name}.app_id, filters=...): "
        "options and items by value, numbers and dates as (from, to).",
        " " * 8,
    )
    out += call("return cls.filter_body", [f"{n}={n}" for n, _ in params], "", " " * 8)
    return out


def _class(plan: _Class, module: _Module) -> list[str]:
    app = plan.app
    out = [f"class {plan.name}(AppModel):"]
    out += docstring(
        f"A {app.item_name} of the {app.name} app ({app.app_id}), made from app revision "
        f"{app.revision}.",
        "    ",
    )
    by_id = {f.field_id: f for f in app.fields}
    for field_id, enum in plan.enums.items():
        f = by_id[field_id]
        out += ["", f"    class {enum}(Option):"]
        out += docstring(f"Options of {f.label} (field {f.field_id}).", " " * 8)
        members = member_names([(o.id, o.text) for o in f.options])
        if f.options:
            out.append("")
        for option in f.options:
            out += _member(members[option.id], option.id, option.text)
    out += [
        "",
        f"    app_id = {app.app_id}",
        f"    app_revision = {app.revision}",
        f"    app_name = {q(app.name)}",
        f"    item_name = {q(app.item_name)}",
    ]
    if app.fields:
        out.append("    podio_fields: ClassVar[dict[str, PodioField]] = {")
        for f in app.fields:
            out += _field_entry(f, plan)
        out.append("    }")
    else:
        out.append("    podio_fields: ClassVar[dict[str, PodioField]] = {}")
    for f in app.fields:
        out += ["", f"    {_declaration(f, plan, module)}"]
        required = ", required" if f.required else ""
        out += docstring(f"{f.label} ({f.type}, field {f.field_id}{required}).", "    ")
    out += ["", *_filter_method(plan)]
    return out


def _member(name: str, option_id: int, text: str) -> list[str]:
    line = f"        {name} = {option_id}, {q(text)}"
    if len(line) <= FIT:
        return [line]
    return [f"        {name} = (", f"            {option_id},", f"            {q(text)},",
            "        )"]  # fmt: skip


def _imports(body: str) -> list[str]:
    # The names the code uses, read from its syntax tree: a label or an option's text in a
    # docstring or a string never asks for an import.
    used = {n.id for n in ast.walk(ast.parse(body)) if isinstance(n, ast.Name)}
    lines = ["from __future__ import annotations", ""]
    if "dt" in used:
        lines.append("import datetime as dt")
    if "Iterable" in used:
        lines.append("from collections.abc import Iterable")
    if "Decimal" in used:
        lines.append("from decimal import Decimal")
    typing = [n for n in ("Any", "ClassVar") if n in used]
    if typing:
        lines.append(f"from typing import {', '.join(typing)}")
    lines += ["", f"from {RUNTIME} import ("]
    lines += [f"    {n}," for n in sorted(RUNTIME_NAMES & used)]
    lines.append(")")
    return lines


def render(apps: Sequence[AppDef]) -> str:
    """The module for `apps`, in the order given."""
    if not apps:
        raise ValueError("no apps to generate")
    module = _plan(apps)
    body: list[str] = []
    for plan in module.classes:
        body += ["", "", *_class(plan, module)]
    text_body = "\n".join(body)
    listed = ", ".join(f"{a.app_id} ({a.name}, revision {a.revision})" for a in apps)
    header = textwrap.wrap(f"Generated by `podiokit typegen` from Podio apps {listed}.", 86)
    out = [f"# {line}" for line in header]
    out += [
        "# Do not edit: run `podiokit typegen` again. `podiokit typegen --check --out FILE`",
        "# exits 1 when the apps no longer match this file.",
    ]
    summary = ", ".join(f"{p.name} (app {p.app.app_id})" for p in module.classes)
    out += docstring(f"Typed models of Podio apps: {summary}.", "")
    out += ["", *_imports(text_body)]
    out += ["", f"__all__ = [{', '.join(q(n) for n in sorted(module.by_app.values()))}]"]
    if len(out[-1]) > FIT:
        out[-1:] = ["__all__ = [", *(f"    {q(n)}," for n in sorted(module.by_app.values())), "]"]
    out += body
    return "\n".join(out) + "\n"
