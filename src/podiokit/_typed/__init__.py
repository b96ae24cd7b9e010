"""The runtime of typed app models (`podiokit typegen`): the base class, the field values,
reading responses, writing and filters.

Public names are re-exported by `podiokit.typed`. Generated resources use `AppModel`,
`AppModelT`, `ModelPage`, `read_item` and `read_page` (spec key `model:`).
"""

from __future__ import annotations

from ._aliases import (
    ContactFilter,
    DateFilter,
    DurationRange,
    NumberRange,
    OptionFilter,
    RefFilter,
)
from ._field import PodioField
from ._model import AppModel, AppModelT
from ._read import ModelPage, read_item, read_page
from ._values import Contact, DateRange, EmbedRef, FileRef, ItemRef, Location, Money, Option

__all__ = [
    "AppModel",
    "AppModelT",
    "Contact",
    "ContactFilter",
    "DateFilter",
    "DateRange",
    "DurationRange",
    "EmbedRef",
    "FileRef",
    "ItemRef",
    "Location",
    "ModelPage",
    "Money",
    "NumberRange",
    "Option",
    "OptionFilter",
    "PodioField",
    "RefFilter",
    "read_item",
    "read_page",
]
