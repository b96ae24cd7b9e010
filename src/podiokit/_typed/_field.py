"""`PodioField`: what a generated class records about one field of its app."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from ._values import Option

__all__ = ["LIST_TYPES", "READ_ONLY_TYPES", "SINGLE_TYPES", "PodioField"]

#: Field types that hold one value; the rest hold a list (category, question and app per
#: their `multiple` setting).
SINGLE_TYPES = frozenset(
    {"text", "number", "money", "progress", "duration", "date", "location", "calculation", "tel"}
)
#: Field types that always hold a list of values.
LIST_TYPES = frozenset({"contact", "image", "embed", "phone", "email"})
#: Field types Podio computes: read, never written.
READ_ONLY_TYPES = frozenset({"calculation"})


@dataclass(frozen=True)
class PodioField:
    """One field of an app, as the app definition had it when the class was made.

    `field_id`, `external_id`, `type` (Podio's: "text", "category", ...), `label`,
    `required`, and what the attribute's type depends on: `multiple` (category, question,
    app), `options` (the option enum of a category or question field), `apps` (the apps an
    app field references), `time` and `end` (a date field's settings: "enabled",
    "disabled" or "required"), `currencies` (a money field's allowed currencies) and
    `returns` (a calculation's return type).
    """

    field_id: int
    external_id: str
    type: str
    label: str = ""
    required: bool = False
    multiple: bool = False
    options: builtins.type[Option] | None = None
    apps: tuple[int, ...] = ()
    time: str | None = None
    end: str | None = None
    currencies: tuple[str, ...] = ()
    returns: str | None = None

    @property
    def is_list(self) -> bool:
        """The attribute holds a list of values."""
        if self.type in SINGLE_TYPES:
            return False
        if self.type in LIST_TYPES:
            return True
        if self.type in ("category", "question", "app"):
            return self.multiple
        return True  # a type this version does not know: its raw values

    @property
    def has_end(self) -> bool:
        """A date field whose values may have an end (a `DateRange`)."""
        return self.type == "date" and self.end != "disabled"

    def option_list(self) -> list[tuple[int, str]]:
        """(id, text) of each option the enum lists."""
        if self.options is None:
            return []
        return [(m.value, m.text) for m in self.options]

    def summary(self) -> dict[str, Any]:
        """What a drift check compares (typegen's own definitions give the same keys)."""
        return {
            "field_id": self.field_id,
            "external_id": self.external_id,
            "type": self.type,
            "label": self.label,
            "required": self.required,
            "multiple": self.multiple,
            "options": self.option_list(),
            "apps": list(self.apps),
            "time": self.time,
            "end": self.end,
            "currencies": list(self.currencies),
            "returns": self.returns,
        }
