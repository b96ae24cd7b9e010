"""The bulk engine the exporter (podiokit.export) and the mirror (podiokit.mirror) share:
the plan (keyset ranges per app), the page reader (`items.filter` pages as raw item JSON),
the reused page buffers, the range reader (`copy_ranges`), readable field values, the
progress snapshot, the argument checks and the sessions each app is read with.

`export/` and `mirror/` import these names from here, never from each other. The page
reader needs msgspec (the `export` and `mirror` extras): only their code imports this
package, never `import podiokit`.
"""

from __future__ import annotations

from ._args import MAX_PAGE_SIZE, checked_args
from ._buffers import PageBuffers
from ._fetch import FILTER, Page, RangeFilterError, fetch_page, probe, wait_out
from ._offset import LightItem, copy_offset, list_light
from ._plan import SWEEP_HI, Range, first_windows, plan_ranges, plan_with_windows
from ._progress import ExportProgress, calls_left
from ._ranges import FetchedPage, Prefetch, checked_page, copy_ranges
from ._sessions import open_sessions
from ._strategy import STRATEGIES, RangeCheck, check_ranges, check_strategy, choose, known
from ._tasks import run_all
from ._values import JOIN, date_parts, money_parts, readable, to_decimal

__all__ = [
    "FILTER",
    "JOIN",
    "MAX_PAGE_SIZE",
    "STRATEGIES",
    "SWEEP_HI",
    "ExportProgress",
    "FetchedPage",
    "LightItem",
    "Page",
    "PageBuffers",
    "Prefetch",
    "Range",
    "RangeCheck",
    "RangeFilterError",
    "calls_left",
    "check_ranges",
    "check_strategy",
    "checked_args",
    "checked_page",
    "choose",
    "copy_offset",
    "copy_ranges",
    "date_parts",
    "fetch_page",
    "first_windows",
    "known",
    "list_light",
    "money_parts",
    "open_sessions",
    "plan_ranges",
    "plan_with_windows",
    "probe",
    "readable",
    "run_all",
    "to_decimal",
    "wait_out",
]
