"""Render the sync face's resources (`src/podiokit/sync/resources/`) from the spec.

Every sync method mirrors the async method of the same operation: the same signature (from
the same `OpView`), the same return type (a `SyncPage` where the async face returns an
`AsyncPage`), the same docstring with the paging sentence rewritten. Its body hands the async
call to `SyncPodio._run`, so requests, auth and parsing exist once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from . import spec as _spec
from .render import DOC_URL, HEADER, OpView, _env, _model_imports, op_view
from .spec import AreaSpec, SpecError

SYNC_DIR = "src/podiokit/sync/resources"
#: Non-model names a signature may use, by the podiokit module defining them (e.g.
#: `FileSource` from `_files`); read from the spec module when it declares any.
HELPER_TYPES: dict[str, str] = getattr(_spec, "HELPER_TYPES", {})


def _sync_docstring(view: OpView) -> list[str]:
    lines = list(view.docstring)
    if view.op.paginate is None:
        return lines
    # Swap the async face's paging paragraph (from "Returns a page object" to the next
    # blank line) for the sync one.
    start = next((i for i, line in enumerate(lines) if line.startswith("Returns a page")), None)
    if start is None:
        raise SpecError(f"{view.area.area}.{view.name}: the async docstring has no paging note")
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    limit = view.op.paginate.max_limit
    lines[start:end] = [
        "Returns the first page (`limit` elements, or the most Podio allows when not given:",
        f"{limit}); iterate over it for every element, one page in memory at a time.",
    ]
    if any("async for" in line or "await" in line for line in lines):
        raise SpecError(f"{view.area.area}.{view.name}: async wording left in a sync docstring")
    return lines


def _sync_view(area: AreaSpec, name: str) -> OpView:
    view = op_view(area, name, area.operations[name])
    if view.op.paginate is not None:
        sync_return = f"SyncPage[{view.page_type}, {view.item_type}]"
        kind = "page"
    elif view.return_type.startswith("AsyncIterator["):
        # A stream (files.stream): a plain iterator on the sync face, a hop per chunk.
        sync_return = view.return_type.removeprefix("Async")
        kind = "iterator"
    else:
        sync_return, kind = view.return_type, "call"
    view.sync_return_type = sync_return  # type: ignore[attr-defined]
    # With `model=` (spec `model: {read: ...}`): what the call returns for a typegen class.
    view.sync_model_return_type = (  # type: ignore[attr-defined]
        "SyncPage[ModelPage[AppModelT], AppModelT]" if kind == "page" else "AppModelT"
    )
    view.sync_kind = kind  # type: ignore[attr-defined]
    # Operations implemented by a hand-written helper (`impl:`) take no `extra_body`.
    view.sync_extra_body = view.has_extra_body and not getattr(view.op, "impl", None)  # type: ignore[attr-defined]
    view.sync_docstring = _sync_docstring(view)  # type: ignore[attr-defined]
    return view


def render_sync_area(area: AreaSpec, models: Mapping[str, str]) -> str:
    views = [_sync_view(area, name) for name in area.operations]
    all_types = " ".join(
        [a.type for v in views for a in v.path_args + v.kw_args] + [v.return_type for v in views]
    )
    needs = {
        "literal": "Literal[" in all_types,
        "sequence": "Sequence[" in all_types,
        "io": "IO[" in all_types,
        "page": any(v.op.paginate for v in views),
        "iterator": any(v.sync_kind == "iterator" for v in views),  # type: ignore[attr-defined]
        "model_read": any(v.model_read for v in views),
        "model_page": any(v.model_read and v.op.paginate for v in views),
    }
    helper_types: dict[str, set[str]] = {}
    for type_name, module in HELPER_TYPES.items():
        if re.search(rf"\b{type_name}\b", all_types):
            helper_types.setdefault(module, set()).add(type_name)
    return _env.get_template("sync_resource.py.j2").render(
        helper_types=sorted(helper_types.items()),
        header=HEADER.format(source=f"spec/areas/{area.area}.yaml"),
        area=area,
        views=views,
        needs=needs,
        model_imports=sorted(_model_imports(views, models).items()),
        doc_url=DOC_URL,
    )


def render_sync(areas: list[AreaSpec], models: Mapping[str, str]) -> dict[str, str]:
    """Repo-relative path -> source of every sync face file (before formatting)."""
    files = {
        f"{SYNC_DIR}/__init__.py": _env.get_template("sync_resources_init.py.j2").render(
            header=HEADER.format(source="spec/areas/*.yaml"), areas=areas, doc_url=DOC_URL
        )
    }
    for area in areas:
        files[f"{SYNC_DIR}/{area.area}.py"] = render_sync_area(area, models)
    return files
