"""The generated sync face mirrors the async one: every operation, same parameters, same
return types (SyncPage for AsyncPage), with docstrings."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import podiokit.resources as resources
from podiokit import Podio, SyncPodio
from podiokit.resources import ResourceNamespaces
from podiokit.sync.resources import SyncResourceNamespaces

AREAS = sorted(
    name for _, name, _ in pkgutil.iter_modules(resources.__path__) if not name.startswith("_")
)


def _operations(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(fn)
        for name, fn in vars(cls).items()
        if inspect.isfunction(fn) and not name.startswith("_")
    }


def test_every_area_has_a_sync_namespace() -> None:
    async_areas = {n for n, v in vars(ResourceNamespaces).items() if not n.startswith("_")}
    sync_areas = {n for n, v in vars(SyncResourceNamespaces).items() if not n.startswith("_")}
    assert async_areas == sync_areas == set(AREAS)
    assert issubclass(Podio, ResourceNamespaces) and issubclass(SyncPodio, SyncResourceNamespaces)


@pytest.mark.parametrize("area", AREAS)
def test_sync_methods_mirror_async_methods(area: str) -> None:
    module = importlib.import_module(f"podiokit.resources.{area}")
    sync_module = importlib.import_module(f"podiokit.sync.resources.{area}")
    (async_cls,) = (getattr(module, n) for n in module.__all__)
    sync_cls = getattr(sync_module, "Sync" + async_cls.__name__)
    async_ops, sync_ops = _operations(async_cls), _operations(sync_cls)
    assert sorted(async_ops) == sorted(sync_ops)
    for name, sig in async_ops.items():
        sync_sig = sync_ops[name]
        assert list(sig.parameters.values()) == list(sync_sig.parameters.values()), name
        expected = str(sig.return_annotation).replace("AsyncPage[", "SyncPage[")
        expected = expected.replace("AsyncIterator[", "Iterator[")  # files.stream
        assert sync_sig.return_annotation == expected, name
        assert not inspect.iscoroutinefunction(getattr(sync_cls, name)), name
        doc = getattr(sync_cls, name).__doc__
        assert doc and "await" not in doc and "async for" not in doc, name
        async_doc = getattr(async_cls, name).__doc__
        assert doc.splitlines()[0] == async_doc.splitlines()[0], name


def test_client_methods_mirror_podio() -> None:
    skip = {"aclose"}
    for name, fn in vars(Podio).items():
        if name.startswith("_") or name in skip or not inspect.isfunction(fn):
            continue
        sync_fn = getattr(SyncPodio, name)
        assert (
            inspect.signature(sync_fn).parameters.keys() == inspect.signature(fn).parameters.keys()
        ), name
    async_init = inspect.signature(Podio.__init__).parameters
    sync_init = inspect.signature(SyncPodio.__init__).parameters
    assert list(async_init) == list(sync_init)
    for name, param in async_init.items():
        assert sync_init[name].default == param.default, name
