"""The exit codes a user scripts against: the table in `podiokit.cli._errors` is the one the
code uses."""

from __future__ import annotations

import re

from podiokit.cli import _errors


def test_the_documented_exit_codes_are_the_ones_used() -> None:
    doc = _errors.__doc__ or ""
    rows = re.findall(r"^\|\s*(\d+)\s*\|\s*(\w+)\s*\|", doc, flags=re.MULTILINE)
    assert {name: int(code) for code, name in rows} == _errors.EXIT_CODES
