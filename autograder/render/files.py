"""Where Results are written: every file the grader writes goes through one atomic write, and a command checks
a destination before the work whose result it would hold, with one message naming the path and why."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path


class OutputError(OSError):
    """Something cannot be written where it was asked for; the message names the path and why."""


CANNOT_WRITE = "cannot write "  # how every such message starts


def cannot_write(path: str | os.PathLike[str], exc: Exception) -> OutputError:
    return OutputError(f"{CANNOT_WRITE}{path}: {getattr(exc, 'strerror', None) or exc}")


def check_writable(path: Path, *, folder: bool = False) -> None:
    """Raise OutputError unless a file can be written at `path` (into `path` when it is a folder), so that a
    command refuses a destination before the work whose result would be lost (the folder is created)."""
    directory = path if folder else path.parent
    try:
        if not folder and path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "it is a folder")
        if directory.exists() and not directory.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".course-check-"):
            pass
    except OSError as exc:
        raise cannot_write(path, exc) from None


def atomic_write(path: Path, content: str | bytes) -> None:
    """Write `content` (text as UTF-8) to `path` so that a reader (or a resumed batch) never sees half a file.
    Raises OutputError (naming the path) when it cannot be written."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # backslashreplace: a lone surrogate (a student's exception message may carry one) cannot fail the write
        temporary.write_bytes(content.encode("utf-8", "backslashreplace") if isinstance(content, str) else content)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # a half-written temporary file, if any
            temporary.unlink()
        raise cannot_write(path, exc) from None
