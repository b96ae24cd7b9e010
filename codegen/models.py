"""The model generator: `spec/models/*.yaml` -> `src/podiokit/models/*.py`.

`render(spec_dir)` returns every generated file (repo-relative path -> content) and
`index(spec_dir)` maps each model name (and alias) to its module. Both validate the spec
files first and fail with a `ModelSpecError` naming the file and the model.
"""

from __future__ import annotations

import ast
import keyword
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .spec import _Loader as _SpecLoader

__all__ = ["ModelSpecError", "index", "load", "render"]

OUTPUT_DIR = "src/podiokit/models"
TEMPLATES = Path(__file__).parent / "templates"

# Scalar names a spec may use, and what they become in the generated code.
SCALARS: dict[str, str] = {
    "int": "int",
    "str": "str",
    "bool": "bool",
    "float": "float",
    "Any": "Any",
    "None": "None",
    "list": "list",
    "dict": "dict",
    "Literal": "Literal",
    "Decimal": "PodioDecimal",
    "Number": "PodioNumber",
    "DateTime": "PodioDateTime",
    "LocalDateTime": "PodioLocalDateTime",
    "DateOrDateTime": "PodioDateOrDateTime",
    "Date": "PodioDate",
    "Time": "PodioTime",
}
BASE_NAMES = {v for v in SCALARS.values() if v.startswith("Podio")}
RESERVED_BASE_ATTRS = set(dir(BaseModel))
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(\"[^\"]*\"|'[^']*')|([\[\]|,]))")
_MODULE_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_CLASS_NAME = re.compile(r"[A-Z][A-Za-z0-9]*\Z")


class ModelSpecError(Exception):
    """A spec file is invalid; the message names the file and the model."""


# --------------------------------------------------------------------------- the schema
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldSpec(_Strict):
    """One key of a Podio object. The mapping key in `fields:` is the JSON key."""

    type: str
    doc: str | None = None
    required: bool = False
    name: str | None = None  # Python attribute name when the key cannot be one
    default: str | int | bool | None = None  # a default other than None
    repr: bool = True  # False keeps secrets (tokens) out of repr()


class ModelSpec(_Strict):
    doc: str
    podio: str | None = None  # the object's name in Podio's docs, when it differs
    extends: str | None = None
    required: list[str] = Field(default_factory=list)
    helpers: str | None = None  # a macro in models_helpers.j2
    fields: dict[str, FieldSpec | str] = Field(default_factory=dict)

    @field_validator("helpers")
    @classmethod
    def _known_helpers(cls, value: str | None) -> str | None:
        if value is not None and value not in _helper_names():
            raise ValueError(f"unknown helpers {value!r}; known: {sorted(_helper_names())}")
        return value


class UnionSpec(_Strict):
    doc: str
    discriminator: str
    variants: dict[str, str]
    fallback: str


class SpecFile(_Strict):
    module: str
    doc: str
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    unions: dict[str, UnionSpec] = Field(default_factory=dict)
    aliases: dict[str, str] = Field(default_factory=dict)


@cache
def _helper_names() -> frozenset[str]:
    text = (TEMPLATES / "models_helpers.j2").read_text()
    return frozenset(re.findall(r"{%-?\s*macro\s+(\w+)\s*\(", text))


# --------------------------------------------------------------------------- loading
@dataclass
class _File:
    path: str  # as shown in messages and headers: spec/models/items.yaml
    spec: SpecFile
    names: list[str] = field(default_factory=list)  # every name the module defines


