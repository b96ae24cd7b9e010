"""`podiokit typegen`: typed pydantic classes for the user's own apps, and their drift check.

The apps come from Podio (GET /app/{app_id}, with export's credentials) or from app
definitions saved as JSON (`--from-json`, offline); `--save-json` keeps what was read for
later offline runs and for the emulator. `--check` writes nothing and exits 1 naming each
difference between the file and the apps.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import typer

from ._common import CREDENTIALS_HELP, app_token_option, session_file_option
from ._errors import EXIT_CODES, INTERRUPTS, CliError, failed, report
from ._session import CliCredentials, app_session_key, credentials, open_client, sign_in

__all__ = ["TYPEGEN_HELP", "register", "run"]

TYPEGEN_HELP = (
    "Write typed pydantic classes for your Podio apps: one class per app, one attribute per "
    "field, typed by the field's type and settings, to read, create, update and filter items "
    "with (podio.items.get(item_id, model=Deal)).\n\n"
    "The apps are read from Podio, or offline from app definitions saved as JSON (--from-json; "
    "--save-json saves them). With --check nothing is written: the command exits 1 naming "
    "each difference between OUT and the apps, for CI.\n\n"
    f"{CREDENTIALS_HELP}"
)


def register(app: typer.Typer, command_cls: type[Any]) -> None:
    """Add `typegen` to the `podiokit` app."""

    @app.command(
        "typegen",
        cls=command_cls,
        help=TYPEGEN_HELP,
        short_help="Write typed classes for apps; --check them in CI.",
    )
    def typegen_command(
        app_ids: list[int] = typer.Argument(None, metavar="APP_ID", show_default=False, help="Apps, in class order (default: --from-json's; with --check, OUT's)."),
        out: str = typer.Option(..., "--out", "-o", metavar="PATH", help="The module to write (with --check: to compare)."),
        from_json: list[str] = typer.Option([], "--from-json", metavar="FILE", help="Saved app definitions (JSON of GET /app/APP_ID): no network."),
        check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 naming each difference from the apps."),
        save_json: str = typer.Option("", "--save-json", metavar="PATH", show_default=False, help="Also save the definitions read, for --from-json and the emulator."),
        app_token: list[str] = app_token_option(),
        session_file: str = session_file_option(),
    ) -> None:  # fmt: skip
        code = run(
            app_ids or [], out, from_json=from_json, check=check, save_json=save_json or None,
            app_tokens=app_token, env=os.environ, session_file=session_file or None,
        )  # fmt: skip
        raise typer.Exit(code)


def run(
    app_ids: Sequence[int],
    out: str,
    *,
    from_json: Sequence[str] = (),
    check: bool = False,
    save_json: str | None = None,
    app_tokens: Sequence[str] = (),
    env: Mapping[str, str],
    session_file: str | None = None,
) -> int:
    """Generate or check one module; print what was done or a one-line error; return the exit
    code."""
    import anyio

    from podiokit._typegen import DefinitionError

    creds: CliCredentials | None = None
    path = Path(out)
    try:
        try:
            if check and not app_ids and not from_json:
                app_ids = _file_apps(path)
            if from_json:
                if save_json:
                    raise CliError(
                        "--save-json saves what is read from Podio: drop --from-json", "usage"
                    )
                definitions = _select(_read(from_json), app_ids)
            else:
                if not app_ids:
                    raise CliError("give the apps' ids (APP_ID...) or --from-json FILE", "usage")
                creds = credentials(
                    env, app_ids=app_ids, app_tokens=app_tokens, session_file=session_file
                )
                definitions = anyio.run(_fetch, creds, list(app_ids))
                if save_json:
                    _write(Path(save_json), json.dumps(definitions, indent=1) + "\n")
            if check:
                return _check(path, definitions)
            return _generate(path, definitions)
        except DefinitionError as exc:
            raise CliError(str(exc), "usage") from None
    except (Exception, *INTERRUPTS) as exc:  # noqa: BLE001 - one line, never a traceback
        return failed("typegen", exc, creds=creds)


def _read(paths: Sequence[str]) -> list[dict[str, Any]]:
    from podiokit._typegen import read_definitions

    for name in paths:
        if not Path(name).is_file():
            raise CliError(f"--from-json {name}: no such file", "usage")
    return read_definitions(paths)


def _select(definitions: list[dict[str, Any]], app_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The definitions of `app_ids`, in that order (all of them when none is named)."""
    if not app_ids:
        return definitions
    by_id = {d["app_id"]: d for d in definitions}
    missing = [str(a) for a in app_ids if a not in by_id]
    if missing:
        raise CliError(f"app(s) {', '.join(missing)} not in the --from-json files", "usage")
    return [by_id[a] for a in app_ids]


def _file_apps(path: Path) -> list[int]:
    """The apps the file at `path` was made from."""
    from podiokit._typegen import file_app_ids

    if not path.is_file():
        raise CliError(
            f"{path}: no such file (run podiokit typegen without --check first)", "usage"
        )
    try:
        ids = file_app_ids(path)
    except Exception as exc:  # noqa: BLE001 - the user's file: say why it does not load
        raise CliError(f"cannot import {path}: {type(exc).__name__}: {exc}", "error") from None
    if not ids:
        raise CliError(f"{path} holds no class made by podiokit typegen", "usage")
    return ids


async def _fetch(creds: CliCredentials, app_ids: list[int]) -> list[dict[str, Any]]:
    """Each app's definition (GET /app/{app_id}), read as the credentials allow."""
    async with open_client(creds) as podio:
        saved = await sign_in(podio, creds, app_ids)
        out = []
        for app_id in app_ids:
            session = saved.get(app_id, podio)
            token = creds.app_tokens.get(app_id)
            if token is not None:
                session = podio.session(app_session_key(app_id))
                await session.authenticate_with_app(app_id, token)
            out.append(await session.request("GET", f"/app/{app_id}"))
        return out


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a half-written module would not import."""
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8")
    part.replace(path)


def _generate(path: Path, definitions: list[dict[str, Any]]) -> int:
    from podiokit._typegen import generate

    _write(path, generate(definitions))
    apps = ", ".join(str(d["app_id"]) for d in definitions)
    print(f"wrote {len(definitions)} class(es) to {path} (app(s) {apps})")
    return 0


def _check(path: Path, definitions: list[dict[str, Any]]) -> int:
    from podiokit._typegen import check

    if not path.is_file():
        raise CliError(
            f"{path}: no such file (run podiokit typegen without --check first)", "usage"
        )
    try:
        differences = check(path, definitions)
    except CliError:
        raise
    except Exception as exc:
        if type(exc).__name__ == "DefinitionError":
            raise
        raise CliError(f"cannot import {path}: {type(exc).__name__}: {exc}", "error") from None
    apps = ", ".join(str(d["app_id"]) for d in definitions)
    if not differences:
        print(f"{path} matches app(s) {apps}")
        return 0
    for line in differences:
        print(line)
    count = len(differences)
    report(
        "typegen",
        f"{path} does not match app(s) {apps} ({count} difference{'s' if count > 1 else ''}): "
        "run podiokit typegen again",
    )
    return EXIT_CODES["error"]
