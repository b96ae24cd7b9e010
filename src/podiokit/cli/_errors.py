"""Every failure of the `podiokit` command as one line on stderr and an exit code.

Each command hands what went wrong to this module: `describe` turns an exception into a
message and a code, `report` prints the line. What a user can get wrong or cannot help (a busy
port, no network, a bad PODIO_* value, an answer from Podio, a full disk) ends in one line;
a traceback is left for bugs (in `emulator` and `demo`, an exception `describe` does not know).

The line is `podiokit COMMAND: MESSAGE` for the commands that act with the user's credentials
(login, logout, export, mirror, doctor, typegen) and `podiokit: error: MESSAGE` for emulator and demo. click's
own usage errors (a bad option value) keep click's form and code 2.

| Code | Name (`EXIT_CODES`) | When |
|-----:|---------------|------|
| 0 | ok | done |
| 1 | error | export and mirror with `--strategy ranges`: Podio does not honour app_item_id ranges (RangeFilterError); any other failure: a busy port, a file or disk error (a full disk), Redis unreachable, an unexpected answer; emulator and demo: their extra is missing; click's "Aborted!" on Ctrl-C in emulator, demo and logout; typegen --check: the file does not match the apps; doctor: a check differs from what podiokit expects, or failed |
| 2 | usage | bad input: an option, a PODIO_* variable, missing credentials (no input at a prompt); an output path that cannot be written; the `cli` extra is missing; export and mirror: their extra is missing |
| 3 | credentials | Podio refused the API key, the password or the app token; a saved session expired or was revoked |
| 4 | not_found | export, mirror, doctor, typegen: an app that does not exist |
| 5 | forbidden | export, mirror, doctor, typegen: a token without access to the app |
| 6 | unavailable | Podio unreachable, answering 5xx, or out of calls at sign-in (its rate limit) |
| 7 | checkpoint | export: a checkpoint that does not match the command or its file, or one left by an interrupted export without --resume or --force |
| 8 | database | mirror: the database cannot be opened, read or written |
| 9 | busy | export: another export is writing the same output |
| 130 | interrupted | Ctrl-C in login, export, mirror, doctor and typegen |
"""

from __future__ import annotations

import sys
from asyncio import CancelledError
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from ._session import CliCredentials

__all__ = ["EXIT_CODES", "CliError", "describe", "fail", "failed", "one_line", "report"]


#: What Ctrl-C ends a command with. On Python 3.10 asyncio cannot un-cancel the main task, so
#: `anyio.run` ends with the CancelledError of its cancelled task instead of
#: KeyboardInterrupt; at the top of a command, with its event loop gone, both mean the same.
INTERRUPTS = (KeyboardInterrupt, CancelledError)

EXIT_CODES = {
    "ok": 0,
    "error": 1,
    "usage": 2,  # click's code for bad input; a bad PODIO_* value is bad input too
    "credentials": 3,
    "not_found": 4,
    "forbidden": 5,
    "unavailable": 6,
    "checkpoint": 7,
    "database": 8,
    "busy": 9,
    "interrupted": 130,
}

# emulator and demo: local tools, whose unknown exceptions are bugs shown with a traceback.
_TOOLS = ("emulator", "demo")
# Optional dependencies whose absence is the user's to fix, not a bug.
_EXTRAS = {"rich", "typer", "starlette", "uvicorn"}
# What a command that stops on Ctrl-C says; commands not named here leave it to click.
_INTERRUPTED = {
    "login": "interrupted; nothing was saved",
    "export": "interrupted before anything was saved",
    "mirror": "interrupted; run the same command again: the mirror holds whole pages",
    "typegen": "interrupted; nothing was written",
    "doctor": "interrupted; nothing was changed",
}
# export, once its checkpoint is saved: what the user can do after an interruption, an
# outage or a full disk.
_RESUME = "run the same command with --resume to continue"
_CLI_EXTRA = "Install with: pip install 'podiokit[cli,emulator]'"


