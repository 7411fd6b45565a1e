"""Pictures in feedback: Graphviz DOT, rendered to SVG in the trusted process.

A hidden suite draws what it observed (plain numbers, never the submission's objects) as DOT and
attaches the SVG to its Mistake (`autograder.suite.Mistake.picture`); the sinks show it inline
(HTML reports, nbgrader feedback, `course grade --format html`). Without Graphviz's `dot` there is
no picture: the feedback text says so and nothing fails.
"""

from __future__ import annotations

import base64
import functools
import re

import graphviz

NO_DOT_NOTE = "(A picture of your graph is missing: Graphviz's `dot` is not installed where this was graded.)"
_PROLOG = re.compile(r"\A(?:\s*<\?xml[^>]*\?>|\s*<!DOCTYPE[^>]*>|\s*<!--.*?-->)*\s*", re.DOTALL)


def to_svg(dot: str) -> str | None:
    """The DOT source drawn as SVG markup ready to inline in HTML; None when `dot` is not installed."""
    try:
        return _drawn(dot)
    except graphviz.ExecutableNotFound:
        return None


# Students with the same mistake draw the same picture (the same graphs, the same numbers): `dot` runs
# once per distinct picture in a grading process (a missing `dot` raises, so it is never remembered).
@functools.lru_cache(maxsize=256)
def _drawn(dot: str) -> str:
    return _PROLOG.sub("", graphviz.Source(dot).pipe(format="svg", encoding="utf-8"))


def data_uri(svg: str) -> str:
    """The SVG as an <img> source: a page shows it without ever running anything it might contain."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
