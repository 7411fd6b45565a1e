"""Solution markers: the one place that knows how a solution region is written and stubbed.

    ### BEGIN SOLUTION: <one-line hint for the student>
    ...reference code...
    ### END SOLUTION

becomes, in everything students receive,

    raise NotImplementedError("<one-line hint for the student>")
"""

from __future__ import annotations

import re

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_BEGIN_LINE = re.compile(r"^(?P<indent>\s*)### BEGIN SOLUTION(?::\s*(?P<hint>.*?))?\s*$")
_END_LINE = re.compile(r"^\s*### END SOLUTION\s*$")


_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


def _lines(source: str) -> list[str]:
    """The source's lines as Python reads them (ended by \n only: str.splitlines would also end one at \x85,
    \u2028 and the like, which a hint or a comment may hold)."""
    return _LINE.findall(source)


class MarkerError(ValueError):
    """Solution markers that do not pair up."""


def stub(source: str, *, name: str = "<source>") -> str:
    """source with every solution region replaced by a NotImplementedError carrying its hint."""
    out: list[str] = []
    open_at: int | None = None
    for number, line in enumerate(_lines(source), start=1):
        begin = _BEGIN_LINE.match(line)
        if begin:
            if open_at is not None:
                raise MarkerError(f"{name}:{number}: BEGIN SOLUTION inside the region opened at line {open_at}")
            open_at = number
            hint = begin["hint"] or "implement this"
            out.append(f"{begin['indent']}raise NotImplementedError({hint!r})\n")
        elif _END_LINE.match(line):
            if open_at is None:
                raise MarkerError(f"{name}:{number}: END SOLUTION without a BEGIN SOLUTION")
            open_at = None
        elif open_at is None:
            out.append(line)
    if open_at is not None:
        raise MarkerError(f"{name}:{open_at}: BEGIN SOLUTION is never closed")
    return "".join(out)


def strip_markers(source: str) -> str:
    """source with the marker lines removed and the solution kept: the plain reference code."""
    return "".join(
        line for line in _lines(source)
        if not (_BEGIN_LINE.match(line) or _END_LINE.match(line))
    )


def solution_regions(source: str) -> list[str]:
    """The code inside each solution region (used to prove none of it reaches students)."""
    regions: list[str] = []
    current: list[str] | None = None
    for line in _lines(source):
        if _BEGIN_LINE.match(line):
            current = []
        elif _END_LINE.match(line):
            regions.append("".join(current or []))
            current = None
        elif current is not None:
            current.append(line)
    return regions
