"""What stops an export before it writes, each error saying what to do next.

The advice names the exporter's arguments (`resume=True`, `force=True`) in Python and the
command's options (`--resume`, `--force`) on the command line: each message is kept with
marks for them, and `command_line()` spells it for the command.
"""

from __future__ import annotations

__all__ = ["CheckpointError", "OutputBusyError", "OutputError"]

_PYTHON = {"{resume}": "resume=True", "{force}": "force=True"}
_COMMAND = {"{resume}": "--resume", "{force}": "--force"}


def _spell(template: str, words: dict[str, str]) -> str:
    for mark, word in words.items():
        template = template.replace(mark, word)
    return template


class _Advised(ValueError):
    def __init__(self, template: str) -> None:
        self.template = template
        super().__init__(_spell(template, _PYTHON))

    def command_line(self) -> str:
        """The message with the command's options (`--resume`) for the arguments."""
        return _spell(self.template, _COMMAND)


class CheckpointError(_Advised):
    """The checkpoint cannot be used for this export: unreadable, another export's, one
    whose temporary file does not hold what it records, or one left by an interrupted
    export when neither `resume` nor `force` was given."""


class OutputError(_Advised):
    """The output path cannot be written: empty, a directory or another file that is not a
    regular one (a device, a pipe, a symbolic link), or in a folder that does not exist."""


class OutputBusyError(OutputError):
    """Another export (in this process or another) is writing the same output."""
