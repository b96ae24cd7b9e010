"""The endpoint spec as pydantic models: loading, defaults and validation.

`spec/areas/<area>.yaml` files are validated into `AreaSpec`s. Anything the generator would
otherwise have to guess (an unknown key, a path placeholder without a parameter, a Python name
that is a keyword, a `returns` that names no model) is a `SpecError` naming the file and the
operation, so a typo in the spec fails `python -m codegen` instead of producing odd code.
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "GENERIC_RETURNS",
    "AreaSpec",
    "Body",
    "Operation",
    "Paginate",
    "Param",
    "SpecError",
    "load_areas",
]

# Returns that name no model: what the response is decoded into.
GENERIC_RETURNS: dict[str, str] = {
    "json": "Any",  # JSON of a shape the sources don't pin down
    "object": "dict[str, Any]",  # a JSON object
    "list": "list[Any]",  # a JSON array
    "empty": "None",  # the body is empty or carries nothing useful
    "bytes": "bytes",  # a file, export or other non-JSON body
    "stream": "AsyncIterator[bytes]",  # chunks of a body (only with `impl`)
}

# Types a hand-written helper module (`impl:`) defines, by the module that exports them.
HELPER_TYPES: dict[str, str] = {"FileSource": "_files", "AppModel": "_typed"}

# Names a parameter's type expression may use (besides model names from the models index).
TYPE_NAMES = frozenset(
    {"int", "str", "bool", "float", "bytes", "Any", "None", "list", "dict", "Mapping",
     "Sequence", "Literal", "IO", "date", "datetime", *HELPER_TYPES}
)  # fmt: skip

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DOC_REF = re.compile(r"^[a-z0-9-]+/[a-z0-9-]+$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


# libyaml's parser when built in: the pure-Python one takes most of a codegen run.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """A safe loader that rejects a key given twice in one mapping: plain YAML keeps the
    last one silently, which would hide half of a hand-edited operation."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (line {mark.line + 1})", mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class SpecError(Exception):
    """The spec is invalid; the message names the file and operation."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Param(_Strict):
    """One argument of a generated method (path, query, or body member)."""

    type: str = "str"
    required: bool = False
    doc: str | None = None
    # Name on the wire when it differs from the Python name (`from` is a keyword).
    wire: str | None = None
    # `fields`: pass the value through `podiokit.fields.encode_fields` (item write form).
    encode: Literal["fields"] | None = None
    # Multipart only: this member is the file part.
    file: bool = False
    # With `impl` only: a positional argument (after the path's), e.g. files.upload's source.
    positional: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `item_id: int` is short for `item_id: {type: int}`.
        if isinstance(value, str):
            return {"type": value}
        return value

    @field_validator("type")
    @classmethod
    def _check_type(cls, value: str) -> str:
        _check_type_expr(value)
        return value


class Body(_Strict):
    """The request body.

    `fields` makes a JSON object of keyword arguments (or form fields for `encoding: form`,
    multipart parts for `encoding: multipart`); `arg` names one argument that is the whole body
    (e.g. a list of field values). Without either, POST/PUT still send `{}`.
    """

    encoding: Literal["json", "form", "multipart"] = "json"
    fields: dict[str, Param] = Field(default_factory=dict)
    arg: str | None = None
    arg_type: str | None = None
    arg_required: bool = True
    arg_encode: Literal["fields"] | None = None
    arg_doc: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Body:
        if self.arg is not None and self.fields:
            raise ValueError("a body has either `fields` or `arg`, not both")
        if self.arg is not None and self.arg_type is None:
            raise ValueError("`arg` needs `arg_type`")
        if self.arg_type is not None:
            _check_type_expr(self.arg_type)
        if self.encoding != "multipart" and any(p.file for p in self.fields.values()):
            raise ValueError("`file: true` members need `encoding: multipart`")
        return self


class Paginate(_Strict):
    """How a paginated operation pages.

    `by: body` puts limit/offset in the JSON body (filter); `by: query` in the query string.
    `items` is the page's key holding the elements (None: the page is the list itself);
    `filtered` the key holding the number of matching elements, when Podio reports it.
    """

    by: Literal["body", "query"]
    max_limit: int = Field(gt=0)
    items: str | None = None
    total: str | None = None
    filtered: str | None = None
    item_type: str = "Any"
    # An element's identity (e.g. `item_id`): iteration skips one seen on an earlier page.
    key: str | None = None


class ModelArg(_Strict):
    """`model:` of an item operation: a class `podiokit typegen` made (a
    `podiokit.typed.AppModel`) in place of podiokit's `Item`.

    `read` is `<module>.<function>` of a private hand-written module, `(response, model)` ->
    the model (or, for a paginated operation, a page of them with the paginate keys as
    attributes): the method takes `model=` and returns that class (typed overloads).
    `write` names a body member (`encode: fields`, its type naming `AppModel`) that takes a
    model too and comes first after the path's arguments: `items.create(app_id, deal)`.
    """

    read: str | None = Field(default=None, pattern=r"^_[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
    write: str | None = None

    @model_validator(mode="after")
    def _one(self) -> ModelArg:
        if (self.read is None) == (self.write is None):
            raise ValueError("`model` takes one of `read` or `write`")
        return self


class Operation(_Strict):
    """One Podio operation and the method generated for it."""

    podio: str = Field(min_length=1)
    doc: str | None = None
    undocumented: bool = False
    related: str | None = None
    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str
    path_params: dict[str, Param] = Field(default_factory=dict)
    query: dict[str, Param] = Field(default_factory=dict)
    body: Body | None = None
    returns: str = "json"
    paginate: Paginate | None = None
    idempotent: bool | None = None
    rate_limited: bool = False
    deprecated: str | None = None
    summary: str | None = None
    # Body of the mocked response in the generated test (defaults by `returns`).
    test_response: Any = None
    # A hand-written helper that does the call: `<module>.<function>` of a private podiokit
    # module (`_files.upload`). The generated method keeps the signature and docstring and
    # delegates; the helper returns the response, decoded as `returns` says (for `returns:
    # stream`, the async iterator itself). For binary and streaming work a template cannot say.
    impl: str | None = Field(default=None, pattern=r"^_[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
    # With `impl` only: keyword arguments the helper takes that are not sent as named.
    args: dict[str, Param] = Field(default_factory=dict)
    # A typed app model (`podiokit typegen`) read or written in place of the item.
    model: ModelArg | None = None

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"path must start with '/': {value!r}")
        return value

    @field_validator("doc", "related")
    @classmethod
    def _check_doc(cls, value: str | None) -> str | None:
        if value is not None and not _DOC_REF.match(value):
            raise ValueError(f"doc reference must look like 'items/get-item-22360': {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Operation:
        if self.doc is None and not self.undocumented:
            raise ValueError("an operation without `doc` must say `undocumented: true`")
        if self.doc is not None and self.undocumented:
            raise ValueError("an operation with `doc` cannot be `undocumented`")
        placeholders = _PLACEHOLDER.findall(self.path)
        if len(set(placeholders)) != len(placeholders):
            raise ValueError(f"path repeats a placeholder: {self.path}")
        unknown = set(self.path_params) - set(placeholders)
        if unknown:
            raise ValueError(f"path_params not in path {self.path}: {sorted(unknown)}")
        if self.impl is None:
            if self.args:
                raise ValueError("`args` needs `impl`")
            if self.returns == "stream":
                raise ValueError("`returns: stream` needs `impl`")
            params = [*self.query.values(), *self._body_fields().values()]
            if any(p.positional for p in params):
                raise ValueError("`positional: true` needs `impl`")
        elif self.paginate is not None:
            raise ValueError("an `impl` operation cannot be paginated")
        if self.model is not None:
            self._check_model(self.model)
        if self.method in ("GET", "DELETE") and self.body is not None:
            raise ValueError(f"{self.method} operations take no body")
        if self.paginate is not None:
            where = self.query if self.paginate.by == "query" else self._body_fields()
            missing = {"limit", "offset"} - set(where)
            if missing:
                raise ValueError(f"paginated by {self.paginate.by} but no {sorted(missing)} there")
        return self

    def _check_model(self, model: ModelArg) -> None:
        if self.impl is not None:
            raise ValueError("`model` cannot be used with `impl`")
        if model.read is not None and self.returns in GENERIC_RETURNS:
            raise ValueError("`model: {read: ...}` needs `returns` to name a model")
        if model.write is not None:
            member = self._body_fields().get(model.write)
            if member is None or member.encode != "fields":
                raise ValueError(
                    f"`model: {{write: {model.write}}}` names no body member with `encode: fields`"
                )
            if re.search(r"\bAppModel\b", member.type) is None:
                raise ValueError(f"`model: {{write: {model.write}}}`: its type must name AppModel")

    def _body_fields(self) -> dict[str, Param]:
        return dict(self.body.fields) if self.body is not None else {}

    # --- derived views used by the templates ---

    @property
    def placeholders(self) -> list[str]:
        return _PLACEHOLDER.findall(self.path)

    def path_param(self, name: str) -> Param:
        if name in self.path_params:
            return self.path_params[name]
        # Podio ids are integers, `*_ids` comma-separated id lists; everything else in a path
        # (labels, types, names) is text.
        if name.endswith("_ids"):
            return Param(type="list[int] | int")
        return Param(type="int" if name.endswith("_id") or name == "revision" else "str")

    @property
    def is_idempotent(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method != "POST"

    @property
    def has_body(self) -> bool:
        # Podio wants a JSON object on every POST/PUT, `{}` when nothing is given (§4.1).
        return self.method in ("POST", "PUT")

    @property
    def body_spec(self) -> Body:
        return self.body if self.body is not None else Body()


class AreaSpec(_Strict):
    """One `spec/areas/<area>.yaml` file."""

    area: str
    podio_area: str
    title: str
    # The resource class, when `<Area>Resource` reads badly (`OAuthResource`).
    resource_class: str | None = None
    operations: dict[str, Operation]

    @field_validator("area")
    @classmethod
    def _check_area(cls, value: str) -> str:
        if not _IDENT.match(value) or keyword.iskeyword(value):
            raise ValueError(f"area must be a snake_case identifier: {value!r}")
        return value

    @field_validator("resource_class")
    @classmethod
    def _check_class(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Z][A-Za-z0-9]*Resource", value):
            raise ValueError(f"resource_class must be CapWords ending in Resource: {value!r}")
        return value

    @property
    def class_name(self) -> str:
        if self.resource_class is not None:
            return self.resource_class
        return "".join(part.capitalize() for part in self.area.split("_")) + "Resource"


def _check_type_expr(expr: str) -> None:
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise ValueError(f"not a Python type expression: {expr!r}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in TYPE_NAMES and not node.id[:1].isupper():
            raise ValueError(f"type {expr!r} uses unknown name {node.id!r}")
        if isinstance(node, ast.Call | ast.Attribute | ast.Lambda):
            raise ValueError(f"type {expr!r} must be a plain type expression")


def type_names(expr: str) -> set[str]:
    """Capitalised names in a type expression (candidate model names)."""
    tree = ast.parse(expr, mode="eval")
    return {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and n.id not in TYPE_NAMES and n.id[:1].isupper()
    }


def returns_model(returns: str) -> str | None:
    """`Item` and `list[Item]` name the model `Item`; generic returns name none."""
    if returns in GENERIC_RETURNS:
        return None
    # `Model | None`: Podio may answer with an empty body (a no-op item update gives 204).
    returns = returns.removesuffix(" | None")
    # `Model | list[Model]`: one object, or a list of them (a task given several responsible).
    either = re.fullmatch(r"([A-Z][A-Za-z0-9_]*) \| list\[\1\]", returns)
    if either is not None:
        return either.group(1)
    match = re.fullmatch(r"(?:list\[)?([A-Z][A-Za-z0-9_]*)\]?", returns)
    if match is None or (returns.startswith("list[") != returns.endswith("]")):
        raise ValueError(
            f"returns must be one of {sorted(GENERIC_RETURNS)}, a model name, list[Model] or"
            " Model | list[Model]:"
            f" {returns!r}"
        )
    return match.group(1)


def _check_names(where: str, names: Iterable[str]) -> None:
    for name in names:
        if not _IDENT.match(name) or keyword.iskeyword(name):
            raise SpecError(f"{where}: {name!r} is not a usable Python name (use `wire:`)")


# Path parameter types the generated helpers check before a request is sent.
PATH_TYPES = frozenset({"int", "str", "list[int] | int", "int | str"})

RESERVED_ARGS = frozenset({"self", "timeout", "extra_query", "extra_body", "extra_headers"})


def validate_area(path: Path, data: Any, models: Mapping[str, str]) -> AreaSpec:
    """Validate one YAML document; every problem is a `SpecError` naming file and operation."""
    try:
        area = AreaSpec.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(part) for part in err["loc"])
            lines.append(f"  {loc}: {err['msg']}")
        raise SpecError(f"{path}: invalid spec\n" + "\n".join(lines)) from None
    if area.area != path.stem:
        raise SpecError(f"{path}: `area: {area.area}` must match the file name")
    for name, op in area.operations.items():
        where = f"{path}: operation {name!r}"
        _check_names(where, [name])
        if name.startswith("_"):
            raise SpecError(f"{where}: operation names cannot start with '_'")
        names = list(op.placeholders) + list(op.query) + list(op.body_spec.fields) + list(op.args)
        if op.body_spec.arg:
            names.append(op.body_spec.arg)
        _check_names(where, names)
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise SpecError(f"{where}: argument names used twice: {sorted(dupes)}")
        clash = RESERVED_ARGS & set(names)
        if clash:
            raise SpecError(f"{where}: argument names reserved by the generator: {sorted(clash)}")
        try:
            model = returns_model(op.returns)
        except ValueError as exc:
            raise SpecError(f"{where}: {exc}") from None
        if model is not None and model not in models:
            raise SpecError(
                f"{where}: returns {op.returns!r} but no model {model!r} exists in spec/models/"
            )
        if op.paginate is not None and op.returns in ("empty", "bytes"):
            raise SpecError(f"{where}: a paginated operation must return a page")
        if op.returns == "bytes" and op.paginate is not None:
            raise SpecError(f"{where}: binary operations cannot be paginated")
        for n in op.placeholders:
            tp = op.path_param(n).type
            if tp not in PATH_TYPES and not tp.startswith("Literal["):
                raise SpecError(
                    f"{where}: path parameter {n!r} has type {tp!r}; path types are"
                    f" {sorted(PATH_TYPES)} or a Literal of strings"
                )
        all_types = [p.type for p in op.query.values()] + [
            p.type for p in [*op.body_spec.fields.values(), *op.args.values()]
        ]
        all_types += [op.path_param(n).type for n in op.placeholders]
        if op.body_spec.arg_type:
            all_types.append(op.body_spec.arg_type)
        if op.paginate is not None:
            all_types.append(op.paginate.item_type)
        for tp in all_types:
            for tname in type_names(tp):
                if tname not in models and tname not in HELPER_TYPES:
                    raise SpecError(f"{where}: type {tp!r} names unknown model {tname!r}")
    return area


def load_areas(spec_dir: Path, models: Mapping[str, str]) -> list[AreaSpec]:
    """Every `spec/areas/*.yaml`, validated, sorted by area name."""
    areas = []
    seen_docs: dict[str, str] = {}
    for path in sorted((spec_dir / "areas").glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            try:
                data = yaml.load(fh, Loader=_Loader)
            except yaml.YAMLError as exc:
                raise SpecError(f"{path}: not valid YAML: {exc}") from None
        area = validate_area(path, data, models)
        for name, op in area.operations.items():
            if op.doc is not None:
                if op.doc in seen_docs:
                    raise SpecError(
                        f"{path}: operation {name!r} repeats doc {op.doc} (also {seen_docs[op.doc]})"
                    )
                seen_docs[op.doc] = f"{area.area}.{name}"
        areas.append(area)
    if not areas:
        raise SpecError(f"{spec_dir / 'areas'}: no area files found")
    return areas
