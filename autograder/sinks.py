"""Where Results go: files written atomically, scores and text formatted one way per target.

Every sink renders from a `Results` (autograder.formats: json, junit, markdown; autograder.gradebook;
autograder.report; ci-grade's summary and comment; nbgrader cells); the helpers here are the one
atomic write, the one score formatter and the one escaping rule per Markdown target: `markdown_cell` for
GitHub's (PR comments, `--format markdown`), `markdown_text` for Gradescope's `output_format: md`.
"""

from __future__ import annotations

import contextlib
import errno
import html
import os
import re
import tempfile
from pathlib import Path

MAX_CELL_CHARS = 300


class OutputError(OSError):
    """Something cannot be written where it was asked for; the message names the path and why."""


CANNOT_WRITE = "cannot write "  # how every such message starts


def cannot_write(path: str | os.PathLike, exc: Exception) -> OutputError:
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
        temporary.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # a half-written temporary file, if any
            temporary.unlink()
        raise cannot_write(path, exc) from None


def points(value: float) -> str:
    """A score as text: exact to 6 decimals, no trailing zeros (the same bytes for the same score)."""
    text = f"{round(value, 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def score_of(score: float, max_score: float) -> str:
    return f"{points(score)}/{points(max_score)}"


def markdown_cell(text: str, max_chars: int | None = None) -> str:
    """Student-produced text made inert in Markdown (one line; no table rows, HTML or code spans)."""
    flat = " ".join(str(text).split())
    if max_chars is not None and len(flat) > max_chars:
        flat = flat[:max_chars - 1] + "…"
    return html.escape(flat, quote=False).replace("|", "\\|").replace("`", "&#96;")


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")


def markdown_text(text: str) -> str:
    """Text shown as itself in Gradescope's Markdown (`__add__` must not turn bold): every
    punctuation mark that Markdown reads is escaped, line breaks are kept."""
    return "  \n".join(_MARKDOWN_PUNCTUATION.sub(r"\\\1", line) for line in text.split("\n"))


def code_block(text: str) -> str:
    """Text in a fenced block longer than any run of backticks in it (so it cannot close the fence)."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}text\n{text}\n{fence}"
