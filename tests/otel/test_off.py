"""Off by default and free when off: neither `import podiokit` nor a call (async or sync)
imports OpenTelemetry unless instrumentation is turned on."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


CALLS = """
    import sys
    import anyio, httpx
    import podiokit
    from podiokit import Podio, SyncPodio
    from podiokit.testing import Emulator

    assert not [m for m in sys.modules if m.startswith("opentelemetry")], "imported by import"
    emu = Emulator(items=5)
    creds = emu.credentials
    app = creds["apps"][0]

    def client(cls, **kw):
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=creds["api_url"])
        return cls(creds["client_id"], creds["client_secret"], api_url=creds["api_url"],
                   http_client=http, **kw)

    async def main():
        async with client(Podio, **KW) as podio:
            await podio.authenticate_with_app(app["app_id"], app["app_token"])
            await podio.apps.get(app["app_id"])
            async for _ in podio.items.filter(app["app_id"], limit=2):
                pass
            await podio.request("GET", f"/app/{app['app_id']}")

    anyio.run(main)
    sync = client(SyncPodio, **KW)
    sync.authenticate_with_app(app["app_id"], app["app_token"])
    sync.apps.get(app["app_id"])
    sync.close()
    print(sorted({m.split(".")[1] for m in sys.modules if m.startswith("opentelemetry.")}))
"""


def test_nothing_is_imported_when_off() -> None:
    assert _run("KW = {}\n" + textwrap.dedent(CALLS)) == "[]"


def test_instrument_false_never_imports_it() -> None:
    assert _run("KW = {'instrument': False}\n" + textwrap.dedent(CALLS)) == "[]"


def test_turning_it_on_imports_the_api_only() -> None:
    imported = _run("KW = {'instrument': True}\n" + textwrap.dedent(CALLS))
    assert "trace" in imported and "sdk" not in imported


def test_without_the_api_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import podiokit
    from podiokit import Podio

    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # not installed
    monkeypatch.delitem(sys.modules, "podiokit._otel", raising=False)
    monkeypatch.setattr(podiokit._instrument, "_default", None)
    for turn_on in (podiokit.instrument, lambda: Podio("id", "secret", instrument=True)):
        with pytest.raises(ImportError, match=r"pip install 'podiokit\[otel\]'"):
            turn_on()
    assert podiokit._instrument.active is None
