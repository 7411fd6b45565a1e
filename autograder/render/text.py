"""Scores and text, formatted one way per target.

Every view renders from a `Results` (autograder.render.formats: json, junit, markdown; autograder.render.gradebook;
autograder.semester.report; ci-grade's summary and comment; nbgrader cells); the helpers here are the one score
formatter and the escaping rules per target: for GitHub's Markdown (PR comments, job summaries, `--format
markdown`) `markdown_code` (student text) and `markdown_plain` (the course's own words); `markdown_text` and
`code_block` for Gradescope's `output_format: md`; `spreadsheet_cell` for CSV. Terminals and HTML show student
text through `autograder.outcome.results.printable`.
"""

from __future__ import annotations

import re
import string

from autograder.outcome.feedback import shown
from autograder.outcome.results import printable


def points(value: float) -> str:
    """A score as text: exact to 6 decimals, no trailing zeros (the same bytes for the same score)."""
    return shown(value, 6)


def score_of(score: float, max_score: float) -> str:
    return f"{points(score)}/{points(max_score)}"


def _one_line(text: str, max_chars: int | None) -> str:
    flat = " ".join(printable(text).split())
    if max_chars is not None and len(flat) > max_chars:
        flat = flat[:max_chars - 1] + "…"
    return flat


def markdown_code(text: str, max_chars: int | None = None, *, in_table: bool = True) -> str:
    """Student-produced text on one line as an inline code span in GitHub Markdown: nothing in it becomes a
    link, image, autolink, HTML, emphasis, heading, list, @mention or #reference (GitHub leaves code alone).
    The span's backtick fence is longer than any run in the text; in a table cell `|` is written `\\|`,
    which GFM reads as `|` inside the span. Empty text makes no span: ""."""
    flat = _one_line(text, max_chars)
    if not flat:
        return ""
    fence = "`" * (1 + max((len(run) for run in re.findall(r"`+", flat)), default=0))
    if in_table:  # GFM splits a row at each `|` no backslash escapes, before it reads code spans:
        # backslashes just before a pipe are doubled too, so that none of them unescapes it
        flat = re.sub(r"(\\*)\|", lambda m: "\\" * (2 * len(m[1]) + 1) + "|", flat)
    pad = " " if flat[0] == "`" or flat[-1] == "`" else ""  # CommonMark strips one space at each end
    return f"{fence}{pad}{flat}{pad}{fence}"


_ASCII_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")


def markdown_plain(text: str, max_chars: int | None = None) -> str:
    """The course's own words (titles, names) on one line in GitHub Markdown: every ASCII punctuation mark
    backslash-escaped (CommonMark reads `\\x` as a literal x), so a title reads as written."""
    return _ASCII_PUNCTUATION.sub(r"\\\1", _one_line(text, max_chars))


def markdown_text(text: str) -> str:
    """Text shown as itself in Gradescope's Markdown (`__add__` must not turn bold, a `[link](url)` stays
    text): every ASCII punctuation mark is backslash-escaped, a line's leading indentation becomes no-break
    spaces (never an indented code block), line breaks are kept as hard breaks."""
    lines = []
    for line in printable(text).split("\n"):
        body = line.lstrip(" \t")
        indent = line[:len(line) - len(body)].replace("\t", "    ").replace(" ", "\u00a0")
        lines.append(indent + _ASCII_PUNCTUATION.sub(r"\\\1", body))
    return "  \n".join(lines)


def template_value(value: object) -> object:
    """Jinja2's `finalize` for the HTML pages: a string shows as `printable` text (autoescape then escapes its
    markup); what a template made itself (a macro's markup, with `__html__`) and numbers stay as they are."""
    return printable(value) if isinstance(value, str) and not hasattr(value, "__html__") else value


def spreadsheet_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: control characters as escapes (a lone CR is not quoted by
    csv.writer, yet ends a row in a spreadsheet), and one starting with =, +, -, @ or a tab would be read as
    a formula (OWASP's CSV injection), so it gets a leading apostrophe."""
    text = printable(text)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t") else text


def code_block(text: str) -> str:
    """Text in a fenced block longer than any run of backticks in it (so it cannot close the fence)."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}text\n{text}\n{fence}"
