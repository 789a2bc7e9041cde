"""Read the files users give frontdesk (playbooks, practice configs, scenarios, packs), bounded.

At most ``MAX_BYTES`` plus one byte is ever read, and only from a regular file: a huge or
sparse file, a FIFO, a device such as ``/dev/zero`` or a folder named like a playbook is
refused at once with an issue at ``PATH:1:1`` instead of being read (or waited on) whole.
The limit is the one of docs/reference.md, "Playbook language", "How YAML is read".
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import Issue, Location

MAX_BYTES = 1024 * 1024

# Opening never waits for a writer (a FIFO) nor makes a terminal ours; the mode is checked
# again on the open file, since the path may have been replaced after the first look.
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_BINARY", 0))

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class _Refused(Exception):
    """A file that is not read: its issue code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _check_mode(mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    raise _Refused("not-a-file", f"this is {kind}, not a regular file")


def _too_large(size: int | None) -> _Refused:
    if size is None:  # the size on disk said less (a growing file, or one without a size)
        return _Refused("too-large", f"file is over the limit of {MAX_BYTES} bytes (1 MiB)")
    return _Refused("too-large", f"file is {size} bytes; the limit is {MAX_BYTES} (1 MiB)")


def _read_bounded(path: Path) -> bytes:
    """The bytes of a regular file of at most ``MAX_BYTES``.

    Raises ``OSError`` when it cannot be read and ``_Refused`` when it is not a regular file
    or is too large (its size is checked before reading, and at most one byte over the
    limit is read, for files whose size is unknown or growing).
    """
    info = os.stat(path)
    _check_mode(info.st_mode)
    if info.st_size > MAX_BYTES:
        raise _too_large(info.st_size)
    fd = os.open(path, _OPEN_FLAGS)
    with os.fdopen(fd, "rb") as stream:
        _check_mode(os.fstat(fd).st_mode)
        raw = stream.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise _too_large(None)
    return raw


def read_source(path: Path, display: str) -> tuple[str | None, list[Issue]]:
    """The text of a UTF-8 file (a BOM dropped), or None and the issue saying why not:
    unreadable, not a regular file, too large, binary or not UTF-8."""
    where = Location(display, 1, 1)
    try:
        raw = _read_bounded(path)
    except _Refused as exc:
        return None, [Issue("error", exc.code, exc.message, where)]
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return None, [Issue("error", "unreadable", f"cannot read file: {reason}", where)]
    if b"\x00" in raw:
        return None, [Issue("error", "binary", "file is binary, not YAML text", where)]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [Issue("error", "encoding", "file is not valid UTF-8 text",
                            Location(display, line, col))]
