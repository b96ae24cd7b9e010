"""The mirror's options that are checked without its extra (SQLAlchemy), so that the CLI can
refuse a bad value before it signs in: the table prefix, the lock timeout, an in-memory
SQLite URL."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from .. import _defaults

__all__ = ["DEFAULT_PREFIX", "LOCK_TIMEOUT", "check_lock_timeout", "check_prefix", "in_memory"]

#: The mirror's defaults live with every other default (their reasons: `_defaults.py`).
DEFAULT_PREFIX = _defaults.MIRROR_TABLE_PREFIX
LOCK_TIMEOUT = _defaults.MIRROR_LOCK_TIMEOUT

# Lower-case ASCII, so that no dialect needs to quote (or case-fold) the names; short enough
# that "<prefix>app_<app_id>" stays within PostgreSQL's 63 bytes.
_PREFIX = re.compile(r"[a-z_][a-z0-9_]{0,29}")


def check_prefix(prefix: object) -> str:
    """The prefix, or ValueError naming what is wrong with it."""
    if not isinstance(prefix, str) or (prefix and not _PREFIX.fullmatch(prefix)):
        raise ValueError(
            f"table prefix {prefix!r} is not a table name prefix: lower-case ASCII letters, "
            "digits and _ (at most 30, not starting with a digit), or '' for none"
        )
    return prefix


def check_lock_timeout(seconds: object) -> float:
    """The timeout in seconds, or ValueError."""
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not 0 <= seconds <= 3600
    ):
        raise ValueError(f"lock timeout must be seconds from 0 to 3600, not {seconds!r}")
    return float(seconds)


def in_memory(url: str) -> bool:
    """A SQLite URL whose database lives in memory (`sqlite://`, `sqlite:///:memory:`, a
    `file::memory:` or `mode=memory` URI): it is gone when the process ends."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or not scheme.lower().startswith("sqlite"):
        return False
    path, _, query = rest.partition("?")
    database = path[1:] if path.startswith("/") else path
    mode = parse_qs(query).get("mode", [])
    return (
        database in ("", ":memory:") or database.startswith("file::memory:") or ("memory" in mode)
    )
