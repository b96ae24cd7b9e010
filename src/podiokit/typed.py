"""Typed models of your own Podio apps: what `podiokit typegen` writes builds on this module.

`podiokit typegen APP_ID... --out deals.py` writes one class per app, an `AppModel` with
one attribute per field, typed by the field's type and settings:

| Podio field                  | attribute type                                          |
|------------------------------|---------------------------------------------------------|
| text, tel                    | `str`                                                   |
| number                       | `Decimal`                                               |
| money                        | `Money` (`.value` a Decimal, `.currency`)               |
| progress                     | `int` (0 to 100)                                        |
| duration                     | `datetime.timedelta`                                    |
| category, question           | the class's option enum (`Deal.Status.OPEN`), a list    |
|                              | when the field takes several                            |
| date                         | `date` or an aware `datetime` by the time setting;      |
|                              | `DateRange[...]` when the field has an end              |
| app (relationship)           | `ItemRef[Client]` (the referenced app's class when made |
|                              | in the same file, else `ItemRef[AppModel]`), a list     |
|                              | when the field takes several                            |
| contact                      | `list[Contact]`                                         |
| image                        | `list[FileRef]`                                         |
| embed (link)                 | `list[EmbedRef]`                                        |
| location                     | `Location`                                              |
| phone, email                 | `list[Phone]`, `list[Email]` (`podiokit.fields`)        |
| calculation                  | `Decimal`, `str` or a date by its return type (read     |
|                              | only)                                                   |

A field that is not required is `... | None` (a list field is `[]` when empty).

```python
from deals import Deal                      # written by `podiokit typegen`

deal = await podio.items.get(item_id, model=Deal)          # a Deal
async for deal in podio.items.filter(Deal.app_id, model=Deal,
                                     filters=Deal.filter(status=[Deal.Status.OPEN])):
    ...
await podio.items.create(Deal.app_id, Deal(title="Acme", status=Deal.Status.OPEN))
deal.amount = Money(Decimal("1200"), "EUR")
await podio.items.update(deal.item_id, deal)               # sends the amount only
```

Reading: `Deal.from_item(item)` takes an item's JSON or a `podiokit.models.Item`; fields the
class does not know and options its enums do not list are kept (`deal.to_item()` gives the
item back as read). An item whose app has a newer revision than the class was made from
logs a warning once per class (logger `podiokit.typed`).

Writing: a wrong type or an unknown option is refused when given (pydantic's
`ValidationError`) or when sent (`FieldValueError`), before any request. Create and update
send only the attributes given or assigned (`Deal.changes(...)` builds an update of a few).
"""

from __future__ import annotations

# pydantic's, re-exported for the list fields of generated classes
# (`= Field(default_factory=list)`): a generated module imports from here alone.
from pydantic import Field

from ._typed import (
    AppModel,
    Contact,
    ContactFilter,
    DateFilter,
    DateRange,
    DurationRange,
    EmbedRef,
    FileRef,
    ItemRef,
    Location,
    ModelPage,
    Money,
    NumberRange,
    Option,
    OptionFilter,
    PodioField,
    RefFilter,
)
from .fields import Email, Phone

__all__ = [
    "AppModel",
    "Contact",
    "ContactFilter",
    "DateFilter",
    "DateRange",
    "DurationRange",
    "Email",
    "EmbedRef",
    "Field",
    "FileRef",
    "ItemRef",
    "Location",
    "ModelPage",
    "Money",
    "NumberRange",
    "Option",
    "OptionFilter",
    "Phone",
    "PodioField",
    "RefFilter",
]
