"""The built documentation site, read in Chromium at a desktop width (1280 px) and a phone's
(390 px): the home page, a guide, the reference index and an area page each load without a
console error, carry their own title, and show all of their code (no code block or cell
running past its frame, no page wider than the screen).

The site is `PODIOKIT_DOCS_SITE` when set (`nox -s docs` builds it and runs this file), else
built here with mkdocs into a temporary directory; without either the test skips.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Browser

ROOT = Path(__file__).resolve().parents[2]
PAGES = {
    "": "podiokit",
    "guides/fastapi-backend/": "A FastAPI backend - podiokit",
    "reference/": "API reference - podiokit",
    "reference/items/": "Items - podiokit",
}
WIDTHS = {"desktop": (1280, 800, False), "phone": (390, 844, True)}

# Code that runs past the edge of whatever clips it (its scrolling frame or the page), and
# blocks whose code scrolls sideways: what a reader cannot see without hunting for it.
_OVERFLOW_JS = """
const out = [];
const clip = (el) => {
  for (let p = el.parentElement; p; p = p.parentElement) {
    const s = getComputedStyle(p);
    if (["auto", "scroll", "hidden", "clip"].includes(s.overflowX)) return p.getBoundingClientRect();
  }
  return {left: 0, right: document.documentElement.clientWidth};
};
for (const el of document.querySelectorAll("article pre, article pre > code")) {
  if (el.scrollWidth > el.clientWidth + 1) out.push("scrolls: " + el.textContent.slice(0, 60));
}
for (const el of document.querySelectorAll("article code")) {
  const r = el.getBoundingClientRect(), c = clip(el);
  if (r.width && (r.right > c.right + 1 || r.left < c.left - 1)) out.push("cut off: " + el.textContent.slice(0, 60));
}
const doc = document.documentElement;
if (doc.scrollWidth > doc.clientWidth + 1) out.push("the page is " + doc.scrollWidth + " px wide");
return out;
"""


@pytest.fixture(scope="module")
def site(chromium: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("PODIOKIT_DOCS_SITE")
    if given:
        path = Path(given)
        assert (path / "index.html").is_file(), f"PODIOKIT_DOCS_SITE={given} holds no site"
        return path
    try:
        import mkdocs  # noqa: F401
        import mkdocstrings  # noqa: F401
    except ImportError:
        pytest.skip("mkdocs is not installed: `nox -s docs` builds the site and runs this test")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def site_url(site: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_pages_load_cleanly_with_titles_and_visible_code(
    site_url: str, new_browser: Browser, width: str
) -> None:
    driver = new_browser()
    w, h, mobile = WIDTHS[width]
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": mobile},
    )
    problems: list[str] = []
    for page, title in PAGES.items():
        driver.get(site_url + page)
        driver.execute_script("return document.fonts.ready")  # layout settled
        where = f"{width} /{page}"
        if driver.title != title:
            problems.append(f"{where}: the title is {driver.title!r}, not {title!r}")
        for entry in driver.get_log("browser"):
            if entry["level"] == "SEVERE":
                problems.append(f"{where}: console error: {entry['message']}")
        problems += [f"{where}: {p}" for p in driver.execute_script(_OVERFLOW_JS)]
    assert not problems, "\n".join(problems)