class CliError(Exception):
    """A one-line message for the user and the exit code (an `EXIT_CODES` name) that goes
    with it."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = EXIT_CODES[code]


def report(command: str | None, message: str) -> None:
    """Print the one line; `command` None (or emulator, demo) for the `podiokit: error:` form."""
    prefix = "podiokit: error" if command is None or command in _TOOLS else f"podiokit {command}"
    print(f"{prefix}: {message}", file=sys.stderr, flush=True)


def fail(message: str, code: int = EXIT_CODES["error"]) -> NoReturn:
    """Report `message` in the `podiokit: error:` form and end the command with `code`."""
    import typer

    report(None, message)
    raise typer.Exit(code)


def missing_cli_extra(exc: ImportError) -> int:
    """`main` without typer or rich: say how to install them."""
    print(f"podiokit: {exc}. {_CLI_EXTRA}", file=sys.stderr)
    return EXIT_CODES["usage"]


@contextmanager
def one_line(command: str, server: str) -> Iterator[None]:
    """emulator and demo: a failure `describe` knows becomes one line and its code; anything
    else (a bug) keeps its traceback. `server` names where the requests went."""
    try:
        yield
    except Exception as exc:  # never BaseException: Ctrl-C stays click's "Aborted!"
        described = describe(exc, command, server=server)
        if described is None:
            raise
        fail(*described)


def failed(
    command: str,
    exc: BaseException,
    *,
    creds: CliCredentials | None = None,
    resumable: bool = False,
) -> int:
    """login, logout, export, mirror: report `exc` as one line, whatever it is, and return
    the exit code (`creds`: what export or mirror resolved, if it got that far;
    `resumable`: export saved a checkpoint, so `--resume` continues from it)."""
    if isinstance(exc, INTERRUPTS):
        if command not in _INTERRUPTED:
            raise exc
        report(command, f"interrupted; {_RESUME}" if resumable else _INTERRUPTED[command])
        return EXIT_CODES["interrupted"]
    described = describe(exc, command, creds=creds, resumable=resumable)
    assert described is not None  # only emulator and demo leave an exception undescribed
    report(command, described[0])
    return described[1]


def describe(
    exc: BaseException,
    command: str,
    *,
    server: str = "",
    creds: CliCredentials | None = None,
    resumable: bool = False,
) -> tuple[str, int] | None:
    """The message and exit code for `exc`, raised by `command`; None for a bug (emulator and
    demo only: the other commands end every failure in one line). `resumable`: see
    `failed`."""
    if isinstance(exc, CliError):
        return str(exc), exc.code
    if command in _TOOLS:
        # A task group raises a group: describe each exception in it, and call it a bug
        # when one of them is.
        described = [_local_tool(leaf, server) for leaf in _leaves(exc)]
        if not described or any(d is None for d in described):
            return None
        return described[0]
    if command in ("login", "logout"):
        return _sign_in(exc)
    return _bulk(exc, creds, resumable)


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups."""
    inner = getattr(exc, "exceptions", None)
    if not isinstance(inner, tuple):
        return [exc]
    return [leaf for child in inner for leaf in _leaves(child)]


def _local_tool(exc: BaseException, server: str) -> tuple[str, int] | None:
    """emulator and demo."""
    from podiokit.errors import PodioConnectionError, PodioError

    from .demo import DemoConfigError

    if isinstance(exc, DemoConfigError):
        return str(exc), EXIT_CODES["usage"]
    if isinstance(exc, PodioConnectionError):
        where = f" ({exc.method} {exc.path})" if exc.method and exc.path else ""
        return f"cannot reach {server}{where}: {exc}", EXIT_CODES["error"]
    if isinstance(exc, PodioError):
        # Podio's own words; PodioError never carries a token (errors.py).
        return f"Podio answered {type(exc).__name__}: {exc}", EXIT_CODES["error"]
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in _EXTRAS:
        return f"{exc}. {_CLI_EXTRA}", EXIT_CODES["error"]
    if isinstance(exc, OSError):
        name = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{name}", EXIT_CODES["error"]
    return None


def _sign_in(exc: BaseException) -> tuple[str, int]:
    """login and logout: every request is a sign-in, so a refusal is bad credentials."""
    from podiokit.errors import PodioError, SessionStoreError

    if isinstance(exc, SessionStoreError):
        return str(exc), EXIT_CODES["error"]
    if _unavailable(exc):
        return _unavailable_message(exc), EXIT_CODES["unavailable"]
    if isinstance(exc, PodioError):
        return f"bad credentials: {exc}", EXIT_CODES["credentials"]
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc}", EXIT_CODES["error"]
    return f"unexpected {type(exc).__name__}: {exc}", EXIT_CODES["error"]


