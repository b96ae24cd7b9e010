"""`podiokit demo` runs to the end (the README's first command; CI runs it)."""

from __future__ import annotations

import re

import pytest

from podiokit.cli import main


def test_demo_tours_the_sdk_and_refreshes_once(capsys: pytest.CaptureFixture[str]):
    assert main(["demo", "--items", "300", "--concurrency", "200"]) == 0
    out = capsys.readouterr().out
    assert "200 reads, 1 token refresh" in out
    # The typed-read table shows the Projects app's embed, image, location and question.
    for row in (
        r"embed\s+│ GitHub - podiokit/atlas-1 \(github\.com\)",
        r"image\s+│ site-survey\.jpg \(image/jpeg\)",
        r"location\s+│ Paris, France \(48\.86, 2\.29\)",
        r"question\s+│ High",
    ):
        assert re.search(row, out), row
    assert "a stale revision is refused: 409 conflict" in out
    read_all = re.search(r"read ([\d,]+) items in", out)
    assert read_all is not None and read_all.group(1) == "301"  # 300 seeded + 1 created
    assert re.search(r"token grants: app=1, password=1, refresh_token=1", out)
