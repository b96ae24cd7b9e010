"""The arguments every bulk run takes, checked once: the apps, the concurrency, the page size."""

from __future__ import annotations

from collections.abc import Iterable

from .._defaults import MAX_PAGE_SIZE

__all__ = ["MAX_PAGE_SIZE", "checked_args"]


def checked_args(
    app_ids: int | Iterable[int], concurrency: int, page_size: int, *, verb: str
) -> list[int]:
    """The app ids as a list, once each; a clear ValueError for any bad argument."""
    ids = [app_ids] if isinstance(app_ids, int) else [int(a) for a in app_ids]
    if not ids:
        raise ValueError(f"app_ids is empty: name at least one app to {verb}")
    if len(set(ids)) != len(ids):
        raise ValueError(f"app_ids has duplicates: {ids}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, not {concurrency!r}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size!r}")
    return ids