def load(spec_dir: Path) -> list[_File]:
    """Read and validate every `*.yaml` in `spec_dir` (the models directory)."""
    spec_dir = Path(spec_dir)
    files: list[_File] = []
    for path in sorted(spec_dir.glob("*.yaml")):
        shown = f"spec/models/{path.name}"
        try:
            # The spec's loader: a model defined twice in one file is an error, not the last
            # definition silently replacing the first.
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SpecLoader)
        except yaml.YAMLError as exc:
            raise ModelSpecError(f"{shown}: not valid YAML: {exc}") from None
        try:
            spec = SpecFile.model_validate(raw)
        except ValidationError as exc:
            raise ModelSpecError(f"{shown}: {_describe(exc)}") from None
        if spec.module != path.stem:
            raise ModelSpecError(f"{shown}: module {spec.module!r} must match the file name")
        if not _MODULE_NAME.match(spec.module) or spec.module.startswith("_"):
            raise ModelSpecError(f"{shown}: module {spec.module!r} is not a public module name")
        names = [*spec.models, *spec.unions, *spec.aliases]
        for name in names:
            if not _CLASS_NAME.match(name):
                raise ModelSpecError(f"{shown}: {name}: not a CapWords class name")
        files.append(_File(shown, spec, names))
    if not files:
        raise ModelSpecError(f"{spec_dir}: no model spec files (*.yaml)")
    _check(files)
    return files


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        where = loc
        if len(err["loc"]) >= 2 and err["loc"][0] in ("models", "unions"):
            where = f"model {err['loc'][1]}: " + ".".join(str(p) for p in err["loc"][2:])
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _owner_map(files: list[_File]) -> dict[str, _File]:
    owners: dict[str, _File] = {}
    for f in files:
        for name in f.names:
            if name in owners:
                raise ModelSpecError(
                    f"{f.path}: model {name}: already defined in {owners[name].path}"
                )
            if name in SCALARS or name in BASE_NAMES or name == "PodioModel":
                raise ModelSpecError(f"{f.path}: model {name}: name is reserved")
            owners[name] = f
    return owners


def _check(files: list[_File]) -> None:
    owners = _owner_map(files)
    for f in files:
        spec = f.spec
        for name, model in spec.models.items():
            where = f"{f.path}: model {name}"
            if model.extends is not None and (
                model.extends not in owners
                or model.extends not in owners[model.extends].spec.models
            ):
                raise ModelSpecError(f"{where}: extends {model.extends!r}, which is not a model")
            for key, fs in model.fields.items():
                _type_refs(_field(fs).type, owners, f"{where}: field {key!r}")
            for key in model.required:
                if key not in model.fields:
                    raise ModelSpecError(f"{where}: required {key!r} is not one of its fields")
        for name, union in spec.unions.items():
            where = f"{f.path}: model {name}"
            for tag, variant in [*union.variants.items(), ("(fallback)", union.fallback)]:
                if variant not in spec.models:
                    raise ModelSpecError(
                        f"{where}: variant {tag!r} -> {variant!r} is not a model of this file"
                    )
        for name, target in spec.aliases.items():
            if target not in owners:
                raise ModelSpecError(f"{f.path}: model {name}: alias of unknown {target!r}")
    _module_order(files, owners)  # fails on an import cycle


def _field(fs: FieldSpec | str) -> FieldSpec:
    return FieldSpec(type=fs) if isinstance(fs, str) else fs


def _type_refs(expr: str, owners: dict[str, _File], where: str) -> set[str]:
    """The model names `expr` uses; raises on a bad name or bad syntax."""
    refs: set[str] = set()
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None or m.end() == pos:
            raise ModelSpecError(f"{where}: cannot read type {expr!r} at {expr[pos:]!r}")
        name = m.group(1)
        if name is not None and name not in SCALARS:
            if name not in owners:
                raise ModelSpecError(f"{where}: unknown type {name!r} in {expr!r}")
            refs.add(name)
        pos = m.end()
    try:
        ast.parse(expr, mode="eval")
    except SyntaxError:
        raise ModelSpecError(f"{where}: type {expr!r} is not a valid type expression") from None
    return refs