def _unavailable(exc: BaseException) -> bool:
    """Podio could not answer (no connection, 5xx) or would not now (its rate limit): never
    a reason to doubt the credentials, even at sign-in."""
    from podiokit.errors import (
        PodioConnectionError,
        PodioRateLimitError,
        PodioServerError,
        PodioUnavailableError,
    )

    kinds = (PodioConnectionError, PodioServerError, PodioUnavailableError, PodioRateLimitError)
    return isinstance(exc, kinds)


def _unavailable_message(exc: BaseException) -> str:
    from podiokit.errors import PodioRateLimitError

    if isinstance(exc, PodioRateLimitError):
        return f"Podio's rate limit is reached: {exc}"
    return f"Podio unavailable: {exc}"


def _disk(exc: OSError, resumable: bool) -> str:
    """A write that failed: what, where, and what to do."""
    import errno

    where = f" writing {exc.filename}" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        what = "no space left on device" if exc.errno == errno.ENOSPC else "disk quota exceeded"
        again = "run again with --resume" if resumable else "run again"
        return f"{what}{where}; free space and {again}"
    message = f"{exc.strerror or exc}{where}"
    return f"{message}; {_RESUME}" if resumable else message


def _bulk(exc: BaseException, creds: CliCredentials | None, resumable: bool) -> tuple[str, int]:
    """export and mirror."""
    from podiokit.errors import (
        PodioAuthorizationError,
        PodioBadRequestError,
        PodioError,
        PodioForbiddenError,
        PodioInvalidGrantError,
        PodioNotFoundError,
        SessionStoreError,
    )

    from ._session import session_expired_message

    # Matched by name: importing the classes would need the extras (msgspec, SQLAlchemy).
    name = type(exc).__name__
    if name == "MirrorError":
        return f"database: {exc}", EXIT_CODES["database"]
    if name == "RangeFilterError":  # --strategy ranges against a Podio that ignores them
        return (
            f"Podio does not honour app_item_id ranges: {exc}; run with --strategy auto "
            "(the default) or --strategy offset",
            EXIT_CODES["error"],
        )
    if name in ("CheckpointError", "OutputBusyError", "OutputError"):
        command_line = getattr(exc, "command_line", None)
        message = command_line() if callable(command_line) else str(exc)
        code = {"CheckpointError": "checkpoint", "OutputBusyError": "busy"}.get(name, "usage")
        return message, EXIT_CODES[code]
    if (
        isinstance(exc, PodioInvalidGrantError)
        and "refresh" in str(exc)
        and creds is not None
        and creds.session_file is not None
        and creds.user is None
    ):  # the saved sign-in was refused in the middle of the run: say to log in again
        return session_expired_message(creds.session_file), EXIT_CODES["credentials"]
    if isinstance(exc, ImportError):  # the export or mirror extra; the message says which
        return str(exc), EXIT_CODES["usage"]
    redis = creds is not None and creds.redis_url
    if isinstance(exc, SessionStoreError) and redis and "Redis" in str(exc):
        # The shared budget's store: say which setting names it.
        return f"{exc} (PODIO_REDIS_URL)", EXIT_CODES["error"]
    if isinstance(exc, PodioError):
        # An outage first: a 502 or a refused connection at sign-in is not a bad secret.
        if _unavailable(exc):
            message = _unavailable_message(exc)
            return (f"{message}; {_RESUME}" if resumable else message), EXIT_CODES["unavailable"]
        sign_in = exc.path == "/oauth/token" and isinstance(exc, PodioBadRequestError)
        if isinstance(exc, PodioAuthorizationError) or sign_in:
            return f"bad credentials: {exc}", EXIT_CODES["credentials"]
        if isinstance(exc, PodioNotFoundError):
            return f"unknown app: {exc}", EXIT_CODES["not_found"]
        if isinstance(exc, PodioForbiddenError):
            return (
                f"no access (does the token belong to this app?): {exc}",
                EXIT_CODES["forbidden"],
            )
        return str(exc), EXIT_CODES["error"]
    if isinstance(exc, BrokenPipeError):
        return "standard output was closed before the export ended", EXIT_CODES["error"]
    if isinstance(exc, OSError):
        return _disk(exc, resumable), EXIT_CODES["error"]
    if isinstance(exc, ValueError):
        return f"{type(exc).__name__}: {exc}", EXIT_CODES["error"]
    return f"unexpected {type(exc).__name__}: {exc}", EXIT_CODES["error"]
