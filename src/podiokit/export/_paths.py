"""The output's paths and what is checked before the first call: a path that can be written,
no other export writing it, and a checkpoint that fits what was asked (resume, force)."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._checkpoint import Checkpoint
from ._errors import CheckpointError, OutputError
from ._lock import busy, is_locked, lock_path

__all__ = ["check_output", "checked_path", "output_paths", "resumable"]

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link",
}


def output_paths(out: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    """(output, temporary file, checkpoint): the last two beside the output."""
    path = Path(out)
    return path, path.with_name(path.name + ".part"), path.with_name(path.name + ".checkpoint")


def checked_path(out: str | os.PathLike[str]) -> Path:
    """`out` as a Path, once it is known to name a file that can be written: not empty,
    not anything but a regular file (a directory, a device, a pipe, a symbolic link: the
    finished export would replace it), in a folder that exists."""
    text = os.fspath(out)
    if not text.strip():
        raise OutputError("the output path is empty: name the file to write")
    path = Path(text)
    if text.endswith(("/", os.sep)) or path.name in ("", ".", ".."):
        raise OutputError(f"{text} names a directory: name the file to write in it")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a directory" if folder.exists() else "does not exist"
        raise OutputError(f"the folder {folder} {what}: create it, or name another")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write in the folder {folder}: name another")
    for each in (*output_paths(path), lock_path(path)):
        try:
            mode = os.lstat(each).st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise OutputError(f"cannot use {each}: {exc.strerror}") from None
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise OutputError(f"{each} exists and is {kind}, not a regular file: name another file")
    return path


def resumable(
    path: Path,
    app_ids: Sequence[int],
    *,
    format: str,
    sink_state: dict[str, Any],
    resume: bool,
    force: bool,
) -> Checkpoint | None:
    """The checkpoint to resume from (checked against the request and the file), or None
    for a new export. A checkpoint left by an interrupted export is never discarded
    silently: without `resume` or `force` it is a CheckpointError saying to give one."""
    _, part, checkpoint_path = output_paths(path)
    if force or not checkpoint_path.exists():
        return None  # a temporary file without a checkpoint holds nothing to resume
    if not resume:
        raise CheckpointError(
            f"{checkpoint_path} exists (an export was interrupted): add {{resume}} to "
            "continue, or {force} to start over"
        )
    checkpoint = Checkpoint.load(checkpoint_path)
    checkpoint.check_matches(checkpoint_path, format, list(app_ids), sink_state)
    if not part.exists():
        raise CheckpointError(
            f"{checkpoint_path} exists but {part} does not: there is nothing to resume; add "
            "{force} to start over"
        )
    checkpoint.check_file(checkpoint_path, part)
    return checkpoint


def check_output(
    out: str | os.PathLike[str],
    app_ids: int | Sequence[int],
    *,
    format: str = "jsonl",
    excel: bool = False,
    resume: bool = False,
    force: bool = False,
) -> bool:
    """What `export` checks before its first call, for a caller with calls of its own to
    make first (a sign-in): the output path, that no export is writing it, and its
    checkpoint. Returns whether the export would resume; raises OutputError,
    OutputBusyError or CheckpointError (`export` checks again, holding the lock)."""
    from ._sinks import make_sink

    if resume and force:
        raise ValueError("resume continues an export, force starts it over: give one")
    ids = [app_ids] if isinstance(app_ids, int) else list(app_ids)
    path = checked_path(out)
    if is_locked(path):
        raise busy(path)
    sink = make_sink(format, excel=excel)
    state = sink.state()
    return (
        resumable(path, ids, format=format, sink_state=state, resume=resume, force=force)
        is not None
    )
