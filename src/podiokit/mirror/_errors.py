"""The mirror's error type, and the one place a database URL is made safe to show."""

from __future__ import annotations

import re

from ..errors import PodioError

__all__ = ["MirrorError", "mask_url"]

# scheme://user:password@host -> scheme://user:***@host, also when the URL does not parse.
# Up to the last "@": a password may hold an unescaped "@" (hiding too much is the safe side).
_PASSWORD = re.compile(r"(?P<head>://[^/@:]*:)(?P<password>.*)@")
# ...?password=secret&... (libpq takes the password as a parameter too).
_PARAMETER = re.compile(r"(?P<head>[?&]password=)[^&#]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """`url` as written, with any password replaced by ***, for messages and reprs."""
    url = _PASSWORD.sub(lambda m: f"{m['head']}***@", url)
    return _PARAMETER.sub(lambda m: f"{m['head']}***", url)


class MirrorError(PodioError):
    """The mirror's database could not be opened, read or written (a bad URL, a missing
    driver, a refused connection, an item that is not JSON). The message names the URL with
    its password masked, the driver or the app."""

    def __init__(self, message: str) -> None:
        super().__init__(message)

    def __repr__(self) -> str:
        return f"MirrorError({self.message!r})"