def _render_type(expr: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name is not None:
            return SCALARS.get(name, name)
        return m.group(0).strip()

    out = _TOKEN.sub(sub, expr.strip())
    out = re.sub(r"\s*\|\s*", " | ", out)
    return re.sub(r",\s*", ", ", out)


def _module_deps(f: _File, owners: dict[str, _File]) -> dict[str, set[str]]:
    """Module name -> names imported from it."""
    deps: dict[str, set[str]] = {}
    for name, model in f.spec.models.items():
        if model.extends is not None and owners[model.extends] is not f:
            deps.setdefault(owners[model.extends].spec.module, set()).add(model.extends)
        for key, fs in model.fields.items():
            for ref in _type_refs(_field(fs).type, owners, f"{f.path}: model {name}: {key}"):
                owner = owners[ref]
                if owner is not f:
                    deps.setdefault(owner.spec.module, set()).add(ref)
    for target in f.spec.aliases.values():
        owner = owners[target]
        if owner is not f:
            deps.setdefault(owner.spec.module, set()).add(target)
    return deps


def _module_order(files: list[_File], owners: dict[str, _File]) -> list[_File]:
    by_module = {f.spec.module: f for f in files}
    order: list[_File] = []
    state: dict[str, int] = {}

    def visit(f: _File, stack: list[str]) -> None:
        mod = f.spec.module
        if state.get(mod) == 2:
            return
        if state.get(mod) == 1:
            cycle = " -> ".join([*stack[stack.index(mod) :], mod])
            raise ModelSpecError(f"{f.path}: import cycle between model modules: {cycle}")
        state[mod] = 1
        for dep in sorted(_module_deps(f, owners)):
            visit(by_module[dep], [*stack, mod])
        state[mod] = 2
        order.append(f)

    for f in files:
        visit(f, [])
    return order


# --------------------------------------------------------------------------- rendering
def _python_name(key: str, fs: FieldSpec) -> str:
    if fs.name is not None:
        return fs.name
    name = re.sub(r"\W", "_", key)
    if name[:1].isdigit():
        name = "n" + name
    if keyword.iskeyword(name) or name in RESERVED_BASE_ATTRS or name.startswith("model_"):
        name += "_"
    return name


def _class_order(spec: SpecFile, owners: dict[str, _File]) -> list[str]:
    """Models in spec order, but each after its base and the models its fields use."""
    names = list(spec.models)
    local = set(names) | set(spec.unions)
    deps: dict[str, set[str]] = {}
    for name, model in spec.models.items():
        d: set[str] = set()
        if model.extends in local:
            d.add(model.extends)
        for fs in model.fields.values():
            for ref in _type_refs(_field(fs).type, owners, name):
                if ref in spec.unions:
                    d |= {*spec.unions[ref].variants.values(), spec.unions[ref].fallback}
                elif ref in local:
                    d.add(ref)
        d.discard(name)
        deps[name] = d
    order: list[str] = []
    seen: set[str] = set()
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name in visiting:
            return  # a cycle is fine: pydantic resolves the forward reference later
        visiting.add(name)
        for dep in sorted(deps[name], key=names.index):
            visit(dep)
        visiting.discard(name)
        seen.add(name)
        order.append(name)

    for name in names:
        visit(name)
    return order


def _header(source: str) -> str:
    return f"# Generated by `python -m codegen` from {source}. Do not edit."


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )


def _docstring(text: str, indent: int = 4) -> str:
    """A docstring literal, wrapped to the line length (ruff format does not rewrap them)."""
    text = text.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    width = 96 - indent
    if len(text) + 6 <= width and "\n" not in text:
        return f'"""{text}"""'
    pad = " " * indent
    paragraphs = [
        textwrap.fill(" ".join(p.split()), width=width, break_on_hyphens=False)
        for p in text.split("\n\n")
    ]
    body = "\n\n".join(paragraphs).replace("\n", "\n" + pad).replace("\n" + pad + "\n", "\n\n")
    return f'"""{body}\n{pad}"""'


@dataclass
class _RField:
    name: str
    type: str
    default: str
    doc: str | None


@dataclass
class _RClass:
    name: str
    base: str
    doc: str
    fields: list[_RField]
    helpers: str | None


