"""Where Results go: files written atomically, scores and text formatted one way per target.

Every sink renders from a `Results` (autograder.formats: json, junit, markdown; autograder.gradebook;
autograder.report; ci-grade's summary and comment; nbgrader cells); the helpers here are the one
atomic write, the one score formatter and the one escaping rule for Markdown.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

MAX_CELL_CHARS = 300


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` so that a reader (or a resumed batch) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


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
