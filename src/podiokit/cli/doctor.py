"""`podiokit doctor`: ask one Podio account, read-only, whether it behaves as podiokit
infers (docs/dev/podio-behaviour.md §11), one line per check, or a JSON document for a bug
report (`--json`, schema in docs/guides/doctor.md). The probes are in `_doctor_checks`.

Exit codes: 0 when every check is as expected (or could not be checked), 1 when one differs
or failed; the usual codes (`_errors`) when the credentials are refused or Podio cannot be
reached.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import typer

from ._common import CREDENTIALS_HELP, app_token_option, session_file_option
from ._doctor_checks import SCHEMA_VERSION, Report, run_checks
from ._errors import EXIT_CODES, INTERRUPTS, CliError, failed
from ._session import CliCredentials, app_session_key, credentials, open_client, sign_in

if TYPE_CHECKING:
    import httpx

    from podiokit import Podio

__all__ = ["DOCTOR_HELP", "register", "run"]

DOCTOR_HELP = (
    "Check, read-only, that your Podio account behaves as podiokit expects: sign-in, "
    "app_item_id ranges, the micro item view, rate-limit headers, file links, and which "
    "strategy export and mirror will use. Spends about 9 calls and says how many.\n\n"
    "APP_ID (default PODIO_APP_ID) is an app to read; one with items, and a file, checks "
    "the most.\n\n"
    f"{CREDENTIALS_HELP}\n\n"
    "Exit code 0: all as expected; 1: something differs (send us `podiokit doctor --json`)."
)
_SEND_US = (
    "something differs from what podiokit expects: run `podiokit doctor {app_id} --json` "
    "and attach its output to an issue on the podiokit project (it holds no token or secret)"
)


def register(app: typer.Typer, command_cls: type[Any]) -> None:
    """Add `doctor` to the `podiokit` app."""

    @app.command(
        "doctor",
        cls=command_cls,
        help=DOCTOR_HELP,
        short_help="Check, read-only, how your Podio account behaves.",
    )
    def doctor_command(
        app_id: int | None = typer.Argument(None, metavar="[APP_ID]", show_default=False, help="The app to read. Default: PODIO_APP_ID."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON (stable, for bug reports)."),
        app_token: list[str] = app_token_option(),
        session_file: str = session_file_option(),
    ) -> None:  # fmt: skip
        code = run(
            app_id, as_json=as_json, app_tokens=app_token, env=os.environ,
            session_file=session_file or None,
        )  # fmt: skip
        raise typer.Exit(code)


def run(
    app_id: int | None,
    *,
    as_json: bool = False,
    app_tokens: Sequence[str] = (),
    env: Mapping[str, str],
    session_file: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """Run the checks; print the report (text or JSON) or a one-line error; return the exit
    code. `transport`: the HTTP transport to use (tests); default podiokit's own."""
    import anyio

    creds: CliCredentials | None = None
    try:
        app_id = _app_id(app_id, env)
        creds = credentials(env, app_ids=[app_id], app_tokens=app_tokens, session_file=session_file)
        report = anyio.run(_doctor, creds, app_id, transport)
    except (Exception, *INTERRUPTS) as exc:  # noqa: BLE001 - one line, never a traceback
        return failed("doctor", exc, creds=creds)
    print(render_json(report) if as_json else render_text(report))
    return EXIT_CODES["ok"] if report.all_ok else EXIT_CODES["error"]


def _app_id(app_id: int | None, env: Mapping[str, str]) -> int:
    if app_id is not None:
        return app_id
    raw = env.get("PODIO_APP_ID", "").strip()
    if not raw:
        raise CliError("give APP_ID or set PODIO_APP_ID: the app to check", "usage")
    try:
        return int(raw)
    except ValueError:
        raise CliError(f"PODIO_APP_ID must be an app id, not {raw!r}", "usage") from None


async def _doctor(
    creds: CliCredentials, app_id: int, transport: httpx.AsyncBaseTransport | None
) -> Report:
    report = Report(api_url=creds.api_url, app_id=app_id)

    async def count(response: httpx.Response) -> None:
        report.calls += 1

    # No retries: the doctor reports what it saw, and its call count stays what it says.
    async with (
        _http(transport, count) as http,
        open_client(creds, http_client=http, max_retries=0) as podio,
    ):
        session, grant = await _sign_in(podio, creds, app_id)
        await run_checks(session, report, grant)
    return report


def _http(transport: httpx.AsyncBaseTransport | None, hook: Any) -> httpx.AsyncClient:
    """An httpx client whose every answered request is counted (sign-in and redirects too;
    a request that reached no server is not a call)."""
    import httpx

    from podiokit import __version__
    from podiokit._client import _env_proxies
    from podiokit.transports import PodioTransport

    if transport is None and not _env_proxies():  # a proxy needs httpx's own transport
        transport = PodioTransport()
    return httpx.AsyncClient(
        transport=transport,
        timeout=30.0,
        follow_redirects=False,
        headers={"User-Agent": f"podiokit/{__version__} doctor", "Accept": "application/json"},
        event_hooks={"response": [hook]},
    )


async def _sign_in(podio: Podio, creds: CliCredentials, app_id: int) -> tuple[Podio, str]:
    """The session the app is read with, as `export` would pick it, and how it signed in."""
    token = creds.app_tokens.get(app_id)
    if token is not None:
        session = podio.session(app_session_key(app_id))
        if await session.is_authenticated():
            return session, "the app's saved session"
        await session.authenticate_with_app(app_id, token)
        return session, f"the app grant (app {app_id})"
    saved = await sign_in(podio, creds, [app_id])
    if app_id in saved:
        return saved[app_id], f"the app's session saved by `podiokit login --app {app_id}`"
    if creds.user is not None:
        return podio, "the password grant"
    return podio, "the user session saved by `podiokit login`"


def render_text(report: Report) -> str:
    width = max(len(c.name) for c in report.checks)
    lines = [f"podiokit doctor: app {report.app_id} at {report.api_url}"]
    for check in report.checks:
        line = f"  {check.name:<{width}}  {check.status:<11}  {check.observed}"
        if check.status != "ok":
            line += f" (expected: {check.expected})"
        if check.detail:
            line += f"; {check.detail}"
        lines.append(line)
    lines.append(f"{report.calls} calls to Podio, none of which changed anything")
    if not report.all_ok:
        lines.append(_SEND_US.format(app_id=report.app_id))
    return "\n".join(lines)


def render_json(report: Report) -> str:
    from podiokit import __version__

    document = {
        "schema_version": SCHEMA_VERSION,
        "podiokit": __version__,
        "api_url": report.api_url,
        "app_id": report.app_id,
        "result": "ok" if report.all_ok else "differs",
        "strategy": report.strategy,
        "calls": report.calls,
        "checks": [c.as_json() for c in report.checks],
    }
    return json.dumps(document, indent=2)