def _render_module(f: _File, owners: dict[str, _File], env: jinja2.Environment) -> str:
    spec = f.spec
    classes: list[_RClass] = []
    for name in _class_order(spec, owners):
        model = spec.models[name]
        fields: list[_RField] = []
        for key, raw in model.fields.items():
            fs = _field(raw)
            required = fs.required or key in model.required
            typ = _render_type(fs.type)
            pyname = _python_name(key, fs)
            if not required and fs.default is None and not re.search(r"(^|\| )None( \||$)", typ):
                typ = f"{typ} | None"
            args = []
            if fs.default is not None:
                args.append(f"default={fs.default!r}")
            elif not required:
                args.append("default=None")
            if pyname != key:
                args.append(f"alias={key!r}")
            if not fs.repr:
                args.append("repr=False")
            if not args:
                default = ""
            elif len(args) == 1 and args[0].startswith("default="):
                default = " = " + args[0].removeprefix("default=")
            else:
                default = f" = Field({', '.join(args)})"
            fields.append(_RField(pyname, typ, default, _docstring(fs.doc) if fs.doc else None))
        doc = model.doc.strip()
        if model.podio:
            doc += f"\n\nPodio: {model.podio}."
        classes.append(
            _RClass(name, model.extends or "PodioModel", _docstring(doc), fields, model.helpers)
        )
    unions: list[dict[str, Any]] = []
    for name, union in spec.unions.items():
        unions.append(
            {
                "name": name,
                "doc": _docstring(union.doc, 0),
                "func": "_" + re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() + "_fallback",
                "key": union.discriminator,
                "variants": list(union.variants.items()),
                "fallback": union.fallback,
            }
        )
    deps = _module_deps(f, owners)
    body_text = " ".join(c.type for cl in classes for c in cl.fields)
    base_imports = sorted(n for n in BASE_NAMES if re.search(rf"\b{n}\b", body_text))
    if spec.models:
        base_imports = sorted({*base_imports, "PodioModel"})
    typing_imports = {"Any"} if ("Any" in body_text or any(c.helpers for c in classes)) else set()
    if "Literal[" in body_text:
        typing_imports.add("Literal")
    if unions:
        typing_imports.add("Annotated")
    pydantic_imports: set[str] = set()
    if any(c.default.startswith(" = Field(") for cl in classes for c in cl.fields):
        pydantic_imports.add("Field")
    if unions:
        pydantic_imports |= {"AfterValidator", "Field", "Tag"}
    exported = sorted(f.names)
    text = env.get_template("models.py.j2").render(
        header=_header(f.path),
        doc=_docstring(spec.doc, 0),
        typing_imports=sorted(typing_imports),
        pydantic_imports=sorted(pydantic_imports),
        base_imports=base_imports,
        module_imports=[(mod, sorted(names)) for mod, names in sorted(deps.items())],
        exported=exported,
        classes=classes,
        unions=unions,
        aliases=list(spec.aliases.items()),
    )
    return text


def _ruff(path: str, text: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", path, "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ModelSpecError(f"{path}: generated code does not format:\n{proc.stderr}\n{text}")
    return proc.stdout


def _format(path: str, text: str) -> str:
    """Sort imports and ruff-format in memory, so the output is stable and lint-clean."""
    text = _ruff(path, text, "check", "--fix", "--exit-zero", "--quiet", "--select", "I,F401")
    return _ruff(path, text, "format")


def render(spec_dir: Path) -> dict[str, str]:
    """Every generated models file: repo-relative path -> content."""
    files = load(spec_dir)
    owners = _owner_map(files)
    env = _env()
    out: dict[str, str] = {}
    out[f"{OUTPUT_DIR}/_base.py"] = env.get_template("models_base.py.j2").render(
        header=_header("codegen/templates/models_base.py.j2")
    )
    for f in _module_order(files, owners):
        out[f"{OUTPUT_DIR}/{f.spec.module}.py"] = _render_module(f, owners, env)
    names = _index(files)
    out[f"{OUTPUT_DIR}/__init__.py"] = env.get_template("models_init.py.j2").render(
        header=_header("spec/models/*.yaml"),
        names=sorted(names.items()),
        by_module=_group(names.items()),
        base_names=sorted([*BASE_NAMES, "PodioModel"]),
        all_names=sorted([*BASE_NAMES, "PodioModel", *names]),
    )
    return {path: _format(path, text) for path, text in sorted(out.items())}


def _group(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    grouped: dict[str, list[str]] = {}
    for name, module in pairs:
        grouped.setdefault(module, []).append(name)
    return [(m, sorted(n)) for m, n in sorted(grouped.items())]


def _index(files: list[_File]) -> dict[str, str]:
    return {name: f.spec.module for f in files for name in f.names}


def index(spec_dir: Path) -> dict[str, str]:
    """Model (or alias) name -> module name in `podiokit.models`, e.g. "Item" -> "items"."""
    return dict(sorted(_index(load(spec_dir)).items()))


def main(argv: list[str] | None = None) -> int:
    """Stand-alone use: `python -m codegen.models [--check]` from the repository root."""
    args = sys.argv[1:] if argv is None else argv
    root = Path.cwd()
    rendered = render(root / "spec" / "models")
    stale = [
        p
        for p, text in rendered.items()
        if not (root / p).is_file() or (root / p).read_text() != text
    ]
    if "--check" in args:
        for p in stale:
            print(f"out of date: {p}", file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        (root / p).parent.mkdir(parents=True, exist_ok=True)
        (root / p).write_text(rendered[p])
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
